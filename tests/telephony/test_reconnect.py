"""A call whose relay session failed (its web process died) is reconnected to the agent where it was,
a few times at most, then handed to a person. Twilio's webhooks are signed with its own validator."""

import json
import re
import xml.etree.ElementTree as ET

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from apps.calls.models import Call, TraceEvent, TranscriptEntry
from tests.telephony import signed
from tests.telephony.test_relay import prompt, reply, setup_message, socket

SID = "CA" + "d" * 32  # the CallSid tests/telephony/test_relay.py's sockets set up
GREETING = (
    "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. Hi Maria. "
    "To verify your identity, what's your ZIP code?"
)
REJOINED = "Sorry, we were cut off. To verify your identity, what's your ZIP code?"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = "test-auth-token"
    settings.PUBLIC_BASE_URL = "https://cc.example.com"
    settings.HUMAN_AGENT_NUMBER = ""
    settings.RELAY_RECONNECTS = 2


def parse(response) -> ET.Element:
    assert (response.status_code, response["Content-Type"]) == (200, "text/xml")
    return ET.fromstring(response.content)


@pytest.fixture
def answered(maria) -> tuple[Call, ET.Element]:
    """An inbound call the webhook answered, and its <ConversationRelay>."""
    params = {"CallSid": SID, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    relay = parse(signed("/twilio/voice/inbound/", params)).find("Connect/ConversationRelay")
    return Call.objects.get(twilio_call_sid=SID), relay


def failed(session: str, token: str = "", **extra):
    """Twilio's <Connect action> request after the socket failed, as sent (and retried) by Twilio."""
    params = {
        "AccountSid": "AC" + "0" * 32,
        "CallSid": SID,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "SessionId": session,
        "SessionStatus": "failed",
        "SessionDuration": "31",
        "ErrorCode": "39001",
        "ErrorMessage": "WebSocket closed",
        **extra,
    }
    return signed("/twilio/voice/relay-action/", params, {"I-Twilio-Idempotency-Token": token} if token else {})


def without_token(content: bytes) -> bytes:
    return re.sub(rb"\?token=[^\"]+", b"?token=...", content)


def transcript(call: Call) -> list[tuple[int, str, str]]:
    return list(
        TranscriptEntry.objects.filter(call=call).order_by("sequence").values_list("sequence", "speaker", "text")
    )


def reconnects(call: Call) -> list[tuple[str, dict]]:
    return list(TraceEvent.objects.filter(call=call, name__startswith="relay_").values_list("name", "payload"))


def test_a_failed_session_is_reconnected_where_it_was(answered):
    call, first = answered
    xml = parse(failed("VX" + "1" * 32))

    connect = xml.find("Connect")
    relay = connect.find("ConversationRelay")
    assert [child.tag for child in xml] == ["Connect"]
    assert connect.attrib == {"action": "https://cc.example.com/twilio/voice/relay-action/", "method": "POST"}
    # Every other attribute pinned alike; a new session of the call, with its own token.
    assert relay.attrib == {**first.attrib, "welcomeGreeting": REJOINED, "url": relay.attrib["url"]}
    assert relay.attrib["url"].startswith("wss://cc.example.com/ws/twilio/relay/?token=")
    assert relay.attrib["url"] != first.attrib["url"]
    assert [p.attrib for p in relay.findall("Parameter")] == [{"name": "call_id", "value": str(call.pk)}]
    assert transcript(call) == [(0, "agent", GREETING), (1, "agent", REJOINED)]
    call.refresh_from_db()
    assert (call.relay_failures, call.error, call.handoff_reason) == (
        1,
        "ConversationRelay failed: 39001 WebSocket closed",
        "",
    )
    assert (call.state["transcript_sequence"], call.state["step"]) == (2, "verify_identity")
    assert reconnects(call) == [
        ("relay_reconnect", {"session_id": "VX" + "1" * 32, "failures": 1, "error": "39001 WebSocket closed"})
    ]


def test_twilios_retry_of_the_same_failure_counts_once_and_says_the_greeting_once(answered):
    call, _ = answered
    first = failed("VX" + "1" * 32, token="idem-1")
    retry = failed("VX" + "1" * 32, token="idem-1")
    # Answered alike, but for a session of its own: Twilio connects with the token it last received.
    assert without_token(retry.content) == without_token(first.content)
    assert retry.content != first.content
    assert transcript(call) == [(0, "agent", GREETING), (1, "agent", REJOINED)]
    call.refresh_from_db()
    assert call.relay_failures == 1
    assert [name for name, _ in reconnects(call)] == ["relay_reconnect"]


def test_after_the_last_reconnect_the_caller_goes_to_a_person(answered, settings):
    call, _ = answered
    for session in ("VX1", "VX2"):
        assert parse(failed(session)).find("Connect/ConversationRelay").attrib["welcomeGreeting"] == REJOINED
    settings.HUMAN_AGENT_NUMBER = "+14155550142"

    third = parse(failed("VX3"))
    retried = parse(failed("VX3"))

    for xml in (third, retried):
        assert [child.tag for child in xml] == ["Say", "Say", "Dial"]
        assert [say.text for say in xml.findall("Say")][:2] == [
            "We're sorry, we were cut off.",
            "Connecting you with a specialist now. Please hold.",
        ]
        assert xml.find("Dial/Number").text == "+14155550142"
        assert xml.find("Dial/Number").attrib["url"] == f"https://cc.example.com/twilio/voice/whisper/{call.pk}/"
        assert xml.find("Dial").attrib["action"] == f"https://cc.example.com/twilio/voice/after-person/{call.pk}/"
    # Each reconnect said it once; the hand-off is said by Twilio, not the agent.
    assert transcript(call) == [(0, "agent", GREETING), (1, "agent", REJOINED), (2, "agent", REJOINED)]
    call.refresh_from_db()
    assert (call.relay_failures, call.handoff_reason) == (3, "the connection to the agent failed 3 times")
    assert [(name, payload["failures"]) for name, payload in reconnects(call)] == [
        ("relay_reconnect", 1),
        ("relay_reconnect", 2),
        ("relay_hand_off", 3),
    ]
    whisper = parse(signed(f"/twilio/voice/whisper/{call.pk}/", {"CallSid": "CA" + "8" * 32}))
    assert whisper.find("Say").text.startswith(
        "Transfer from the AI assistant. Reason: the connection to the agent failed 3 times."
    )


def test_a_failure_with_a_bad_signature_is_refused_and_writes_nothing(answered):
    call, _ = answered
    params = {"CallSid": SID, "SessionId": "VX1", "SessionStatus": "failed", "CallStatus": "in-progress"}
    response = Client().post(
        "/twilio/voice/relay-action/", params, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    )
    assert response.status_code == 403
    assert transcript(call) == [(0, "agent", GREETING)]
    assert reconnects(call) == []
    fresh = Call.objects.get(pk=call.pk)
    assert (fresh.relay_failures, fresh.relay_failed_session, fresh.error, fresh.state) == (0, "", "", call.state)


def test_a_conversation_that_cannot_be_resumed_goes_to_a_person(answered):
    call, _ = answered
    Call.objects.filter(pk=call.pk).update(state={**call.state, "workflow": "retired"})
    xml = parse(failed("VX1"))
    assert [child.tag for child in xml] == ["Say", "Say", "Enqueue"]
    assert xml.find("Say").text == "We're sorry, we were cut off."
    assert transcript(call) == [(0, "agent", GREETING)]
    call.refresh_from_db()
    assert (call.relay_failures, call.handoff_reason) == (1, "the conversation could not be resumed")


def test_a_failure_after_the_caller_hung_up_is_not_reconnected(answered):
    call, _ = answered
    xml = parse(failed("VX1", CallStatus="completed"))
    assert [child.tag for child in xml] == ["Say", "Hangup"]
    assert transcript(call) == [(0, "agent", GREETING)]
    call.refresh_from_db()
    assert call.relay_failures == 0


def test_the_new_socket_goes_on_from_the_step_it_was_in(answered):
    call, first = answered

    async def before():
        ws = socket(first.attrib["url"])
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(call.pk)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        balance, _ = await reply(ws)
        await ws.disconnect()  # the socket drops; its saves were flushed
        return balance

    async def after(relay: str):
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(call.pk)))
        await ws.send_to(text_data=prompt("I can pay 300 dollars on Friday"))
        confirm, _ = await reply(ws)
        await ws.disconnect()
        return confirm

    balance = async_to_sync(before)()
    second = parse(failed("VX1")).find("Connect/ConversationRelay")
    rejoined = second.attrib["welcomeGreeting"]
    confirm = async_to_sync(after)(second.attrib["url"])

    assert rejoined == "Sorry, we were cut off. Can you pay in full, or prefer a plan?"
    assert confirm.startswith("So that's three hundred dollars on Friday")
    assert [(sequence, speaker) for sequence, speaker, _ in transcript(call)] == [
        (0, "agent"),
        (1, "customer"),
        (2, "agent"),
        (3, "agent"),
        (4, "customer"),
        (5, "agent"),
    ]
    assert [text for _, _, text in transcript(call)][2:5] == [balance, rejoined, "I can pay 300 dollars on Friday"]
    call.refresh_from_db()
    assert [entry["name"] for entry in call.state["tool_log"]].count("verify_identity") == 1
    assert call.state["step"] == "confirm_promise"


def test_a_hand_off_the_session_failed_to_carry_out_still_goes_to_a_person(answered):
    call, relay = answered

    async def ask_for_a_person():
        ws = socket(relay.attrib["url"])
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(call.pk)))
        await ws.send_to(text_data=prompt("Let me talk to a representative"))
        await reply(ws)
        await ws.disconnect()

    async_to_sync(ask_for_a_person)()
    xml = parse(failed("VX1"))
    assert [child.tag for child in xml] == ["Say", "Enqueue"]  # no apology: they were told already
    call.refresh_from_db()
    assert (call.relay_failures, call.handoff_reason) == (0, "the caller asked for a person")


def test_a_socket_for_a_call_that_is_over_is_refused(answered):
    call, relay = answered
    Call.objects.filter(pk=call.pk).update(status="completed")

    async def scenario():
        ws = socket(relay.attrib["url"])
        connected, _ = await ws.connect()  # refused before accept: no setup, nothing written
        return connected

    assert async_to_sync(scenario)() is False
    assert transcript(call) == [(0, "agent", GREETING)]
