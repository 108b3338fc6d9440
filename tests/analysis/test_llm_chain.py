"""The analysis and the live turns walk one LLM chain (apps/agent/llm): the same endpoints,
timeouts and circuit breakers, against the local OpenAI-compatible server."""

import pytest
from asgiref.sync import async_to_sync

from apps.agent import llm
from apps.agent.clock import TurnClock
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
