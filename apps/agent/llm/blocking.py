"""The chain's synchronous face, for work off the call (the post-call analysis, in a worker): one
whole answer per request, checked by the caller, with the same endpoints, timeouts and breakers
as the live turns (endpoints.py).

A model whose answer the caller's check refuses is asked again (up to `tries` answers), told what
was wrong; one that fails (timeout, connection, 5xx/429, 4xx) is left for the next model at once.
"""

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from django.conf import settings

from apps.agent.llm.endpoints import Completion, LLMUnavailable, begin, chain, report, timeouts, tls_context
from apps.core import breakers

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Rejected(Exception):
    """Raised by a caller's check: the answer will not do. The message says why (the model is told)."""


@functools.cache
def _client(base_url: str, api_key: str, read: float, connect: float) -> openai.OpenAI:
    """Sync clients (a worker thread at a time) are shared: their connections are reused. The
    timeouts are part of the key, so a changed setting gets a client of its own."""
    return openai.OpenAI(
        api_key=api_key,
        base_url=base_url or None,
        timeout=timeouts(read=read),
        max_retries=0,  # the chain and the task's retries decide, not the client
        http_client=openai.DefaultHttpxClient(verify=tls_context()),
    )


def complete(
    messages: list[dict[str, Any]],
    *,
    check: Callable[[str], T],
    completion: Completion,
    first: str = "",
    tries: int = 1,
    correction: str = "That answer is invalid: {problem}\nAnswer again.",
    read_timeout: float | None = None,
    **params: Any,
) -> T:
    """The first answer `check` accepts (it returns what the answer means, or raises Rejected),
    from `first` (default LLM_MODEL) then the fallbacks. Each request is recorded in
    `completion.attempts`, each endpoint skipped for its open breaker in `completion.skipped`.

    Raises LLMUnavailable when no model gave an acceptable answer; `completion.unreachable` then
    tells an outage (worth trying later) from models that answered, but not acceptably."""
    read = settings.LLM_STREAM_IDLE_TIMEOUT if read_timeout is None else read_timeout
    endpoints = chain(first)
    readings = breakers.read([e.label for e in endpoints])
    for endpoint in endpoints:
        state = breakers.state(endpoint.label, readings.get(endpoint.label))
        if state == breakers.State.OPEN:
            completion.skipped.append(endpoint)
            continue
        asked: list[Any] = list(messages)  # plain JSON messages, as the stream sends them
        for _ in range(tries):
            attempt = begin(endpoint, state)
            completion.attempts.append(attempt)
            client = _client(endpoint.base_url, endpoint.api_key, read, settings.LLM_CONNECT_TIMEOUT)
            try:
                response = client.chat.completions.create(model=endpoint.model, messages=asked, **params)
            except openai.OpenAIError as exc:
                attempt.failed(exc)
                logger.warning("LLM %s failed: %s", endpoint.label, attempt.error)
                if attempt.transient:
                    report(attempt, state, failed=True)
                break  # this model is down, or will not do it: the next one
            attempt.latency_ms = (time.perf_counter() - attempt.started) * 1000
            report(attempt, state, failed=False)
            state = breakers.State.CLOSED  # it answered: a second try is no probe
            if response.usage:
                attempt.prompt_tokens = response.usage.prompt_tokens
                attempt.completion_tokens = response.usage.completion_tokens
            attempt.text = (response.choices[0].message.content or "") if response.choices else ""
            try:
                return check(attempt.text)
            except Rejected as exc:
                attempt.error = str(exc)[:500]
                asked += [
                    {"role": "assistant", "content": attempt.text},
                    {"role": "user", "content": correction.format(problem=exc)},
                ]
    raise LLMUnavailable(completion.reasons())
