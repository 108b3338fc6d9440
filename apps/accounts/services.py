import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.accounts.roles import ROLES
from apps.core.services import Actor, audit_record

API_KEY_PREFIX = "cc"
# last_used_at is informational: one write a minute per key is enough.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(raw_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is safe; no salt or stretching needed.
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, actor: Actor = None) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored or shown again."""
    prefix = secrets.token_hex(4)
    raw = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    created_by = actor if isinstance(actor, AbstractUser) else None
    key = ApiKey.objects.create(name=name, prefix=prefix, key_hash=_hash(raw), created_by=created_by)
    audit_record(actor=actor, action="api_key.create", obj=key)
    return key, raw


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    key = ApiKey.objects.filter(key_hash=_hash(raw_key), revoked_at__isnull=True).first()
    if key is not None:
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Actor) -> bool:
    """Revoke a key; False when it was already revoked (nothing changes)."""
    updated = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        audit_record(actor=actor, action="api_key.revoke", obj=key)
    return bool(updated)


@transaction.atomic
def user_set_role(*, user: AbstractUser, role: str, actor: Actor = None) -> None:
    """Give `user` exactly one role. Every role may sign in to the admin; permissions decide the rest."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    if user.is_staff and list(user.groups.filter(name__in=ROLES).values_list("name", flat=True)) == [role]:
        return  # already so: nothing to change or audit
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get(name=role))
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    audit_record(actor=actor, action="user.set_role", obj=user, details={"role": role})
