"""The daily risk score: 0-100 from days overdue, broken and kept promises, and recent payments.

A plain, explainable formula (the score is shown to supervisors and drives the high-risk
business rule), recomputed for every customer each night by a beat task at 03:00 in the
business's time zone:

    days overdue          min(days, 120) / 120 x 50      up to 50
    broken promises       10 each in the last 180 days   up to 30
    kept promises         -10 each in the last 180 days  down to -20
    a payment             -10 if one in the last 30 days
    clamped to 0-100; high from 60, medium from 30, else low
"""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q

from apps.customers.models import Customer, RiskCategory
from apps.promises.models import Payment, PromiseStatus

BATCH = 1000
HIGH, MEDIUM = Decimal(60), Decimal(30)


def risk_score(*, days_overdue: int, broken: int, kept: int, paid_recently: bool) -> Decimal:
    score = Decimal(min(days_overdue, 120)) / 120 * 50
    score += 10 * min(broken, 3) - 10 * min(kept, 2) - (10 if paid_recently else 0)
    return max(Decimal(0), min(Decimal(100), score)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def risk_category(score: Decimal) -> str:
    return RiskCategory.HIGH if score >= HIGH else RiskCategory.MEDIUM if score >= MEDIUM else RiskCategory.LOW


def customers_risk_score(*, now: datetime) -> int:
    """Score every customer, in batches of short transactions. Returns how many were scored."""
    half_year = (now - timedelta(days=180)).date()
    customers = Customer.objects.annotate(
        broken=Count("promises", filter=Q(promises__status=PromiseStatus.BROKEN, promises__due_date__gte=half_year)),
        kept=Count("promises", filter=Q(promises__status=PromiseStatus.KEPT, promises__due_date__gte=half_year)),
        paid_recently=Exists(
            Payment.objects.filter(customer=OuterRef("pk"), received_at__gte=now - timedelta(days=30))
        ),
    ).order_by("pk")
    scored, last_pk = 0, 0
    while batch := list(customers.filter(pk__gt=last_pk)[:BATCH]):
        for customer in batch:
            customer.risk_score = risk_score(
                days_overdue=customer.days_overdue,
                broken=customer.broken,
                kept=customer.kept,
                paid_recently=customer.paid_recently,
            )
            customer.risk_category = risk_category(customer.risk_score)
            customer.risk_scored_at = now
        with transaction.atomic():
            Customer.objects.bulk_update(batch, ["risk_score", "risk_category", "risk_scored_at"])
        scored, last_pk = scored + len(batch), batch[-1].pk
    return scored
