from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core.errors import Conflict
from apps.core.services import Actor, audit_record
from apps.customers.models import Customer
from apps.promises.models import OPEN_PROMISE_STATUSES, Promise, PromiseStatus


@transaction.atomic
def promise_record(
    *,
    customer_id: int,
    amount: Decimal,
    due_date: date,
    method: str,
    source: str,
    actor: Actor,
    call_id: int | None = None,
    confidence: int | None = None,
) -> Promise:
    """Record a promise to pay. The same promise on the same call twice is recorded once, and a
    new promise supersedes the customer's open ones (a renegotiation)."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if call_id is not None:
        existing = Promise.objects.filter(
            customer=customer, call_id=call_id, amount=amount, due_date=due_date, status=PromiseStatus.PENDING
        ).first()
        if existing is not None:
            return existing
    if amount <= 0:
        raise Conflict("A promise needs a positive amount.")
    promise = Promise.objects.create(
        customer=customer,
        call_id=call_id,
        amount=amount,
        currency=customer.currency,
        due_date=due_date,
        method=method,
        source=source,
        confidence=confidence,
        status_changed_at=timezone.now(),
    )
    superseded = list(
        Promise.objects.filter(customer=customer, status__in=OPEN_PROMISE_STATUSES).exclude(pk=promise.pk)
    )
    for old in superseded:
        old.status = PromiseStatus.SUPERSEDED
        old.superseded_by = promise
        old.status_changed_at = timezone.now()
        old.status_reason = f"Renegotiated: replaced by promise {promise.pk}."
        old.save(update_fields=["status", "superseded_by", "status_changed_at", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="promise.record",
        obj=promise,
        details={"amount": amount, "due_date": due_date, "superseded": [p.pk for p in superseded]},
    )
    return promise
