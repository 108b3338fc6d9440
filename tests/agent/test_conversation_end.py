"""A chat or a simulation that the agent ends gets its analysis, in the transaction that ends it
(apps/chat/lifecycle.py): the pending analysis row is the guard, the task goes after commit."""

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from apps.analysis.models import AnalysisStatus, CallAnalysis
from apps.calls.models import Call, CallStatus, Channel
from apps.chat.lifecycle import conversation_record_turn
from tests.agent.chat import consumer_for, run, until
from tests.broker import record_sent_tasks
from tests.factories import CallFactory

TASK = "apps.analysis.tasks.call_analyze_task"
SCENARIOS = Path(__file__).resolve().parents[2] / "apps" / "agent" / "scenarios"


def turn(call: Call, *, ended: bool) -> dict:
    return {
        "call_id": call.pk,
        "state": {"step": "closed"},
        "step": "closed",
        "customer_id": None,
        "utterances": [],
        "traces": [],
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": Decimal(0),
        "ended": ended,
    }


@pytest.mark.django_db
def test_the_turn_that_ends_a_chat_queues_its_analysis_after_commit(monkeypatch, django_capture_on_commit_callbacks):
    sent = record_sent_tasks(monkeypatch)
    chat = CallFactory(channel=Channel.WEB_CHAT, status=CallStatus.IN_PROGRESS, twilio_call_sid="")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        conversation_record_turn(**turn(chat, ended=False))
    assert (callbacks, sent) == ([], [])
    assert not CallAnalysis.objects.exists()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        conversation_record_turn(**turn(chat, ended=True))
    # Committed together: the call's end and its pending analysis; the task waits for the commit
    # (should the process die first, the stalled sweep sends it for the pending row).
    chat.refresh_from_db()
    assert chat.status == CallStatus.COMPLETED
    assert list(CallAnalysis.objects.values_list("call_id", "status")) == [(chat.pk, AnalysisStatus.PENDING)]
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [(TASK, (chat.pk,), {})]

    conversation_record_turn(**turn(chat, ended=True))  # saved again (a retried save): still one
    assert CallAnalysis.objects.count() == 1
    assert len(sent) == 1


def test_a_chat_the_agent_closes_has_a_pending_analysis(agent, maria):
    async def scenario():
        chat = consumer_for(agent)
        assert (await chat.connect())[0]
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "My zip code is 94607"})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "300 on Friday"})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "yes"})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "no thanks, bye"})
        ended = await until(chat, "ended")
        await chat.disconnect()
        return ended

    assert run(scenario)[-1]["type"] == "ended"
    call = Call.objects.get()
    assert call.status == CallStatus.COMPLETED
    assert list(CallAnalysis.objects.values_list("call_id", "status")) == [(call.pk, AnalysisStatus.PENDING)]


def test_a_simulation_that_ends_has_a_pending_analysis(maria):
    out = StringIO()
    script = str(SCENARIOS / "collections_promise.txt")
    call_command(
        "simulate_call", "--customer", maria.phone, "--workflow", "collections", "--script", script, stdout=out
    )
    assert "-- ended: closed" in out.getvalue()
    call = Call.objects.get()
    assert call.status == CallStatus.COMPLETED
    assert list(CallAnalysis.objects.values_list("call_id", "status")) == [(call.pk, AnalysisStatus.PENDING)]
