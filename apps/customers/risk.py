"""The daily risk score: 0-100 from days overdue, broken and kept promises, and recent payments.

A plain, explainable formula (the score is shown to supervisors and drives the high-risk
business rule), recomputed for every customer each night by a beat task at 03:00 in the
business's time zone:

    days overdue          min(days, 120) / 120 x 50      up to 50
    broken promises       10 each in the last 180 days   up to 30
    kept promises         -10 each in the last 180 days  down to -20
    a payment             -10 if one in the last 30 days
    clamped to 0-100; high from 60, medium from 30, else low

The rule and the write of the scores are the customers app's; the nightly run, which reads the
promise history, is above it (apps/collections/risk.py).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from apps.customers.models import Customer, RiskCategory

HIGH, MEDIUM = Decimal(60), Decimal(30)


def risk_score(*, days_overdue: int, broken: int, kept: int, paid_recently: bool) -> Decimal:
    score = Decimal(min(days_overdue, 120)) / 120 * 50
    score += 10 * min(broken, 3) - 10 * min(kept, 2) - (10 if paid_recently else 0)
    return max(Decimal(0), min(Decimal(100), score)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def risk_category(score: Decimal) -> str:
    return RiskCategory.HIGH if score >= HIGH else RiskCategory.MEDIUM if score >= MEDIUM else RiskCategory.LOW


@dataclass(frozen=True)
class RiskInputs:
    customer_id: int
    days_overdue: int
    broken: int  # broken promises in the last 180 days
    kept: int  # kept promises in the last 180 days
    paid_recently: bool  # a payment in the last 30 days


@transaction.atomic
def customers_risk_record(*, inputs: list[RiskInputs], now: datetime) -> None:
    """Score these customers and store their scores, categories and when they were scored."""
    scored = []
    for row in inputs:
        score = risk_score(
            days_overdue=row.days_overdue, broken=row.broken, kept=row.kept, paid_recently=row.paid_recently
        )
        scored.append(
            Customer(pk=row.customer_id, risk_score=score, risk_category=risk_category(score), risk_scored_at=now)
        )
    Customer.objects.bulk_update(scored, ["risk_score", "risk_category", "risk_scored_at"])
