"""The promise lifecycle: renegotiation supersedes, the grace period breaks, people close with a reason."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine

from apps.collections.actions import promise_close, promise_record, promises_lapse
from apps.collections.tasks import promises_lapse_task
from apps.core.errors import Conflict, InvalidReference
from apps.core.models import AuditEvent
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.promises.models import Promise, PromiseSource, PromiseStatus
from tests.factories import CustomerFactory, FollowUpFactory, PromiseFactory

pytestmark = pytest.mark.django_db

# 2026-11-21 06:00 UTC: still the 20th in Los Angeles (22:00), already the 21st in Auckland (19:00).
NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_renegotiated_promise_supersedes_the_open_ones():
    customer = CustomerFactory()
    pending = PromiseFactory(customer=customer, amount=Decimal("300.00"))
    partly = PromiseFactory(customer=customer, status=PromiseStatus.PARTIALLY_KEPT, amount_paid=Decimal("50.00"))
    kept = PromiseFactory(customer=customer, status=PromiseStatus.KEPT, amount_paid=Decimal("300.00"))

    new = promise_record(
        customer_id=customer.pk,
        amount=Decimal("200.00"),
        due_date=date(2026, 12, 5),
        method="card",
        source=PromiseSource.STAFF,
        actor="test",
    )

    for old in (pending, partly):
        old.refresh_from_db()
        assert (old.status, old.superseded_by, old.status_reason) == (
            PromiseStatus.SUPERSEDED,
            new,
            f"Renegotiated: replaced by promise {new.pk}.",
        )
    assert Promise.objects.get(pk=kept.pk).status == PromiseStatus.KEPT
    assert partly.amount_paid == Decimal("50.00")  # what was paid stays on record


@pytest.mark.parametrize("grace", [3, 0])
def test_an_unpaid_promise_breaks_after_the_grace_period_in_the_customers_calendar(settings, clock, grace):
    settings.PROMISE_GRACE_DAYS = grace
    # Due grace days before the 20th: it breaks once the 21st begins where the customer lives.
    due = date(2026, 11, 20 - grace)
    auckland = PromiseFactory(customer=CustomerFactory(timezone="Pacific/Auckland"), due_date=due)
    los_angeles = PromiseFactory(customer=CustomerFactory(timezone="America/Los_Angeles"), due_date=due)
    partly = PromiseFactory(
        customer=CustomerFactory(timezone="Pacific/Auckland"),
        due_date=due,
        status=PromiseStatus.PARTIALLY_KEPT,
        amount_paid=Decimal("100.00"),
    )

    assert promises_lapse() == [auckland.pk, partly.pk]

    auckland.refresh_from_db()
    assert (auckland.status, auckland.status_reason) == (
        PromiseStatus.BROKEN,
        f"Due {due:%Y-%m-%d}, {grace} days' grace passed: 0.00 of 300.00 USD paid.",
    )
    assert Promise.objects.get(pk=partly.pk).status_reason.endswith("100.00 of 300.00 USD paid.")
    assert Promise.objects.get(pk=los_angeles.pk).status == PromiseStatus.PENDING  # still the 20th there
    followup = FollowUp.objects.get(promise=auckland)
    assert (followup.customer_id, followup.status, followup.due_at, followup.reason) == (
        auckland.customer_id,
        FollowUpStatus.SCHEDULED,
        NOW,
        f"Broken promise: 300.00 USD due {due:%Y-%m-%d}.",
    )
    assert AuditEvent.objects.filter(action="promise.broken", actor_label="system:promises").count() == 2

    # Running again changes nothing: each promise breaks once, with one follow-up.
    assert promises_lapse() == []
    assert FollowUp.objects.count() == 2


def test_a_promise_within_its_grace_period_or_paid_stays(settings, clock):
    settings.PROMISE_GRACE_DAYS = 3
    inside = PromiseFactory(customer=CustomerFactory(timezone="Pacific/Auckland"), due_date=date(2026, 11, 18))
    kept = PromiseFactory(due_date=date(2026, 11, 1), status=PromiseStatus.KEPT, amount_paid=Decimal("300.00"))
    superseded_by = PromiseFactory()
    superseded = PromiseFactory(
        due_date=date(2026, 11, 1), status=PromiseStatus.SUPERSEDED, superseded_by=superseded_by
    )

    assert promises_lapse_task.apply().get() == 0

    assert [Promise.objects.get(pk=p.pk).status for p in (inside, kept, superseded)] == [
        PromiseStatus.PENDING,
        PromiseStatus.KEPT,
        PromiseStatus.SUPERSEDED,
    ]
    assert not FollowUp.objects.exists()


def test_a_person_marks_a_promise_broken_with_a_reason(supervisor, clock):
    promise = PromiseFactory()

    promise_close(promise_id=promise.pk, status="broken", reason="  Told us he cannot pay.  ", actor=supervisor)

    promise.refresh_from_db()
    assert (promise.status, promise.status_reason, promise.status_changed_at) == (
        PromiseStatus.BROKEN,
        "Told us he cannot pay.",
        NOW,
    )
    assert (
        FollowUp.objects.get(promise=promise).reason == f"Broken promise: 300.00 USD due {promise.due_date:%Y-%m-%d}."
    )
    event = AuditEvent.objects.get(action="promise.broken")
    assert (event.actor, event.details) == (supervisor, {"from": "pending", "reason": "Told us he cannot pay."})


def test_a_person_marks_a_promise_kept_and_its_follow_ups_stop(supervisor):
    promise = PromiseFactory()
    chase = FollowUpFactory(customer=promise.customer, promise=promise)

    promise_close(promise_id=promise.pk, status="kept", reason="Paid at the branch.", actor=supervisor)

    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.KEPT
    assert FollowUp.objects.get(pk=chase.pk).status == FollowUpStatus.CANCELLED
    assert FollowUp.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "reason", "error", "message"),
    [
        ("superseded", "why", InvalidReference, "A promise is marked kept or broken, not 'superseded'."),
        ("kept", "  ", InvalidReference, "Say why: the reason stays with the promise."),
    ],
)
def test_closing_needs_an_outcome_and_a_reason(supervisor, status, reason, error, message):
    promise = PromiseFactory()
    audited = AuditEvent.objects.count()
    with pytest.raises(error) as raised:
        promise_close(promise_id=promise.pk, status=status, reason=reason, actor=supervisor)
    assert raised.value.message == message
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.PENDING
    assert AuditEvent.objects.count() == audited


def test_a_closed_promise_cannot_be_closed_again(supervisor):
    promise = PromiseFactory(status=PromiseStatus.KEPT, amount_paid=Decimal("300.00"))
    audited = AuditEvent.objects.count()
    with pytest.raises(Conflict) as raised:
        promise_close(promise_id=promise.pk, status="broken", reason="oops", actor=supervisor)
    assert raised.value.message == f"Promise {promise.pk} is kept; only open promises close."
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.KEPT
    assert not FollowUp.objects.exists()
    assert AuditEvent.objects.count() == audited
