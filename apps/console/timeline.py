"""A call's trace timeline, as the call page shows it: each turn on its own time axis, with the
LLM calls, tool calls, guardrail hits and step changes inside it, the turn's latency breakdown,
and the call's tokens and cost. Every payload is read as labelled fields (the raw form stays
behind a toggle in the template); the traces were redacted when stored.

A trace's `at` is when it was recorded, i.e. when the work it times ended: a span with a latency
started `latency_ms` before its `at`. A turn's "turn" trace carries its latency breakdown
(apps/agent/traces.py `TurnLog.timings`) and fixes its window.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.calls.models import Call, TraceEvent, TraceKind
from apps.console.present import event_name, humanize, labelled

KIND_LABELS = dict(TraceKind.choices)
# What a payload's keys mean, where the generic label (present.humanize) would not say it.
TRACE_LABELS = {
    "ttft_ms": "Time to first token",
    "tool_calls": "Tool calls requested",
    "system_sha": "System prompt version",
    "system": "System prompt",
    "from": "From step",
    "to": "To step",
    "detail": "What it caught",
    "kinds": "Redacted",
    "limit": "Limit (characters)",
}
STEP_KEYS = {"step", "from", "to", "kind", "tool", "approval_status"}  # identifiers read as words
ROLES = {"user": "caller", "assistant": "agent", "tool": "tool result", "system": "system"}
MODES = {"llm": "the LLM", "offline": "the offline engine (no LLM)", "rule": "a rule alone (no LLM)"}
# The turn's latency breakdown (TurnLog.timings), in the order a person reads it.
BREAKDOWN = (
    ("first_token_ms", "Time to first token"),
    ("llm_wait_ms", "Waiting on the LLM"),
    ("tools_ms", "Tool time"),
    ("overhead_ms", "Engine overhead"),
    ("total_ms", "Whole turn"),
)
FLAGS = {TraceKind.GUARDRAIL: "stopped", TraceKind.LLM_CALL: "failed", TraceKind.BREAKER: "opened"}
NICE_STEPS = (1, 2, 5)
MAX_TICKS = 6


def duration(ms: float) -> str:
    """A duration as read: "0.4 ms", "847 ms", "3.45 s", "1 min 33 s"."""
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.2f}".rstrip("0").rstrip(".") + " s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"


def cost(value: Decimal) -> str:
    return f"${value:.6f}" if value else "$0"


# --- payloads as labelled fields ---------------------------------------------------------------


def _label(key: str) -> str:
    return TRACE_LABELS.get(key) or humanize(key)


def _parsed(value: Any) -> Any:
    """JSON kept as a string (a tool call's arguments, a tool result message), as its value."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _inline(value: Any) -> str:
    """A small object on one line: "Method: zip; Value: 84105"."""
    value = _parsed(value)
    if isinstance(value, dict):
        return "; ".join(f"{_label(key)}: {_leaf(key, inner)}" for key, inner in value.items()) or "nothing"
    if isinstance(value, list):
        return ", ".join(_inline(item) for item in value) or "nothing"
    return str(value)


def _leaf(key: str, value: Any) -> str:
    if isinstance(value, dict | list):
        return _inline(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key.endswith("_ms") and isinstance(value, int | float):
        return duration(value)
    if key in STEP_KEYS and isinstance(value, str):
        return value.replace("_", " ")
    return labelled({key: value})[0][1]


def _tool_calls(calls: list[dict[str, Any]]) -> str:
    """Requested tool calls, in either stored shape ({name, arguments} or OpenAI's function)."""
    shown = []
    for call in calls:
        function = call.get("function") or call
        arguments = _parsed(function.get("arguments") or {})
        shown.append(f"{function.get('name', '?')} ({_inline(arguments) if arguments else 'no arguments'})")
    return ", ".join(shown)


def _message(number: int, message: dict[str, Any]) -> tuple[str, str]:
    role = ROLES.get(message.get("role", ""), message.get("role", "?"))
    content = message.get("content")
    text = _inline(content) if content else ""
    if message.get("tool_calls"):
        text = (text + " " if text else "") + f"asks for {_tool_calls(message['tool_calls'])}"
    return f"Message {number} ({role})", text or "nothing"


def _flatten(prefix: str, key: str, value: Any, out: list[tuple[str, str]]) -> None:
    if value in (None, "", [], {}):
        return  # an empty field tells a person nothing
    label = f"{prefix} › {_label(key)}" if prefix else _label(key)
    value = _parsed(value) if key in ("arguments", "result", "content") else value
    if key == "messages" and isinstance(value, list):
        out.extend(_message(number, message) for number, message in enumerate(value, 1))
    elif key == "tool_calls" and isinstance(value, list):
        out.append((label, _tool_calls(value)))
    elif isinstance(value, dict):
        for inner_key, inner in value.items():
            _flatten(label, inner_key, inner, out)
    else:
        out.append((label, _leaf(key, value)))


def trace_fields(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """A trace's payload as (label, text) pairs: nested objects flattened under their parent's
    label, JSON strings read, the prompt's messages one field each, empty values left out."""
    out: list[tuple[str, str]] = []
    for key, value in (payload or {}).items():
        _flatten("", key, value, out)
    return out


# --- the timeline -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    offset_ms: float
    label: str


@dataclass
class Span:
    id: int
    kind: str
    kind_label: str
    name: str
    ok: bool
    flag: str  # what a failed span says beside its name ("refused", "stopped"); "" when ok
    offset_ms: float  # from the call's start
    duration_ms: float  # 0 for a moment (a step change, most guardrails)
    prompt_tokens: int
    completion_tokens: int
    cost_usd: Decimal
    at: datetime  # when it started
    fields: list[tuple[str, str]]  # when, how long, tokens, then the payload
    raw: str  # the stored payload, pretty-printed, for the raw view only

    @property
    def duration_text(self) -> str:
        return duration(self.duration_ms) if self.duration_ms else "moment"


@dataclass
class Turn:
    key: str  # for element ids: "1", "greeting", "outside"
    title: str
    start_ms: float
    end_ms: float
    mode: str = ""  # who made the reply: the LLM, the offline engine or a rule
    first_token_ms: float | None = None  # when the reply's first token went out, on the call's axis
    breakdown: list[tuple[str, str]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)

    @property
    def length_ms(self) -> float:
        return max(self.end_ms - self.start_ms, 1.0)

    @property
    def duration_text(self) -> str:
        return duration(self.end_ms - self.start_ms) if self.end_ms - self.start_ms >= 0.05 else ""


@dataclass
class Totals:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    llm_calls: int = 0
    tool_calls: int = 0
    guardrails: int = 0
    guardrail_hits: int = 0  # guardrails that stopped something (the engine's own count)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def fields(self) -> list[tuple[str, str]]:
        hits = f"{self.guardrails} ({self.guardrail_hits} blocked)" if self.guardrail_hits else str(self.guardrails)
        return [
            ("Tokens", f"{self.tokens:,} ({self.prompt_tokens:,} prompt, {self.completion_tokens:,} completion)"),
            ("Cost", cost(self.cost_usd)),
            ("LLM calls", str(self.llm_calls)),
            ("Tool calls", str(self.tool_calls)),
            ("Guardrail hits", hits),
        ]


@dataclass
class Timeline:
    call_id: int
    started_at: datetime | None
    duration_ms: float
    turns: list[Turn]
    totals: Totals
    ticks: list[Tick]


def ticks(length_ms: float, start_ms: float = 0.0) -> list[Tick]:
    """Round marks along an axis of `length_ms` from `start_ms`: at most MAX_TICKS+1, 0 included."""
    length_ms = max(length_ms, 1.0)
    magnitude = 10 ** math.floor(math.log10(length_ms / MAX_TICKS))
    step = next((m * magnitude for m in NICE_STEPS if length_ms / (m * magnitude) <= MAX_TICKS), 10 * magnitude)
    count = int(length_ms // step)
    return [Tick(start_ms + n * step, "0" if n == 0 else duration(n * step)) for n in range(count + 1)]


def _span(trace: TraceEvent, origin: datetime) -> Span:
    latency = trace.latency_ms or 0.0
    started = trace.at - timedelta(milliseconds=latency)
    offset = (started - origin).total_seconds() * 1000
    flag = ""
    if not trace.ok:
        result = trace.payload.get("result") if trace.kind == TraceKind.TOOL_CALL else None
        status = result.get("status") if isinstance(result, dict) else None
        flag = status if isinstance(status, str) and status else FLAGS.get(trace.kind, "failed")
    fields = [("When", f"{timezone.localtime(started):%H:%M:%S}, {duration(max(offset, 0))} into the call")]
    if trace.latency_ms is not None:
        fields.append(("Took", duration(latency)))
    if trace.prompt_tokens or trace.completion_tokens:
        fields.append(("Tokens", f"{trace.prompt_tokens:,} prompt, {trace.completion_tokens:,} completion"))
    if trace.cost_usd:
        fields.append(("Cost", cost(trace.cost_usd)))
    return Span(
        id=trace.pk,
        kind=trace.kind,
        kind_label=KIND_LABELS.get(trace.kind, humanize(trace.kind)),
        name=event_name(trace.name),
        ok=trace.ok,
        flag=flag,
        offset_ms=round(offset, 3),
        duration_ms=round(latency, 3),
        prompt_tokens=trace.prompt_tokens,
        completion_tokens=trace.completion_tokens,
        cost_usd=trace.cost_usd,
        at=started,
        fields=fields + trace_fields(trace.payload),
        raw=json.dumps(trace.payload, indent=2, ensure_ascii=False, default=str),
    )


def _breakdown(timings: dict[str, Any]) -> list[tuple[str, str]]:
    figures = [("Reply by", MODES.get(timings.get("mode", ""), str(timings.get("mode") or "unknown")))]
    figures += [
        (label, duration(timings[key])) for key, label in BREAKDOWN if isinstance(timings.get(key), int | float)
    ]
    figures.append(("LLM rounds", str(timings.get("llm_rounds", 0))))
    if timings.get("held"):
        figures.append(("Holding phrase", "said while a slower path completed"))
    return figures


def _turn(number: int | None, traces: list[TraceEvent], origin: datetime, call: Call) -> Turn:
    turn_trace = next((trace for trace in traces if trace.kind == TraceKind.TURN), None)
    spans = [_span(trace, origin) for trace in traces if trace.kind != TraceKind.TURN]
    edges = [edge for span in spans for edge in (span.offset_ms, span.offset_ms + span.duration_ms)]
    if turn_trace is not None:
        window = _span(turn_trace, origin)
        edges += [window.offset_ms, window.offset_ms + window.duration_ms]
    if number is None:
        after = call.ended_at is not None and all(trace.at >= call.ended_at for trace in traces)
        key, title = "outside", "After the call" if after else "Outside the turns"
    elif number == 0:
        key, title = "greeting", "Greeting"
    else:
        key, title = str(number), f"Turn {number}"
    turn = Turn(key=key, title=title, start_ms=min(edges), end_ms=max(edges), spans=spans)
    if turn_trace is not None:
        timings = turn_trace.payload or {}
        turn.mode = MODES.get(timings.get("mode", ""), "")
        turn.breakdown = _breakdown(timings)
        if isinstance(timings.get("first_token_ms"), int | float) and timings.get("mode") == "llm":
            turn.first_token_ms = window.offset_ms + timings["first_token_ms"]
    turn.ticks = ticks(turn.length_ms, turn.start_ms) if turn.end_ms - turn.start_ms >= 1 else []
    return turn


def call_timeline(call: Call, traces: list[TraceEvent]) -> Timeline:
    """The timeline of `call` from its traces (in the order recorded): pure, no queries."""
    totals = Totals()
    for trace in traces:
        totals.prompt_tokens += trace.prompt_tokens
        totals.completion_tokens += trace.completion_tokens
        totals.cost_usd += trace.cost_usd
        totals.llm_calls += trace.kind == TraceKind.LLM_CALL
        totals.tool_calls += trace.kind == TraceKind.TOOL_CALL
        totals.guardrails += trace.kind == TraceKind.GUARDRAIL
        totals.guardrail_hits += trace.kind == TraceKind.GUARDRAIL and not trace.ok
    if not traces:
        return Timeline(call.pk, call.started_at, 0.0, [], totals, [])
    starts = [trace.at - timedelta(milliseconds=trace.latency_ms or 0) for trace in traces]
    origin = min([*starts, call.started_at] if call.started_at else starts)
    groups: dict[int | None, list[TraceEvent]] = {}
    for trace in traces:
        groups.setdefault(trace.turn, []).append(trace)
    turns = sorted(
        (_turn(number, group, origin, call) for number, group in groups.items()), key=lambda turn: turn.start_ms
    )
    end = max(turn.end_ms for turn in turns)
    if call.ended_at is not None:
        end = max(end, (call.ended_at - origin).total_seconds() * 1000)
    return Timeline(call.pk, origin, end, turns, totals, ticks(end))


def timeline_for(call: Call) -> Timeline:
    """The call's timeline, its traces read in one query."""
    return call_timeline(call, list(TraceEvent.objects.filter(call_id=call.pk).order_by("at", "id")))
