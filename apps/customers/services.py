from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.errors import Conflict, InvalidReference
from apps.core.services import Actor, audit_record, field_changes
from apps.customers.models import Customer, DoNotCallEntry, DoNotCallSource

_UNIQUE_FIELDS = {"phone": "phone number", "account_number": "account number"}


def _validate_and_save(customer: Customer, update_fields: list[str] | None = None) -> None:
    for field, label in _UNIQUE_FIELDS.items():
        value = getattr(customer, field)
        if Customer.objects.filter(**{field: value}).exclude(pk=customer.pk).exists():
            raise Conflict(f"Another customer already has {label} {value}.")
    customer.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            customer.save(update_fields=update_fields)
    except IntegrityError as exc:  # a concurrent writer took the phone or account number first
        raise Conflict("Another customer already has this phone number or account number.") from exc


@transaction.atomic
def customer_create(*, actor: Actor, data: dict[str, Any]) -> Customer:
    customer = Customer(**data)
    _validate_and_save(customer)
    audit_record(actor=actor, action="customer.create", obj=customer)
    return customer


@transaction.atomic
def customer_update(*, actor: Actor, customer: Customer, data: dict[str, Any]) -> Customer:
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    before = {name: getattr(customer, name) for name in data}
    for name, value in data.items():
        setattr(customer, name, value)
    changes = field_changes(before, data)
    if changes:
        _validate_and_save(customer, update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="customer.update", obj=customer, details={"changes": changes})
    return customer


# --- the balance ------------------------------------------------------------------------------

CENT = Decimal("0.01")
# Customer.balance is max_digits=12, decimal_places=2.
BALANCE_LIMIT = Decimal("10000000000")


class BalanceTooLow(Conflict):
    """The change would take the balance below zero."""

    def __init__(self, *, balance: Decimal, delta: Decimal) -> None:
        super().__init__(f"The balance ({balance}) is less than {-delta}: it cannot go below 0.")
        self.balance = balance
        self.delta = delta


@dataclass(frozen=True)
class BalanceChange:
    before: Decimal
    after: Decimal


@transaction.atomic
def customer_adjust_balance(*, customer_id: int, delta: Decimal, reason: str, actor: Actor) -> BalanceChange:
    """Change a customer's balance by `delta` (negative lowers it: a waived fee), under the
    customer's row lock, with the reason in the audit trail (`customer.balance_adjust`).
    The balance never goes below zero (BalanceTooLow)."""
    if not isinstance(delta, Decimal) or not delta.is_finite() or delta != delta.quantize(CENT) or not delta:
        raise InvalidReference("delta", f"A balance change is a non-zero amount with at most 2 decimals: {delta!r}.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReference("reason", "Say why the balance changes: the reason stays in the audit trail.")
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    before = customer.balance
    after = before + delta
    if after < 0:
        raise BalanceTooLow(balance=before, delta=delta)
    if after >= BALANCE_LIMIT:
        raise InvalidReference("delta", f"A balance of {after} is more than an account can hold.")
    customer.balance = after
    customer.save(update_fields=["balance", "updated_at"])
    audit_record(
        actor=actor,
        action="customer.balance_adjust",
        obj=customer,
        details={"before": str(before), "after": str(after), "delta": str(delta), "reason": reason},
    )
    return BalanceChange(before=before, after=after)


def customer_record_payment(*, customer_id: int, amount: Decimal) -> None:
    """A payment was received: the balance goes down by it, below zero too (a credit). One UPDATE
    with F(), so concurrent payments add up; the payment's own audit entry says why."""
    Customer.objects.filter(pk=customer_id).update(balance=F("balance") - amount, updated_at=timezone.now())


# --- opting out and back in ---------------------------------------------------------------------

DEFAULT_OPT_OUT_REASON = "Opted out"


@transaction.atomic
def customer_opt_out(
    *, source: str, actor: Actor, customer_id: int | None = None, phone: str = "", reason: str = ""
) -> None:
    """The customer asked not to be contacted, however they said it ("stop calling me" on a call,
    STOP by text, a letter): one set of records whichever way it came.

    - the number goes on the do-not-call list, the entry's `source` saying how it was asked;
    - the customer's do-not-call flag is set;
    - consent to texts is withdrawn: under the TCPA a text is a call, so a request to stop calls
      stops automated texts too, and a STOP by text stops calls too (confirm with counsel);
    - one `customer.opt_out` audit entry, when any of that changed (on the do-not-call entry when
      the number is no customer's): the analytics count opt-outs from these.

    Name the customer (`customer_id`) or only the number (`phone`: a STOP from a number that is no
    customer's still blocks it). START undoes a STOP's records, no others (`customer_opt_in`).
    """
    if source not in DoNotCallSource.values:
        raise InvalidReference("source", f"Unknown do-not-call source {source!r}.")
    if (customer_id is None) == (not phone):
        raise InvalidReference("customer_id", "Name either the customer or the phone number.")
    if customer_id is not None:
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        phone = customer.phone
    else:
        customer = Customer.objects.select_for_update().filter(phone=phone).first()
    reason = (reason or DEFAULT_OPT_OUT_REASON)[:255]
    changed = []

    # An sms_stop entry says a STOP put the number on do-not-call, so START may lift it with the
    # flag. A STOP on a customer someone else had already flagged is kept as the customer's own
    # request instead: START must not lift a block STOP did not make.
    entry_source = source
    if source == DoNotCallSource.SMS_STOP and customer is not None and customer.do_not_call:
        entry_source = DoNotCallSource.CUSTOMER_REQUEST
    entry, created = DoNotCallEntry.objects.select_for_update().get_or_create(
        phone=phone, defaults={"source": entry_source, "reason": reason}
    )
    if created:
        changed.append("do_not_call_entry")
    elif entry.source == DoNotCallSource.SMS_STOP and source != DoNotCallSource.SMS_STOP:
        # Asked again another way (on a call, in a letter): that request outlasts a START.
        entry.source, entry.reason = source, reason
        entry.save(update_fields=["source", "reason"])
        changed.append("do_not_call_entry")

    if customer is not None:
        fields = [
            name for name, value in (("do_not_call", True), ("consent_sms", False)) if getattr(customer, name) != value
        ]
        if fields:
            customer.do_not_call, customer.consent_sms = True, False
            customer.save(update_fields=[*fields, "updated_at"])
            changed += fields
    if changed:  # on the customer, or on the entry of a number that is no customer's (it counts too)
        audit_record(
            actor=actor,
            action="customer.opt_out",
            obj=customer if customer is not None else entry,
            details={"source": source, "changed": changed},
        )


@transaction.atomic
def customer_opt_in(*, phone: str, actor: Actor) -> bool:
    """The number texted START: texts are allowed again, and what a STOP did to calls is undone
    (its do-not-call entry, and the flag it set), nothing else: an opt-out heard on a call, a
    staff or imported entry stays. Returns whether a STOP's do-not-call entry was lifted."""
    customer = Customer.objects.select_for_update().filter(phone=phone).first()
    lifted, _ = DoNotCallEntry.objects.filter(phone=phone, source=DoNotCallSource.SMS_STOP).delete()
    changed = ["do_not_call_entry"] if lifted else []
    if customer is not None:
        fields = []
        if not customer.consent_sms:
            customer.consent_sms = True
            fields.append("consent_sms")
        if lifted and customer.do_not_call:  # an sms_stop entry on a customer's number: STOP set the flag
            customer.do_not_call = False
            fields.append("do_not_call")
        if fields:
            customer.save(update_fields=[*fields, "updated_at"])
        changed += fields
        if changed:
            audit_record(
                actor=actor, action="customer.opt_in", obj=customer, details={"source": "sms_start", "changed": changed}
            )
    return bool(lifted)


@transaction.atomic
def customer_sms_unsubscribed(*, customer_id: int, actor: Actor) -> None:
    """Twilio refused a text because the number once replied STOP to ours (its error 21610): the
    customer's consent to texts is withdrawn, and that is audited. Calls are left as they were:
    the STOP itself, when it reaches us, is an opt-out (`customer_opt_out`)."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if customer.consent_sms:
        customer.consent_sms = False
        customer.save(update_fields=["consent_sms", "updated_at"])
    audit_record(actor=actor, action="customer.sms_unsubscribed", obj=customer)
