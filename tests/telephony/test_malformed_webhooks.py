"""Signed but malformed webhooks: refused with 400, or (where a caller waits for TwiML and the value
is merely odd) answered as if the value were absent. Never a 500, nothing malformed written, one
warning line and no traceback. Signed with twilio's own RequestValidator, like Twilio does."""

import json
import logging
import xml.etree.ElementTree as ET

import pytest
from django.test import Client

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call, TraceEvent, TranscriptEntry
from apps.core.models import AuditEvent
from apps.customers.models import Customer, DoNotCallEntry
from apps.telephony.models import SmsMessage
from tests.broker import record_sent_tasks
from tests.factories import CallFactory, CustomerFactory
from tests.telephony import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, outbound_call, signed

SID = "CA" + "7" * 32
LONG_SID = "CA" + "7" * 38  # 40 characters: the column holds 34
HANG_UP = b'<?xml version="1.0" encoding="UTF-8"?><Response><Hangup /></Response>'
UNKNOWN_CALLER_GREETING = (
    "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. "
    "What's your full name and account number, please?"
)


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID = AUTH_TOKEN, ACCOUNT_SID
    settings.TWILIO_FROM_NUMBER, settings.PUBLIC_BASE_URL = FROM_NUMBER, PUBLIC_BASE_URL
    settings.HUMAN_AGENT_NUMBER = ""


@pytest.fixture
def sent(monkeypatch):
    return record_sent_tasks(monkeypatch)


@pytest.fixture
def unsent_calls(live_db):
    """Two outbound calls Twilio has not given a CallSid yet: an empty CallSid matches both."""
    return [outbound_call(), outbound_call()]


def rows() -> dict[str, list[dict]]:
    """Every row a Twilio webhook could write, field by field."""
    models = (Call, TranscriptEntry, TraceEvent, CallAnalysis, SmsMessage, DoNotCallEntry, Customer, AuditEvent)
    return {model._meta.label: list(model.objects.order_by("pk").values()) for model in models}


def warned(caplog, message: str) -> None:
    """Exactly one line at WARNING or above, this one, and no traceback anywhere."""
    loud = [(r.levelname, r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.WARNING]
    assert loud == [("WARNING", "apps.telephony.params", message)]
    assert not [r for r in caplog.records if r.exc_info]


def refused(response, path: str, reason: str, caplog) -> None:
    assert (response.status_code, response["Content-Type"]) == (400, "text/plain")
    assert response.content.decode() == f"Malformed Twilio request: {reason}."
    warned(caplog, f"Refused a malformed Twilio request to {path}: {reason}")


def test_the_signature_is_checked_before_the_parameters(ringing, caplog):
    response = Client().post("/twilio/voice/status/", {"CallSid": ""}, headers={"X-Twilio-Signature": "bm90"})
    assert response.status_code == 403
    assert not [r for r in caplog.records if r.name == "apps.telephony.params"]


# --- voice: inbound ----------------------------------------------------------------------------

INBOUND = "/twilio/voice/inbound/"


def inbound(**params):
    return signed(
        INBOUND,
        {"CallSid": SID, "AccountSid": ACCOUNT_SID, "From": "+13125550000", "To": FROM_NUMBER,
         "CallStatus": "ringing", "Direction": "inbound", **params},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("call_sid", "reason"),
    [
        ("", "CallSid is missing"),  # two unsent calls: get_or_create found both (MultipleObjectsReturned)
        (LONG_SID, "CallSid is not CA and 32 hex digits"),  # DataError on PostgreSQL
        ("CA" + "z" * 32, "CallSid is not CA and 32 hex digits"),
        ("CA" + "7" * 31 + "\n", "CallSid is not CA and 32 hex digits"),
    ],
)
def test_an_inbound_call_with_a_garbage_call_sid_is_refused(unsent_calls, sent, caplog, call_sid, reason):
    before = rows()
    refused(inbound(CallSid=call_sid), INBOUND, reason, caplog)
    assert rows() == before
    assert sent == []


def test_a_malformed_account_sid_is_refused(live_db, caplog):
    refused(inbound(AccountSid="AC123"), INBOUND, "AccountSid is not AC and 32 hex digits", caplog)
    assert not Call.objects.exists()


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"From": "client:" + "a" * 60}, "From is longer than 32 characters"),  # DataError on PostgreSQL
        ({"From": "+13125550000\x00"}, "From is not printable"),  # PostgreSQL refuses NUL characters
        ({"To": "sip:support@" + "x" * 40 + ".sip.twilio.com"}, "To is longer than 32 characters"),
    ],
)
def test_an_inbound_call_with_an_odd_caller_id_is_answered_as_an_unknown_caller(live_db, caplog, params, reason):
    """A live caller is not refused for a caller ID we cannot keep: the agent answers, asks who they
    are, and the odd value is stored nowhere (not cut to fit either)."""
    response = inbound(**params)
    assert (response.status_code, response["Content-Type"]) == (200, "text/xml")
    call = Call.objects.get()
    relay = ET.fromstring(response.content).find("Connect/ConversationRelay")
    assert relay.attrib["welcomeGreeting"] == UNKNOWN_CALLER_GREETING
    assert {"name": "call_id", "value": str(call.pk)} in [p.attrib for p in relay.findall("Parameter")]
    expected_from = "" if "From" in params else "+13125550000"
    expected_to = "" if "To" in params else FROM_NUMBER
    assert (call.twilio_call_sid, call.from_number, call.to_number, call.customer, call.status) == (
        SID,
        expected_from,
        expected_to,
        None,
        "ringing",
    )
    warned(caplog, f"Ignored malformed Twilio parameters on {INBOUND}: {reason}")


# --- voice: status callbacks -------------------------------------------------------------------

STATUS = "/twilio/voice/status/"


def status(**params):
    return signed(STATUS, {"CallSid": SID, "AccountSid": ACCOUNT_SID, "CallStatus": "completed", **params})


@pytest.fixture
def ringing(db):
    return CallFactory(twilio_call_sid=SID, status="ringing", ended_at=None, duration_seconds=None)


def test_a_status_callback_with_an_empty_call_sid_changes_no_call(unsent_calls, sent, caplog):
    before = rows()
    refused(status(CallSid="", SequenceNumber="3"), STATUS, "CallSid is missing", caplog)
    assert rows() == before
    assert sent == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"CallSid": LONG_SID}, "CallSid is not CA and 32 hex digits"),
        ({"SequenceNumber": "1e20"}, "SequenceNumber is not a whole number from 0 to 10000"),
        ({"SequenceNumber": "100000000000000000000"}, "SequenceNumber is not a whole number from 0 to 10000"),
        ({"SequenceNumber": "-1"}, "SequenceNumber is not a whole number from 0 to 10000"),
        ({"CallDuration": "-5"}, "CallDuration is not a whole number from 0 to 172800"),
        ({"CallDuration": "9" * 12}, "CallDuration is not a whole number from 0 to 172800"),
        ({"CallStatus": "exploded"}, "CallStatus is not one of Twilio's values"),
        ({"CallStatus": ""}, "CallStatus is missing"),
        ({"AnsweredBy": "robot"}, "AnsweredBy is not one of Twilio's values"),
        (
            {"SequenceNumber": "x", "CallDuration": "-5"},
            "SequenceNumber is not a whole number from 0 to 10000; CallDuration is not a whole number from 0 to 172800",
        ),
    ],
)
def test_a_malformed_status_callback_changes_nothing(ringing, sent, caplog, params, reason):
    before = rows()
    refused(status(**params), STATUS, reason, caplog)
    assert rows() == before
    assert sent == []


def test_a_well_formed_status_callback_still_applies(ringing, sent, caplog):
    assert status(SequenceNumber="3", CallDuration="61", From="x" * 100).status_code == 204  # From is unused
    ringing.refresh_from_db()
    assert (ringing.status, ringing.status_sequence, ringing.duration_seconds) == ("completed", 3, 61)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- voice: the ConversationRelay action -------------------------------------------------------

RELAY_ACTION = "/twilio/voice/relay-action/"


def relay_action(**params):
    return signed(RELAY_ACTION, {"CallSid": SID, "AccountSid": ACCOUNT_SID, "CallStatus": "in-progress", **params})


@pytest.fixture
def live_call(live_db):
    return CallFactory(twilio_call_sid=SID, status="in-progress", ended_at=None)


@pytest.mark.parametrize(
    "handoff_data",
    [
        "[1,2]",  # AttributeError: a list has no .get
        "null",
        '"handoff"',
        "{not json",
        json.dumps({"handoff": True, "reason": "nul\u0000here"}),  # PostgreSQL refuses NUL characters
        "[" * 10_000,  # RecursionError
    ],
)
def test_handoff_data_that_is_not_a_json_object_is_no_handoff_data(live_call, sent, caplog, handoff_data):
    before = rows()
    response = relay_action(SessionStatus="ended", SessionId="VX" + "1" * 32, HandoffData=handoff_data)
    assert (response.status_code, response["Content-Type"], response.content) == (200, "text/xml", HANG_UP)
    assert rows() == before  # no handoff reason recorded
    assert sent == []
    warned(caplog, f"Ignored malformed Twilio parameters on {RELAY_ACTION}: HandoffData is not a JSON object")


def test_a_relay_action_with_an_empty_call_sid_is_refused(unsent_calls, sent, caplog):
    before = rows()
    refused(relay_action(CallSid="", SessionStatus="completed"), RELAY_ACTION, "CallSid is missing", caplog)
    assert rows() == before  # no call was completed
    assert sent == []


def test_a_relay_action_with_an_over_long_session_id_is_refused(live_call, caplog):
    before = rows()
    reason = "SessionId is not up to 64 letters, digits, - or _"
    refused(relay_action(SessionStatus="failed", SessionId="VX" + "1" * 70), RELAY_ACTION, reason, caplog)
    assert rows() == before


# --- voice: an outbound call answered, answering-machine detection, the whisper ---------------


@pytest.mark.parametrize(
    ("call_sid", "reason"), [("", "CallSid is missing"), (LONG_SID, "CallSid is not CA and 32 hex digits")]
)
def test_an_outbound_answer_with_a_garbage_call_sid_is_refused(unsent_calls, sent, caplog, call_sid, reason):
    before = rows()
    path = f"/twilio/voice/outbound/{unsent_calls[0].pk}/"
    refused(signed(path, {"CallSid": call_sid, "AccountSid": ACCOUNT_SID}), path, reason, caplog)
    assert rows() == before  # no CallSid attached, no status applied, no conversation started
    assert sent == []


AMD = "/twilio/voice/amd/"


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"CallSid": "", "AnsweredBy": "machine_start"}, "CallSid is missing"),
        ({"AnsweredBy": "machine_end_beep_and_then_some"}, "AnsweredBy is not one of Twilio's values"),
        ({"AnsweredBy": ""}, "AnsweredBy is missing"),
    ],
)
def test_a_malformed_answering_machine_verdict_changes_nothing(unsent_calls, sent, caplog, params, reason):
    outbound_call(twilio_call_sid=SID, status="in-progress")
    before = rows()
    refused(signed(AMD, {"CallSid": SID, "AccountSid": ACCOUNT_SID, **params}), AMD, reason, caplog)
    assert rows() == before  # no verdict recorded on any call
    assert sent == []  # no voicemail task


def test_a_whisper_request_with_an_empty_call_sid_is_refused(live_call, caplog):
    path = f"/twilio/voice/whisper/{live_call.pk}/"
    refused(signed(path, {"CallSid": "", "AccountSid": ACCOUNT_SID}), path, "CallSid is missing", caplog)


# --- text messages -----------------------------------------------------------------------------

SMS = "/twilio/sms/inbound/"


def text(**params):
    return signed(
        SMS,
        {"MessageSid": "SM" + "1" * 32, "AccountSid": ACCOUNT_SID, "From": "+14155550123", "To": FROM_NUMBER,
         "Body": "STOP", **params},
    )  # fmt: skip


@pytest.fixture
def texter(db):
    return CustomerFactory(phone="+14155550123", consenting=True, consent_sms=True)


def test_a_40_character_message_sid_is_refused_every_time_and_nothing_is_stored(texter, sent, caplog):
    """It used to be stored cut to 34 characters, so Twilio's retry missed it and collided with it."""
    before = rows()
    for _ in range(2):
        caplog.clear()
        refused(text(MessageSid="SM" + "1" * 38), SMS, "MessageSid is not SM or MM and 32 hex digits", caplog)
    assert rows() == before  # no message, no do-not-call entry, consent untouched
    assert sent == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"MessageSid": ""}, "MessageSid is missing"),
        ({"From": "+1415555012345678901"}, "From is not an E.164 phone number"),  # was cut to 16 characters
        ({"From": ""}, "From is missing"),
        ({"To": "+1415555010012345678"}, "To is not an E.164 phone number"),
        ({"Body": "STOP\x00"}, "Body contains a NUL character"),  # PostgreSQL refuses NUL characters
        ({"Body": "x" * 1601}, "Body is longer than 1600 characters"),
    ],
)
def test_a_malformed_text_is_refused_and_nothing_is_stored(texter, sent, caplog, params, reason):
    before = rows()
    refused(text(**params), SMS, reason, caplog)
    assert rows() == before
    assert sent == []


def test_a_well_formed_mms_is_received(texter):
    response = text(MessageSid="MM" + "2" * 32, Body="")  # a picture, no words
    assert (response.status_code, response.content) == (
        200,
        b'<?xml version="1.0" encoding="UTF-8"?><Response />',
    )
    assert list(SmsMessage.objects.values_list("twilio_sid", "purpose", "body")) == [("MM" + "2" * 32, "reply", "")]
