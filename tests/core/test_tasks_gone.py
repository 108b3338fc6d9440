"""A task whose row is gone logs one warning naming the task and the id, and finishes: no error,
no retry, nothing sent or written."""

import logging

import pytest

from apps.analysis.models import CallAnalysis
from apps.analysis.tasks import call_analyze_task
from apps.approvals.tasks import approval_execute
from apps.core.models import AuditEvent
from apps.core.tasking import RowTask
from apps.outreach.tasks import call_place_task, followup_dial_task
from apps.telephony.models import SmsMessage
from apps.telephony.tasks import sms_send_task
from apps.voice.tasks import call_machine_answered_task
from contactcenter.celery import app as celery_app

pytestmark = pytest.mark.django_db

MISSING = 987654


@pytest.mark.parametrize(
    ("task", "model"),
    [
        (followup_dial_task, "FollowUp"),
        (call_place_task, "Call"),
        (call_machine_answered_task, "Call"),
        (sms_send_task, "SmsMessage"),
        (call_analyze_task, "Call"),
        (approval_execute, "Approval"),
    ],
    ids=lambda value: getattr(value, "name", value),
)
def test_a_task_whose_row_is_gone_warns_once_and_finishes(task, model, caplog, fake_twilio, sent):
    with caplog.at_level(logging.INFO):
        result = task.apply(args=[MISSING])

    assert (result.state, result.result) == ("SUCCESS", None)  # not FAILURE, not RETRY
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.getMessage()) for r in warnings] == [
        (
            "apps.core.tasking",
            f"{task.name}({MISSING}): {model} matching query does not exist. Nothing to do; not retried.",
        )
    ]
    assert fake_twilio.requests == []
    assert sent == []  # no retry, no other task
    assert not AuditEvent.objects.exists()
    assert not CallAnalysis.objects.exists()
    assert not SmsMessage.objects.exists()


def test_every_task_of_ours_is_a_row_task():
    celery_app.loader.import_default_modules()  # every app's tasks.py, as a worker loads them
    ours = {name: task for name, task in celery_app.tasks.items() if name.startswith("apps.")}
    assert len(ours) >= 13
    assert [name for name, task in ours.items() if not isinstance(task, RowTask)] == []
