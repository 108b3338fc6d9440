"""The analysis and the live turns walk one LLM chain (apps/agent/llm): the same endpoints,
clients and circuit breakers, against the local OpenAI-compatible server."""

import asyncio
import json
import socket
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.sync import async_to_sync

from apps.agent import llm
from apps.agent.clock import TurnClock
from apps.analysis.analyzers import AnalysisUnavailable, CallFacts, Line, llm_analyze
from apps.core import breakers

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "Say something."}]


def accept(text: str) -> str:
    if not text.startswith("ok"):
        raise llm.Rejected(f"{text!r} does not start with ok")
    return text.upper()


def live_turn() -> tuple[list[str], llm.Completion]:
    """One live turn's model request, streamed."""
    completion = llm.Completion()

    async def read() -> list[str]:
        return [part async for part in llm.stream(MESSAGES, [], "auto", completion, TurnClock(budget=5.0))]

    return async_to_sync(read)(), completion


def test_a_breaker_the_analysis_opened_is_skipped_by_the_live_turns(fake_llm, settings):
    settings.BREAKER_FAILURES = 3
    for _ in range(3):
        fake_llm.script("primary", status=503)
        fake_llm.script("backup", text="ok backup")
        completion = llm.Completion()
        assert llm.complete(MESSAGES, check=accept, completion=completion) == "OK BACKUP"
    assert [a.breaker for a in completion.attempts] == [["opened"], []]

    fake_llm.script("backup", text="Hello from backup.")
    said, turn = live_turn()

    assert "".join(said) == "Hello from backup."
    assert [e.model for e in turn.skipped] == ["primary"]
    assert [a.endpoint.model for a in turn.attempts] == ["backup"]
    assert [r.model for r in fake_llm.requests] == ["primary", "backup"] * 3 + ["backup"]
    assert llm.degraded() == f"circuit open: primary@{fake_llm.url}"


def test_a_breaker_the_live_turns_opened_is_skipped_by_the_analysis(fake_llm, settings):
    settings.BREAKER_FAILURES = 1
    fake_llm.script("primary", status=500)
    fake_llm.script("backup", text="Hello.")
    live_turn()
    assert breakers.read([f"primary@{fake_llm.url}"]) != {}

    fake_llm.script("backup", text="ok")
    completion = llm.Completion()

    assert llm.complete(MESSAGES, check=accept, completion=completion) == "OK"
    assert [e.model for e in completion.skipped] == ["primary"]
    assert completion.unreachable is True  # had backup failed too, it would be worth a retry later


def test_a_rejected_answer_is_asked_again_told_why_then_the_next_model(fake_llm):
    fake_llm.script("primary", text="no")
    fake_llm.script("primary", text="still no")
    fake_llm.script("backup", text="ok then")
    completion = llm.Completion()

    answer = llm.complete(MESSAGES, check=accept, completion=completion, tries=2, correction="Wrong: {problem}")

    assert answer == "OK THEN"
    assert [(a.endpoint.model, a.error) for a in completion.attempts] == [
        ("primary", "'no' does not start with ok"),
        ("primary", "'still no' does not start with ok"),
        ("backup", ""),
    ]
    assert fake_llm.requests[1].body["messages"][1:] == [
        {"role": "assistant", "content": "no"},
        {"role": "user", "content": "Wrong: 'no' does not start with ok"},
    ]
    assert fake_llm.requests[2].body["messages"] == MESSAGES  # the next model starts afresh


def test_models_that_answer_but_never_acceptably_are_not_an_outage(fake_llm):
    fake_llm.script("primary", status=400)
    fake_llm.script("backup", text="no")
    completion = llm.Completion()

    with pytest.raises(llm.LLMUnavailable):
        llm.complete(MESSAGES, check=accept, completion=completion)

    assert completion.unreachable is False
    assert [(a.endpoint.model, a.transient) for a in completion.attempts] == [("primary", False), ("backup", False)]
    assert breakers.read([f"primary@{fake_llm.url}", f"backup@{fake_llm.url}"]) == {}


def test_a_whole_answer_waits_its_read_timeout_then_the_next_model_answers(fake_llm):
    fake_llm.script("primary", text="ok late", delay=2)
    fake_llm.script("backup", text="ok")
    completion = llm.Completion()

    assert llm.complete(MESSAGES, check=accept, completion=completion, read_timeout=0.2) == "OK"

    first = completion.attempts[0]
    assert (first.error, first.transient) == ("APITimeoutError: Request timed out.", True)
    assert completion.unreachable is True


# --- what the analysis keeps of its old client ---------------------------------------------------

FACTS = CallFacts(
    workflow="collections",
    direction="inbound",
    customer_name="Ana",
    timezone="UTC",
    balance=Decimal("100.00"),
    ended_at=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
    live_promise=None,
)


@pytest.fixture
def only(settings):
    """Point the whole chain (live and analysis) at one model on the server at `url`."""

    def point(url: str) -> None:
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = url, "sk-test"
        settings.LLM_MODEL = settings.ANALYSIS_MODEL = "primary"
        settings.LLM_FALLBACK_MODELS = []

    return point


@pytest.fixture
def deaf_server():
    """Accepts connections (the kernel does) and never reads them: a large request stalls while
    it is being sent, until the client's write timeout."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


OVERLOADED = "overloaded " * 80  # 880 characters


@pytest.fixture
def wordy_server():
    """Answers every request 503 with a long error message."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            payload = json.dumps({"error": {"message": OVERLOADED, "type": "server_error"}}).encode()
            self.send_response(503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_whole_answer_may_take_its_read_timeout_to_send_a_long_request(deaf_server, only, settings):
    """Off the call, only connecting is held to LLM_CONNECT_TIMEOUT: sending the request (a whole
    transcript) and waiting for a pooled connection may take the read timeout (the analysis':
    ANALYSIS_TIMEOUT), as the analysis' own client always allowed."""
    only(deaf_server)
    settings.LLM_CONNECT_TIMEOUT = 0.1
    long = [{"role": "user", "content": "hello there " * 700_000}]  # 8 MB: more than the sockets buffer
    completion = llm.Completion()

    with pytest.raises(llm.LLMUnavailable):
        llm.complete(long, check=accept, completion=completion, read_timeout=1.5)

    [attempt] = completion.attempts
    assert (attempt.error, attempt.transient) == ("APITimeoutError: Request timed out.", True)
    assert attempt.latency_ms >= 1500  # not cut off after LLM_CONNECT_TIMEOUT while sending


def test_the_analysis_traces_keep_500_characters_of_an_error_a_live_turn_300(wordy_server, only):
    only(wordy_server)
    error = f"InternalServerError: Error code: 503 - {OVERLOADED}"

    with pytest.raises(AnalysisUnavailable) as failed:
        llm_analyze([Line("customer", "Hello.")], FACTS)
    completion = llm.Completion()
    with pytest.raises(llm.LLMUnavailable):
        async_to_sync(_read_all)(completion)

    assert [a.error for a in failed.value.attempts] == [error[:500]]
    assert [a.error for a in completion.attempts] == [error[:300]]


async def _read_all(completion: llm.Completion) -> None:
    async for _ in llm.stream(MESSAGES, [], "auto", completion, TurnClock(budget=5.0)):
        pass


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        pytest.param({"stall_after": 3}, "APITimeoutError: Request timed out.", id="goes-silent"),
        pytest.param({"cut_after": 3}, "APIConnectionError: Connection error.", id="drops-the-connection"),
    ],
)
def test_a_stream_that_stops_mid_reply_ends_the_reply_with_what_was_said(fake_llm, settings, failure, error):
    settings.LLM_STREAM_IDLE_TIMEOUT = 0.2  # the connection's read timeout between chunks
    fake_llm.script("primary", text="One two three four five.", **failure)
    completion = llm.Completion()
    said: list[str] = []

    async def read() -> None:
        async def parts() -> None:
            async for part in llm.stream(MESSAGES, [], "auto", completion, TurnClock(budget=5.0)):
                said.append(part)

        await asyncio.wait_for(parts(), timeout=3)  # without a bound between chunks: fails, not hangs

    started = time.perf_counter()
    with pytest.raises(llm.LLMStreamBroken):
        async_to_sync(read)()

    assert said == ["One ", "two ", "three "]
    assert time.perf_counter() - started < 1.0  # not the stream's idle limit of a real deployment
    # Words were said: no other model starts the reply over; the endpoint's failure is counted.
    assert [r.model for r in fake_llm.requests] == ["primary"]
    assert [(a.endpoint.model, a.transient, a.error) for a in completion.attempts] == [("primary", True, error)]
