"""Who fills CallInsights: a model through the `openai` client, or the offline analyzer.

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
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import openai
from django.conf import settings
from pydantic import ValidationError

from apps.agent import llm
from apps.agent.nlu import understand
from apps.analysis.schemas import CallInsights
from apps.core import breakers
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
    def __init__(self, attempts: list["Attempt"], skipped: list[str] = ()) -> None:
        reasons = [f"{a.model}: {a.error}" for a in attempts] + [f"{model}: circuit open" for model in skipped]
        super().__init__("; ".join(reasons))
        self.attempts = attempts


class AnalysisUnavailable(AnalysisFailed):
    """No model could be reached (timeouts, connection errors, 5xx): retry later."""


class InvalidOutput(AnalysisFailed):
    """Models answered, but none with valid analysis."""


@dataclass
class Attempt:
    model: str
    endpoint: str
    latency_ms: float
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""
    breaker: list[str] = field(default_factory=list)  # "probe", "opened", "closed": what this attempt did to it


@dataclass
class Analysis:
    insights: CallInsights
    analyzer: str  # the model that answered, or "offline"
    attempts: list[Attempt] = field(default_factory=list)


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


@cache
def _client(base_url: str, api_key: str, timeout: float, connect: float) -> openai.OpenAI:
    """Sync clients (a worker thread at a time) are shared: their connections are reused."""
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url or None,
        timeout=openai.Timeout(timeout, connect=connect),
        max_retries=0,  # the chain and the task's retries decide, not the client
        http_client=openai.DefaultHttpxClient(verify=llm.tls_context()),
    )


def analysis_chain() -> list[llm.Endpoint]:
    return llm.chain(first=settings.ANALYSIS_MODEL)


_TRANSIENT = (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


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

    attempts: list[Attempt] = []
    skipped: list[str] = []
    transient = False
    endpoints = analysis_chain()
    readings = breakers.read([e.label for e in endpoints])
    for endpoint in endpoints:
        # The live agent's breakers: an endpoint that is failing calls is skipped here too.
        state = breakers.state(endpoint.label, readings.get(endpoint.label))
        if state == breakers.State.OPEN:
            skipped.append(endpoint.model)
            transient = True  # it may answer later: the task retries
            continue
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        for _ in range(2):  # a second try on the same model, told what was wrong
            started = time.perf_counter()
            attempt = Attempt(endpoint.model, endpoint.base_url, 0.0)
            if state == breakers.State.PROBE:
                attempt.breaker.append("probe")
            attempts.append(attempt)
            try:
                response = _client(
                    endpoint.base_url, endpoint.api_key, settings.ANALYSIS_TIMEOUT, settings.LLM_CONNECT_TIMEOUT
                ).chat.completions.create(
                    model=endpoint.model,
                    messages=messages,
                    response_format={"type": "json_object"},
                    temperature=0,
                )
            except _TRANSIENT as exc:
                attempt.error, transient = f"{type(exc).__name__}: {exc}"[:500], True
                attempt.latency_ms = (time.perf_counter() - started) * 1000
                if change := breakers.failed(endpoint.label, probing=state == breakers.State.PROBE):
                    attempt.breaker.append(change)
                break  # this model is down: the next one
            except openai.APIError as exc:  # 4xx: this model will not do it
                attempt.error = f"{type(exc).__name__}: {exc}"[:500]
                attempt.latency_ms = (time.perf_counter() - started) * 1000
                break
            attempt.latency_ms = (time.perf_counter() - started) * 1000
            if change := breakers.succeeded(endpoint.label, probing=state == breakers.State.PROBE):
                attempt.breaker.append(change)
            state = breakers.State.CLOSED  # it answered: a second try is no probe
            if response.usage:
                attempt.prompt_tokens = response.usage.prompt_tokens
                attempt.completion_tokens = response.usage.completion_tokens
            content = (response.choices[0].message.content or "") if response.choices else ""
            problem, insights = _validate(content, lines)
            if insights is not None:
                return Analysis(insights, endpoint.model, attempts)
            attempt.error = problem[:500]
            messages += [
                {"role": "assistant", "content": content},
                {"role": "user", "content": f"That answer is invalid: {problem}\nAnswer again with valid JSON only."},
            ]
    raise (AnalysisUnavailable if transient else InvalidOutput)(attempts, skipped)


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

_POSITIVE = re.compile(r"\b(thanks?|thank you|great|good|perfect|sure|okay|ok|sounds? (good|fair)|appreciate|happy)\b")
_NEGATIVE = re.compile(
    r"\b(no|not|can'?t|won'?t|angry|upset|ridiculous|unfair|stop|harass\w*|never|problem|difficult|worried|lost my job)\b"
)


def _score(text: str) -> float:
    low = text.casefold()
    good, bad = len(_POSITIVE.findall(low)), len(_NEGATIVE.findall(low))
    return 0.0 if good + bad == 0 else round((good - bad) / (good + bad), 2)


def offline_analyze(lines: list[Line], facts: CallFacts) -> Analysis:
    """Rules over the caller's words: the same schema, with the lower confidence it deserves."""
    zone = ZoneInfo(facts.timezone)
    today = facts.ended_at.astimezone(zone).date()
    said = [line for line in lines if line.speaker == "customer"]
    heard = [(line, understand(line.text, today=today)) for line in said]

    scores = [_score(line.text) for line in said] or [0.0]
    n = len(scores)
    thirds = [scores[i * n // 3 : (i + 1) * n // 3] for i in range(3)]  # start, middle, end
    trajectory = [round(sum(part) / len(part), 2) for part in thirds if part]
    overall = round(sum(scores) / n, 2)
    if min(scores) < 0 < max(scores):
        label = "mixed"
    else:
        label = "positive" if overall > 0.2 else "negative" if overall < -0.2 else "neutral"
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
