"""A ConversationRelay socket is bound to one session of one live call: the token in the socket URL
(from the TwiML the webhook answered) opens one socket, once, before it expires, for a call that is
not over, and only for the call its setup names. A newer session of the call replaces the older
socket: never both speaking. Malformed frames are ignored with one log line; a refused handshake
logs one line, with no traceback. Sockets are opened as Twilio opens them, signed with twilio's
own RequestValidator over the URL the TwiML gave."""

import json
import logging
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async
from django.db import connection
from twilio.request_validator import RequestValidator

from apps.calls.models import Call, TranscriptEntry
from apps.calls.services import StatusUpdate
from apps.telephony.models import RelaySession
from apps.telephony.relay_sessions import RelayRefused, relay_session_claim, relay_session_issue
from apps.voice.lifecycle import call_status_record
from tests.factories import CallFactory
from tests.telephony import signed, test_relay
from tests.telephony.test_relay import RELAY, SID, TOKEN, prompt, reply, setup_message, socket

# The relay tests' fixtures: Twilio's settings, a call the inbound webhook answered, its socket URL.
twilio_settings, inbound_relay = test_relay.twilio_settings, test_relay.inbound_relay
answered, relay = test_relay.answered, test_relay.relay

GREETING_ONLY = 1  # the transcript of a call the webhook answered and nobody spoke on yet


@pytest.fixture(autouse=True)
def short_tokens(settings):
    settings.RELAY_TOKEN_TTL_S = 60


def transcript(call_id: int) -> list[tuple[int, str, str]]:
    entries = TranscriptEntry.objects.filter(call_id=call_id).order_by("sequence")
    return list(entries.values_list("sequence", "speaker", "text"))


def retried_webhook(maria) -> str:
    """Twilio's retry of the inbound webhook: the same call, answered again, with a new session."""
    params = {"CallSid": SID, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    return (
        ET.fromstring(signed("/twilio/voice/inbound/", params).content).find("Connect/ConversationRelay").attrib["url"]
    )


def token_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["token"]


def warnings(caplog) -> list[str]:
    """What the voice channel logged at WARNING; an error or a traceback from anywhere fails the test."""
    assert [r for r in caplog.records if r.exc_info or r.levelno > logging.WARNING] == []
    ours = [
        r
        for r in caplog.records
        if r.name.startswith(("apps.telephony", "apps.voice")) and r.levelno >= logging.WARNING
    ]
    return [r.getMessage() for r in ours]


async def closed(ws) -> bool:
    """The app closed this socket (and sent nothing else first)."""
    return (await ws.receive_output(timeout=5))["type"] == "websocket.close"


# --- the token: in the URL Twilio signs, one socket, before it expires ---------------------------


def test_the_relay_url_carries_a_token_bound_to_the_call(answered, relay):
    session = RelaySession.objects.get()
    token = token_of(relay)
    session_id, expires, mac = token.split(".")
    assert relay == f"{RELAY}?token={token}"
    assert (int(session_id), session.call_id, session.connected_at) == (session.pk, answered, None)
    assert int(expires) == session.expires_at.timestamp()
    assert 59 <= (session.expires_at - session.issued_at).total_seconds() <= 60  # RELAY_TOKEN_TTL_S
    assert len(mac) == 43  # HMAC-SHA256, base64url


def test_a_socket_signed_as_twilios_sdk_validates_it_is_accepted(answered, relay):
    """Twilio's SDK validates the URL without its query, the query's values as parameters."""
    base, query = relay.split("?")
    signature = RequestValidator(TOKEN).compute_signature(base, dict(parse_qsl(query)))

    async def scenario():
        ws = socket(relay, signature=signature)
        connected, _ = await ws.connect()
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        text, _ = await reply(ws)
        await ws.disconnect()
        return connected, text

    connected, text = async_to_sync(scenario)()
    assert connected is True
    assert text.startswith("Your balance is one thousand two hundred fifty dollars")


def test_a_replayed_token_is_refused_even_with_a_valid_signature(answered, relay, caplog):
    session = RelaySession.objects.get()

    async def scenario():
        first = socket(relay)
        assert (await first.connect())[0]
        await first.send_to(text_data=json.dumps(setup_message(answered)))
        replay_while_open = (await socket(relay).connect())[0]  # the same URL, the same valid signature
        await first.send_to(text_data=prompt("My zip code is 94607"))  # the first socket is unharmed
        text, _ = await reply(first)
        await first.disconnect()
        replay_after = (await socket(relay).connect())[0]
        return replay_while_open, text, replay_after

    replay_while_open, text, replay_after = async_to_sync(scenario)()
    assert (replay_while_open, replay_after) == (False, False)
    assert text.startswith("Your balance is one thousand two hundred fifty dollars")
    assert len(transcript(answered)) == 3  # greeting, and one turn: the replays wrote nothing
    assert (
        warnings(caplog)
        == [
            f"Refused a ConversationRelay socket: a session token already used (session {session.pk} of call {answered})"
        ]
        * 2
    )


@pytest.mark.parametrize(("after_s", "accepted"), [(55, True), (61, False)])
def test_a_token_opens_a_socket_only_until_it_expires(answered, relay, after_s, accepted):
    issued = RelaySession.objects.get().issued_at

    async def scenario():
        ws = socket(relay)
        connected, _ = await ws.connect()
        if connected:
            await ws.disconnect()
        return connected

    with time_machine.travel(issued + timedelta(seconds=after_s), tick=True):
        assert async_to_sync(scenario)() is accepted
    assert (RelaySession.objects.get().connected_at is not None) is accepted


def test_a_socket_for_a_call_that_has_completed_is_refused(answered, relay, caplog):
    call_status_record(StatusUpdate(call_sid=SID, status="completed"))  # the caller hung up

    async def scenario():
        return (await socket(relay).connect())[0]

    assert async_to_sync(scenario)() is False
    assert len(transcript(answered)) == GREETING_ONLY
    session = RelaySession.objects.get()
    assert session.connected_at is None
    assert warnings(caplog) == [
        f"Refused a ConversationRelay socket: call {answered} is completed (session {session.pk})"
    ]


def test_a_token_moved_to_another_call_is_refused(answered, relay):
    """Another call's session id swapped into a token breaks its MAC (over call, CallSid, session, expiry)."""
    other = CallFactory(twilio_call_sid="CA" + "e" * 32, status="in-progress")
    elsewhere = relay_session_issue(call_id=other.pk).split(".")[0]
    token = token_of(relay)
    forged = f"{RELAY}?token={elsewhere}.{token.split('.', 1)[1]}"

    async def scenario():
        return (await socket(forged).connect())[0]

    assert async_to_sync(scenario)() is False
    assert RelaySession.objects.filter(connected_at__isnull=False).count() == 0


# --- setup: the call the token is for, and no other -----------------------------------------------


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param({"callSid": "CA" + "9" * 32}, id="another-CallSid"),
        pytest.param({"customParameters": {"call_id": "999999"}}, id="another-call-id"),
        pytest.param({"customParameters": {}}, id="no-call-id"),
    ],
)
def test_a_setup_that_is_not_the_tokens_call_closes_the_socket(answered, relay, setup, caplog):
    async def scenario():
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps({**setup_message(answered), **setup}))
        was_closed = await closed(ws)
        await ws.disconnect()
        return was_closed

    assert async_to_sync(scenario)() is True
    assert len(transcript(answered)) == GREETING_ONLY
    assert len(warnings(caplog)) == 1
    assert warnings(caplog)[0].startswith(f"Closed relay session {RelaySession.objects.get().pk} of call {answered}")


def test_a_setup_naming_another_live_call_does_not_reach_it(answered, relay, maria):
    other_sid = "CA" + "e" * 32
    params = {"CallSid": other_sid, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    assert signed("/twilio/voice/inbound/", params).status_code == 200
    other = Call.objects.get(twilio_call_sid=other_sid)

    async def scenario():
        ws = socket(relay)  # the first call's token
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(other.pk, call_sid=other_sid)))
        was_closed = await closed(ws)
        await ws.disconnect()
        return was_closed

    assert async_to_sync(scenario)() is True
    assert len(transcript(other.pk)) == GREETING_ONLY


# --- one voice per call ---------------------------------------------------------------------------


def test_a_newer_session_replaces_the_older_socket_mid_turn_and_only_it_speaks(answered, relay, maria, fake_llm):
    fake_llm.script("primary", delay=3)  # the first socket's turn is still thinking when the second connects

    async def scenario():
        old = socket(relay)
        assert (await old.connect())[0]
        await old.send_to(text_data=json.dumps(setup_message(answered)))
        await old.send_to(text_data=prompt("Hello?"))
        assert await old.receive_nothing(timeout=0.2)
        new = socket(await sync_to_async(retried_webhook)(maria))
        assert (await new.connect())[0]
        old_closed = await closed(old)  # its turn cancelled and saved, before the new one was accepted
        await old.send_to(text_data=prompt("My zip code is 94607"))  # a late frame on the old socket
        old_silent = await old.receive_nothing(timeout=0.3)
        await old.disconnect()
        await new.send_to(text_data=json.dumps(setup_message(answered)))
        await new.send_to(text_data=prompt("My zip code is 94607"))
        text, _ = await reply(new)
        await new.disconnect()
        return old_closed, old_silent, text

    old_closed, old_silent, text = async_to_sync(scenario)()
    assert (old_closed, old_silent) == (True, True)
    # Each line once, in order: the old socket's cut-off turn (nothing was said), then the new socket's.
    assert transcript(answered)[1:] == [
        (1, "customer", "Hello?"),
        (2, "customer", "My zip code is 94607"),
        (3, "agent", text),
    ]
    old_session, new_session = RelaySession.objects.order_by("pk")
    assert old_session.superseded_at is not None
    assert old_session.ended_at is not None
    assert (new_session.superseded_at, new_session.twilio_session_id) == (None, "VX" + "0" * 32)


def test_a_socket_superseded_on_another_process_stops_before_its_next_turn(answered, relay, maria, caplog):
    async def scenario():
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        await reply(ws)
        token = token_of(await sync_to_async(retried_webhook)(maria))
        # Twilio connected the new session to another web process: it claimed the token there.
        await database_sync_to_async(relay_session_claim)(token=token)
        await ws.send_to(text_data=prompt("I can pay 300 dollars on Friday"))
        was_closed = await closed(ws)
        await ws.disconnect()
        return was_closed

    assert async_to_sync(scenario)() is True
    assert [speaker for _, speaker, _ in transcript(answered)] == ["agent", "customer", "agent"]  # no late turn
    old_session = RelaySession.objects.order_by("pk").first()
    assert warnings(caplog) == [
        f"Closing relay session {old_session.pk} of call {answered}: no longer the call's session "
        "(a newer one connected, or the call is over)"
    ]


def test_an_older_token_is_refused_once_a_newer_session_connected(answered, relay, maria):
    newer = retried_webhook(maria)

    async def scenario():
        ws = socket(newer)
        assert (await ws.connect())[0]
        older = (await socket(relay).connect())[0]
        await ws.disconnect()
        return older

    assert async_to_sync(scenario)() is False


def claim_racing(tokens: list[str]) -> tuple[list[int], list[str]]:
    """Each token claimed at once from its own thread (its own connection), as several web
    processes would: the sessions claimed, and the reasons the others were refused."""
    start = threading.Barrier(len(tokens))
    claimed, refused = [], []

    def claim(token: str) -> None:
        try:
            start.wait()
            claimed.append(relay_session_claim(token=token).session_id)
        except RelayRefused as exc:
            refused.append(str(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(claimed) + len(refused) == len(tokens)
    return claimed, refused


@pytest.mark.postgres
def test_a_token_claimed_by_racing_processes_opens_one_socket(answered, relay):
    token = token_of(relay)
    claimed, refused = claim_racing([token] * 8)
    session = RelaySession.objects.get()
    assert claimed == [session.pk]
    assert refused == [f"a session token already used (session {session.pk} of call {answered})"] * 7


@pytest.mark.postgres
def test_sessions_of_one_call_claimed_at_once_leave_one_voice(answered, relay):
    tokens = [token_of(relay)] + [relay_session_issue(call_id=answered) for _ in range(5)]
    claimed, _ = claim_racing(tokens)
    connected = RelaySession.objects.filter(connected_at__isnull=False)
    assert sorted(connected.values_list("pk", flat=True)) == sorted(claimed)
    # Whatever the order: the newest session that connected is the one current session.
    assert list(connected.filter(superseded_at__isnull=True).values_list("pk", flat=True)) == [max(claimed)]


# --- malformed frames and refused handshakes --------------------------------------------------------

MALFORMED = [
    "[]",
    "123",
    "null",
    '"x"',
    "not json",
    "[" * 100_000,
    json.dumps({"type": "prompt", "voicePrompt": "x" * 70_000}),
    json.dumps({"type": 5}),
    json.dumps({"voicePrompt": "no type"}),
    json.dumps({"type": "setup", "customParameters": [1]}),
    json.dumps({"type": "setup", "callSid": 7, "customParameters": {"call_id": "1"}}),
    json.dumps({"type": "setup", "callSid": SID, "customParameters": {"call_id": 1}}),
    json.dumps({"type": "prompt", "voicePrompt": {"a": 1}}),
    json.dumps({"type": "prompt", "voicePrompt": "yes", "last": "true"}),
    json.dumps({"type": "prompt", "voicePrompt": "a\x00b"}),
    '{"type": "prompt", "voicePrompt": "\\ud800"}',
    json.dumps({"type": "dtmf", "digit": None}),
    json.dumps({"type": "dtmf"}),
    json.dumps({"type": "interrupt", "utteranceUntilInterrupt": ["x"]}),
    json.dumps({"type": "error", "description": {"code": 1}}),
]


def test_malformed_frames_are_ignored_with_one_line_each_and_the_call_goes_on(answered, relay, caplog):
    async def scenario():
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data="[]")  # before setup too
        await ws.send_to(text_data=json.dumps(setup_message(answered)))
        for frame in MALFORMED:
            await ws.send_to(text_data=frame)
        await ws.send_to(bytes_data=b"\xff\xfe\x00 not utf-8")
        nothing = await ws.receive_nothing(timeout=0.2)
        await ws.send_to(text_data=prompt("My zip code is 94607"))
        text, _ = await reply(ws)
        await ws.disconnect()
        return nothing, text

    nothing, text = async_to_sync(scenario)()
    assert nothing is True
    assert text.startswith("Your balance is one thousand two hundred fifty dollars")
    logged = warnings(caplog)
    assert len(logged) == 1 + len(MALFORMED) + 1
    assert all(line.startswith("Ignored a malformed ConversationRelay message on relay session") for line in logged)
    assert [speaker for _, speaker, _ in transcript(answered)] == ["agent", "customer", "agent"]


@pytest.mark.parametrize(
    ("refusal", "logged"),
    [
        pytest.param("unsigned", "an invalid signature", id="unsigned"),
        pytest.param("no-token", "no session token", id="no-token"),
        pytest.param("garbage", "a malformed session token", id="garbage-token"),
        pytest.param("forged", "a session token that does not match its call (session {session})", id="forged-mac"),
        pytest.param("unknown", "an unknown session token (session 999999)", id="unknown-session"),
    ],
)
def test_a_refused_handshake_logs_one_line_and_no_traceback(answered, relay, refusal, logged, caplog):
    token = token_of(relay)
    session_id, expires, mac = token.split(".")
    url = {
        "unsigned": relay,
        "no-token": RELAY,
        "garbage": f"{RELAY}?token=garbage",
        "forged": f"{RELAY}?token={session_id}.{expires}.{'A' * 43}",
        "unknown": f"{RELAY}?token=999999.{expires}.{mac}",
    }[refusal]
    caplog.clear()
    caplog.set_level(logging.INFO)

    async def scenario():
        ws = socket(url, signature="" if refusal == "unsigned" else None)
        connected, _ = await ws.connect()
        await ws.disconnect()  # what the server does next: the consumer's disconnect() must not fail
        return connected

    assert async_to_sync(scenario)() is False
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records] == [
        ("WARNING", f"Refused a ConversationRelay socket: {logged.format(session=session_id)}", None)
    ]
    assert RelaySession.objects.get().connected_at is None
