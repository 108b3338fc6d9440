"""The promise lifecycle and what it starts in other apps, orchestrated in one place (like
Saleor's order/actions.py): every caller (the agent's tools, approved settlements, the post-call
analysis, the admin, the API, the lapse sweep) uses these, never the steps one by one.

    promise_record  ─▶ promises: the promise (superseding open ones), audited
                    └▶ telephony: its text confirmation (a row now, the send after commit)
    payment_record  ─▶ promises: the payment, applied to the open promise
                    └▶ outreach: a promise it keeps is chased no more (follow-ups cancelled)
    promise_close   ─▶ promises: kept or broken, by a person
    promises_lapse  ─▶ promises: broken when its grace has passed, by the sweep
                    └▶ outreach: a broken promise gets a follow-up; a kept one none

Each runs in one transaction with the steps it starts, as when they were one service: a rolled
back promise leaves no text, a broken promise never lacks its follow-up.
"""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core.services import Actor
from apps.outreach.models import FollowUp
from apps.outreach.services import CANCELLABLE_STATUSES, followup_schedule, followups_cancel
from apps.promises import services as promises
from apps.promises.models import Payment, Promise, PromiseStatus
from apps.telephony.sms import sms_promise_confirmation


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
    status_reason: str = "",
    supersede_reason: str = "",
) -> Promise:
    """Record a promise to pay (promises' `promise_record`: once per call, superseding the
    customer's open promises), and confirm it by text when the customer agreed to texts (once
    per promise, sent after commit)."""
    promise = promises.promise_record(
        customer_id=customer_id,
        amount=amount,
        due_date=due_date,
        method=method,
        source=source,
        actor=actor,
        call_id=call_id,
        confidence=confidence,
        status_reason=status_reason,
        supersede_reason=supersede_reason,
    )
    sms_promise_confirmation(promise=promise)
    return promise


@transaction.atomic
def payment_record(
    *,
    customer_id: int,
    amount: Decimal,
    reference: str,
    received_at: datetime,
    actor: Actor,
    method: str = "",
    currency: str = "",
) -> tuple[Payment, bool]:
    """Record a payment (idempotent by `reference`; see promises' `payment_record`). A promise it
    keeps needs no more chasing: its follow-ups not yet dialed are cancelled."""
    payment, created = promises.payment_record(
        customer_id=customer_id,
        amount=amount,
        reference=reference,
        received_at=received_at,
        actor=actor,
        method=method,
        currency=currency,
    )
    if created and payment.promise is not None and payment.promise.status == PromiseStatus.KEPT:
        _followups_done(payment.promise, actor)
    return payment, created


@transaction.atomic
def promise_close(*, promise_id: int, status: str, reason: str, actor: Actor) -> Promise:
    """A person marks an open promise kept or broken, with the reason; then its follow-ups."""
    promise = promises.promise_close(promise_id=promise_id, status=status, reason=reason, actor=actor)
    _followups_after_close(promise, actor)
    return promise


def promises_lapse(*, now: datetime | None = None) -> list[int]:
    """Periodic: open promises whose due date passed more than PROMISE_GRACE_DAYS ago (in the
    customer's own calendar) become broken, each with a follow-up. Each promise is handled in its
    own short transaction, skipping rows another worker holds; returns the ids broken."""
    now = now or timezone.now()
    broken = []
    for promise_id in promises.promises_lapsed(now=now):
        with transaction.atomic():
            promise = promises.promise_lapse(promise_id=promise_id, now=now)
            if promise is None:
                continue
            _followups_after_close(promise, promises.ACTOR)
            broken.append(promise.pk)
    return broken


def _followups_after_close(promise: Promise, actor: Actor) -> None:
    """A broken promise is chased (a follow-up now); a kept one no more."""
    if promise.status == PromiseStatus.BROKEN:
        followup_schedule(
            actor=actor,
            customer_id=promise.customer_id,
            due_at=timezone.now(),
            reason=f"Broken promise: {promise.amount} {promise.currency} due {promise.due_date:%Y-%m-%d}.",
            promise_id=promise.pk,
        )
    else:
        _followups_done(promise, actor)


def _followups_done(promise: Promise, actor: Actor) -> None:
    """A kept promise needs no more chasing: its follow-ups not yet dialed are cancelled."""
    pending = FollowUp.objects.filter(promise=promise, status__in=CANCELLABLE_STATUSES).values_list("pk", flat=True)
    followups_cancel(actor=actor, ids=list(pending))
