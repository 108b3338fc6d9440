"""Dial pacing: a call waits for its send slot, is judged by the gate after the wait, goes back to
the broker when the slot is far off, and backs off when Twilio answers 429."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.calls.models import Call
from apps.core.models import AuditEvent
from apps.outreach.dialer import followup_dial, followups_sweep
from apps.outreach.dialing import PACING_MAX_DEFER, THROTTLED_RETRIES, call_place
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.outreach.tasks import call_place_task
from apps.twilio.pacing import ARRIVAL_SLACK, LocalPacer
from contactcenter.celery import app as celery_app
from tests.factories import CustomerFactory, FollowUpFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles
# 20:59:59.5 in Los Angeles: the calling window closes in half a second.
CLOSING = datetime(2026, 11, 24, 4, 59, 59, 500000, tzinfo=UTC)
PLACE_TASK = "apps.telephony.tasks.call_place_task"


@pytest.fixture(autouse=True)
def fast_line(settings):
    """Pacing is injected where a test is about it; elsewhere the line is never the thing waited on."""
    settings.TWILIO_CALLS_PER_SECOND = 1000


@pytest.fixture
def broker(monkeypatch):
    """What was sent to Celery: (task name, args, kwargs, countdown)."""
    sent = []

    def send_task(name, args=None, kwargs=None, countdown=None, **options):
        sent.append((name, tuple(args or ()), dict(kwargs or {}), countdown))

    monkeypatch.setattr(celery_app, "send_task", send_task)
    return sent


def claimed(when: datetime = NOW, **customer) -> FollowUp:
    """A follow-up the sweep has just claimed for a consenting customer in Los Angeles."""
    customer = CustomerFactory(consenting=True, timezone="America/Los_Angeles", **customer)
    return FollowUpFactory(customer=customer, due_at=when - timedelta(minutes=1), status=FollowUpStatus.CLAIMED)


def dial_events(call: Call) -> list[dict]:
    events = AuditEvent.objects.filter(action="call.dial", object_id=str(call.pk)).order_by("pk")
    return list(events.values_list("details", flat=True))


def test_a_call_whose_window_closes_while_it_waits_for_its_slot_is_blocked_not_placed(
    fake_twilio, broker, django_capture_on_commit_callbacks
):
    followup = claimed(CLOSING)
    with time_machine.travel(CLOSING, tick=False) as traveller:
        # Twilio takes one call a second, and the call before this one has the next slot.
        pacer = LocalPacer(1, clock=time.time, sleep=traveller.shift)
        assert pacer.acquire(max_wait=0).granted
        followup_dial(followup_id=followup.pk, pacer=pacer)  # the gate allows it at 20:59:59.5
        after_the_wait = timezone.now()
    assert (after_the_wait - CLOSING).total_seconds() == pytest.approx(1 + ARRIVAL_SLACK)  # 21:00:00.55

    assert fake_twilio.requests == []
    call = followup.calls.get()
    reason = "Outside 08:00-21:00 in America/Los_Angeles (the customer's time zone)."
    assert (call.status, call.error, call.dialed_at, call.twilio_call_sid) == (
        "canceled",
        f"blocked: {reason}",
        after_the_wait,
        "",
    )
    assert dial_events(call) == [{"outcome": "blocked", "reason": reason}]
    followup.refresh_from_db()  # blocked as any refusal at dial time: no attempt counted
    assert (followup.status, followup.attempts, followup.block_reason, followup.due_at) == (
        FollowUpStatus.BLOCKED,
        0,
        reason,
        after_the_wait,
    )
    assert broker == []

    # The next sweep finds it due again, and the gate moves it to the window's next opening.
    with time_machine.travel(after_the_wait + timedelta(minutes=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            followups_sweep()
        [(name, args, _, _)] = broker
        assert name == "apps.outreach.tasks.followup_dial_task"
        followup_dial(followup_id=args[0])
    followup.refresh_from_db()
    assert (followup.status, followup.due_at) == (FollowUpStatus.BLOCKED, datetime(2026, 11, 24, 16, 0, tzinfo=UTC))
    assert fake_twilio.requests == []


def test_a_slot_far_off_sends_the_call_back_to_the_broker_instead_of_holding_a_worker(
    fake_twilio, broker, django_capture_on_commit_callbacks
):
    followup = claimed()
    with time_machine.travel(NOW, tick=False) as traveller:
        # Twelve dials on other workers hold the next 12.6 seconds (those workers sleep, not this one).
        pacer = LocalPacer(1, clock=time.time, sleep=lambda seconds: None)
        for _ in range(12):
            pacer.acquire(max_wait=3600)
        with django_capture_on_commit_callbacks(execute=True):
            followup_dial(followup_id=followup.pk, pacer=pacer)
        assert timezone.now() == NOW  # no worker waited

        call = followup.calls.get()
        assert (call.status, call.dialed_at) == ("queued", None)  # not claimed: anyone may dial it later
        assert FollowUp.objects.get(pk=followup.pk).status == FollowUpStatus.DIALING
        [(name, args, kwargs, countdown)] = broker
        assert (name, args, kwargs) == (PLACE_TASK, (call.pk,), {"throttled": 0})
        wait = 12 * (1 + ARRIVAL_SLACK)
        assert wait <= countdown <= 1.5 * wait
        assert fake_twilio.requests == []

        traveller.shift(countdown)
        assert call_place_task.apply(args=args, kwargs=kwargs).get() == "queued"  # placed: Twilio says queued
    call.refresh_from_db()
    assert (call.dialed_at - NOW).total_seconds() == pytest.approx(countdown)
    assert len(fake_twilio.creates) == 1
    assert call.twilio_call_sid in fake_twilio.calls


def test_a_wait_longer_than_a_minute_comes_back_within_the_minute(
    fake_twilio, broker, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(consenting=True, timezone="America/Los_Angeles")
    call = Call.objects.create(customer=customer, direction="outbound", status="queued", to_number=customer.phone)
    with time_machine.travel(NOW, tick=False):
        pacer = LocalPacer(1, clock=time.time, sleep=lambda seconds: None)
        for _ in range(100):
            pacer.acquire(max_wait=3600)
        with django_capture_on_commit_callbacks(execute=True):
            call_place(call_id=call.pk, pacer=pacer)
    [(_, _, _, countdown)] = broker
    assert countdown == PACING_MAX_DEFER  # before reconciliation would take it for a lost task
    assert fake_twilio.requests == []


def test_a_dial_that_stalls_past_its_slot_takes_the_next_one(fake_twilio):
    customer = CustomerFactory(consenting=True, timezone="America/Los_Angeles")
    call = Call.objects.create(customer=customer, direction="outbound", status="queued", to_number=customer.phone)
    with time_machine.travel(NOW, tick=False) as traveller:
        slept = []

        def sleep(seconds: float) -> None:  # the first wake comes 100 ms late (a pause)
            traveller.shift(seconds + (0.1 if not slept else 0))
            slept.append(seconds)

        pacer = LocalPacer(1, clock=time.time, sleep=sleep)
        pacer.acquire(max_wait=0)  # the line is busy: the call's slot is 1.05 s away
        call_place(call_id=call.pk, pacer=pacer)
        sent_at = timezone.now()

    # Sent 100 ms late it would have come close behind the next slot; it took that slot instead.
    assert slept == pytest.approx([1.05, 0.95])
    assert (sent_at - NOW).total_seconds() == pytest.approx(2.1)
    assert len(fake_twilio.creates) == 1
    call.refresh_from_db()
    assert (call.dialed_at, call.twilio_call_sid) == (sent_at, next(iter(fake_twilio.calls)))  # decided then


def test_twilio_429_is_tried_again_later_with_backoff_and_makes_one_call(
    fake_twilio, broker, django_capture_on_commit_callbacks
):
    followup = claimed()
    fake_twilio.script_too_many_requests(2)
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            followup_dial(followup_id=followup.pk)
        call = followup.calls.get()
        for attempt in (1, 2):
            call.refresh_from_db()
            # Turned away, nothing placed: the claim is released for the next try.
            assert (call.status, call.dialed_at, call.error) == ("queued", None, "throttled: 20429: Too Many Requests")
            [(name, args, kwargs, countdown)] = broker
            assert (name, args, kwargs) == (PLACE_TASK, (call.pk,), {"throttled": attempt})
            backoff = 2.0 * 2 ** (attempt - 1)  # 2 s, then 4 s: half of it at least, never at once
            assert backoff / 2 <= countdown <= backoff
            broker.clear()
            with django_capture_on_commit_callbacks(execute=True):
                call_place_task.apply(args=args, kwargs=kwargs)

    call.refresh_from_db()
    assert len(fake_twilio.creates) == 3  # two turned away, then the call
    assert list(fake_twilio.calls) == [call.twilio_call_sid]
    assert {r.form["To"][0] for r in fake_twilio.creates} == {followup.customer.phone}
    assert (call.status, call.error) == ("queued", "")
    assert [e["outcome"] for e in dial_events(call)] == ["throttled", "throttled", "placed"]
    assert broker == []
    assert call_place_task.apply(args=[call.pk]).get() == "queued"  # a late duplicate dials nobody
    assert len(fake_twilio.creates) == 3
    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == (FollowUpStatus.DIALING, 1)


def test_a_call_throttled_again_and_again_fails_in_the_end(fake_twilio, broker, django_capture_on_commit_callbacks):
    followup = claimed()
    fake_twilio.script_too_many_requests(THROTTLED_RETRIES + 1)
    with time_machine.travel(NOW, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            followup_dial(followup_id=followup.pk)
        for attempt in range(1, THROTTLED_RETRIES + 1):
            [(_, args, kwargs, _)] = broker
            assert kwargs == {"throttled": attempt}
            broker.clear()
            with django_capture_on_commit_callbacks(execute=True):
                call_place_task.apply(args=args, kwargs=kwargs)

    call = followup.calls.get()
    assert (call.status, call.error) == ("failed", "20429: Too Many Requests")
    assert broker == []
    assert len(fake_twilio.creates) == THROTTLED_RETRIES + 1
    assert fake_twilio.calls == {}


def test_a_sweep_claims_what_twilio_can_take_before_the_next_sweep(settings, sent, django_capture_on_commit_callbacks):
    settings.TWILIO_CALLS_PER_SECOND = 0.1  # six calls a minute
    for _ in range(10):
        FollowUpFactory(customer=CustomerFactory(consenting=True), due_at=NOW - timedelta(minutes=1))
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert followups_sweep()["claimed"] == 6
    assert len(sent) == 6
    assert FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED).count() == 4  # due, and next in line
