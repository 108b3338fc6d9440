import pytest

# The same customer, real transactions and fake LLM as the agent's tests.
from tests.agent.conftest import live_db, maria  # noqa: F401
from tests.fakes.otlp_server import OTLPReceiver
from tests.telemetry.phone import BASE, TOKEN


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE


@pytest.fixture
def otlp(settings):
    """A local OTLP/HTTP receiver, and the settings exporting every span to it."""
    receiver = OTLPReceiver().start()
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.origin
    yield receiver
    settings.OTEL_EXPORTER_OTLP_ENDPOINT = ""  # the exporter shuts down while the receiver still answers
    receiver.stop()
