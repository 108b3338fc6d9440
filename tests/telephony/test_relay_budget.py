"""One time budget per turn: over a 10-turn relay call the caller hears the first words of every
turn within 1.5 s of the prompt, whatever the models do, and a dead model is routed around."""

import json
import time

import pytest
from asgiref.sync import async_to_sync

from apps.calls.models import TraceEvent, TraceKind, TranscriptEntry
from apps.promises.models import Promise
from tests.telephony import test_relay
from tests.telephony.test_relay import prompt, setup_message, socket

# The relay tests' fixtures: Twilio's settings, a call the inbound webhook answered, its socket URL.
twilio_settings, inbound_relay = test_relay.twilio_settings, test_relay.inbound_relay
answered, relay = test_relay.answered, test_relay.relay

# A whole collections call, ten caller turns: the offline engine can carry it alone.
TURNS = [
    "Hello?",
    "Sorry, who is this?",
    "My zip code is 94607",
    "Hmm, let me think.",
    "Can I do a payment plan?",
    "I can pay 300 dollars on Friday",
    "Wait, what was that?",
    "Yes",
    "Thank you",
    "No, that's all. Bye!",
]


async def first_words_and_reply(ws) -> tuple[float, str, bool]:
    """Seconds from the prompt to its first text token, the reply, and whether the call ended."""
    sent = time.perf_counter()
    first, tokens = None, []
    while True:
        message = json.loads(await ws.receive_from(timeout=10))
        if message["type"] == "end":
            return first, "".join(tokens), True
        if first is None:
            first = time.perf_counter() - sent
        tokens.append(message["token"])
        if message["last"]:
            return first, "".join(tokens), False


def converse(call_id: int, relay: str) -> list[tuple[float, str]]:
    async def scenario():
        ws = socket(relay)
        assert (await ws.connect())[0]
        await ws.send_to(text_data=json.dumps(setup_message(call_id)))
        heard = []
        for text in TURNS:
            await ws.send_to(text_data=prompt(text))
            first, reply, ended = await first_words_and_reply(ws)
            heard.append((first, reply))
            if ended:
                break
        await ws.disconnect()
        return heard

    return async_to_sync(scenario)()


BUDGET_S = 1.5  # LLM_TURN_FIRST_AUDIO_S is 1.2: what the caller may notice, with the socket's hops


def assert_completed(call_id: int, heard: list[tuple[float, str]]) -> None:
    assert len(heard) == len(TURNS)
    assert heard[-1][1] == "Thank you, Maria. Take care, goodbye."
    promise = Promise.objects.get(customer__calls=call_id)
    assert (str(promise.amount), promise.status) == ("300.00", "pending")
    spoken = TranscriptEntry.objects.filter(call_id=call_id, speaker="customer").order_by("sequence")
    assert list(spoken.values_list("text", flat=True)) == TURNS  # every turn stored, once


def breaker_traces(call_id: int) -> list[str]:
    return list(TraceEvent.objects.filter(call_id=call_id, kind=TraceKind.BREAKER).values_list("name", flat=True))


@pytest.mark.parametrize(
    "failure",
    [pytest.param({"delay": 60}, id="accepts-and-never-answers"), pytest.param({"status": 500}, id="answers-500")],
)
def test_dead_models_never_leave_the_caller_in_silence_and_are_routed_around(answered, relay, fake_llm, failure):
    fake_llm.answer_by_default(**failure)

    heard = converse(answered, relay)

    assert [first <= BUDGET_S for first, _ in heard] == [True] * len(TURNS), heard
    # Three failures in a row open an endpoint's breaker: from then on no turn asks, or waits on, it.
    assert [r.model for r in fake_llm.requests] == ["primary", "backup"] * 3
    assert breaker_traces(answered) == ["opened: primary", "opened: backup"]
    assert max(first for first, _ in heard[3:]) < 0.5
    assert_completed(answered, heard)
    turns = TraceEvent.objects.filter(call_id=answered, kind=TraceKind.TURN).order_by("turn")
    assert [t.payload["mode"] for t in turns] == ["offline"] * len(TURNS[:-1]) + ["rule"]


def test_a_model_slow_only_sometimes_is_covered_by_the_offline_engine_and_holding_phrases(
    answered, relay, fake_llm, settings
):
    # As in production: the turn's budget decides, not a model's own timeouts.
    settings.LLM_FIRST_TOKEN_TIMEOUT, settings.LLM_STREAM_IDLE_TIMEOUT = 4.0, 5.0
    fake_llm.answer_by_default(status=500)  # the backup: never reached in time after a slow primary
    script = [
        {"text": "Hi Maria. Could you tell me your ZIP code, so I can verify your identity?"},  # Hello?
        {"text": "Sorry, I was slow.", "delay": 3},  # who is this? -> the offline engine answers
        {"tool_call": ("verify_identity", {"method": "zip", "value": "94607"}), "delay": 0.8},  # zip
        {"tool_call": ("lookup_account", {}), "delay": 0.8},  # ...slow again: a holding phrase first
        {"text": "Thanks, Maria, you're verified. Would you like to pay in full or set up a plan?"},
        {"text": "Take your time.", "delay": 3},  # let me think -> offline
        {"text": "Of course. How much can you pay, and on what date?"},  # payment plan?
        {"text": "", "delay": 3},  # 300 on Friday -> offline (it checks the terms itself)
        {"text": "", "delay": 3},  # what was that? -> offline reads the terms back
        {"tool_call": ("record_promise", {})},  # yes -> the required tool
        {"text": "You're all set, Maria. Is there anything else I can help with?"},
        {"text": "You're welcome, Maria. Anything else?"},  # thank you
    ]
    for reply in script:
        fake_llm.script("primary", **reply)

    heard = converse(answered, relay)

    assert [first <= BUDGET_S for first, _ in heard] == [True] * len(TURNS), heard
    assert heard[2][1].startswith("One moment while I check that. Thanks, Maria, you're verified.")
    assert [r.model for r in fake_llm.requests] == ["primary"] * len(script)
    assert_completed(answered, heard)
    turns = TraceEvent.objects.filter(call_id=answered, kind=TraceKind.TURN).order_by("turn")
    assert [(t.payload["mode"], t.payload["held"]) for t in turns] == [
        ("llm", False),
        ("offline", False),
        ("llm", True),
        ("offline", False),
        ("llm", False),
        ("offline", False),
        ("offline", False),
        ("llm", False),
        ("llm", False),
        ("rule", False),
    ]
