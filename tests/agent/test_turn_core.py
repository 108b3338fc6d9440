"""The turn core on its own (apps/agent/turn.py): the caller's words and the state in, events and
what to store out, with no session, socket, channel layer or save queue.

The model chain is a port, here a scripted stand-in at the network boundary; the clock is a port,
here one that moves only while the model takes its time; the tools are the real ones.
"""

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync

from apps.agent import llm, offline
from apps.agent.clock import Clock, TurnClock
from apps.agent.context import load_customer
from apps.agent.events import Handoff, ReplyEnd, Token
from apps.agent.prompts import CustomerContext
from apps.agent.turn import Conversation, EntryRedacted, Ports, TurnRecord, new_state
from apps.agent.workflows import get_workflow
from apps.calls.models import Speaker

START = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
BALANCE_REPLY = (
    "Thanks, Maria. Your balance is $1,250.50, 45 days past due. Would you like to pay in full or set up a plan?"
)


class StoppedClock(Clock):
    """Time stands still but for what the model takes."""

    def __init__(self) -> None:
        self.at = START

    def now(self) -> datetime:
        return self.at

    def perf(self) -> float:
        return (self.at - START).total_seconds()


def scripted(clock: StoppedClock, *answers: str | tuple[str, dict]) -> Any:
    """The model chain's answers, in order: a tool call (name, arguments) or a text. Each takes
    400 ms to start and uses 100 prompt and 10 completion tokens."""
    queue = list(answers)

    async def stream(messages, tools, tool_choice, completion, turn_clock):
        answer = queue.pop(0)
        attempt = llm.Attempt(
            llm.Endpoint("gpt-4.1-mini", "", ""), clock.perf(), prompt_tokens=100, completion_tokens=10
        )
        completion.attempts.append(attempt)
        clock.at += timedelta(milliseconds=400)
        attempt.ttft_ms = attempt.latency_ms = 400.0
        if isinstance(answer, tuple):
            attempt.tool_calls = [llm.ToolCall(id="call_1", name=answer[0], arguments=json.dumps(answer[1]))]
            return
        attempt.text = answer
        yield answer

    return stream


def ports(clock: StoppedClock, *answers: str | tuple[str, dict]) -> Ports:
    # No first-audio budget: it would race the real clock, which this test's does not follow.
    return Ports(
        stream=scripted(clock, *answers),
        configured=lambda: True,
        clock=clock,
        turn_clock=lambda: TurnClock(budget=math.inf),
    )


def conversation(customer: CustomerContext, ports: Ports, records: list, **kw: Any) -> Conversation:
    """A new conversation, greeted: what a channel adapter's session does first."""
    state = new_state(get_workflow("collections"), channel="web_chat", direction="inbound", customer=customer)
    core = Conversation(call_id=0, state=state, customer=customer, ports=ports, store=records.append, **kw)
    core.open()
    turn(core.greet())
    return core


def turn(events) -> list:
    async def collect():
        return [event async for event in events]

    return async_to_sync(collect)()


def test_a_turn_gives_its_events_and_what_to_store(maria):
    clock, stored = StoppedClock(), []
    customer = load_customer(maria.pk)
    core = conversation(customer, ports(clock, ("verify_identity", {"method": "zip", "value": "94607"}),
                                        ("lookup_account", {}), BALANCE_REPLY), stored)  # fmt: skip

    events = turn(core.reply("My ZIP code is 94607."))

    greeting, record = stored
    assert [(t.kind, t.name) for t in greeting.traces] == [("step_change", "identify -> verify_identity")]
    assert events[-1] == ReplyEnd(BALANCE_REPLY)
    assert "".join(e.text for e in events if isinstance(e, Token)) == BALANCE_REPLY
    assert isinstance(record, TurnRecord)
    assert [(u.sequence, u.speaker, u.text, u.spoken_at) for u in record.utterances] == [
        (1, Speaker.CUSTOMER, "My ZIP code is 94607.", START),
        (2, Speaker.AGENT, BALANCE_REPLY, START + timedelta(milliseconds=1200)),
    ]
    assert [(t.kind, t.name) for t in record.traces] == [
        ("llm_call", "gpt-4.1-mini"),
        ("tool_call", "verify_identity"),
        ("step_change", "verify_identity -> account_review"),
        ("llm_call", "gpt-4.1-mini"),
        ("tool_call", "lookup_account"),
        ("llm_call", "gpt-4.1-mini"),
        ("turn", "turn 1"),
    ]
    assert record.traces[-1].payload == {
        "mode": "llm",
        "held": False,
        "fallback": False,
        "first_token_ms": 1200.0,
        "llm_wait_ms": 1200.0,
        "overhead_ms": 0.0,
        "tools_ms": 0.0,
        "total_ms": 1200.0,
        "llm_rounds": 3,
    }
    assert (record.step, record.customer_id, record.handoff_reason, record.ended) == (
        "account_review",
        maria.pk,
        "",
        False,
    )
    assert (record.prompt_tokens, record.completion_tokens) == (300, 30)
    assert record.cost_usd == llm.cost_usd("gpt-4.1-mini", 300, 30)
    assert record.state == core.state.to_dict()
    assert record.state["facts"]["account"]["balance"] == "1250.50"


def test_a_turn_on_a_state_that_was_never_stored_goes_to_a_person():
    async def not_stored() -> bool:
        return False

    clock, stored = StoppedClock(), []
    core = conversation(CustomerContext(customer_id=None), ports(clock), stored, stored=not_stored)

    events = turn(core.reply("Hello?"))

    said = offline.handoff_reply("web_chat")
    assert events == [
        Token(said),
        ReplyEnd(said),
        Handoff(reason="the conversation could not be saved", summary="collections call, step identify"),
    ]
    _, record = stored
    assert [(t.kind, t.name) for t in record.traces][:2] == [("error", "state_not_stored"), ("guardrail", "handoff")]
    assert (record.handoff_reason, record.ended, record.prompt_tokens) == (
        "the conversation could not be saved",
        True,
        0,
    )


def test_a_card_number_split_over_two_turns_is_redacted_in_the_line_stored_before(settings):
    clock, stored = StoppedClock(), []
    asked = "Please don't read card details to me. Could you tell me your full name and account number?"
    core = conversation(CustomerContext(customer_id=None), ports(clock, asked, asked), stored)

    turn(core.reply("My card is 4012 8888 8888"))
    turn(core.reply("1881"))

    _, first, correction, second = stored
    assert [u.text for u in first.utterances] == ["My card is 4012 8888 8888", asked]
    assert correction == EntryRedacted(sequence=1, text="My card is [REDACTED CARD]")
    assert [(u.text, u.redacted) for u in second.utterances] == [("[REDACTED CARD]", True), (asked, False)]
    assert Decimal(second.cost_usd) == llm.cost_usd("gpt-4.1-mini", 200, 20)
