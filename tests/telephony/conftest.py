import pytest

# The same customer, real transactions and fake LLM as the agent's tests.
from tests.agent.conftest import live_db, maria  # noqa: F401
from tests.broker import record_sent_tasks
from tests.telephony import use_fake_twilio


@pytest.fixture
def fake_twilio(settings):
    """Twilio's REST API, faked locally, with the settings pointing at it."""
    fake = use_fake_twilio(settings)
    yield fake
    fake.stop()


@pytest.fixture
def sent(monkeypatch):
    """What would have gone to the broker."""
    return record_sent_tasks(monkeypatch)
