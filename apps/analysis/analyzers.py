"""Who fills CallInsights: a model through the live agent's LLM chain (apps/agent/llm, its
synchronous face: the same endpoints and circuit breakers; each request has ANALYSIS_TIMEOUT for
every step but connecting), or the offline analyzer.

The model gets the redacted transcript and the schema, and must answer JSON that parses into
CallInsights and whose every evidence quote occurs in the transcript. Invalid output is retried
once on the same model with the error shown, then the next model in the chain is tried.
Timeouts, connection errors, rate limits and 5xx move on to the next model too; when every model
failed that way the caller gets AnalysisUnavailable (worth retrying later). When every model
answered but none validly, it gets InvalidOutput.
"""

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from pydantic import ValidationError

from apps.agent import llm
from apps.agent.nlu import understand
from apps.agent.sentiment import sentiment_label, sentiment_score
from apps.analysis.schemas import CallInsights
from apps.core.redaction import redact

PROMPT = """You analyse a finished contact-center call for {company}. Answer with one JSON object
that matches this JSON schema exactly (no other keys, no prose, no code fences):

{schema}

Rules:
- Every "evidence" is an exact quote copied from the transcript (a few words to one sentence), or "".
- A promise is made only when the customer commits to an amount and a date. Amounts are plain
  numbers ("250.00"), dates YYYY-MM-DD, times ISO 8601 with the offset.
- next_action.when is when to call again, in the customer's time zone ({timezone}), or null.
- Confidence is 0-100; be honest: a guess is below 50.
- Today is {today}."""


class AnalysisFailed(Exception):
    def __init__(self, completion: llm.Completion) -> None:
        reasons = [f"{a.endpoint.model}: {a.error}" for a in completion.attempts]
        reasons += [f"{e.model}: circuit open" for e in completion.skipped]
        super().__init__("; ".join(reasons))
        self.attempts = completion.attempts


class AnalysisUnavailable(AnalysisFailed):
    """No model could be reached (timeouts, connection errors, 5xx): retry later."""


class InvalidOutput(AnalysisFailed):
    """Models answered, but none with valid analysis."""


@dataclass
class Analysis:
    insights: CallInsights
    analyzer: str  # the model that answered, or "offline"
    attempts: list[llm.Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Line:
    speaker: str  # "customer" | "agent" | "human_agent" | "system"
    text: str


@dataclass(frozen=True)
class CallFacts:
    """What the analyzers know besides the words."""

    workflow: str
    direction: str
    customer_name: str
    timezone: str
    balance: Decimal
    ended_at: datetime
    live_promise: tuple[Decimal, date, str] | None  # recorded by the agent on the call: amount, due, method


# --- evidence -----------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_EDGES = "\"'“”‘’.,;:!?… "


def _normal(text: str) -> str:
    return _SPACE.sub(" ", text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')).casefold()


def quote_found(quote: str, lines: list[Line]) -> bool:
    """The quote occurs in one line of the transcript (spacing, case and the quote marks and
    punctuation around it aside)."""
    needle = _normal(quote).strip(_EDGES)
    return bool(needle) and any(needle in _normal(line.text) for line in lines)


def check_quotes(insights: CallInsights, lines: list[Line]) -> list[str]:
    """Where a quote is not in the transcript, as `field: "quote"` (empty: all found)."""
    return [f'{where}: "{quote}"' for where, quote in insights.quotes().items() if not quote_found(quote, lines)]


def transcript_text(lines: list[Line]) -> str:
    names = {"customer": "Customer", "agent": "Agent", "human_agent": "Human agent", "system": "System"}
    return "\n".join(f"{names.get(line.speaker, line.speaker)}: {redact(line.text)[0]}" for line in lines)


# --- a model ------------------------------------------------------------------------------------

CORRECTION = "That answer is invalid: {problem}\nAnswer again with valid JSON only."


@functools.cache
def _schema_json() -> str:
    return json.dumps(CallInsights.model_json_schema())  # a few ms to build: once per process


def llm_analyze(lines: list[Line], facts: CallFacts) -> Analysis:
    today = facts.ended_at.astimezone(ZoneInfo(facts.timezone)).date()
    system = PROMPT.format(
        company=settings.COMPANY_NAME,
        schema=_schema_json(),
        timezone=facts.timezone,
        today=today.isoformat(),
    )
    context = (
        f"Workflow: {facts.workflow} ({facts.direction} call). Customer: {facts.customer_name}. "
        f"Balance on file: {facts.balance}."
    )
    if facts.live_promise:
        amount, due, method = facts.live_promise
        context += (
            f" The agent recorded a promise on the call: {amount} by {due.isoformat()} ({method or 'no method'})."
        )
    user = f"{context}\n\nTranscript:\n{transcript_text(lines)}"

    # The live agent's chain, clients and breakers: an endpoint that is failing calls is skipped
    # here too. A model whose answer is invalid gets a second try, told what was wrong.
    completion = llm.Completion()
    try:
        insights = llm.complete(
            [{"role": "system", "content": system}, {"role": "user", "content": user}],
            check=functools.partial(_valid, lines=lines),
            completion=completion,
            first=settings.ANALYSIS_MODEL,
            tries=2,
            correction=CORRECTION,
            read_timeout=settings.ANALYSIS_TIMEOUT,
            response_format={"type": "json_object"},
            temperature=0,
        )
    except llm.LLMUnavailable:
        # A model that could not be reached may answer later: the task retries.
        raise (AnalysisUnavailable if completion.unreachable else InvalidOutput)(completion) from None
    answered = completion.attempts[-1]
    return Analysis(insights, answered.endpoint.model, completion.attempts)


def _valid(content: str, *, lines: list[Line]) -> CallInsights:
    problem, insights = _validate(content, lines)
    if insights is None:
        raise llm.Rejected(problem)
    return insights


def _validate(content: str, lines: list[Line]) -> tuple[str, CallInsights | None]:
    try:
        insights = CallInsights.model_validate_json(content)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'answer'}: {e['msg']}" for e in exc.errors()[:8])
        return f"it does not match the schema ({details})", None
    missing = check_quotes(insights, lines)
    if missing:
        return f"these evidence quotes are not in the transcript: {'; '.join(missing)}", None
    return "", insights


# --- offline ------------------------------------------------------------------------------------


def offline_analyze(lines: list[Line], facts: CallFacts) -> Analysis:
    """Rules over the caller's words: the same schema, with the lower confidence it deserves."""
    zone = ZoneInfo(facts.timezone)
    today = facts.ended_at.astimezone(zone).date()
    said = [line for line in lines if line.speaker == "customer"]
    heard = [(line, understand(line.text, today=today)) for line in said]

    scores = [sentiment_score(line.text) for line in said] or [0.0]
    n = len(scores)
    thirds = [scores[i * n // 3 : (i + 1) * n // 3] for i in range(3)]  # start, middle, end
    trajectory = [round(sum(part) / len(part), 2) for part in thirds if part]
    overall = round(sum(scores) / n, 2)
    label = "mixed" if min(scores) < 0 < max(scores) else sentiment_label(overall)
    strongest = max(zip(scores, said, strict=False), key=lambda pair: abs(pair[0]), default=None)

    promise: dict[str, Any] = {"made": False, "confidence": 60, "reasoning": "No amount and date from the customer."}
    offer = next(((line, u) for line, u in reversed(heard) if u.amounts and u.dates and u.affirm is not False), None)
    if facts.live_promise:
        amount, due, method = facts.live_promise
        quote = next((line.text for line, u in heard if amount in u.amounts), "")
        promise = {
            "made": True,
            "amount": amount,
            "due_date": due,
            "method": method,
            "confidence": 90,
            "reasoning": "The agent recorded this promise on the call after reading it back.",
            "evidence": quote,
        }
    elif offer:
        line, u = offer
        promise = {
            "made": True,
            "amount": u.amounts[-1],
            "due_date": u.dates[-1],
            "method": u.method or "",
            "confidence": 55,
            "reasoning": "The customer named an amount and a date; it was not recorded on the call.",
            "evidence": line.text,
        }

    def flags(name: str) -> bool:
        return any(getattr(u, name) for _, u in heard)

    if flags("opt_out"):
        intent = "opt_out"
    elif facts.workflow == "roadside":
        intent = "roadside_assistance"
    elif flags("wants_settlement"):
        intent = "settlement_request"
    elif flags("wants_waiver"):
        intent = "fee_waiver_request"
    elif promise["made"]:
        intent = "payment_plan" if flags("wants_plan") else "promise_to_pay"
    elif flags("wants_callback"):
        intent = "callback_request"
    else:
        intent = "other"

    def ten_am(day: date) -> datetime:
        return datetime.combine(day, dt_time(10), tzinfo=zone)

    if intent == "opt_out" or intent == "roadside_assistance":
        action = {"type": "none", "reason": "The customer opted out." if intent == "opt_out" else "Roadside call."}
    elif intent in ("settlement_request", "fee_waiver_request"):
        action = {
            "type": "human_review",
            "urgency": "high",
            "reason": "The customer asked for a " + intent.split("_request")[0].replace("_", " ") + ".",
        }
    elif promise["made"]:
        action = {
            "type": "follow_up_call",
            "when": ten_am(promise["due_date"] + timedelta(days=1)),
            "reason": "Check the promised payment arrived.",
        }
    else:
        action = {
            "type": "follow_up_call",
            "when": ten_am(today + timedelta(days=3)),
            "reason": "No commitment yet: call again.",
        }
    action["confidence"] = 50

    summary = (
        f"{facts.direction.capitalize()} {facts.workflow} call with {facts.customer_name}: {intent.replace('_', ' ')}."
    )
    if promise["made"]:
        summary += f" Promised {promise['amount']} by {promise['due_date']:%Y-%m-%d}."
    insights = CallInsights.model_validate(
        {
            "sentiment": {
                "label": label,
                "score": max(-1.0, min(1.0, overall)),
                "trajectory": trajectory,
                "confidence": 40,
                "evidence": strongest[1].text if strongest and strongest[0] else "",
            },
            "intent": intent,
            "promise": promise,
            "next_action": action,
            "summary": summary,
            "fields": {"intent": {"confidence": 50}, "summary": {"confidence": 50}},
        }
    )
    return Analysis(insights, "offline")
