"""The URLs we hand Twilio (where to ask for a call's TwiML, report its status, open the relay socket,
take the whisper) are built from the voice channel's routes by name (apps/voice/urls.py), never
written out a second time: apps/twilio knows no route of ours, and the dialer (apps/outreach, below
voice) reverses the names. Mount the routes elsewhere and every URL follows."""

import json
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.urls import resolve

from apps.outreach.dialing import call_place, callback_urls
from apps.voice import views
from tests.factories import CallFactory
from tests.telephony import PUBLIC_BASE_URL, outbound_call, signed

MOVED = "tests.telephony.moved_routes"


def view_of(url: str):
    """The view a URL of ours reaches, and its arguments."""
    assert url.startswith(PUBLIC_BASE_URL), url
    match = resolve(urlsplit(url).path)
    return match.func, match.kwargs


@pytest.mark.django_db
def test_every_route_the_dialer_names_reaches_its_voice_view(fake_twilio):
    urls = callback_urls(41)
    assert sorted(urls) == ["amd_url", "answer_url", "status_url"]
    assert view_of(urls["answer_url"]) == (views.outbound, {"call_id": 41})
    assert view_of(urls["status_url"]) == (views.status, {})
    assert view_of(urls["amd_url"]) == (views.amd, {})


@pytest.mark.django_db
def test_the_dial_follows_the_voice_routes_where_they_are_mounted(fake_twilio, settings):
    settings.ROOT_URLCONF = MOVED
    call = outbound_call()
    call_place(call_id=call.pk)

    [create] = fake_twilio.creates
    sent = {name: create.form[name] for name in ("Url", "StatusCallback", "AsyncAmdStatusCallback")}
    assert sent == {
        "Url": [f"{PUBLIC_BASE_URL}/phone/voice/outbound/{call.pk}/"],
        "StatusCallback": [f"{PUBLIC_BASE_URL}/phone/voice/status/"],
        "AsyncAmdStatusCallback": [f"{PUBLIC_BASE_URL}/phone/voice/amd/"],
    }


@pytest.fixture
def moved(settings):
    settings.ROOT_URLCONF = MOVED
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.PUBLIC_BASE_URL = PUBLIC_BASE_URL
    settings.HUMAN_AGENT_NUMBER = "+14155550142"


def test_the_relay_twiml_follows_the_voice_routes_where_they_are_mounted(moved, maria):
    params = {"CallSid": "CA" + "1" * 32, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    xml = ET.fromstring(signed("/phone/voice/inbound/", params).content)

    assert xml.find("Connect").attrib["action"] == f"{PUBLIC_BASE_URL}/phone/voice/relay-action/"
    # The socket is a Channels route (apps/voice/routing.py), not a Django view: it stays put.
    assert (
        xml.find("Connect/ConversationRelay").attrib["url"].startswith("wss://cc.example.com/ws/twilio/relay/?token=")
    )


def test_the_hand_off_twiml_follows_the_voice_routes_where_they_are_mounted(moved, live_db):
    call = CallFactory(twilio_call_sid="CA" + "7" * 32, status="in-progress", ended_at=None)
    handoff = json.dumps({"handoff": True, "reason": "the caller asked for a person"})
    params = {"CallSid": call.twilio_call_sid, "SessionStatus": "ended", "HandoffData": handoff}
    xml = ET.fromstring(signed("/phone/voice/relay-action/", params).content)

    assert xml.find("Dial/Number").attrib["url"] == f"{PUBLIC_BASE_URL}/phone/voice/whisper/{call.pk}/"
