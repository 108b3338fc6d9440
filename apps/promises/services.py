"""The promise lifecycle's own writes: promises and payments. What they start in other apps (the
text confirming a promise, follow-ups scheduled or cancelled) is orchestrated above, in
apps/collections/actions.py, which is what every caller uses."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import Conflict, InvalidReference
from apps.core.services import Actor, audit_record
from apps.customers.models import Customer
from apps.customers.selectors import customer_zone
from apps.customers.services import customer_record_payment
from apps.promises.models import OPEN_PROMISE_STATUSES, Payment, Promise, PromiseStatus


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
    """Record a promise to pay. The same promise on the same call twice is recorded once, and a
    new promise supersedes the customer's open ones (a renegotiation, or an approved settlement).
    `status_reason` says why the promise was made (e.g. the approval behind a settlement);
    `supersede_reason` what the superseded ones say (by default: renegotiated, replaced by the new
    promise). Its text confirmation is sent by collections' `promise_record`, which callers use."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if call_id is not None:
        existing = Promise.objects.filter(
            customer=customer, call_id=call_id, amount=amount, due_date=due_date, status=PromiseStatus.PENDING
        ).first()
        if existing is not None:
            return existing
    if amount <= 0:
        raise Conflict("A promise needs a positive amount.")
    now = timezone.now()
    promise = Promise.objects.create(
        customer=customer,
        call_id=call_id,
        amount=amount,
        currency=customer.currency,
        due_date=due_date,
        method=method,
        source=source,
        confidence=confidence,
        status_changed_at=now,
        status_reason=status_reason[:255],
    )
    # Locked too: the lapse sweep closes open promises under their own lock, not the customer's.
    superseded = list(
        Promise.objects.select_for_update()
        .filter(customer=customer, status__in=OPEN_PROMISE_STATUSES)
        .exclude(pk=promise.pk)
        .order_by("pk")
    )
    for old in superseded:
        old.status = PromiseStatus.SUPERSEDED
        old.superseded_by = promise
        old.status_changed_at = now
        old.status_reason = (supersede_reason or f"Renegotiated: replaced by promise {promise.pk}.")[:255]
        old.save(update_fields=["status", "superseded_by", "status_changed_at", "status_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="promise.record",
        obj=promise,
        details={"amount": amount, "due_date": due_date, "superseded": [p.pk for p in superseded]},
    )
    return promise


# --- payments ---------------------------------------------------------------------------------

# A payment system's clock may run a little ahead of ours; more than this is a bad timestamp.
FUTURE_TOLERANCE = timedelta(minutes=5)


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
    """Record a payment and apply it to the customer's open promise. Idempotent by `reference`:
    posting the same payment again returns the first one and changes nothing (False); the same
    reference with a different customer or amount is refused. The follow-ups of a promise it
    keeps are cancelled by collections' `payment_record`, which callers use."""
    reference = reference.strip()
    existing = Payment.objects.filter(reference=reference).first()
    if existing is not None:
        return _same_payment(existing, customer_id=customer_id, amount=amount), False
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise InvalidReference("customer_id", f"No customer with id {customer_id}.")
    if amount <= 0:
        raise InvalidReference("amount", "A payment needs a positive amount.")
    if currency and currency != customer.currency:
        raise InvalidReference("currency", f"The account is in {customer.currency}, not {currency}.")
    payment_check_received_at(received_at)
    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                customer=customer,
                amount=amount,
                currency=customer.currency,
                reference=reference,
                method=method,
                received_at=received_at,
            )
    except IntegrityError:
        # The same reference, committed by a concurrent request meanwhile.
        return _same_payment(Payment.objects.get(reference=reference), customer_id=customer_id, amount=amount), False
    customer_record_payment(customer_id=customer.pk, amount=amount)
    promise = (
        Promise.objects.select_for_update()
        .filter(customer=customer, status__in=OPEN_PROMISE_STATUSES, currency=payment.currency)
        .order_by("due_date", "id")
        .first()
    )
    if promise is not None:
        _apply_payment(promise, payment, actor)
    audit_record(
        actor=actor,
        action="payment.record",
        obj=payment,
        details={"amount": amount, "reference": reference, "promise": promise.pk if promise else None},
    )
    return payment, True


def payment_check_received_at(received_at: datetime) -> None:
    if received_at > timezone.now() + FUTURE_TOLERANCE:
        raise InvalidReference("received_at", f"{received_at.isoformat()} is in the future.")


def _same_payment(payment: Payment, *, customer_id: int, amount: Decimal) -> Payment:
    if (payment.customer_id, payment.amount) != (customer_id, amount):
        raise Conflict(
            f"Reference {payment.reference!r} is payment {payment.pk}: {payment.amount} {payment.currency} "
            f"from customer {payment.customer_id}. A reference identifies one payment."
        )
    return payment


def _apply_payment(promise: Promise, payment: Payment, actor: Actor) -> None:
    applied = min(payment.amount, promise.amount - promise.amount_paid)
    promise.amount_paid += applied
    kept = promise.amount_paid == promise.amount
    promise.status = PromiseStatus.KEPT if kept else PromiseStatus.PARTIALLY_KEPT
    promise.status_changed_at = timezone.now()
    promise.status_reason = (
        f"Payment {payment.reference}: {promise.amount_paid} of {promise.amount} {promise.currency} paid."
    )[:255]
    promise.save(update_fields=["amount_paid", "status", "status_changed_at", "status_reason", "updated_at"])
    payment.promise = promise
    payment.save(update_fields=["promise"])


# --- the promise lifecycle --------------------------------------------------------------------

OUTCOMES = (PromiseStatus.KEPT, PromiseStatus.BROKEN)
LAPSE_BATCH = 500  # promises per run; the rest wait for the next run
ACTOR = "system:promises"


@transaction.atomic
def promise_close(*, promise_id: int, status: str, reason: str, actor: Actor) -> Promise:
    """A person marks an open promise kept or broken, with the reason. Its follow-ups are
    collections' `promise_close`, which callers use."""
    if status not in OUTCOMES:
        raise InvalidReference("status", f"A promise is marked kept or broken, not {status!r}.")
    reason = reason.strip()
    if not reason:
        raise InvalidReference("reason", "Say why: the reason stays with the promise.")
    promise = Promise.objects.select_for_update().filter(pk=promise_id).first()
    if promise is None:
        raise InvalidReference("promise_id", f"No promise with id {promise_id}.")
    if promise.status not in OPEN_PROMISE_STATUSES:
        raise Conflict(f"Promise {promise_id} is {promise.get_status_display().lower()}; only open promises close.")
    _close(promise, status, reason, actor)
    return promise


def promises_lapsed(*, now: datetime | None = None) -> list[int]:
    """The open promises that may be past their grace (at most LAPSE_BATCH, oldest first): each is
    then broken in its own short transaction (`promise_lapse`)."""
    now = now or timezone.now()
    # Nowhere is the date more than a day ahead of UTC's, so only these can be past their grace.
    latest_due = now.date() - timedelta(days=settings.PROMISE_GRACE_DAYS)
    candidates = Promise.objects.filter(status__in=OPEN_PROMISE_STATUSES, due_date__lte=latest_due)
    return list(candidates.order_by("due_date", "id").values_list("pk", flat=True)[:LAPSE_BATCH])


def promise_lapse(*, promise_id: int, now: datetime) -> Promise | None:
    """Break one open promise whose due date passed more than PROMISE_GRACE_DAYS ago in the
    customer's own calendar. Runs inside the caller's transaction, skipping a row another worker
    holds; returns the promise broken, or None."""
    grace = timedelta(days=settings.PROMISE_GRACE_DAYS)
    promise = (
        Promise.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("customer")
        .filter(pk=promise_id, status__in=OPEN_PROMISE_STATUSES)
        .first()
    )
    if promise is None:
        return None
    today = now.astimezone(ZoneInfo(customer_zone(promise.customer))).date()
    if today <= promise.due_date + grace:
        return None
    paid = f"{promise.amount_paid} of {promise.amount} {promise.currency} paid"
    reason = f"Due {promise.due_date:%Y-%m-%d}, {settings.PROMISE_GRACE_DAYS} days' grace passed: {paid}."
    _close(promise, PromiseStatus.BROKEN, reason, ACTOR)
    return promise


def _close(promise: Promise, status: str, reason: str, actor: Actor) -> None:
    before = promise.status
    promise.status = status
    promise.status_changed_at = timezone.now()
    promise.status_reason = reason[:255]
    promise.save(update_fields=["status", "status_changed_at", "status_reason", "updated_at"])
    audit_record(
        actor=actor, action=f"promise.{status}", obj=promise, details={"from": before, "reason": promise.status_reason}
    )
