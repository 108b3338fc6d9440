from typing import Any

from django.db import IntegrityError, transaction

from apps.core.errors import Conflict
from apps.core.services import Actor, audit_record, field_changes
from apps.customers.models import Customer

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
