"""The nightly risk score: from days overdue, broken and kept promises and recent payments."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from celery.schedules import crontab

from apps.collections.risk import customers_risk_score
from apps.collections.tasks import customers_risk_score_task
from apps.customers.models import Customer
from apps.customers.risk import risk_category, risk_score
from contactcenter.celery import app as celery_app
from tests.factories import CustomerFactory, PaymentFactory, PromiseFactory

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "broken", "kept", "paid", "score", "category"),
    [
        (0, 0, 0, False, "0.00", "low"),
        (60, 0, 0, False, "25.00", "low"),
        (90, 1, 0, False, "47.50", "medium"),
        (120, 2, 0, False, "70.00", "high"),
        (400, 5, 0, False, "80.00", "high"),  # both capped
        (30, 0, 3, True, "0.00", "low"),  # never below zero
        (120, 3, 1, True, "60.00", "high"),
    ],
)
def test_the_formula(days, broken, kept, paid, score, category):
    value = risk_score(days_overdue=days, broken=broken, kept=kept, paid_recently=paid)
    assert (value, risk_category(value)) == (Decimal(score), category)


@pytest.mark.django_db
def test_every_customer_is_scored_from_their_history():
    late = CustomerFactory(days_overdue=120, risk_category="low")
    for _ in range(2):
        PromiseFactory(customer=late, status="broken", due_date=date(2026, 10, 1))
    PromiseFactory(customer=late, status="broken", due_date=date(2026, 1, 1))  # too long ago
    good = CustomerFactory(days_overdue=30, risk_category="high")
    PromiseFactory(customer=good, status="kept", amount_paid=Decimal("300.00"), due_date=date(2026, 11, 1))
    PaymentFactory(customer=good, received_at=NOW - timedelta(days=3))

    assert customers_risk_score(now=NOW) == 2

    assert Customer.objects.filter(pk=late.pk).values_list("risk_score", "risk_category", "risk_scored_at").get() == (
        Decimal("70.00"),
        "high",
        NOW,
    )
    assert Customer.objects.filter(pk=good.pk).values_list("risk_score", "risk_category").get() == (
        Decimal("0.00"),
        "low",
    )


@pytest.mark.django_db
def test_the_task_runs_it():
    customer = CustomerFactory(days_overdue=60, risk_category="high", risk_score=None)
    assert customers_risk_score_task.apply().get() == 1
    assert Customer.objects.filter(pk=customer.pk).values_list("risk_score", "risk_category").get() == (
        Decimal("25.00"),
        "low",
    )


def test_it_runs_daily_at_three_in_the_business_time_zone(settings):
    entry = celery_app.conf.beat_schedule["customers-risk-score"]
    assert entry["schedule"] == crontab(hour=3, minute=0)
    assert celery_app.conf.timezone == settings.BUSINESS_TIME_ZONE == "America/New_York"
