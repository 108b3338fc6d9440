from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import Conflict
from apps.core.services import Actor, audit_record, field_changes
from apps.customers.models import Customer, DoNotCallEntry

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


@transaction.atomic
def customer_opt_out(*, customer_id: int, source: str, actor: Actor, reason: str = "") -> None:
    """The customer asked not to be called: flag them and put the number on the do-not-call list."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if not customer.do_not_call:
        customer.do_not_call = True
        customer.save(update_fields=["do_not_call", "updated_at"])
    _, created = DoNotCallEntry.objects.get_or_create(
        phone=customer.phone, defaults={"source": source, "reason": reason or "Opted out"}
    )
    if created:
        audit_record(actor=actor, action="customer.opt_out", obj=customer, details={"source": source})
