import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_revoke
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def create(name: str) -> str:
    out = StringIO()
    call_command("create_api_key", name, stdout=out)
    return out.getvalue().strip()


def test_create_api_key_prints_a_key_that_is_stored_only_hashed():
    raw = create("billing")
    key = ApiKey.objects.get(name="billing")
    assert raw.startswith(f"cc_{key.prefix}_")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {key.name, key.prefix, key.key_hash}
    assert AuditEvent.objects.filter(action="api_key.create", actor_label="cli:create_api_key").count() == 1


def test_the_printed_key_authenticates():
    raw = create("billing")
    assert Client(headers={"X-API-Key": raw}).get("/api/v1/customers").status_code == 200


def test_a_second_key_with_the_same_name_is_refused():
    create("billing")
    with pytest.raises(CommandError, match="already exists"):
        create("billing")
    assert ApiKey.objects.count() == 1


def test_revoking_twice_changes_nothing_the_second_time(supervisor):
    raw = create("billing")
    key = ApiKey.objects.get()
    assert api_key_revoke(key=key, actor=supervisor) is True
    first_revoked_at = ApiKey.objects.get().revoked_at
    assert api_key_revoke(key=key, actor=supervisor) is False
    assert ApiKey.objects.get().revoked_at == first_revoked_at
    assert AuditEvent.objects.filter(action="api_key.revoke").count() == 1
    assert Client(headers={"X-API-Key": raw}).get("/api/v1/customers").status_code == 401
