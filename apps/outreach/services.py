from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.calls.models import Call, CallStatus
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


@transaction.atomic
def followup_for_call(
    *,
    actor: Actor,
    call_id: int,
    customer_id: int,
    due_at: datetime | None,
    reason: str = "",
    promise_id: int | None = None,
    override_reason: str = "",
) -> FollowUp | None:
    """The follow-up a call's analysis asks for: one per call, scheduled once and revised while
    still scheduled; `due_at` None asks for none and cancels one still scheduled. A callback the
    customer asked for on the call (the agent booked it) is theirs: kept as they chose it.
    Returns the call's follow-up, or None when it asks for none."""
    existing = FollowUp.objects.select_for_update().filter(source_call_id=call_id).order_by("-id").first()
    if existing is not None and existing.requested_by_customer:
        return existing
    if due_at is None:
        if existing is not None and existing.status == FollowUpStatus.SCHEDULED:
            existing.status = FollowUpStatus.CANCELLED
            existing.last_error = "A later analysis of the call asks for no follow-up."
            existing.save(update_fields=["status", "last_error", "updated_at"])
        return None
    if existing is None:
        return followup_schedule(
            actor=actor,
            customer_id=customer_id,
            due_at=due_at,
            reason=reason,
            promise_id=promise_id,
            source_call_id=call_id,
            override_reason=override_reason,
        )
    if existing.status == FollowUpStatus.SCHEDULED:
        existing.due_at, existing.reason, existing.promise_id = due_at, reason, promise_id
        existing.business_override, existing.override_reason = bool(override_reason), override_reason[:255]
        existing.save()
    return existing


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


# --- the follow-up lifecycle -----------------------------------------------------------------
#
#   scheduled ──sweep claims──▶ claimed ──gate allows──▶ dialing ──call ends──▶ done | scheduled (retry) | failed
#        ▲                         └──gate refuses──▶ blocked (due at the next allowed time) ──┐
#        └──────────────────────────────────────────────────────────────────────────────────────┘

ACTOR = "system:dialer"
# Blocks only a person can lift (do-not-call, no consent) are looked at again after this.
RECHECK_BLOCKED = timedelta(days=1)
MAX_RETRY_DELAY = timedelta(days=1)
NOT_A_PERSON = ("machine", "fax")
DUE_STATUSES = (FollowUpStatus.SCHEDULED, FollowUpStatus.BLOCKED)
# What call_place writes on a call the gate stopped between the request and the dial.
BLOCKED_AT_DIAL = "blocked: "


def followups_claim_due(*, now: datetime, limit: int) -> list[int]:
    """Claim up to `limit` due follow-ups (scheduled, or blocked until now) in one short
    transaction. Rows another worker holds are skipped, and claimed rows are no longer due, so a
    follow-up is claimed once however many sweeps run at the same time."""
    with transaction.atomic():
        ids = list(
            FollowUp.objects.select_for_update(skip_locked=True)
            .filter(status__in=DUE_STATUSES, due_at__lte=now)
            .order_by("due_at", "id")
            .values_list("pk", flat=True)[:limit]
        )
        FollowUp.objects.filter(pk__in=ids).update(status=FollowUpStatus.CLAIMED, updated_at=now)
    return ids


def followup_block(followup: FollowUp, *, reason: str, until: datetime, rule: str) -> None:
    """The gate said no: the follow-up waits, visibly, until the next time it may be allowed."""
    followup.status = FollowUpStatus.BLOCKED
    followup.block_reason = reason[:255]
    followup.due_at = until
    followup.save(update_fields=["status", "block_reason", "due_at", "attempts", "updated_at"])
    audit_record(
        actor=ACTOR,
        action="followup.blocked",
        obj=followup,
        details={"rule": rule, "reason": reason, "until": until.astimezone(UTC).isoformat()},
    )


def followup_call_ended(*, call: Call) -> None:
    """The call a follow-up placed has ended: done when a person answered, else tried again
    later (backing off) until its attempts run out. Safe to repeat: only a dialing follow-up
    moves, and only on its latest call (a late callback from an earlier attempt changes nothing)."""
    with transaction.atomic():
        followup = (
            FollowUp.objects.select_for_update().filter(pk=call.followup_id, status=FollowUpStatus.DIALING).first()
        )
        if followup is None or followup.calls.order_by("-pk").values_list("pk", flat=True).first() != call.pk:
            return
        now = timezone.now()
        outcome = call.status + (f" ({call.answered_by})" if call.answered_by else "")
        if call.status == CallStatus.COMPLETED and not call.answered_by.startswith(NOT_A_PERSON):
            followup.status, followup.last_error = FollowUpStatus.DONE, ""
        elif call.error.startswith(BLOCKED_AT_DIAL):  # never reached Twilio: not an attempt
            followup.attempts = max(0, followup.attempts - 1)
            followup_block(followup, reason=call.error.removeprefix(BLOCKED_AT_DIAL), until=now, rule="at_dial")
            return
        elif followup.attempts >= followup.max_attempts:
            followup.status = FollowUpStatus.FAILED
            followup.last_error = f"No one answered in {followup.attempts} attempts (last: {outcome})."
        else:
            delay = timedelta(minutes=settings.FOLLOWUP_RETRY_MINUTES) * 2 ** (followup.attempts - 1)
            followup.status = FollowUpStatus.SCHEDULED
            followup.due_at = now + min(delay, MAX_RETRY_DELAY)
            followup.last_error = f"Attempt {followup.attempts}: {outcome}."
        followup.save(update_fields=["status", "due_at", "last_error", "updated_at"])
