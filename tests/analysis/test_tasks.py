"""The analysis tasks: retries only for outages, give-up recorded, lost tasks resent, re-runs on request."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from apps.analysis.models import AnalysisStatus, CallAnalysis
from apps.analysis.services import analysis_request
from apps.analysis.tasks import MAX_RETRIES, analyses_resume, call_analyze_task
from apps.calls.models import CallStatus, TraceEvent, TraceKind
from apps.core.errors import Conflict
from apps.core.models import AuditEvent
from apps.promises.models import Promise
from tests.admin import action_names, messages_of, run_action, signed_in
from tests.analysis.test_pipeline import insights, make_call
from tests.factories import CallFactory

pytestmark = pytest.mark.django_db

TASK = "apps.analysis.tasks.call_analyze_task"
CHANGELIST = reverse("admin:analysis_callanalysis_changelist")


@pytest.fixture
def llm(fake_llm, settings):
    settings.ANALYSIS_MODEL = "primary"
    settings.ANALYSIS_TIMEOUT = 2.0
    return fake_llm


def test_an_outage_is_retried_then_recorded_as_failed(llm):
    runs = MAX_RETRIES + 1
    for model in ("primary", "backup"):
        for _ in range(runs):
            llm.script(model, status=503)
    call = make_call()

    call_analyze_task.apply(args=[call.pk])  # eager: each retry runs at once

    # After BREAKER_FAILURES failures in a row each endpoint's breaker is open: the later
    # retries ask neither model (the live calls would not either) until the cool-down ends.
    assert settings.BREAKER_FAILURES == 3 < runs
    assert [r.model for r in llm.requests] == ["primary", "backup"] * 3
    analysis = CallAnalysis.objects.get(call=call)
    assert analysis.status == AnalysisStatus.FAILED
    assert analysis.error == "primary: circuit open; backup: circuit open"
    assert list(TraceEvent.objects.filter(call=call, kind=TraceKind.BREAKER).values_list("name", flat=True)) == [
        "opened: primary",
        "opened: backup",
    ]
    assert not Promise.objects.filter(call=call).exists()


def test_an_outage_that_ends_completes_on_the_retry(llm):
    llm.script("primary", status=503)
    llm.script("backup", status=500)
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()

    call_analyze_task.apply(args=[call.pk])

    assert [r.model for r in llm.requests] == ["primary", "backup", "primary"]
    assert CallAnalysis.objects.get(call=call).status == AnalysisStatus.COMPLETED
    assert Promise.objects.filter(call=call).count() == 1


def test_a_refusal_is_not_retried(llm):
    for model in ("primary", "backup"):
        llm.script(model, status=400)
    call = make_call()

    call_analyze_task.apply(args=[call.pk])

    assert [r.model for r in llm.requests] == ["primary", "backup"]  # no task retry
    analysis = CallAnalysis.objects.get(call=call)
    assert (analysis.status, analysis.analyzer, analysis.needs_review) == ("completed", "offline", True)


def test_analyses_whose_task_was_lost_are_sent_again(sent, django_capture_on_commit_callbacks):
    with time_machine.travel(timezone.now() - timedelta(minutes=20)):
        lost = make_call()
        done = make_call()
        CallAnalysis.objects.filter(call=done).update(status=AnalysisStatus.COMPLETED)
    make_call()  # pending for a moment only: its task is on its way

    with django_capture_on_commit_callbacks(execute=True):  # sent after commit
        assert analyses_resume.apply().get() == 1
    assert sent == [(TASK, (lost.pk,), {})]
    with django_capture_on_commit_callbacks(execute=True):
        assert analyses_resume.apply().get() == 0  # touched: not sent again while that send is on its way
    assert len(sent) == 1


def test_a_rerun_is_queued_after_commit_and_forced(sent, supervisor, django_capture_on_commit_callbacks):
    call = make_call()
    CallAnalysis.objects.filter(call=call).update(status=AnalysisStatus.FAILED, error="timeout")

    with django_capture_on_commit_callbacks(execute=True):
        analysis = analysis_request(call_id=call.pk, actor=supervisor)
        assert sent == []

    assert sent == [(TASK, (call.pk,), {"force": True})]
    analysis.refresh_from_db()
    assert (analysis.status, analysis.error) == (AnalysisStatus.PENDING, "")
    assert AuditEvent.objects.get(action="analysis.rerun").actor == supervisor


def test_a_call_still_in_progress_is_not_rerun(sent, supervisor, django_capture_on_commit_callbacks):
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict) as raised:
        analysis_request(call_id=call.pk, actor=supervisor)
    assert raised.value.message == f"Call {call.pk} is in progress; only completed calls are analysed."
    assert sent == []
    assert not CallAnalysis.objects.filter(call=call).exists()


def test_supervisors_rerun_from_the_admin_and_agents_cannot(
    sent, supervisor, agent, django_capture_on_commit_callbacks
):
    first, second = make_call(), make_call()
    analyses = list(CallAnalysis.objects.filter(call__in=[first, second]).order_by("call_id"))

    assert "rerun" not in action_names(signed_in(agent).get(CHANGELIST))
    run_action(signed_in(agent), CHANGELIST, "rerun", analyses)
    assert connection.run_on_commit == []  # nothing queued for after the commit
    assert not AuditEvent.objects.filter(action="analysis.rerun").exists()
    assert set(CallAnalysis.objects.values_list("status", flat=True)) == {"pending"}

    client = signed_in(supervisor)
    assert "rerun" in action_names(client.get(CHANGELIST))
    with django_capture_on_commit_callbacks(execute=True):
        done = run_action(client, CHANGELIST, "rerun", analyses)
    assert messages_of(done) == [("success", "Queued 2 analyses; the results update in place.")]
    assert sent == [(TASK, (first.pk,), {"force": True}), (TASK, (second.pk,), {"force": True})]
