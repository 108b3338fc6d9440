"""The model and the clock of a demo call: ports of the agent's turn core (apps/agent/turn_io.py).

`ScriptedModel` stands in for the LLM chain: it answers each request the core makes the way the
call's script says (the tool calls of the exchange, then its reply; a draft the reply gate stops
first; or, on a few turns, every model failing), with plausible latencies and token counts. The
core does everything else as on a live call: listeners, transitions, forced tools, the gate, the
offline engine, the record. `SimClock` is the call's time: it moves only when the script says time
passes (a model answering, a tool, the caller speaking) and by a little on every reading, for the
core's own work.

The demo's ports answer at once (they never wait on anything), so a turn runs to its end without
an event loop: `run_turn` drives it in the seeder's own thread and transaction.
"""

import json
import random
import re
import string
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from apps.agent import llm
from apps.agent.clock import Clock, TurnClock
from apps.agent.events import Event
from apps.demo.data import LLM_FALLBACK_MODEL, LLM_MODEL

T = TypeVar("T")


class SimClock(Clock):
    def __init__(self, at: datetime, rng: random.Random) -> None:
        self.at, self.rng, self._origin = at, rng, at

    def now(self) -> datetime:
        self._tick()
        return self.at

    def perf(self) -> float:
        self._tick()
        return (self.at - self._origin).total_seconds()

    def advance(self, ms: float) -> float:
        ms = round(ms, 3)
        self.at += timedelta(milliseconds=ms)
        return ms

    def wait(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)

    def _tick(self) -> None:
        """The core's own work between two readings of the clock."""
        self.at += timedelta(microseconds=self.rng.randint(20, 400))


def unbudgeted() -> TurnClock:
    """The first-audio budget races the real clock, which a simulated call does not run on: none."""
    return TurnClock(budget=float("inf"))


def run(awaitable: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine of the turn core whose ports never wait: it completes on its first step."""
    try:
        awaitable.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    awaitable.close()
    raise RuntimeError("a demo turn waited on something: its ports must answer at once")


def run_turn(events: AsyncIterator[Event]) -> list[Event]:
    async def collect() -> list[Event]:
        return [event async for event in events]

    return run(collect())


def arguments(spec: str, ctx: dict[str, Any], today: date, verify_attempt: int) -> tuple[str, dict[str, Any]]:
    """The tool a script step names ("tool" or "tool:variant") and the arguments the model passes."""
    name, _, variant = spec.partition(":")
    if name == "find_account":
        return name, {"account_number": ctx["account_number"], "name": ctx["name"]}
    if name == "verify_identity":
        method, value, _ = ctx["verify"][verify_attempt]
        return name, {"method": method, "value": value}
    if name == "propose_payment":
        if variant == "settlement":
            return name, {"kind": "settlement", "amount": ctx["settle_value"], "due_date": ctx["date_iso"]}
        now = variant == "today"
        return name, {
            "kind": ctx["kind"],
            "amount": str(ctx["amount_value"]),
            "due_date": today.isoformat() if now else ctx["date_iso"],
            "method": "card" if now else ctx["method_key"],
        }
    if name == "request_approval":
        args: dict[str, Any] = {"kind": variant, "reason": ctx[f"{variant}_reason"]}
        if variant == "settlement":
            args["amount"] = ctx["settle_value"]
        return name, {**args, "confidence": ctx["approval_confidence"]}
    if name == "schedule_callback":
        return name, {"reason": ctx["callback_reason"], "day": ctx["callback_day"].isoformat()}
    if name == "record_vehicle":
        return name, {"description": ctx["alt_vehicle"]}
    if name == "capture_incident":
        return name, {"location": ctx["location"], "issue": ctx["specialization"], "severity": ctx["severity"]}
    if name == "transfer_to_human":
        return name, {"reason": ctx["transfer_reason"]}
    return name, {}


class ScriptedModel:
    """`Ports.stream` for one demo call. `expect` says what the model does in the caller's next turn:
    its reply and draft are templates over the call's context, which the tools' answers complete."""

    def __init__(self, clock: SimClock, rng: random.Random, ctx: dict[str, Any], today: date) -> None:
        self.clock, self.rng, self.ctx, self.today = clock, rng, ctx, today
        self.calls: list[str] = []
        self.reply = self.draft = ""
        self.down = False
        self.verify_attempts = 0

    def expect(self, *, calls: list[str], reply: str, draft: str = "", down: bool = False) -> None:
        self.calls, self.reply, self.draft, self.down = calls, reply, draft, down

    async def __call__(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        tool_choice: str | dict[str, Any],
        completion: llm.Completion,
        clock: TurnClock,
    ) -> AsyncGenerator[str, None]:
        if self.down:  # every model in the chain fails: the core's offline engine answers
            for model in (LLM_MODEL, LLM_FALLBACK_MODEL):
                attempt = self._attempt(completion, model)
                attempt.latency_ms = self.clock.advance(self.rng.uniform(25, 300))
                attempt.error = "APIConnectionError: Connection error."
            raise llm.LLMUnavailable("; ".join(a.error for a in completion.attempts))
        call: tuple[str, dict[str, Any]] | None = None
        if isinstance(tool_choice, dict):
            call = (tool_choice["function"]["name"], {})
        elif self.calls:
            call = arguments(self.calls.pop(0), self.ctx, self.today, self.verify_attempts)
        text = ""
        if call is None:  # what the tools answered this turn is in the context by now
            text, self.draft = (self.draft or self.reply).format(**self.ctx), ""
        size = sum(len(str(m.get("tool_calls") or "")) + len(m.get("content") or "") for m in messages)
        prompt = size // 4 + 110 * len(tools) + self.rng.randint(0, 40)
        model = LLM_MODEL
        if self.rng.random() < 0.02:  # the first model times out; the fallback answers
            attempt = self._attempt(completion, model)
            attempt.latency_ms = self.clock.advance(self.rng.uniform(4000, 4060))
            attempt.error = "APITimeoutError: Request timed out."
            model = LLM_FALLBACK_MODEL
        attempt = self._attempt(completion, model)
        attempt.prompt_tokens = prompt
        if call is not None:
            name, args = call
            self.verify_attempts += name == "verify_identity"
            raw = _json(args)
            attempt.ttft_ms = self.clock.advance(self.rng.uniform(380, 950))
            attempt.tool_calls = [llm.ToolCall(id=_call_id(self.rng), name=name, arguments=raw)]
            attempt.completion_tokens = len(raw) // 3 + self.rng.randint(8, 16)
            attempt.latency_ms = round(attempt.ttft_ms + self.clock.advance(self.rng.uniform(30, 160)), 3)
            return
        attempt.completion_tokens = max(6, len(text) // 4 + self.rng.randint(-3, 6))
        per_token = self.rng.uniform(9, 16)
        attempt.ttft_ms = self.clock.advance(self.rng.uniform(300, 1100))
        pieces = re.findall(r"\S+\s*", text)
        try:
            for piece in pieces:
                self.clock.advance(per_token * attempt.completion_tokens / len(pieces))
                attempt.text += piece
                yield piece
        finally:  # also when the reply gate stops reading
            attempt.latency_ms = round((self.clock.perf() - attempt.started) * 1000, 3)

    def _attempt(self, completion: llm.Completion, model: str) -> llm.Attempt:
        attempt = llm.Attempt(endpoint=llm.Endpoint(model, "", ""), started=self.clock.perf())
        completion.attempts.append(attempt)
        return attempt


def _json(arguments: dict[str, Any]) -> str:
    return json.dumps(arguments, separators=(",", ":"))


def _call_id(rng: random.Random) -> str:
    return "call_" + "".join(rng.choices(string.ascii_letters + string.digits, k=24))
