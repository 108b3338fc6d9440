"""What the turn core (turn.py) takes and gives: its ports, and what it hands over to be stored.

Ports are what a conversation talks to: the model chain, the tools, the customer record, the
opt-out, the clock, and the write that stores a turn. The defaults are the real ones; a channel
passes the turn's write when the end of a conversation starts more (apps/chat/lifecycle.py), a
test or the demo seeder its own model and clock (a scripted model, a simulated clock). What to store comes out in order, as it is decided, through
the conversation's `store` callback: each turn's `TurnRecord`, and corrections of entries stored
before (`EntryRedacted`, `ReplyCut`).
"""

from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from channels.db import database_sync_to_async

from apps.agent import llm
from apps.agent.clock import Clock, TurnClock
from apps.agent.context import load_customer
from apps.agent.prompts import CustomerContext
from apps.agent.tools import ToolContext, run_tool
from apps.agent.tools.registry import sandboxed
from apps.calls.models import TraceEvent
from apps.calls.services import Utterance, call_record_turn
from apps.customers.services import customer_opt_out


class Stream(Protocol):
    """The model chain (`llm.stream`): yields the reply's text; tool calls and usage land in `completion`."""

    def __call__(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        tool_choice: str | dict[str, Any],
        completion: llm.Completion,
        clock: TurnClock,
    ) -> AsyncGenerator[str, None]: ...


ToolRunner = Callable[[str, str | dict, ToolContext, tuple[str, ...]], Awaitable[dict[str, Any]]]


def _stream(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    tool_choice: str | dict[str, Any],
    completion: llm.Completion,
    clock: TurnClock,
) -> AsyncGenerator[str, None]:
    return llm.stream(messages, tools, tool_choice, completion, clock)


def _configured() -> bool:
    return llm.configured()


async def _run_tool(name: str, arguments: str | dict, ctx: ToolContext, allowed: tuple[str, ...]) -> dict[str, Any]:
    return await database_sync_to_async(run_tool)(name, arguments, ctx, allowed)


async def _load_customer(customer_id: int | None) -> CustomerContext:
    return await database_sync_to_async(load_customer)(customer_id)


def _opt_out_sync(ctx: ToolContext, source: str) -> dict[str, Any] | None:
    if ctx.test:  # a test call records what it would do (in the audit trail), and does nothing
        return sandboxed(ctx, "customer_opt_out", customer_id=ctx.customer_id, source=source)
    assert ctx.customer_id is not None
    customer_opt_out(customer_id=ctx.customer_id, source=source, actor=ctx.actor)
    return None


async def _opt_out(ctx: ToolContext, source: str) -> dict[str, Any] | None:
    """The caller asked not to be called again. Returns a test call's would-be effect, if one."""
    return await database_sync_to_async(_opt_out_sync)(ctx, source)


@dataclass(frozen=True)
class Ports:
    stream: Stream = _stream
    configured: Callable[[], bool] = _configured
    run_tool: ToolRunner = _run_tool
    load_customer: Callable[[int | None], Awaitable[CustomerContext]] = _load_customer
    opt_out: Callable[[ToolContext, str], Awaitable[dict[str, Any] | None]] = _opt_out
    clock: Clock = field(default_factory=Clock)
    # Each turn's first-audio budget (clock.py). One with no end (`budget=math.inf`) never races
    # the real time: the demo's simulated calls.
    turn_clock: Callable[[], TurnClock] = TurnClock
    # Stores one turn (a TurnRecord's fields and the call's id), in one transaction; returns the
    # live monitors' message. AgentSession runs it on the database thread, in order, retried.
    record_turn: Callable[..., dict[str, Any] | None] = call_record_turn


# --- what to store --------------------------------------------------------------------------------


@dataclass
class TurnRecord:
    """One turn as stored (`call_record_turn`): what was said, what happened, the state to resume from."""

    state: dict[str, Any]  # a snapshot: the next turn changes the state while this one is written
    step: str
    customer_id: int | None
    utterances: list[Utterance]
    traces: list[TraceEvent]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    handoff_reason: str
    ended: bool


@dataclass(frozen=True)
class EntryRedacted:
    """A stored line turned out to hold part of a card number: store its redacted text."""

    sequence: int
    text: str


@dataclass(frozen=True)
class ReplyCut:
    """The caller cut a reply off: store only what they heard of it."""

    sequence: int
    heard: str


Stored = TurnRecord | EntryRedacted | ReplyCut
