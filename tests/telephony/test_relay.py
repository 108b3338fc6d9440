"""The ConversationRelay socket, driven as Twilio drives it, through the project's ASGI router."""

import json
import xml.etree.ElementTree as ET

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from twilio.request_validator import RequestValidator

from apps.calls.models import Call, TranscriptEntry
from apps.promises.models import Promise
from contactcenter.asgi import application
from tests.layers import GroupListener

TOKEN = "test-auth-token"
BASE = "https://cc.example.com"
SID = "CA" + "d" * 32
RELAY = "wss://cc.example.com/ws/twilio/relay/"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.PUBLIC_BASE_URL = BASE


@pytest.fixture
def inbound_relay(maria) -> ET.Element:
    """An inbound call the webhook answered (its conversation exists, the greeting was said): the
    <ConversationRelay> it answered Twilio with."""
    params = {"CallSid": SID, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/twilio/voice/inbound/", params)
    response = Client().post("/twilio/voice/inbound/", params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200
    return ET.fromstring(response.content).find("Connect/ConversationRelay")


@pytest.fixture
def answered(inbound_relay) -> int:
    """That call's id."""
    return int(inbound_relay.find("Parameter[@name='call_id']").attrib["value"])


@pytest.fixture
def relay(inbound_relay) -> str:
    """The socket URL Twilio connects to for it, with its one-time session token."""
    return inbound_relay.attrib["url"]


def socket(url: str, signature: str | None = None) -> WebsocketCommunicator:
    """A socket as Twilio opens it: to the URL from our TwiML, signed over that URL."""
    assert url.startswith(RELAY), url
    signature = RequestValidator(TOKEN).compute_signature(url, {}) if signature is None else signature
    return WebsocketCommunicator(
        application,
        url.removeprefix(BASE.replace("https", "wss")),
        headers=[(b"x-twilio-signature", signature.encode())],
    )


def setup_message(call_id: int, call_sid: str = SID) -> dict:
    return {
        "type": "setup",
        "sessionId": "VX" + "0" * 32,
        "accountSid": "AC" + "0" * 32,
        "callSid": call_sid,
        "from": "+14155550123",
        "to": "+14155550100",
        "direction": "inbound",
        "callType": "PSTN",
        "callStatus": "RINGING",
        "customParameters": {"call_id": str(call_id)},
    }


async def reply(ws: WebsocketCommunicator) -> tuple[str, list[dict]]:
    """Read a reply: text tokens until last: true (or an end message). Returns the text and all messages."""
    messages = []
    while True:
        message = json.loads(await ws.receive_from(timeout=5))
        messages.append(message)
        if message["type"] == "end" or (message["type"] == "text" and message["last"]):
            text = "".join(m["token"] for m in messages if m["type"] == "text")
            return text, messages


def prompt(text: str) -> str:
    return json.dumps({"type": "prompt", "voicePrompt": text, "lang": "en-US", "last": True})


def test_an_unsigned_socket_is_refused(relay):
    async def scenario():
        ws = socket(relay, signature="")
        connected, _ = await ws.connect()
        return connected

    assert async_to_sync(scenario)() is False


def test_a_socket_signed_for_another_url_is_refused(relay):
    elsewhere = relay.replace(RELAY, "wss://evil.example/ws/twilio/relay/")

    async def scenario():
        ws = socket(relay, signature=RequestValidator(TOKEN).compute_signature(elsewhere, {}))
        return (await ws.connect())[0]

    assert async_to_sync(scenario)() is False


def test_a_call_over_the_relay_streams_replies_and_records_the_promise(answered, relay):
    async def scenario():
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        balance, messages = await reply(ws)
        await ws.send_to(text_data=prompt("I can pay 300 dollars on Friday"))
        await reply(ws)
        await ws.send_to(text_data=prompt("Yes"))
        await reply(ws)
        await ws.send_to(text_data=prompt("No, that's all. Bye!"))
        goodbye, _ = await reply(ws)
        end = json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return balance, messages, goodbye, end

    balance, messages, goodbye, end = async_to_sync(scenario)()
    assert balance == (
        "Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past due. "
        "Can you pay in full, or prefer a plan?"
    )
    assert all(set(m) == {"type", "token", "last"} for m in messages)  # nothing but protocol messages
    assert messages[-1] == {"type": "text", "token": "", "last": True}
    assert goodbye == "Thank you, Maria. Take care, goodbye."
    assert end["type"] == "end"
    assert json.loads(end["handoffData"]) == {"handoff": False, "reason": "closed", "call_id": answered}
    assert Promise.objects.get().call_id == answered
    assert TranscriptEntry.objects.filter(call_id=answered).count() == 9


def test_asking_for_a_person_ends_the_session_with_handoff_data(answered, relay):
    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("Let me talk to a representative"))
        text, _ = await reply(ws)
        end = json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return text, end

    text, end = async_to_sync(scenario)()
    assert text == "I'll connect you with a specialist now. One moment, please."
    data = json.loads(end["handoffData"])
    assert (data["handoff"], data["reason"], data["call_id"]) == (True, "the caller asked for a person", answered)
    assert data["summary"].startswith("collections call, step verify_identity; caller Maria Lopez")
    assert Call.objects.get(pk=answered).handoff_reason == "the caller asked for a person"


def test_speaking_over_the_hand_off_keeps_it_a_hand_off(answered, relay):
    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("Let me talk to a representative"))
        await reply(ws)
        first = json.loads(await ws.receive_from(timeout=5))
        # The caller says "ok" before Twilio acts on the end (or the turn was cut off before it).
        await ws.send_to(text_data=prompt("Okay, thanks"))
        again = json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return first, again

    first, again = async_to_sync(scenario)()
    assert first["type"] == again["type"] == "end"
    assert json.loads(again["handoffData"]) == json.loads(first["handoffData"])
    assert json.loads(again["handoffData"])["handoff"] is True


def test_pressing_star_asks_for_a_person(answered, relay):
    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=json.dumps({"type": "dtmf", "digit": "*"}))
        await reply(ws)
        end = json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return end

    assert json.loads(async_to_sync(scenario)()["handoffData"])["handoff"] is True


def test_keyed_digits_then_hash_are_a_turn(answered, relay):
    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        for digit in "0042#":
            await ws.send_to(text_data=json.dumps({"type": "dtmf", "digit": digit}))
        text, _ = await reply(ws)
        await ws.disconnect()
        return text

    assert async_to_sync(scenario)().startswith("Your balance is one thousand two hundred fifty dollars")


def test_an_interruption_keeps_what_the_caller_heard(answered, relay):
    listener = GroupListener(f"call-{answered}")

    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        await reply(ws)
        heard = "Your balance is one thousand"
        await ws.send_to(
            text_data=json.dumps(
                {"type": "interrupt", "utteranceUntilInterrupt": heard, "durationUntilInterruptMs": "2140"}
            )
        )
        await ws.send_to(text_data=prompt("Sorry, how much?"))
        await reply(ws)
        await ws.disconnect()
        return heard

    heard = async_to_sync(scenario)()
    try:
        published = [entry for message in listener.received() for entry in message["entries"]]
    finally:
        listener.close()
    cut = TranscriptEntry.objects.filter(call_id=answered, speaker="agent").order_by("sequence")[1]
    assert (cut.text, cut.interrupted) == (heard, True)
    history = Call.objects.get(pk=answered).state["history"]
    assert {"role": "assistant", "content": heard} in history
    # The live monitor saw the whole reply, then the same entry cut to what was heard.
    shown = [(e["text"], e["interrupted"]) for e in published if e["sequence"] == cut.sequence]
    assert shown[0][0].startswith(heard + " two hundred fifty dollars")
    assert shown[1:] == [(heard, True)]


def test_an_interruption_before_anything_was_said_changes_nothing(answered, relay, fake_llm):
    fake_llm.script("primary", delay=3)  # the model is slow: the caller talks over the silence

    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("Hello?"))
        await ws.send_to(
            text_data=json.dumps({"type": "interrupt", "utteranceUntilInterrupt": "", "durationUntilInterruptMs": "0"})
        )
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()

    async_to_sync(scenario)()
    greeting = TranscriptEntry.objects.filter(call_id=answered, speaker="agent").get()
    assert greeting.text.startswith("Thanks for calling Northwind Auto Finance.")
    assert greeting.interrupted is False
    assert TranscriptEntry.objects.filter(call_id=answered, speaker="customer").get().text == "Hello?"


def test_a_setup_for_a_call_without_a_conversation_ends_the_session(answered, relay):
    Call.objects.filter(pk=answered).update(state={})

    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        end = json.loads(await ws.receive_from(timeout=5))
        await ws.disconnect()
        return end

    end = async_to_sync(scenario)()
    assert end["type"] == "end"
    assert json.loads(end["handoffData"]) == {"handoff": True, "reason": "the conversation could not be found"}


def test_prompts_before_setup_and_partial_prompts_are_ignored(answered, relay):
    async def scenario():
        ws = socket(relay)
        await ws.connect()
        await ws.send_to(text_data=prompt("hello"))
        nothing_before_setup = await ws.receive_nothing(timeout=0.2)
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=json.dumps({"type": "prompt", "voicePrompt": "my zip", "last": False}))
        nothing_for_partial = await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()
        return nothing_before_setup, nothing_for_partial

    assert async_to_sync(scenario)() == (True, True)
    assert TranscriptEntry.objects.filter(call_id=answered, speaker="customer").count() == 0


def test_a_supervisor_taking_a_call_over_ends_the_relay_with_the_handoff(answered, relay, supervisor):
    desk = Client()
    desk.force_login(supervisor)

    async def scenario():
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        await reply(ws)
        take_over = database_sync_to_async(desk.post)
        panel = await take_over(f"/console/calls/{answered}/take-over/", headers={"HX-Request": "true"})
        end = json.loads(await ws.receive_from(timeout=5))
        await ws.send_to(text_data=prompt("Hello?"))  # the agent says nothing more on this call
        silent = await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()
        return panel.status_code, end, silent

    status, end, silent = async_to_sync(scenario)()
    assert (status, end["type"], silent) == (200, "end", True)
    data = json.loads(end["handoffData"])
    assert (data["handoff"], data["reason"], data["call_id"]) == (True, "taken over by sup", answered)
    assert "caller Maria Lopez" in data["summary"]
    call = Call.objects.get(pk=answered)
    assert (call.state["handoff"], call.state["ended"]) == ({"reason": "taken over by sup"}, True)
    assert TranscriptEntry.objects.filter(call=call).last().text == "sup took over the conversation."
