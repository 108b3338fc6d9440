import pytest

# The same customer, real transactions and fake LLM as the agent's tests.
from tests.agent.conftest import live_db, maria  # noqa: F401


@pytest.fixture(autouse=True)
def any_hour(settings):
    """These tests are about the protocol, not the calling window (tests/outreach test that)."""
    settings.CALLING_WINDOW_START, settings.CALLING_WINDOW_END = "00:00", "23:59:59.999999"
