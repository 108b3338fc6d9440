"""Twilio's voice webhooks, signed with twilio's own RequestValidator at our public URL."""

import json
import random
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call, TranscriptEntry
from tests.broker import record_sent_tasks
from tests.factories import CallFactory
from tests.telephony import AUTH_TOKEN, PUBLIC_BASE_URL, signed

TOKEN = AUTH_TOKEN
BASE = PUBLIC_BASE_URL


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_FROM_NUMBER = "+14155550100"
    settings.PUBLIC_BASE_URL = BASE
    settings.HUMAN_AGENT_NUMBER = ""


def parse(response) -> ET.Element:
    assert response["Content-Type"] == "text/xml"
    return ET.fromstring(response.content)


def inbound(sid: str = "CA" + "1" * 32, caller: str = "+14155550123", to: str = "+14155550100"):
    return signed(
        "/twilio/voice/inbound/",
        {"CallSid": sid, "From": caller, "To": to, "CallStatus": "ringing", "Direction": "inbound"},
    )


def test_an_inbound_call_is_answered_with_conversation_relay(maria):
    xml = parse(inbound())
    call = Call.objects.get()
    connect = xml.find("Connect")
    relay = connect.find("ConversationRelay")
    assert connect.attrib == {"action": f"{BASE}/twilio/voice/relay-action/", "method": "POST"}
    assert relay.attrib["url"].startswith("wss://cc.example.com/ws/twilio/relay/?token=")  # test_relay_binding.py
    assert relay.attrib == {
        "url": relay.attrib["url"],
        "welcomeGreeting": (
            "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. Hi Maria. "
            "To verify your identity, what's your ZIP code?"
        ),
        "welcomeGreetingInterruptible": "any",
        "language": "en-US",
        "ttsProvider": "Google",
        "voice": "en-US-Journey-O",
        "transcriptionProvider": "Deepgram",
        "speechModel": "nova-3-general",
        "interruptible": "any",
        "dtmfDetection": "true",
        "reportInputDuringAgentSpeech": "none",
    }
    assert [p.attrib for p in relay.findall("Parameter")] == [{"name": "call_id", "value": str(call.pk)}]
    assert (call.twilio_call_sid, call.customer, call.direction, call.status) == (
        "CA" + "1" * 32,
        maria,
        "inbound",
        "ringing",
    )
    assert (call.workflow_name, call.current_step) == ("collections", "verify_identity")
    assert list(TranscriptEntry.objects.values_list("speaker", "text")) == [("agent", relay.attrib["welcomeGreeting"])]


def test_the_number_called_picks_the_workflow(maria, settings):
    settings.INBOUND_WORKFLOWS = {"+14155550199": "roadside"}
    xml = parse(inbound(to="+14155550199"))
    greeting = xml.find("Connect/ConversationRelay").attrib["welcomeGreeting"]
    assert greeting.endswith("Hi Maria, is this about your Honda Civic?")
    assert Call.objects.get().workflow_name == "roadside"


def test_an_unknown_caller_is_asked_who_they_are(live_db):
    xml = parse(inbound(caller="+13125550000"))
    greeting = xml.find("Connect/ConversationRelay").attrib["welcomeGreeting"]
    assert greeting.endswith("What's your full name and account number, please?")
    assert Call.objects.get().customer is None


def test_twilios_retry_of_the_same_call_changes_nothing(maria):
    first = parse(inbound()).find("Connect/ConversationRelay").attrib["welcomeGreeting"]
    second = parse(inbound()).find("Connect/ConversationRelay").attrib["welcomeGreeting"]
    assert first == second
    assert Call.objects.count() == 1
    assert TranscriptEntry.objects.count() == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    ],
)
def test_a_request_without_a_valid_signature_is_refused_and_writes_nothing(live_db, headers):
    response = Client().post(
        "/twilio/voice/inbound/", {"CallSid": "CA" + "2" * 32, "From": "+14155550123"}, headers=headers
    )
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_a_signature_for_another_url_is_refused(live_db):
    params = {"CallSid": "CA" + "2" * 32, "From": "+14155550123"}
    signature = RequestValidator(TOKEN).compute_signature(f"{BASE}/twilio/voice/status/", params)
    response = Client().post("/twilio/voice/inbound/", params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_without_an_auth_token_every_twilio_request_is_refused(live_db, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert signed("/twilio/voice/status/", {"CallSid": "CA1", "CallStatus": "completed"}).status_code == 403


def test_sha256_signed_webhooks_use_the_shared_key(live_db, settings):
    settings.TWILIO_WEBHOOK_SECRET = "shared-key-secret"
    call = CallFactory(twilio_call_sid="CA" + "3" * 32, status="in-progress")
    params = {"CallSid": call.twilio_call_sid, "CallStatus": "completed", "SequenceNumber": "3"}
    signature = RequestValidator("shared-key-secret").compute_signature(
        f"{BASE}/twilio/voice/status/", params, algorithm="HMAC_SHA256"
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": "key=ks_1,algorithm=HMAC_SHA256",
    }
    assert Client().post("/twilio/voice/status/", params, headers=headers).status_code == 204
    call.refresh_from_db()
    assert call.status == "completed"


def status(sid: str, call_status: str, sequence: int, token: str = "", **extra):
    params = {"CallSid": sid, "CallStatus": call_status, "SequenceNumber": str(sequence), **extra}
    headers = {"I-Twilio-Idempotency-Token": token} if token else {}
    return signed("/twilio/voice/status/", params, headers)


def test_status_callbacks_apply_in_order_and_never_regress(live_db, django_capture_on_commit_callbacks):
    call = CallFactory(twilio_call_sid="CA" + "4" * 32, status="ringing", ended_at=None, duration_seconds=None)
    sid = call.twilio_call_sid
    assert status(sid, "in-progress", 2).status_code == 204
    assert status(sid, "completed", 3, CallDuration="95").status_code == 204
    assert status(sid, "ringing", 1).status_code == 204  # late and out of order
    call.refresh_from_db()
    assert (call.status, call.status_sequence, call.duration_seconds) == ("completed", 3, 95)
    assert call.answered_at is not None
    assert call.ended_at is not None


def test_a_completed_call_starts_post_call_processing_exactly_once(live_db, monkeypatch):
    sent = record_sent_tasks(monkeypatch)
    call = CallFactory(twilio_call_sid="CA" + "5" * 32, status="in-progress", ended_at=None)
    status(call.twilio_call_sid, "completed", 4, token="tok-1", CallDuration="61")
    status(call.twilio_call_sid, "completed", 4, token="tok-1", CallDuration="61")  # Twilio's retry
    status(call.twilio_call_sid, "completed", 5, CallDuration="61")  # a duplicate with a new sequence
    assert CallAnalysis.objects.filter(call=call).count() == 1
    assert CallAnalysis.objects.get(call=call).status == "pending"
    assert sent == [("apps.analysis.tasks.call_analyze_task", (call.pk,), {})]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_twenty_repeated_and_shuffled_callbacks_make_one_completion_and_one_analysis(live_db, seed):
    call = CallFactory(twilio_call_sid="CA" + "9" * 32, status="queued", ended_at=None, duration_seconds=None)
    sid = call.twilio_call_sid
    # Twilio's four events, each delivered five times (retries keep their idempotency token; the
    # last copy has none), in an order that differs per seed.
    events = [
        ("initiated", 0, {}),
        ("ringing", 1, {}),
        ("in-progress", 2, {}),
        ("completed", 3, {"CallDuration": "61"}),
    ]
    callbacks = [
        (name, sequence, f"tok-{sequence}" if copy < 4 else "", extra)
        for name, sequence, extra in events
        for copy in range(5)
    ]
    random.Random(seed).shuffle(callbacks)
    assert len(callbacks) == 20

    completed_at = None
    for name, sequence, token, extra in callbacks:
        assert status(sid, name, sequence, token, **extra).status_code == 204
        call.refresh_from_db()
        if completed_at is None and call.status == "completed":
            completed_at = call.ended_at
        if completed_at is not None:  # once completed, nothing moves it
            assert (call.status, call.status_sequence, call.ended_at) == ("completed", 3, completed_at)

    assert (call.status, call.status_sequence, call.duration_seconds) == ("completed", 3, 61)
    assert list(CallAnalysis.objects.filter(call=call).values_list("status", flat=True)) == ["pending"]


def test_a_status_for_an_unknown_call_is_acknowledged_and_ignored(live_db):
    assert status("CA" + "6" * 32, "completed", 1).status_code == 204
    assert not CallAnalysis.objects.exists()


def relay_action(**params):
    return signed("/twilio/voice/relay-action/", {"CallSid": "CA" + "7" * 32, "AccountSid": "AC" + "0" * 32, **params})


@pytest.fixture
def live_call(live_db):
    return CallFactory(twilio_call_sid="CA" + "7" * 32, status="in-progress", ended_at=None)


def test_a_handoff_dials_the_human_agent_who_hears_the_context_first(live_call, settings):
    settings.HUMAN_AGENT_NUMBER = "+14155550142"
    handoff = json.dumps({"handoff": True, "reason": "the caller asked for a person", "summary": "Wants a plan."})
    xml = parse(relay_action(SessionStatus="ended", HandoffData=handoff))
    number = xml.find("Dial/Number")
    assert number.text == "+14155550142"
    assert number.attrib["url"] == f"{BASE}/twilio/voice/whisper/{live_call.pk}/"
    assert xml.find("Dial").attrib["callerId"] == "+14155550100"
    # When the person's leg ends, Twilio asks what next (tests/telephony/test_after_person.py).
    assert (xml.find("Dial").attrib["action"], xml.find("Dial").attrib["method"]) == (
        f"{BASE}/twilio/voice/after-person/{live_call.pk}/",
        "POST",
    )
    assert [child.tag for child in xml] == ["Say", "Dial"]
    live_call.refresh_from_db()
    assert live_call.handoff_reason == "the caller asked for a person"

    whisper = parse(signed(f"/twilio/voice/whisper/{live_call.pk}/", {"CallSid": "CA" + "8" * 32}))
    assert whisper.find("Say").text.startswith("Transfer from the AI assistant. Reason: the caller asked for a person.")


def test_without_a_human_number_the_caller_waits_in_the_queue(live_call):
    xml = parse(relay_action(SessionStatus="ended", HandoffData=json.dumps({"handoff": True, "reason": "x"})))
    assert xml.find("Enqueue").text == "specialists"
    assert xml.find("Dial") is None


def test_a_finished_conversation_hangs_up(live_call):
    xml = parse(relay_action(SessionStatus="ended", HandoffData=json.dumps({"handoff": False, "reason": "closed"})))
    assert [child.tag for child in xml] == ["Hangup"]


def test_a_caller_hang_up_closes_the_call(live_call):
    xml = parse(relay_action(SessionStatus="completed", SessionDuration="42"))
    assert list(xml) == []
    live_call.refresh_from_db()
    assert live_call.status == "completed"
    assert CallAnalysis.objects.filter(call=live_call).count() == 1


def test_a_failed_session_after_the_caller_left_is_recorded_with_an_apology(live_call):
    live_call.status = "completed"
    live_call.save()
    xml = parse(relay_action(SessionStatus="failed", ErrorCode="39001", ErrorMessage="WebSocket unreachable"))
    assert [child.tag for child in xml] == ["Say", "Hangup"]
    live_call.refresh_from_db()
    assert live_call.error == "ConversationRelay failed: 39001 WebSocket unreachable"
    assert live_call.relay_failures == 0


def test_a_failed_session_without_a_conversation_goes_to_a_person(live_call):
    xml = parse(relay_action(SessionStatus="failed", SessionId="VX1", ErrorCode="39001"))
    assert [child.tag for child in xml] == ["Say", "Say", "Enqueue"]
    assert xml.find("Say").text == "We're sorry, we were cut off."
    live_call.refresh_from_db()
    assert (live_call.error, live_call.handoff_reason) == (
        "ConversationRelay failed: 39001",
        "the conversation could not be resumed",
    )


def test_a_failed_session_of_an_unknown_call_hears_an_apology(live_db):
    xml = parse(relay_action(SessionStatus="failed", CallSid="CA" + "0" * 32))
    assert [child.tag for child in xml] == ["Say", "Hangup"]


def test_answering_machine_detection_is_recorded(live_db):
    call = CallFactory(twilio_call_sid="CA" + "9" * 32, direction="outbound")
    response = signed("/twilio/voice/amd/", {"CallSid": call.twilio_call_sid, "AnsweredBy": "machine_end_beep"})
    assert response.status_code == 204
    call.refresh_from_db()
    assert call.answered_by == "machine_end_beep"


@pytest.fixture
def placed(maria):
    return CallFactory(
        customer=maria, direction="outbound", status="initiated", twilio_call_sid="CA" + "a" * 32,
        workflow_name="collections", reason="Promise follow-up", started_at=None, ended_at=None,
    )  # fmt: skip


def test_an_answered_outbound_call_confirms_the_person_before_anything_else(placed):
    xml = parse(signed(f"/twilio/voice/outbound/{placed.pk}/", {"CallSid": placed.twilio_call_sid}))
    greeting = xml.find("Connect/ConversationRelay").attrib["welcomeGreeting"]
    assert greeting == (
        "Hello, this is Ava calling from Northwind Auto Finance. I'm an AI assistant, and this call is recorded. "
        "Am I speaking with Maria Lopez?"
    )
    placed.refresh_from_db()
    assert (placed.status, placed.current_step) == ("in-progress", "confirm_party")


def test_an_outbound_answer_for_an_unclear_dial_attaches_the_call(placed):
    placed.twilio_call_sid = ""
    placed.save()
    parse(signed(f"/twilio/voice/outbound/{placed.pk}/", {"CallSid": "CA" + "b" * 32}))
    placed.refresh_from_db()
    assert placed.twilio_call_sid == "CA" + "b" * 32


def test_an_outbound_answer_for_another_call_hangs_up(placed):
    xml = parse(signed(f"/twilio/voice/outbound/{placed.pk}/", {"CallSid": "CA" + "c" * 32}))
    assert [child.tag for child in xml] == ["Hangup"]
    placed.refresh_from_db()
    assert placed.state == {}
