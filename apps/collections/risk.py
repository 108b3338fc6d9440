"""The nightly risk score of every customer: their promise history, read here, scored and
stored by the customers app (apps/customers/risk.py has the formula)."""

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q

from apps.customers.models import Customer
from apps.customers.risk import RiskInputs, customers_risk_record
from apps.promises.models import Payment, PromiseStatus

BATCH = 1000


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
    while batch := list(
        customers.filter(pk__gt=last_pk).values_list("pk", "days_overdue", "broken", "kept", "paid_recently")[:BATCH]
    ):
        customers_risk_record(inputs=[RiskInputs(*row) for row in batch], now=now)
        scored, last_pk = scored + len(batch), batch[-1][0]
    return scored
