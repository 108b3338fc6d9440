"""The chain's async face, for live turns: the reply streamed as it arrives, within the turn's
time budget (apps/agent/clock.py). The endpoints, the clients' options, the walk down the chain
and the breaker rules are endpoints.py's; this face makes and reads one streamed request, and
decides how long the turn can wait for it.
"""

import asyncio
import json
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any, TypeVar

import openai
from asgiref.sync import sync_to_async
from django.conf import settings
from openai import AsyncStream

from apps.agent.clock import TurnClock
from apps.agent.llm.endpoints import Attempt, Completion, LLMStreamBroken, ToolCall, Walk, client_options, unavailable
from apps.core import breakers

T = TypeVar("T")

# Clients keep their connections alive, and a connection belongs to the event loop that opened
# it: one client per loop (daphne has one; each async_to_sync call in a worker has its own).
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], openai.AsyncOpenAI]]" = (
    weakref.WeakKeyDictionary()
)


def _client(base_url: str, api_key: str) -> openai.AsyncOpenAI:
    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    if (base_url, api_key) not in clients:
        clients[base_url, api_key] = openai.AsyncOpenAI(**_options(base_url, api_key))
    return clients[base_url, api_key]


def _options(base_url: str, api_key: str) -> dict[str, Any]:
    # A live turn cannot wait: sending the request and getting a pooled connection must be as
    # quick as connecting; then up to LLM_STREAM_IDLE_TIMEOUT between the stream's chunks.
    return client_options(
        base_url,
        api_key,
        read=settings.LLM_STREAM_IDLE_TIMEOUT,
        send=settings.LLM_CONNECT_TIMEOUT,
        http=openai.DefaultAsyncHttpxClient,
    )


def warm_up() -> None:
    """Pay the one-time costs (the CA bundle, the client's lazily imported parts) when a web
    process starts, not in its first caller's turn (about 200 ms on a 2.5 GHz core)."""
    client = openai.AsyncOpenAI(**_options("http://127.0.0.1/", "warm-up"))
    client.chat.completions.create  # noqa: B018 (first access imports the chat resources)


# A model attempt needs at least this long to be worth starting; one the turn's budget cut off
# sooner than FAIR_WAIT_S was not given a fair chance, and its timeout is not held against it.
MIN_WAIT_S = 0.05
FAIR_WAIT_S = 0.5

# A live turn's traces keep this much of an attempt's error.
ERROR_CUT = 300


async def _within(awaitable: Awaitable[T], deadline: Callable[[], float]) -> T:
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


# The breakers' cache is blocking I/O: the walk's steps that reach it run off the event loop,
# and only when they must. A turn reuses what this process read of the breakers a moment ago
# (breakers.recent), and healthy answers, which only add to their endpoint's request count, are
# counted here and written together at most every COUNT_EVERY_S, off the reply's path; a failure
# writes the answers counted before it first, so the failure rate it is judged by is exact.
COUNT_EVERY_S = 1.0

_counts: dict[str, int] = {}  # answers not written yet, per endpoint
_counted_at = 0.0  # when counts were last sent to be written
_counting: set[asyncio.Task] = set()  # those writes: kept so they are not collected mid-way


def _remembered_read(walk: Walk) -> None:
    walk.read(remember=True)


def _counts_then_report(counts: dict[str, int], attempt: Attempt, failed: bool) -> None:
    breakers.answered(counts)
    Walk.report(attempt, failed=failed)


_read = sync_to_async(_remembered_read, thread_sensitive=False)
_claim = sync_to_async(Walk.claim, thread_sensitive=False)
_answered = sync_to_async(breakers.answered, thread_sensitive=False)
_answered_and_report = sync_to_async(_counts_then_report, thread_sensitive=False)


def _take_counts() -> dict[str, int]:
    global _counted_at
    taken = dict(_counts)
    _counts.clear()
    _counted_at = time.monotonic()
    return taken


async def _read_breakers(walk: Walk) -> None:
    labels = [endpoint.label for endpoint in walk.endpoints]
    readings = breakers.recent(labels)
    if readings is None:
        await _read(walk)
    else:
        walk.readings = readings


async def _report(attempt: Attempt, *, failed: bool) -> None:
    if failed or attempt.probing:
        await _answered_and_report(_take_counts(), attempt, failed)
        return
    label = attempt.endpoint.label
    _counts[label] = _counts.get(label, 0) + 1
    if time.monotonic() - _counted_at >= COUNT_EVERY_S:
        task = asyncio.create_task(_answered(_take_counts()))
        _counting.add(task)
        task.add_done_callback(_counting.discard)


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
    walk = Walk(completion)
    await _read_breakers(walk)
    for endpoint, read_open in walk.ahead():
        if completion.attempts and clock.spent():
            break  # no fallback starts after the budget: the offline engine answers at once
        if clock.answer_by() - time.perf_counter() < MIN_WAIT_S:
            break  # no time left to wait on any model this turn
        state = await _claim(walk, endpoint) if read_open else breakers.State.CLOSED
        attempt = walk.begin(endpoint, state)
        if attempt is None:
            continue  # its breaker is open
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
                    else:  # then the connection's read timeout: LLM_STREAM_IDLE_TIMEOUT between chunks
                        chunk = await anext(iterator)
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
            await _report(attempt, failed=False)
            return
        except (openai.OpenAIError, TimeoutError, ValueError, KeyError, TypeError, AttributeError) as exc:
            attempt.failed(exc, cut=ERROR_CUT)
            # A wait the turn's budget cut short is not held against the endpoint.
            if attempt.transient and (attempt.latency_ms >= FAIR_WAIT_S * 1000 or not isinstance(exc, TimeoutError)):
                await _report(attempt, failed=True)
            if said_something:
                raise LLMStreamBroken(attempt.error) from exc
        finally:
            if response is not None:
                await response.close()  # also when the caller stops reading mid-stream
    raise unavailable(completion)
