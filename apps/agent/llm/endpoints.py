"""The one fallback chain that both faces walk (streaming.py for live turns, blocking.py for
the post-call analysis): which endpoints, in what order; how a client to one is built (timeouts,
TLS, no retries of its own); the walk itself (each breaker obeyed, each attempt recorded and
reported, LLMUnavailable at the end); what counts against an endpoint's breaker; and what an
attempt records for the trace. A face adds only how it makes and reads one request.

Kept in one place so that a live call and an analysis judge an endpoint by the same rules: an
endpoint that is failing calls is skipped by the analysis too, and the other way round.
"""

import functools
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import certifi
import openai
from django.conf import settings

from apps.core import breakers, metrics, telemetry

logger = logging.getLogger(__name__)


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


def client_options(
    base_url: str, api_key: str, *, read: float, send: float, http: Callable[..., Any]
) -> dict[str, Any]:
    """The keyword arguments of a client to one endpoint, for either face (`http`: the SDK's sync
    or async httpx client class). Its limits: LLM_CONNECT_TIMEOUT to connect; `read` between bytes
    of the answer; `send` to send the request and to get a pooled connection. It never retries on
    its own: the chain decides (and, off the call, the task's retries)."""
    timeout = openai.Timeout(connect=settings.LLM_CONNECT_TIMEOUT, read=read, write=send, pool=send)
    return {
        "api_key": api_key,
        "base_url": base_url or None,
        "timeout": timeout,
        "max_retries": 0,
        "http_client": http(verify=tls_context(), timeout=timeout),
    }


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


def describe(exc: BaseException, cut: int) -> str:
    """An error as the trace records it, its first `cut` characters."""
    return f"{type(exc).__name__}: {exc}"[:cut]


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

    def failed(self, exc: BaseException, *, cut: int) -> None:
        """The request failed with `exc` (its first `cut` characters go to the trace)."""
        self.latency_ms = (time.perf_counter() - self.started) * 1000
        self.error = describe(exc, cut)
        self.transient = transient(exc)
        logger.warning("LLM %s failed: %s", self.endpoint.label, self.error)

    @property
    def probing(self) -> bool:
        """It was its endpoint's one probe (the breaker was open, past its cool-down)."""
        return "probe" in self.breaker

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


# --- the walk ----------------------------------------------------------------------------------


class Walk:
    """One request's way down the chain, for both faces: the endpoints in order (`ahead`), each
    one's breaker obeyed (an open one skipped and recorded, a probe marked: `begin`), each attempt
    recorded in `completion` and reported to its breaker (`report`), and the error when none
    answered (`unavailable`).

    The breakers live in the cache. The steps that may reach it (`read`; `claim`, only for a
    breaker that read open; `report`) the sync face calls in place and the async face off its event
    loop; the others cost no I/O, so a live turn whose breakers are closed reaches the cache once
    before its request."""

    __slots__ = ("completion", "endpoints", "readings")

    def __init__(self, completion: Completion, first: str = "") -> None:
        self.completion = completion
        self.endpoints = chain(first)
        self.readings: dict[str, breakers.Reading] = {}

    def read(self, *, remember: bool = False) -> None:
        """Every endpoint's breaker, in one cache round trip (`remember`: see breakers.recent)."""
        self.readings = breakers.read([e.label for e in self.endpoints], remember=remember)

    def ahead(self) -> Iterator[tuple[Endpoint, bool]]:
        """The next endpoint to try, and whether its breaker read open (then only `claim` can tell
        whether to try it: past its cool-down, this caller may hold its one probe)."""
        for endpoint in self.endpoints:
            reading = self.readings.get(endpoint.label)
            yield endpoint, reading is not None and reading.open_until is not None

    def claim(self, endpoint: Endpoint) -> breakers.State:
        """The state of a breaker that read open: OPEN, or PROBE for the caller that got the probe."""
        return breakers.state(endpoint.label, self.readings.get(endpoint.label))

    def begin(self, endpoint: Endpoint, state: breakers.State) -> Attempt | None:
        """A new attempt on `endpoint`, recorded; None when its breaker is open (recorded as skipped)."""
        if state == breakers.State.OPEN:
            self.completion.skipped.append(endpoint)
            return None
        attempt = Attempt(endpoint=endpoint, started=time.perf_counter())
        if state == breakers.State.PROBE:
            attempt.breaker.append("probe")
        self.completion.attempts.append(attempt)
        return attempt

    @staticmethod
    def report(attempt: Attempt, *, failed: bool) -> None:
        """Tell the endpoint's breaker how the attempt went (blocking: the cache is one round trip).
        Only a transient failure counts against it; a probe's answer closes it."""
        label = attempt.endpoint.label
        if failed:
            change = breakers.failed(label, probing=attempt.probing)
        else:
            change = breakers.succeeded(label, probing=attempt.probing)
        if change:
            attempt.breaker.append(change)


def attempt_observed(attempt: Attempt, *, face: str, parent: telemetry.Span | None, rejected: bool = False) -> None:
    """An attempt that ended, for operators: counted for /metrics (`face`: "live" or "analysis"),
    and, under `parent`, a span as OpenTelemetry's GenAI conventions name it. `rejected`: it
    answered, and the answer was refused (its `error` says why)."""
    model = attempt.endpoint.model
    metrics.LLM_REQUESTS.labels(model, face, "error" if attempt.error else "ok").inc()
    if attempt.ttft_ms is not None and face == "live":
        metrics.LLM_FIRST_TOKEN_SECONDS.labels(model).observe(attempt.ttft_ms / 1000)
    if parent is None:
        return
    start_ns = time.time_ns() - int((time.perf_counter() - attempt.started) * 1e9)  # perf_counter -> wall clock
    span = parent.child(
        f"chat {model}",
        kind="client",
        start_ns=start_ns,
        **{
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",  # the API spoken (any OpenAI-compatible endpoint)
            "gen_ai.system": "openai",
            "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": attempt.prompt_tokens,
            "gen_ai.usage.output_tokens": attempt.completion_tokens,
            "gen_ai.response.time_to_first_token": None if attempt.ttft_ms is None else attempt.ttft_ms / 1000,
            "server.address": urlsplit(attempt.endpoint.base_url).hostname if attempt.endpoint.base_url else None,
            "error.type": ("rejected" if rejected else attempt.error.partition(":")[0]) if attempt.error else None,
            "cc.llm.face": face,
            "cc.llm.breaker": ",".join(attempt.breaker) or None,
            "cc.llm.tool_calls": [call.name for call in attempt.tool_calls] or None,
            "cc.cost_usd": float(attempt.cost),
        },
    )
    telemetry.finish(span, end_ns=start_ns + int(attempt.latency_ms * 1e6), error=attempt.error)


def unavailable(completion: Completion) -> LLMUnavailable:
    """The error when no model in the chain answered: why each did not."""
    reasons = [a.error for a in completion.attempts] + [f"{e.label}: circuit open" for e in completion.skipped]
    return LLMUnavailable("; ".join(reasons) or "no model configured")
