"""What a turn records: its trace events and its latency breakdown.

The engine's own overhead is the time from the caller's words arriving to the first token sent,
minus the time spent waiting on the LLM before that token (its time to first token, and any
tool-call rounds before it).

A live turn (`observed`: not a simulated one) is also what operators see: its latency goes to
/metrics, and with tracing on it is a span of its call's trace whose children are its LLM
requests, tool calls and guardrail hits, recorded as they are traced here (apps/core/telemetry.py).
"""

import hashlib
import time
from decimal import Decimal
from typing import Any

from apps.agent.clock import Clock
from apps.agent.llm import Completion
from apps.agent.llm.endpoints import attempt_observed
from apps.calls.models import TraceEvent, TraceKind
from apps.calls.services import Utterance
from apps.core import metrics, telemetry
from apps.core.redaction import redact_text

# A tool's outcome that is a failure of the system it asked (not a refusal: that is a guardrail).
TOOL_FAILED = ("error", "unavailable")

# An LLM trace keeps this many of the latest messages, and the system prompt when it changed.
TRACED_MESSAGES = 6


def traced_prompt(messages: list[dict[str, Any]], prompts_seen: set[str]) -> dict[str, Any]:
    """An LLM request as its trace keeps it: the latest messages, and the system prompt by hash,
    in full only the first time this session sends it."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    system_sha = hashlib.sha1(system.encode(), usedforsecurity=False).hexdigest()[:12]
    prompt: dict[str, Any] = {"system_sha": system_sha, "messages": [dict(m) for m in messages[1:][-TRACED_MESSAGES:]]}
    if system_sha not in prompts_seen:
        prompts_seen.add(system_sha)
        prompt["system"] = system
    return prompt


class TurnLog:
    def __init__(
        self,
        turn: int,
        *,
        timed: bool = True,
        prompts_seen: set[str] | None = None,
        clock: Clock | None = None,
        observed: bool = False,
        call_id: int | None = None,
        channel: str = "",
        parent: telemetry.Span | None = None,
        workflow: str = "",
    ) -> None:
        """`observed`: a live turn (metrics, a span); `call_id`, `channel`, `parent` and `workflow`
        say where it belongs."""
        self.turn = turn
        self.clock = clock or Clock()
        # System prompts already traced in this session, by hash: each is stored once in full.
        self.prompts_seen = prompts_seen if prompts_seen is not None else set()
        self.timed = timed  # False for records outside a turn (an interruption's correction)
        self.started = self.clock.perf()
        self.mode = "rule"  # "llm", "offline", or "rule": a reply code decided alone (handoff, close)
        self.held = False  # a holding phrase went out while a slower path completed
        self.fallback = False  # a model after the first in the chain answered (one failed, or its breaker was open)
        self.step_changed = False
        self.utterances: list[Utterance] = []
        self._traces: list[TraceEvent] = []
        self._first_token: float | None = None
        self._llm_wait_ms = 0.0
        self._tools_ms = 0.0
        self._round_started: float | None = None
        self._rounds = 0
        self.observed = observed and bool(turn) and timed
        self.channel = channel
        where: dict[str, Any] = {"agent.turn": turn, "agent.channel": channel, "agent.workflow": workflow}
        self.span = telemetry.start("agent.turn", call_id=call_id, parent=parent, **where) if self.observed else None

    def trace(
        self,
        kind: str,
        name: str,
        *,
        ok: bool = True,
        latency_ms: float | None = None,
        payload: dict[str, Any] | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        cost: Decimal = Decimal(0),
    ) -> None:
        self._traces.append(
            TraceEvent(
                turn=self.turn,
                kind=kind,
                name=name[:100],
                ok=ok,
                latency_ms=latency_ms,
                payload=payload or {},
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost,
                at=self.clock.now(),
            )
        )
        if self.span is not None:
            self._spanned(kind, name, ok=ok, latency_ms=latency_ms, payload=payload or {})

    def _spanned(self, kind: str, name: str, *, ok: bool, latency_ms: float | None, payload: dict[str, Any]) -> None:
        """What a trace event is in the turn's span: a tool call or a guardrail hit its child, the
        rest events (LLM requests are spanned from their attempts: `llm_finished`)."""
        span = self.span
        assert span is not None
        if kind == TraceKind.TOOL_CALL:
            end_ns = time.time_ns()
            status = str((payload.get("result") or {}).get("status", ""))
            what: dict[str, Any] = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": name,
                "cc.tool.status": status,
            }
            tool = span.child(f"execute_tool {name}", start_ns=end_ns - int((latency_ms or 0) * 1e6), **what)
            telemetry.finish(tool, end_ns=end_ns, error=status if status in TOOL_FAILED else "")
        elif kind == TraceKind.GUARDRAIL:
            guard: dict[str, Any] = {"cc.guardrail.name": name, "cc.guardrail.blocked": not ok}
            hit = span.child(f"guardrail {name}", **guard)
            telemetry.finish(hit, end_ns=hit.start_ns)
        elif kind not in (TraceKind.LLM_CALL, TraceKind.TURN):
            span.event(str(kind), **{"cc.name": name, "cc.ok": ok})
            if kind == TraceKind.ERROR and name == "turn_failed":
                span.error = str(payload.get("error", name))

    def first_token(self) -> None:
        if self._first_token is None:
            self._first_token = self.clock.perf()

    def tool_ms(self, ms: float) -> None:
        self._tools_ms += ms

    def llm_started(self) -> None:
        self._round_started = self.clock.perf()
        self._rounds += 1

    def llm_finished(self, completion: Completion, messages: list[dict[str, Any]]) -> None:
        round_end = self.clock.perf()
        if self._round_started is not None and (self._first_token is None or self._first_token > self._round_started):
            # Until the first token, the caller is waiting on the model: that wait is not ours.
            until = self._first_token if self._first_token is not None else round_end
            self._llm_wait_ms += (until - self._round_started) * 1000
        answered = completion.answered
        if answered is not None and (completion.skipped or answered is not completion.attempts[0]):
            self.fallback = True
        prompt = traced_prompt(messages, self.prompts_seen)
        for attempt in completion.attempts:
            if self.observed:
                attempt_observed(attempt, face="live", parent=self.span)
            for change in attempt.breaker:
                self.trace(
                    TraceKind.BREAKER,
                    f"{change}: {attempt.endpoint.model}",
                    ok=change != "opened",
                    payload={"endpoint": attempt.endpoint.label, "change": change},
                )
            self.trace(
                TraceKind.LLM_CALL,
                attempt.endpoint.model,
                ok=not attempt.error,
                latency_ms=attempt.latency_ms,
                prompt_tokens=attempt.prompt_tokens,
                completion_tokens=attempt.completion_tokens,
                cost=attempt.cost,
                payload={
                    "endpoint": attempt.endpoint.base_url,
                    "ttft_ms": attempt.ttft_ms,
                    "error": attempt.error,
                    "text": redact_text(attempt.text),
                    "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in attempt.tool_calls],
                    **prompt,
                },
            )

    def timings(self) -> dict[str, Any]:
        now = self.clock.perf()
        first = self._first_token if self._first_token is not None else now
        first_ms = (first - self.started) * 1000
        return {
            "mode": self.mode,
            "held": self.held,
            "fallback": self.fallback,
            "first_token_ms": round(first_ms, 3),
            "llm_wait_ms": round(self._llm_wait_ms, 3),
            "overhead_ms": round(max(first_ms - self._llm_wait_ms, 0.0), 3),
            "tools_ms": round(self._tools_ms, 3),
            "total_ms": round((now - self.started) * 1000, 3),
            "llm_rounds": self._rounds,
        }

    def finish(self) -> list[TraceEvent]:
        """The turn's traces, with its latency breakdown last."""
        if self.turn and self.timed:
            timings = self.timings()
            self.trace(TraceKind.TURN, f"turn {self.turn}", latency_ms=timings["total_ms"], payload=timings)
            if self.observed:
                self.observed = False  # once, should a record be finished again
                metrics.turn_finished(
                    channel=self.channel,
                    mode=timings["mode"],
                    first_token_ms=timings["first_token_ms"],
                    overhead_ms=timings["overhead_ms"],
                )
                telemetry.finish(self.span, **{f"agent.{key}": value for key, value in timings.items()})
                self.span = None
        traces, self._traces = self._traces, []
        return traces
