from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from apps.core.models import AuditEvent

# Who acts: a user, a Person, anything with an `audit_label` (an API key), a label ("system"), or None.
Actor = Any


@dataclass(frozen=True)
class Person:
    """A user named without loading their row: e.g. the staff member behind a test call, whose
    conversation acts in their name."""

    user_id: int | None
    audit_label: str


def _actor_fields(actor: Actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, AbstractBaseUser):
        return actor.pk, actor.get_username()
    if isinstance(actor, str):
        return None, actor
    if isinstance(actor, Person):
        return actor.user_id, actor.audit_label
    return None, str(actor.audit_label)


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    user_id, label = _actor_fields(actor)
    return AuditEvent.objects.create(
        actor_id=user_id,
        actor_label=label,
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        details=details or {},
    )


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value differs: the details of a change event."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
