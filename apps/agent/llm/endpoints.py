"""The one fallback chain that both faces walk (streaming.py for live turns, blocking.py for
the post-call analysis): which endpoints, in what order; how a client to one is built (timeouts,
TLS); what counts against an endpoint's circuit breaker and how an attempt reports to it; and
what an attempt records for the trace.

Kept in one place so that a live call and an analysis judge an endpoint by the same rules: an
endpoint that is failing calls is skipped by the analysis too, and the other way round.
"""

import functools
import ssl
import time
from dataclasses import dataclass, field
from decimal import Decimal

import certifi
import openai
from django.conf import settings

from apps.core import breakers


class LLMUnavailable(Exception):
    """No model in the chain answered."""


class LLMStreamBroken(Exception):
    """A model failed after it had started answering; what it said so far stands."""


@dataclass(frozen=True)
class Endpoint:
    model: str
    base_url: str
    api_key: str

    @property
    def label(self) -> str:
        return f"{self.model}@{self.base_url}" if self.base_url else self.model


def configured() -> bool:
    return bool(settings.OPENAI_API_KEY or settings.OPENAI_BASE_URL)


def endpoint(entry: str) -> Endpoint:
    """A model setting, "model" (the OPENAI_BASE_URL endpoint) or "model@base_url"."""
    model, _, base_url = entry.partition("@")
    key = settings.OPENAI_API_KEY or "not-needed"  # local servers accept any key
    return Endpoint(model.strip(), (base_url or settings.OPENAI_BASE_URL).strip(), key)


def chain(first: str = "") -> list[Endpoint]:
    """`first` (default LLM_MODEL), then LLM_FALLBACK_MODELS, each once."""
    endpoints = []
    for entry in [first or settings.LLM_MODEL, *settings.LLM_FALLBACK_MODELS]:
        candidate = endpoint(entry)
        if candidate.model and candidate not in endpoints:
            endpoints.append(candidate)
    return endpoints


def degraded() -> str:
    """For /healthz: the models whose circuit breakers are open (live turns and analysis)."""
    endpoints = {e.label: e for e in chain() + chain(first=settings.ANALYSIS_MODEL)}
    if not configured():
        return ""
    readings = breakers.read(list(endpoints))
    return ", ".join(f"circuit open: {label}" for label, r in readings.items() if r.open_until is not None)


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    prices = settings.LLM_PRICES.get(model)
    if not prices:
        return Decimal(0)
    per_million = Decimal(1_000_000)
    return (Decimal(str(prices[0])) * prompt_tokens + Decimal(str(prices[1])) * completion_tokens) / per_million


# --- clients ------------------------------------------------------------------------------------


def timeouts(read: float) -> openai.Timeout:
    """Every request's limits: LLM_CONNECT_TIMEOUT to connect, send and get a pooled connection;
    `read` between bytes of the answer (LLM_STREAM_IDLE_TIMEOUT between a stream's chunks;
    ANALYSIS_TIMEOUT for a whole answer that arrives at once)."""
    connect = settings.LLM_CONNECT_TIMEOUT
    return openai.Timeout(connect=connect, read=read, write=connect, pool=connect)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Reading the CA bundle took 80-140 ms: once per process, not once per client."""
    return ssl.create_default_context(cafile=certifi.where())


# --- what counts against an endpoint ------------------------------------------------------------


def transient(exc: BaseException) -> bool:
    """What counts against an endpoint's breaker, and is worth trying again later: it did not
    answer in time, could not be reached, or answered 5xx/429. A 4xx or a bad answer is not."""
    if isinstance(exc, TimeoutError | openai.APITimeoutError | openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429)


def describe(exc: BaseException) -> str:
    """An error as the trace records it."""
    return f"{type(exc).__name__}: {exc}"[:300]


# --- what an attempt records --------------------------------------------------------------------


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class Attempt:
    """One request to one model: what the trace records."""

    endpoint: Endpoint
    started: float
    ttft_ms: float | None = None
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str = ""
    transient: bool = False  # it failed in a way worth trying again later (see `transient`)
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    breaker: list[str] = field(default_factory=list)  # "probe", "opened", "closed": what this attempt did to it

    def answering(self) -> None:
        """The model started answering: text, or a tool call (a role-only chunk is not an answer)."""
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    def failed(self, exc: BaseException) -> None:
        self.latency_ms = (time.perf_counter() - self.started) * 1000
        self.error = describe(exc)
        self.transient = transient(exc)

    @property
    def cost(self) -> Decimal:
        return cost_usd(self.endpoint.model, self.prompt_tokens, self.completion_tokens)


@dataclass
class Completion:
    """What the chain produced for one request: events arrive through `stream`, attempts for the trace."""

    attempts: list[Attempt] = field(default_factory=list)
    skipped: list[Endpoint] = field(default_factory=list)  # their circuit breakers were open

    @property
    def answered(self) -> Attempt | None:
        return next((a for a in self.attempts if not a.error), None)

    @property
    def unreachable(self) -> bool:
        """Some model could not be reached (its breaker open, a timeout, 5xx, 429): the same
        request may well be answered later."""
        return bool(self.skipped) or any(a.transient for a in self.attempts)

    def reasons(self) -> str:
        """Why no model answered, for LLMUnavailable."""
        reasons = [a.error for a in self.attempts] + [f"{e.label}: circuit open" for e in self.skipped]
        return "; ".join(reasons) or "no model configured"


# --- the breakers -------------------------------------------------------------------------------


def begin(endpoint: Endpoint, state: breakers.State) -> Attempt:
    """An attempt on `endpoint`, whose breaker reads `state` (CLOSED or PROBE)."""
    attempt = Attempt(endpoint=endpoint, started=time.perf_counter())
    if state == breakers.State.PROBE:
        attempt.breaker.append("probe")
    return attempt


def report(attempt: Attempt, state: breakers.State, *, failed: bool) -> None:
    """Tell the endpoint's breaker how the attempt went (blocking: the cache is one round trip).
    Only a transient failure counts against it; a probe's answer closes it."""
    probing = state == breakers.State.PROBE
    if failed:
        change = breakers.failed(attempt.endpoint.label, probing=probing)
    else:
        change = breakers.succeeded(attempt.endpoint.label, probing=probing)
    if change:
        attempt.breaker.append(change)
