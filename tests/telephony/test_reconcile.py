"""Reconciliation: what Twilio never told us (lost status callbacks, dials with an unclear outcome)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call, CallStatus
from apps.core.models import AuditEvent
from apps.outreach.dialing import call_place
from apps.voice.outbound import calls_reconcile
from apps.voice.tasks import calls_reconcile_task
from tests.broker import record_sent_tasks
from tests.telephony import outbound_call

pytestmark = pytest.mark.django_db

NOTHING = {"checked": 0, "updated": 0, "attached": 0, "failed": 0, "requeued": 0}


def later(minutes: float) -> datetime:
    return timezone.now() + timedelta(minutes=minutes)


def unclear_dial(fake_twilio, **script) -> Call:
    call = outbound_call()
    fake_twilio.script_create(**script)
    call = call_place(call_id=call.pk)
    assert (call.twilio_call_sid, call.error[:9]) == ("", "unclear: ")
    return call


def live_call(sid: str, *, status: str = CallStatus.IN_PROGRESS, quiet_for: timedelta, **fields) -> Call:
    """A call Twilio knows by `sid`, whose row nobody has written for `quiet_for`."""
    fields = {"dialed_at": timezone.now() - quiet_for, "started_at": timezone.now() - quiet_for, **fields}
    call = outbound_call(twilio_call_sid=sid, status=status, **fields)
    Call.objects.filter(pk=call.pk).update(updated_at=timezone.now() - quiet_for)
    call.refresh_from_db()
    return call


def reads(fake_twilio) -> list:
    return [r for r in fake_twilio.requests if r.method == "GET"]


# --- dials with an unclear outcome ------------------------------------------------------------


def test_a_call_placed_behind_a_slow_response_is_attached(fake_twilio):
    call = unclear_dial(fake_twilio, slow_response=2)
    [sid] = fake_twilio.calls  # Twilio placed it; we never heard
    fake_twilio.set_call(sid, status="in-progress", answered_by="human")

    assert calls_reconcile(now=later(3)) == {"checked": 1, "updated": 0, "attached": 1, "failed": 0, "requeued": 0}

    call.refresh_from_db()
    assert (call.twilio_call_sid, call.status, call.answered_by, call.error) == (sid, "in-progress", "human", "")
    assert call.answered_at is not None
    [listing] = reads(fake_twilio)
    assert listing.query == {
        "To": [call.to_number],
        "From": [call.from_number],
        "StartTime>": [(call.dialed_at - timedelta(minutes=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")],
        "PageSize": ["20"],
    }
    assert len(fake_twilio.creates) == 1  # found, never placed again
    event = AuditEvent.objects.get(action="call.reconcile")
    assert event.details == {"outcome": "attached", "call_sid": sid}


def test_a_dial_that_placed_nothing_is_failed(fake_twilio):
    call = unclear_dial(fake_twilio, delay=3)
    assert fake_twilio.calls == {}
    now = later(3)

    assert calls_reconcile(now=now) == {"checked": 1, "updated": 0, "attached": 0, "failed": 1, "requeued": 0}

    call.refresh_from_db()
    assert (call.status, call.error, call.ended_at, call.twilio_call_sid) == (
        "failed",
        "reconciled: no call was placed",
        now,
        "",
    )
    assert len(fake_twilio.creates) == 1
    assert calls_reconcile(now=later(10)) == NOTHING  # terminal now


def test_an_unclear_dial_waits_two_minutes(fake_twilio):
    unclear_dial(fake_twilio, delay=3)
    assert calls_reconcile(now=later(1)) == NOTHING
    assert reads(fake_twilio) == []


def test_several_candidates_are_left_for_a_person(fake_twilio, caplog):
    call = unclear_dial(fake_twilio, slow_response=2)
    fake_twilio.add_call(to=call.to_number, from_=call.from_number)  # placed by something else

    assert calls_reconcile(now=later(3)) == {"checked": 1, "updated": 0, "attached": 0, "failed": 0, "requeued": 0}

    call.refresh_from_db()
    assert (call.status, call.twilio_call_sid) == ("queued", "")
    assert call.error.startswith("unclear: ")
    assert "2 Twilio calls could be the one placed" in caplog.text


def test_calls_created_before_the_dial_are_not_candidates(fake_twilio):
    call = unclear_dial(fake_twilio, slow_response=2)
    [ours] = fake_twilio.calls
    # Twilio's StartTime filter may be coarser than ours (it is documented by date): an older
    # call that only started ringing later still comes back, and must not count.
    older = fake_twilio.add_call(to=call.to_number, from_=call.from_number)
    fake_twilio.set_call(older, date_created=call.dialed_at - timedelta(hours=1))

    assert calls_reconcile(now=later(3))["attached"] == 1
    call.refresh_from_db()
    assert call.twilio_call_sid == ours


def test_a_call_already_attached_elsewhere_is_not_a_candidate(fake_twilio):
    call = unclear_dial(fake_twilio, delay=3)
    other_sid = fake_twilio.add_call(to=call.to_number, from_=call.from_number, status="completed")
    outbound_call(customer=call.customer, twilio_call_sid=other_sid, status=CallStatus.COMPLETED)

    assert calls_reconcile(now=later(3))["failed"] == 1
    call.refresh_from_db()
    assert (call.status, call.twilio_call_sid) == ("failed", "")


def test_a_second_sweep_does_not_redo_the_work(fake_twilio):
    unclear_dial(fake_twilio, delay=3)
    now = later(3)
    # A duplicate beat at the same moment: the first sweep touched the row, the second skips it.
    fake_twilio.add_call(to="+14155559999", from_="+14155550100")  # noise that matches nothing
    first = calls_reconcile(now=now)
    second = calls_reconcile(now=now)
    assert (first["checked"], second) == (1, NOTHING)
    assert len(reads(fake_twilio)) == 1


# --- live calls nobody updated ----------------------------------------------------------------


def test_a_stuck_call_gets_its_real_status(fake_twilio, settings):
    settings.CALL_RECONCILE_AFTER_MINUTES = 30
    sid = fake_twilio.add_call(to="+14155550142", from_="+14155550100", status="in-progress")
    ended = datetime(2026, 3, 10, 15, 1, 35, tzinfo=UTC)
    fake_twilio.set_call(sid, status="completed", duration="95", answered_by="human", end_time=ended)
    call = live_call(sid, quiet_for=timedelta(minutes=31), started_at=datetime(2026, 3, 10, 15, 0, tzinfo=UTC))

    assert calls_reconcile() == {"checked": 1, "updated": 1, "attached": 0, "failed": 0, "requeued": 0}

    call.refresh_from_db()
    assert (call.status, call.duration_seconds, call.answered_by, call.ended_at) == ("completed", 95, "human", ended)
    assert CallAnalysis.objects.filter(call=call).exists()  # post-call processing starts
    [fetch] = reads(fake_twilio)
    assert fetch.path.endswith(f"/Calls/{sid}.json")
    assert AuditEvent.objects.get(action="call.reconcile").details == {
        "outcome": "updated",
        "call_sid": sid,
        "from": "in-progress",
        "to": "completed",
    }


def test_a_still_live_call_is_only_touched(fake_twilio):
    sid = fake_twilio.add_call(to="+14155550142", from_="+14155550100", status="in-progress")
    call = live_call(sid, quiet_for=timedelta(minutes=45))

    assert calls_reconcile() == {"checked": 1, "updated": 0, "attached": 0, "failed": 0, "requeued": 0}
    call.refresh_from_db()
    assert call.status == "in-progress"
    assert calls_reconcile() == NOTHING  # checked again only after another quiet spell


def test_recent_and_terminal_calls_are_left_alone(fake_twilio):
    recent = fake_twilio.add_call(to="+14155550142", from_="+14155550100", status="completed")
    live_call(recent, quiet_for=timedelta(minutes=5))
    done = fake_twilio.add_call(to="+14155550143", from_="+14155550100", status="completed")
    live_call(done, status=CallStatus.COMPLETED, quiet_for=timedelta(hours=2))
    failed_dial = outbound_call(status=CallStatus.FAILED, dialed_at=timezone.now() - timedelta(hours=1))
    Call.objects.filter(pk=failed_dial.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    assert calls_reconcile() == NOTHING
    assert fake_twilio.requests == []


def test_one_unreachable_call_does_not_stop_the_sweep(fake_twilio):
    slow = fake_twilio.add_call(to="+14155550142", from_="+14155550100", status="in-progress")
    fake_twilio.stall_fetch(slow, 3)
    live_call(slow, quiet_for=timedelta(hours=2))  # oldest first: it goes first
    unknown = live_call("CA" + "f" * 32, quiet_for=timedelta(minutes=90))  # Twilio answers 404
    fine = fake_twilio.add_call(to="+14155550143", from_="+14155550100", status="in-progress")
    fake_twilio.set_call(fine, status="no-answer")
    fine_call = live_call(fine, status=CallStatus.RINGING, quiet_for=timedelta(minutes=60))

    assert calls_reconcile() == {"checked": 3, "updated": 1, "attached": 0, "failed": 0, "requeued": 0}
    fine_call.refresh_from_db()
    unknown.refresh_from_db()
    assert (fine_call.status, unknown.status) == ("no-answer", "in-progress")


def test_nothing_happens_while_twilio_is_not_configured(fake_twilio, settings):
    sid = fake_twilio.add_call(to="+14155550142", from_="+14155550100", status="completed")
    call = live_call(sid, quiet_for=timedelta(hours=2))
    settings.TWILIO_AUTH_TOKEN = ""
    assert calls_reconcile() == NOTHING
    call.refresh_from_db()
    assert call.status == "in-progress"
    assert fake_twilio.requests == []


def test_the_periodic_task_runs_the_sweep(fake_twilio):
    sid = fake_twilio.add_call(to="+14155550142", from_="+14155550100", status="busy")
    live_call(sid, status=CallStatus.RINGING, quiet_for=timedelta(hours=1))
    assert calls_reconcile_task.apply().get() == {"checked": 1, "updated": 1, "attached": 0, "failed": 0, "requeued": 0}
    assert Call.objects.get(twilio_call_sid=sid).status == "busy"


# --- dial tasks that never ran ----------------------------------------------------------------


def test_a_dial_task_lost_with_its_worker_is_sent_again_and_dials_once(
    fake_twilio, monkeypatch, django_capture_on_commit_callbacks
):
    sent = record_sent_tasks(monkeypatch)
    lost = outbound_call()
    Call.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    outbound_call()  # requested a minute ago: its task may simply be waiting in the queue

    with django_capture_on_commit_callbacks(execute=True):
        assert calls_reconcile() == {**NOTHING, "requeued": 1}
    assert sent == [("apps.telephony.tasks.call_place_task", (lost.pk,), {})]
    assert fake_twilio.requests == []

    call_place(call_id=lost.pk)  # the requeued task runs...
    call_place(call_id=lost.pk)  # ...and so does the original, delivered late: only one dials
    assert len(fake_twilio.creates) == 1
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert calls_reconcile() == NOTHING
    assert sent == []
