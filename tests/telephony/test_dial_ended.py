"""Twilio's answer to the dial is the call's first status, applied in full. When it says the call
has already ended, what a call's end starts runs too (its analysis, its follow-up moved on): the
update takes the path of a status callback (apps/voice/lifecycle.py), by the voice channel's task."""

from datetime import UTC, datetime

import pytest

from apps.analysis.models import AnalysisStatus, CallAnalysis
from apps.calls.models import Call
from apps.outreach.dialer import followup_dial
from apps.outreach.dialing import CALL_STATUS_TASK, call_place
from apps.outreach.models import FollowUpStatus
from apps.voice.tasks import call_status_record_task
from tests.factories import CustomerFactory, FollowUpFactory
from tests.telephony import outbound_call

pytestmark = pytest.mark.django_db

ANALYZE = "apps.analysis.tasks.call_analyze_task"
ENDED = datetime(2026, 3, 2, 15, 4, 5, tzinfo=UTC)


def run_status_tasks(sent, capture) -> None:
    """Run the voice channel's status tasks that were sent, as a worker would (after-commit work
    included)."""
    assert call_status_record_task.name == CALL_STATUS_TASK
    for args, kwargs in [(args, kwargs) for name, args, kwargs in sent if name == CALL_STATUS_TASK]:
        with capture(execute=True):
            call_status_record_task.apply(args=args, kwargs=kwargs).get()


def test_a_call_twilio_says_completed_at_once_is_recorded_in_full_and_starts_its_end(
    fake_twilio, sent, django_capture_on_commit_callbacks
):
    followup = FollowUpFactory(customer=CustomerFactory(consenting=True), status=FollowUpStatus.CLAIMED)
    fake_twilio.script_create(call={"status": "completed", "duration": "12", "answered_by": "human", "end_time": ENDED})

    with django_capture_on_commit_callbacks(execute=True):
        followup_dial(followup_id=followup.pk)

    call = Call.objects.get(followup=followup)
    [sid] = fake_twilio.calls
    assert sent == [
        (
            CALL_STATUS_TASK,
            (),
            {
                "call_sid": sid,
                "status": "completed",
                "duration_seconds": 12,
                "answered_by": "human",
                "at": "2026-03-02T15:04:05+00:00",
            },
        )
    ]
    run_status_tasks(sent, django_capture_on_commit_callbacks)

    call.refresh_from_db()
    assert (call.twilio_call_sid, call.status, call.duration_seconds, call.answered_by, call.ended_at) == (
        sid,
        "completed",
        12,
        "human",
        ENDED,
    )
    assert list(CallAnalysis.objects.values_list("call_id", "status")) == [(call.pk, AnalysisStatus.PENDING)]
    assert sent.names() == [CALL_STATUS_TASK, ANALYZE]
    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.last_error) == (FollowUpStatus.DONE, 1, "")

    run_status_tasks(sent, django_capture_on_commit_callbacks)  # a redelivery changes nothing
    assert sent.names() == [CALL_STATUS_TASK, ANALYZE]
    assert CallAnalysis.objects.count() == 1


def test_a_call_twilio_says_unanswered_at_once_moves_its_follow_up_on_without_an_analysis(
    fake_twilio, sent, django_capture_on_commit_callbacks
):
    followup = FollowUpFactory(
        customer=CustomerFactory(consenting=True), status=FollowUpStatus.DIALING, attempts=1, max_attempts=3
    )
    call = outbound_call(customer=followup.customer, followup=followup)
    fake_twilio.script_create(call={"status": "no-answer", "duration": "0", "end_time": ENDED})

    with django_capture_on_commit_callbacks(execute=True):
        call_place(call_id=call.pk)
    run_status_tasks(sent, django_capture_on_commit_callbacks)

    call.refresh_from_db()
    assert (call.status, call.duration_seconds, call.answered_by, call.ended_at) == ("no-answer", 0, "", ENDED)
    assert sent.names() == [CALL_STATUS_TASK]
    assert not CallAnalysis.objects.exists()
    followup.refresh_from_db()
    assert (followup.status, followup.last_error) == (FollowUpStatus.SCHEDULED, "Attempt 1: no-answer.")


def test_a_call_twilio_says_is_ringing_is_applied_at_once_with_nothing_sent(
    fake_twilio, sent, django_capture_on_commit_callbacks
):
    call = outbound_call()
    fake_twilio.script_create(call={"status": "ringing"})

    with django_capture_on_commit_callbacks(execute=True):
        dialed = call_place(call_id=call.pk)

    assert (dialed.status, dialed.ended_at, dialed.duration_seconds) == ("ringing", None, None)
    assert sent == []
