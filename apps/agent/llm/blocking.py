"""The chain's synchronous face, for work off the call (the post-call analysis, in a worker): one
whole answer per request, checked by the caller. The endpoints, the clients' options, the walk
down the chain and the breakers are the live turns' (endpoints.py); this face makes and reads one
whole request, and asks again when the caller's check refuses the answer.

A model whose answer the caller's check refuses is asked again (up to `tries` answers), told what
was wrong; one that fails (timeout, connection, 5xx/429, 4xx) is left for the next model at once.
"""

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

import openai
from django.conf import settings

from apps.agent.llm.endpoints import Completion, Walk, attempt_observed, client_options, unavailable
from apps.core import breakers, telemetry

T = TypeVar("T")

# Off the call, a trace is written once per request: it keeps more of an error than a live turn's.
ERROR_CUT = 500


class Rejected(Exception):
    """Raised by a caller's check: the answer will not do. The message says why (the model is told)."""


@functools.cache
def _client(base_url: str, api_key: str, read: float, connect: float) -> openai.OpenAI:
    """Sync clients (a worker thread at a time) are shared: their connections are reused. The
    timeouts are part of the key, so a changed setting gets a client of its own.

    A whole answer off the call may take `read` for every step but connecting: its request is a
    whole transcript to send, and its worker has nothing else to do meanwhile."""
    return openai.OpenAI(**client_options(base_url, api_key, read=read, send=read, http=openai.DefaultHttpxClient))


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
    walk = Walk(completion, first)
    walk.read()
    for endpoint, read_open in walk.ahead():
        state = walk.claim(endpoint) if read_open else breakers.State.CLOSED
        asked: list[Any] = list(messages)  # plain JSON messages, as the stream sends them
        for _ in range(tries):
            attempt = walk.begin(endpoint, state)
            if attempt is None:
                break  # its breaker is open
            client = _client(endpoint.base_url, endpoint.api_key, read, settings.LLM_CONNECT_TIMEOUT)
            try:
                response = client.chat.completions.create(model=endpoint.model, messages=asked, **params)
            except openai.OpenAIError as exc:
                attempt.failed(exc, cut=ERROR_CUT)
                if attempt.transient:
                    walk.report(attempt, failed=True)
                attempt_observed(attempt, face="analysis", parent=telemetry.current())
                break  # this model is down, or will not do it: the next one
            attempt.latency_ms = (time.perf_counter() - attempt.started) * 1000
            walk.report(attempt, failed=False)
            state = breakers.State.CLOSED  # it answered: a second try is no probe
            if response.usage:
                attempt.prompt_tokens = response.usage.prompt_tokens
                attempt.completion_tokens = response.usage.completion_tokens
            attempt.text = (response.choices[0].message.content or "") if response.choices else ""
            try:
                return check(attempt.text)
            except Rejected as exc:
                attempt.error = str(exc)[:ERROR_CUT]
                asked += [
                    {"role": "assistant", "content": attempt.text},
                    {"role": "user", "content": correction.format(problem=exc)},
                ]
            finally:  # a refused answer counts as an error of its model
                attempt_observed(attempt, face="analysis", parent=telemetry.current(), rejected=bool(attempt.error))
    raise unavailable(completion)
