"""Several dialer workers on PostgreSQL share due follow-ups: each is dialed exactly once, and
together they never hand Twilio more calls in a second than TWILIO_CALLS_PER_SECOND."""

import itertools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.calls.models import Call
from apps.customers.models import Customer
from apps.outreach.dialer import followup_dial
from apps.outreach.dialing import call_place
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.outreach.services import followups_claim_due
from apps.twilio.pacing import ARRIVAL_SLACK
from tests.concurrency import concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles
FOLLOWUPS = 1000
WORKERS = 4


def due_customers(count: int) -> list[Customer]:
    """Consenting customers in Los Angeles, each with a follow-up due."""
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Customer {n}",
            phone=f"+1415556{n:04d}",
            account_number=f"CONC{n:06d}",
            timezone="America/Los_Angeles",
            consent_automated_calls=True,
            consent_given_at=NOW - timedelta(days=30),
            consent_source="web_form",
        )
        for n in range(count)
    )
    FollowUp.objects.bulk_create(
        FollowUp(customer=c, reason="Balance overdue", due_at=NOW - timedelta(minutes=n % 60))
        for n, c in enumerate(customers)
    )
    return customers


def deliver_deferred(sent) -> int:
    """A dial that stalled past its send slot on a busy machine goes back to the broker with a
    countdown (apps/outreach/dialing.py): run those as a worker would, until none is left."""
    delivered = 0
    for _ in range(10):
        pending = [args[0] for name, args, _ in sent if name == "apps.telephony.tasks.call_place_task"]
        sent.clear()
        if not pending:
            return delivered
        for call_id in pending:
            call_place(call_id=call_id)
        delivered += len(pending)
    raise AssertionError("dials kept going back to the broker")


def worker(index: int) -> int:
    """What a dialer worker does: claim due follow-ups in small batches and dial each."""
    dialed = 0
    while ids := followups_claim_due(now=NOW, limit=20):
        for followup_id in ids:
            followup_dial(followup_id=followup_id, now=NOW)
            dialed += 1
    return dialed


def test_four_workers_dial_each_of_1000_follow_ups_once(fake_twilio, settings, sent):
    settings.TWILIO_HTTP_TIMEOUT = 5.0
    settings.TWILIO_CALLS_PER_SECOND = 100_000  # this one is about claims and duplicates, not pacing
    customers = due_customers(FOLLOWUPS)

    with time_machine.travel(NOW, tick=True):
        outcomes = concurrently(WORKERS, worker)
        deliver_deferred(sent)

    assert sum(outcomes) == FOLLOWUPS, outcomes
    assert all(o > 0 for o in outcomes), outcomes  # every worker took a share
    to_numbers = Counter(r.form["To"][0] for r in fake_twilio.creates)
    assert len(fake_twilio.creates) == FOLLOWUPS
    assert set(to_numbers.values()) == {1}  # nobody twice
    assert set(to_numbers) == {c.phone for c in customers}
    assert Call.objects.count() == FOLLOWUPS
    assert Call.objects.exclude(twilio_call_sid="").count() == FOLLOWUPS
    assert dict(Counter(FollowUp.objects.values_list("status", "attempts"))) == {(FollowUpStatus.DIALING, 1): FOLLOWUPS}


def test_four_workers_together_stay_within_twilios_calls_per_second(fake_twilio, settings, sent):
    """Pacing shared by the workers (in Redis when REDIS_URL is set, else in this process)."""
    settings.TWILIO_HTTP_TIMEOUT = 5.0
    settings.TWILIO_CALLS_PER_SECOND = rate = 20
    customers = due_customers(50)

    with time_machine.travel(NOW, tick=True):
        outcomes = concurrently(WORKERS, worker)
        deliver_deferred(sent)

    assert sum(outcomes) == 50, outcomes
    to_numbers = Counter(r.form["To"][0] for r in fake_twilio.creates)
    assert set(to_numbers) == {c.phone for c in customers}
    assert set(to_numbers.values()) == {1}  # each follow-up dialed exactly once
    assert dict(Counter(FollowUp.objects.values_list("status", "attempts"))) == {(FollowUpStatus.DIALING, 1): 50}
    arrived = sorted(r.at for r in fake_twilio.creates)
    # At most `rate` in any second at Twilio's end: every window of one second, not only whole ones.
    busiest = max(sum(1 for t in arrived[i:] if t < start + 1) for i, start in enumerate(arrived))
    assert busiest <= rate, [round(b - a, 4) for a, b in itertools.pairwise(arrived)]
    # And the line was used, not idle: 50 slots (1 + slack) / rate apart, less the slack for jitter.
    assert arrived[-1] - arrived[0] >= 49 * (1 + ARRIVAL_SLACK) / rate - ARRIVAL_SLACK


def test_two_follow_ups_of_one_customer_dialed_at_once_make_one_call(fake_twilio, settings):
    customer = Customer.objects.create(
        name="Maria Lopez",
        phone="+14155550123",
        account_number="ACC0042",
        timezone="America/Los_Angeles",
        consent_automated_calls=True,
        consent_given_at=NOW - timedelta(days=30),
        consent_source="web_form",
    )
    followups = FollowUp.objects.bulk_create(
        FollowUp(customer=customer, reason=reason, due_at=NOW - timedelta(minutes=5), status=FollowUpStatus.CLAIMED)
        for reason in ("Promise due", "Balance overdue")
    )

    with time_machine.travel(NOW, tick=True):
        outcomes = concurrently(2, lambda i: followup_dial(followup_id=followups[i].pk, now=NOW).status)

    assert sorted(outcomes) == [FollowUpStatus.BLOCKED, FollowUpStatus.DIALING]
    assert len(fake_twilio.creates) == 1
    blocked = FollowUp.objects.get(status=FollowUpStatus.BLOCKED)
    assert (blocked.block_reason, blocked.due_at, blocked.attempts) == (
        "A call to the customer is still open.",
        NOW + timedelta(minutes=30),
        0,
    )
