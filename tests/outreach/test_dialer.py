"""Due follow-ups: claimed once, checked by the gate, dialed once, moved on by the call's end."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.calls.models import Call, CallStatus
from apps.calls.services import StatusUpdate
from apps.core.models import AuditEvent
from apps.outreach.dialer import followup_dial, followups_sweep
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.voice.lifecycle import call_status_record
from tests.factories import CallFactory, CustomerFactory, FollowUpFactory
from tests.telephony import signed

pytestmark = pytest.mark.django_db

# Monday 23 November 2026, 18:00 UTC: 10:00 in Los Angeles, 13:00 in New York.
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
DIAL_TASK = "apps.outreach.tasks.followup_dial_task"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def due(**fields) -> FollowUp:
    customer = fields.pop("customer", None) or CustomerFactory(consenting=True, timezone="America/Los_Angeles")
    return FollowUpFactory(customer=customer, due_at=fields.pop("due_at", NOW - timedelta(minutes=1)), **fields)


def sweep_and_dial(sent, django_capture_on_commit_callbacks) -> dict[str, int]:
    """One beat sweep, then what the dialer workers would run for each task it sent."""
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        counts = followups_sweep()
    for name, args, _ in list(sent):
        if name == DIAL_TASK:
            followup_dial(followup_id=args[0])
    return counts


def assert_held(followup: FollowUp, rule: str) -> None:
    """Refused: no call row, no attempt counted, the refusal audited with its rule."""
    assert not Call.objects.filter(followup=followup).exists()
    assert FollowUp.objects.get(pk=followup.pk).attempts == 0
    events = AuditEvent.objects.filter(action="followup.blocked", object_id=str(followup.pk))
    assert [e.details["rule"] for e in events] == [rule]


def ended(call: Call, status: str, answered_by: str = "") -> None:
    call.refresh_from_db()
    call_status_record(StatusUpdate(call_sid=call.twilio_call_sid, status=status, answered_by=answered_by))


def test_a_due_follow_up_is_dialed_once_and_done_when_a_person_answers(
    fake_twilio, sent, django_capture_on_commit_callbacks
):
    followup = due(reason="Promise due Friday")
    later = due(due_at=NOW + timedelta(hours=1))

    assert sweep_and_dial(sent, django_capture_on_commit_callbacks) == {"claimed": 1, "resent": 0, "settled": 0}
    assert sent == [(DIAL_TASK, (followup.pk,), {})]
    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.last_attempt_at) == (FollowUpStatus.DIALING, 1, NOW)
    call = followup.calls.get()
    assert (call.to_number, call.reason, call.workflow_name, call.status) == (
        followup.customer.phone,
        "Promise due Friday",
        "collections",
        "queued",
    )
    [create] = fake_twilio.creates
    assert create.form["To"] == [followup.customer.phone]
    assert FollowUp.objects.get(pk=later.pk).status == FollowUpStatus.SCHEDULED  # not due yet

    assert sweep_and_dial(sent, django_capture_on_commit_callbacks)["claimed"] == 0  # nothing twice
    assert followup_dial(followup_id=followup.pk).status == FollowUpStatus.DIALING  # a redelivered task
    assert len(fake_twilio.creates) == 1

    ended(call, CallStatus.COMPLETED, answered_by="human")
    assert FollowUp.objects.get(pk=followup.pk).status == FollowUpStatus.DONE


def test_no_answer_is_tried_again_later_until_the_attempts_run_out(
    settings, fake_twilio, sent, django_capture_on_commit_callbacks
):
    settings.FOLLOWUP_RETRY_MINUTES = 60
    followup = due(max_attempts=2)
    sweep_and_dial(sent, django_capture_on_commit_callbacks)
    ended(followup.calls.get(), CallStatus.NO_ANSWER)

    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.due_at, followup.last_error) == (
        FollowUpStatus.SCHEDULED,
        1,
        NOW + timedelta(minutes=60),
        "Attempt 1: no-answer.",
    )

    with time_machine.travel(NOW + timedelta(minutes=61), tick=False):
        sweep_and_dial(sent, django_capture_on_commit_callbacks)
        ended(followup.calls.order_by("-pk").first(), CallStatus.COMPLETED, answered_by="machine_end_beep")
    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.last_error) == (
        FollowUpStatus.FAILED,
        2,
        "No one answered in 2 attempts (last: completed (machine_end_beep)).",
    )
    assert len(fake_twilio.creates) == 2


def test_outside_the_window_the_follow_up_waits_for_it_and_nothing_is_dialed(
    fake_twilio, sent, django_capture_on_commit_callbacks
):
    followup = due(customer=CustomerFactory(consenting=True, timezone="Asia/Tokyo"))  # 03:00 in Tokyo

    sweep_and_dial(sent, django_capture_on_commit_callbacks)

    followup.refresh_from_db()
    opens = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)  # 08:00 on the 24th in Tokyo
    assert (followup.status, followup.due_at, followup.block_reason) == (
        FollowUpStatus.BLOCKED,
        opens,
        "Outside 08:00-21:00 in Asia/Tokyo (the customer's time zone).",
    )
    event = AuditEvent.objects.get(action="followup.blocked")
    assert event.details == {"rule": "calling_window", "reason": followup.block_reason, "until": opens.isoformat()}
    assert fake_twilio.requests == []
    assert not Call.objects.exists()

    assert sweep_and_dial(sent, django_capture_on_commit_callbacks)["claimed"] == 0  # it waits
    with time_machine.travel(opens, tick=False):
        sweep_and_dial(sent, django_capture_on_commit_callbacks)
    assert FollowUp.objects.get(pk=followup.pk).status == FollowUpStatus.DIALING
    assert len(fake_twilio.creates) == 1


@pytest.mark.parametrize(
    ("customer", "reason"),
    [
        ({"do_not_call": True, "phone": "+14155550177"}, "+14155550177 is on the do-not-call list."),
        ({"consenting": False}, "No recorded consent to automated (AI-voiced) calls."),
    ],
)
def test_no_dial_to_a_do_not_call_number_or_without_consent(
    fake_twilio, sent, django_capture_on_commit_callbacks, customer, reason
):
    followup = due(customer=CustomerFactory(**{"consenting": True, **customer}))
    sweep_and_dial(sent, django_capture_on_commit_callbacks)
    followup.refresh_from_db()
    assert (followup.status, followup.block_reason, followup.due_at) == (
        FollowUpStatus.BLOCKED,
        reason,
        NOW + timedelta(days=1),  # looked at again tomorrow: never silently dropped
    )
    assert fake_twilio.requests == []
    assert_held(followup, "do_not_call" if customer.get("do_not_call") else "consent")


def test_the_eighth_attempt_in_seven_days_is_blocked(fake_twilio, sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consenting=True, timezone="America/Los_Angeles")
    for day in range(7):
        at = NOW - timedelta(days=6, hours=1) + timedelta(days=day)
        CallFactory(customer=customer, direction="outbound", status="no-answer", dialed_at=at, started_at=at)
    followup = due(customer=customer)

    sweep_and_dial(sent, django_capture_on_commit_callbacks)

    followup.refresh_from_db()
    assert (followup.status, followup.block_reason) == (
        FollowUpStatus.BLOCKED,
        "7 call attempts in the last 7 days (the most allowed).",
    )
    assert followup.due_at == NOW + timedelta(hours=23)  # the oldest attempt turns 7 days old
    assert fake_twilio.requests == []
    assert_held(followup, "frequency_attempts")


def test_stop_over_sms_blocks_the_next_dial(settings, fake_twilio, sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consenting=True, timezone="America/Los_Angeles", phone="+14155550188")
    followup = due(customer=customer)

    response = signed("/twilio/sms/inbound/", {"MessageSid": "SM" + "3" * 32, "From": "+14155550188", "Body": "STOP"})
    assert response.status_code == 200

    sweep_and_dial(sent, django_capture_on_commit_callbacks)
    followup.refresh_from_db()
    assert (followup.status, followup.block_reason) == (
        FollowUpStatus.BLOCKED,
        "+14155550188 is on the do-not-call list.",
    )
    assert fake_twilio.creates == []
    assert_held(followup, "do_not_call")


def test_a_lost_dial_task_is_sent_again_and_an_unreported_end_is_settled(
    settings, fake_twilio, sent, django_capture_on_commit_callbacks
):
    settings.FOLLOWUP_RETRY_MINUTES = 60
    lost = due()
    FollowUp.objects.filter(pk=lost.pk).update(status=FollowUpStatus.CLAIMED, updated_at=NOW - timedelta(minutes=6))
    dialing = due()
    FollowUp.objects.filter(pk=dialing.pk).update(status=FollowUpStatus.DIALING, attempts=1)
    CallFactory(customer=dialing.customer, direction="outbound", followup=dialing, status=CallStatus.BUSY)

    counts = sweep_and_dial(sent, django_capture_on_commit_callbacks)

    assert counts == {"claimed": 0, "resent": 1, "settled": 1}
    assert sent == [(DIAL_TASK, (lost.pk,), {})]
    assert [r.form["To"] for r in fake_twilio.creates] == [[lost.customer.phone]]
    assert FollowUp.objects.get(pk=lost.pk).status == FollowUpStatus.DIALING
    assert FollowUp.objects.filter(pk=dialing.pk).values_list("status", "due_at", "last_error").get() == (
        FollowUpStatus.SCHEDULED,
        NOW + timedelta(minutes=60),
        "Attempt 1: busy.",
    )


def test_a_refused_dial_settles_the_follow_up_at_once(settings, fake_twilio, sent, django_capture_on_commit_callbacks):
    settings.FOLLOWUP_RETRY_MINUTES = 60
    followup = due()
    fake_twilio.script_create(status=400, code=21211, message="Invalid 'To' Phone Number")
    sweep_and_dial(sent, django_capture_on_commit_callbacks)
    followup.refresh_from_db()
    assert (followup.status, followup.attempts, followup.due_at, followup.last_error) == (
        FollowUpStatus.SCHEDULED,
        1,
        NOW + timedelta(minutes=60),
        "Attempt 1: failed.",
    )
    assert followup.calls.values_list("status", "error").get() == ("failed", "21211: Invalid 'To' Phone Number")
    assert len(fake_twilio.creates) == 1


def test_the_gate_guards_the_api_too(api, fake_twilio, sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consenting=True, timezone="Asia/Tokyo")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/v1/calls/outbound",
            {"customer_id": customer.pk, "workflow": "collections", "reason": "Missed payment"},
            content_type="application/json",
        )
    assert (response.status_code, response.json()) == (
        409,
        {
            "detail": "Not allowed to call now: Outside 08:00-21:00 in Asia/Tokyo (the customer's time zone). "
            "Allowed again from 2026-11-24 08:00 JST."
        },
    )
    assert not Call.objects.exists()
    assert sent == []


def test_a_late_callback_from_an_earlier_attempt_changes_nothing(fake_twilio, sent, django_capture_on_commit_callbacks):
    followup = due()
    sweep_and_dial(sent, django_capture_on_commit_callbacks)
    first = followup.calls.get()
    ended(first, CallStatus.NO_ANSWER)
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        sweep_and_dial(sent, django_capture_on_commit_callbacks)
        assert FollowUp.objects.get(pk=followup.pk).status == FollowUpStatus.DIALING  # attempt 2 is ringing

        ended(first, CallStatus.NO_ANSWER)  # Twilio repeats attempt 1's callback
        assert followups_sweep() == {"claimed": 0, "resent": 0, "settled": 0}

    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == (FollowUpStatus.DIALING, 2)
