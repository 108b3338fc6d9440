"""Several dialer workers on PostgreSQL share 1,000 due follow-ups: each is dialed exactly once."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.calls.models import Call
from apps.customers.models import Customer
from apps.outreach.dialer import followup_dial
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.outreach.services import followups_claim_due
from tests.concurrency import concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles
FOLLOWUPS = 1000
WORKERS = 4


def test_four_workers_dial_each_of_1000_follow_ups_once(fake_twilio, settings):
    settings.TWILIO_HTTP_TIMEOUT = 5.0
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
        for n in range(FOLLOWUPS)
    )
    FollowUp.objects.bulk_create(
        FollowUp(customer=c, reason="Balance overdue", due_at=NOW - timedelta(minutes=n % 60))
        for n, c in enumerate(customers)
    )

    def worker(index: int) -> int:
        dialed = 0
        while ids := followups_claim_due(now=NOW, limit=20):
            for followup_id in ids:
                followup_dial(followup_id=followup_id, now=NOW)
                dialed += 1
        return dialed

    with time_machine.travel(NOW, tick=True):
        outcomes = concurrently(WORKERS, worker)

    assert sum(outcomes) == FOLLOWUPS, outcomes
    assert all(o > 0 for o in outcomes), outcomes  # every worker took a share
    to_numbers = Counter(r.form["To"][0] for r in fake_twilio.creates)
    assert len(fake_twilio.creates) == FOLLOWUPS
    assert set(to_numbers.values()) == {1}  # nobody twice
    assert set(to_numbers) == {c.phone for c in customers}
    assert Call.objects.count() == FOLLOWUPS
    assert Call.objects.exclude(twilio_call_sid="").count() == FOLLOWUPS
    assert dict(Counter(FollowUp.objects.values_list("status", "attempts"))) == {(FollowUpStatus.DIALING, 1): FOLLOWUPS}


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
