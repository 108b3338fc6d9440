"""The Twilio REST client: explicit timeout, no retries, and a clear error when Twilio is not set up."""

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from apps.core.errors import DomainError

REQUIRED_SETTINGS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER")


class TelephonyNotConfigured(DomainError):
    """Dialing needs Twilio credentials and a number to call from."""

    status_code = 503

    def __init__(self, missing: list[str] | tuple[str, ...]) -> None:
        super().__init__(f"Outbound calling is disabled: Twilio is not configured (set {', '.join(missing)}).")
        self.missing = tuple(missing)


def telephony_missing_settings() -> list[str]:
    """The Twilio settings that dialing needs and that are empty."""
    return [name for name in REQUIRED_SETTINGS if not getattr(settings, name)]


def telephony_ensure_configured() -> None:
    missing = telephony_missing_settings()
    if missing:
        raise TelephonyNotConfigured(missing)


def twilio_client() -> Client:
    """A new client for the current settings (cheap to build; settings may change between uses).

    No retries: a POST that creates a call must never be repeated blindly (Twilio has no
    idempotency key). The timeout bounds every request, connect and read alike.
    """
    telephony_ensure_configured()
    http_client = TwilioHttpClient(timeout=settings.TWILIO_HTTP_TIMEOUT)
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
    if settings.TWILIO_API_BASE_URL:
        # Domain.absolute_url() joins base_url with the resource path, so this moves every
        # api.twilio.com request. TWILIO_EDGE/TWILIO_REGION would rewrite the host again: off.
        client.api.base_url = settings.TWILIO_API_BASE_URL
        client.edge = None
        client.region = None
    return client
