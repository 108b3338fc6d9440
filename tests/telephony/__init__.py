"""Helpers shared by the telephony tests: the fake Twilio REST API and outbound calls."""

import factory
from django.test import Client
from twilio.request_validator import RequestValidator

from apps.calls.models import CallStatus, Channel, Direction
from tests.factories import CallFactory, CustomerFactory
from tests.fakes.twilio_server import FakeTwilio

ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "test-auth-token"
FROM_NUMBER = "+14155550100"
PUBLIC_BASE_URL = "https://cc.example.com"


def use_fake_twilio(settings) -> FakeTwilio:
    """Start a fake Twilio REST API and point the settings at it. The caller stops it."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_FROM_NUMBER = FROM_NUMBER
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_HTTP_TIMEOUT = 0.5
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    return fake


def outbound_call(**fields):
    """A queued outbound call that nobody has dialed yet."""
    defaults = {
        "direction": Direction.OUTBOUND,
        "channel": Channel.VOICE,
        "status": CallStatus.QUEUED,
        "twilio_call_sid": "",
        "from_number": FROM_NUMBER,
        "to_number": factory.SelfAttribute("customer.phone"),
        "workflow_name": "collections",
        "reason": "Promise to pay is due",
        "started_at": None,
        "ended_at": None,
        "duration_seconds": None,
    }
    if "customer" not in fields:
        fields["customer"] = CustomerFactory(consenting=True)
    return CallFactory(**{**defaults, **fields})


def signed(path: str, params: dict, headers: dict | None = None):
    """POST a webhook as Twilio does: signed with the auth token over the public URL."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}{path}", params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature, **(headers or {})})
