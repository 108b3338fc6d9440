from datetime import datetime

from django.db import transaction

from apps.core.errors import InvalidReference
from apps.core.services import Actor, audit_record
from apps.customers.models import Customer
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.promises.models import Promise


@transaction.atomic
def followup_schedule(
    *,
    actor: Actor,
    customer_id: int,
    due_at: datetime,
    reason: str,
    promise_id: int | None = None,
    max_attempts: int = 3,
    requested_by_customer: bool = False,
    source_call_id: int | None = None,
    override_reason: str = "",
) -> FollowUp:
    """Schedule an outbound follow-up. The compliance gate judges it when it comes due. An
    `override_reason` says which business rule set the date."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise InvalidReference("customer_id", f"No customer with id {customer_id}.")
    promise = None
    if promise_id is not None:
        promise = Promise.objects.filter(pk=promise_id, customer=customer).first()
        if promise is None:
            raise InvalidReference("promise_id", f"Customer {customer_id} has no promise with id {promise_id}.")
    followup = FollowUp(
        customer=customer,
        promise=promise,
        due_at=due_at,
        reason=reason,
        max_attempts=max_attempts,
        requested_by_customer=requested_by_customer,
        source_call_id=source_call_id,
        business_override=bool(override_reason),
        override_reason=override_reason[:255],
    )
    followup.full_clean()
    followup.save()
    audit_record(actor=actor, action="followup.schedule", obj=followup)
    return followup


CANCELLABLE_STATUSES = (FollowUpStatus.SCHEDULED, FollowUpStatus.BLOCKED)


@transaction.atomic
def followups_cancel(*, actor: Actor, ids: list[int]) -> tuple[int, int]:
    """Cancel the follow-ups not yet claimed by the dialer. Returns (cancelled, left alone)."""
    rows = list(FollowUp.objects.select_for_update().filter(pk__in=ids, status__in=CANCELLABLE_STATUSES).order_by("pk"))
    for followup in rows:
        followup.status = FollowUpStatus.CANCELLED
        followup.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="followup.cancel", obj=followup)
    return len(rows), len(ids) - len(rows)
