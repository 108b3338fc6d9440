"""The LLM: any OpenAI-compatible Chat Completions endpoint, streamed, with a fallback chain.

The chain is LLM_MODEL then LLM_FALLBACK_MODELS, each "model" (same endpoint) or "model@base_url".
A model that fails before it has said anything (connection, timeout, 5xx, bad response) is
skipped for the next; when all fail the caller gets LLMUnavailable and the offline engine
answers. Every turn has one time budget across the chain (apps/agent/clock.py), and each
endpoint a circuit breaker shared by all processes (apps/core/breakers.py). The client never
retries on its own.
"""

import asyncio
import functools
import json
import logging
import ssl
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import certifi
import openai
from asgiref.sync import sync_to_async
from django.conf import settings
from openai import AsyncStream

from apps.agent.clock import TurnClock
from apps.core import breakers

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


def degraded() -> str:
    """For /healthz: the models whose circuit breakers are open (live turns and analysis)."""
    endpoints = {e.label: e for e in chain() + chain(first=settings.ANALYSIS_MODEL)}
    if not configured():
        return ""
    readings = breakers.read(list(endpoints))
    return ", ".join(f"circuit open: {label}" for label, r in readings.items() if r.open_until is not None)


def chain(first: str = "") -> list[Endpoint]:
    """`first` (default LLM_MODEL), then LLM_FALLBACK_MODELS, each once."""
    endpoints = []
    for entry in [first or settings.LLM_MODEL, *settings.LLM_FALLBACK_MODELS]:
        candidate = endpoint(entry)
        if candidate.model and candidate not in endpoints:
            endpoints.append(candidate)
    return endpoints


# Clients keep their connections alive, and a connection belongs to the event loop that opened
# it: one client per loop (daphne has one; each async_to_sync call in a worker has its own).
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], openai.AsyncOpenAI]]" = (
    weakref.WeakKeyDictionary()
)


def _client(base_url: str, api_key: str) -> openai.AsyncOpenAI:
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    if (base_url, api_key) not in clients:
        timeout = openai.Timeout(
            connect=settings.LLM_CONNECT_TIMEOUT,
            read=settings.LLM_STREAM_IDLE_TIMEOUT,
            write=settings.LLM_CONNECT_TIMEOUT,
            pool=settings.LLM_CONNECT_TIMEOUT,
        )
        clients[base_url, api_key] = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url or None,
            timeout=timeout,
            max_retries=0,
            http_client=_http_client(timeout),
        )
    return clients[base_url, api_key]


def _http_client(timeout: openai.Timeout | None = None) -> openai.DefaultAsyncHttpxClient:
    return openai.DefaultAsyncHttpxClient(verify=tls_context(), timeout=timeout or openai.DEFAULT_TIMEOUT)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Reading the CA bundle took 80-140 ms: once per process, not once per client."""
    return ssl.create_default_context(cafile=certifi.where())


def warm_up() -> None:
    """Pay the one-time costs (the CA bundle, the client's lazily imported parts) when a web
    process starts, not in its first caller's turn (about 200 ms on a 2.5 GHz core)."""
    client = openai.AsyncOpenAI(api_key="warm-up", base_url="http://127.0.0.1/", http_client=_http_client())
    client.chat.completions.create  # noqa: B018 (first access imports the chat resources)


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    prices = settings.LLM_PRICES.get(model)
    if not prices:
        return Decimal(0)
    per_million = Decimal(1_000_000)
    return (Decimal(str(prices[0])) * prompt_tokens + Decimal(str(prices[1])) * completion_tokens) / per_million


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
    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    breaker: list[str] = field(default_factory=list)  # "probe", "opened", "closed": what this attempt did to it

    def answering(self) -> None:
        """The model started answering: text, or a tool call (a role-only chunk is not an answer)."""
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

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


# A model attempt needs at least this long to be worth starting; one the turn's budget cut off
# sooner than FAIR_WAIT_S was not given a fair chance, and its timeout is not held against it.
MIN_WAIT_S = 0.05
FAIR_WAIT_S = 0.5


async def _within(awaitable, deadline: Callable[[], float]):
    """Await `awaitable` until `deadline()` (re-read while waiting: a holding phrase moves it)."""
    task = asyncio.ensure_future(awaitable)
    try:
        while True:
            left = deadline() - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no answer within the time allowed")
            done, _ = await asyncio.wait({task}, timeout=left)
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})


async def _breakers(endpoints: list[Endpoint]) -> dict[str, breakers.Reading]:
    return await sync_to_async(breakers.read, thread_sensitive=False)([e.label for e in endpoints])


async def _breaker_state(endpoint: Endpoint, reading: breakers.Reading | None) -> breakers.State:
    if reading is None or reading.open_until is None:
        return breakers.State.CLOSED  # closed: no second look
    return await sync_to_async(breakers.state, thread_sensitive=False)(endpoint.label, reading)


# Counts of healthy answers being written to the breakers: kept so they are not collected mid-way.
_counting: set[asyncio.Task] = set()


async def _report(endpoint: Endpoint, attempt: "Attempt", state: breakers.State, *, failed: bool) -> None:
    probing = state == breakers.State.PROBE
    if not failed and not probing:
        # An answer only adds to the endpoint's request count: off the reply's path (its last
        # token waits for nothing), as it changes no breaker.
        task = asyncio.create_task(sync_to_async(breakers.succeeded, thread_sensitive=False)(endpoint.label))
        _counting.add(task)
        task.add_done_callback(_counting.discard)
        return
    report = breakers.failed if failed else breakers.succeeded
    if change := await sync_to_async(report, thread_sensitive=False)(endpoint.label, probing=probing):
        attempt.breaker.append(change)


def _transient(exc: BaseException) -> bool:
    """What counts against an endpoint's breaker: it did not answer in time, or answered 5xx/429."""
    if isinstance(exc, TimeoutError | openai.APITimeoutError | openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429)


async def stream(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    tool_choice: str | dict[str, Any],
    completion: Completion,
    clock: TurnClock,
) -> AsyncGenerator[str, None]:
    """Yield the reply's text as it arrives; tool calls and usage land in `completion.attempts`.

    A model must start answering by `clock.answer_by()` and within LLM_FIRST_TOKEN_TIMEOUT; the
    next model is tried only while the turn's budget lasts; an endpoint whose breaker is open is
    skipped (its turn goes to the next, or to the offline engine)."""
    endpoints = chain()
    readings = await _breakers(endpoints)
    for endpoint in endpoints:
        if completion.attempts and clock.spent():
            break  # no fallback starts after the budget: the offline engine answers at once
        if clock.answer_by() - time.perf_counter() < MIN_WAIT_S:
            break  # no time left to wait on any model this turn
        state = await _breaker_state(endpoint, readings.get(endpoint.label))
        if state == breakers.State.OPEN:
            completion.skipped.append(endpoint)
            continue
        attempt = Attempt(endpoint=endpoint, started=time.perf_counter())
        if state == breakers.State.PROBE:
            attempt.breaker.append("probe")
        completion.attempts.append(attempt)
        said_something = False
        response = None

        def answer_by(attempt: Attempt = attempt) -> float:
            return min(attempt.started + settings.LLM_FIRST_TOKEN_TIMEOUT, clock.answer_by())

        try:
            kwargs: dict[str, Any] = {
                "model": endpoint.model,
                "messages": messages,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            if tools:
                kwargs.update(tools=tools, tool_choice=tool_choice, parallel_tool_calls=False)
            # The body is plain JSON already, and chunks are read as plain dicts: the SDK still
            # does HTTP, auth and SSE, without its per-message transform and per-chunk models
            # (measured: most of the client's CPU on a live turn).
            response = await _within(
                _client(endpoint.base_url, endpoint.api_key).post(
                    "/chat/completions",
                    body=kwargs,
                    cast_to=dict,
                    stream=True,
                    stream_cls=AsyncStream[dict],
                    options={"security": {"bearer_auth": True}},
                ),
                answer_by,
            )
            iterator = aiter(response)
            partial: dict[int, ToolCall] = {}
            while True:
                try:
                    if attempt.ttft_ms is None:  # until the model starts answering, the turn's clock rules
                        chunk = await _within(anext(iterator), answer_by)
                    else:
                        chunk = await asyncio.wait_for(anext(iterator), timeout=settings.LLM_STREAM_IDLE_TIMEOUT)
                except StopAsyncIteration:
                    break
                if usage := chunk.get("usage"):
                    attempt.prompt_tokens = usage.get("prompt_tokens") or 0
                    attempt.completion_tokens = usage.get("completion_tokens") or 0
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    for call in delta.get("tool_calls") or ():
                        current = partial.setdefault(call.get("index", 0), ToolCall(call.get("id") or "", "", ""))
                        function = call.get("function") or {}
                        if call.get("id"):
                            current.id = call["id"]
                        current.name += function.get("name") or ""
                        current.arguments += function.get("arguments") or ""
                        attempt.answering()
                    if content := delta.get("content"):
                        said_something = True
                        attempt.answering()
                        attempt.text += content
                        yield content
            attempt.tool_calls = [call for _, call in sorted(partial.items()) if call.name]
            for index, call in enumerate(attempt.tool_calls):
                call.id = call.id or f"call_{index}"
                json.loads(call.arguments or "{}")  # a malformed call is the model's failure
            attempt.latency_ms = (time.perf_counter() - attempt.started) * 1000
            if not said_something and not attempt.tool_calls:
                raise ValueError("empty response")
            await _report(endpoint, attempt, state, failed=False)
            return
        except (openai.OpenAIError, TimeoutError, ValueError, KeyError, TypeError, AttributeError) as exc:
            attempt.latency_ms = (time.perf_counter() - attempt.started) * 1000
            attempt.error = f"{type(exc).__name__}: {exc}"[:300]
            logger.warning("LLM %s failed: %s", endpoint.label, attempt.error)
            if _transient(exc) and (attempt.latency_ms >= FAIR_WAIT_S * 1000 or not isinstance(exc, TimeoutError)):
                await _report(endpoint, attempt, state, failed=True)
            if said_something:
                raise LLMStreamBroken(attempt.error) from exc
        finally:
            if response is not None:
                await response.close()  # also when the caller stops reading mid-stream
    reasons = [a.error for a in completion.attempts] + [f"{e.label}: circuit open" for e in completion.skipped]
    raise LLMUnavailable("; ".join(reasons) or "no model configured")
