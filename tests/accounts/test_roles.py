"""The roles matrix: what each group holds, exactly."""

import pytest
from django.contrib.auth.models import Group

from apps.accounts.roles import AGENTS, MANAGERS, SUPERVISORS
from apps.accounts.services import user_set_role
from apps.core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def perms(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename")
    }


def test_the_three_roles_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {SUPERVISORS, AGENTS, MANAGERS}


def test_agents_read_customers_and_calls_and_decide_approvals():
    assert perms(AGENTS) == {
        "customers.view_customer",
        "calls.view_call",
        "calls.view_transcriptentry",
        "analysis.view_callanalysis",
        "approvals.view_approval",
        "approvals.decide_approval",
        "accounts.use_console",
    }


def test_managers_only_read_and_see_analytics():
    granted = perms(MANAGERS)
    assert all(p.split(".")[1].startswith("view_") for p in granted)
    assert "accounts.view_analytics" in granted
    assert {"customers.view_customer", "calls.view_call", "promises.view_promise", "outreach.view_followup"} <= granted
    assert "approvals.decide_approval" not in granted


def test_supervisors_run_the_admin_but_traces_transcripts_and_audit_stay_read_only():
    granted = perms(SUPERVISORS)
    assert {"customers.add_customer", "customers.change_customer", "customers.delete_customer"} <= granted
    assert {"approvals.decide_approval", "accounts.use_console", "accounts.view_analytics"} <= granted
    for model in ("traceevent", "transcriptentry"):
        assert not {f"calls.{a}_{model}" for a in ("add", "change", "delete")} & granted
    assert not {"core.add_auditevent", "core.change_auditevent", "core.delete_auditevent"} & granted
    assert not {"calls.add_call", "calls.delete_call"} & granted
    assert {p for p in granted if p.startswith("auth.")} == {"auth.add_user", "auth.change_user", "auth.view_user"}


@pytest.mark.parametrize("role", [SUPERVISORS, AGENTS, MANAGERS])
def test_setting_a_role_replaces_the_old_one_and_allows_the_admin(role):
    user = UserFactory()
    user_set_role(user=user, role=SUPERVISORS if role != SUPERVISORS else AGENTS)
    user_set_role(user=user, role=role)
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.is_staff is True
    assert AuditEvent.objects.filter(action="user.set_role", object_id=str(user.pk)).count() == 2


def test_an_unknown_role_is_refused():
    user = UserFactory()
    with pytest.raises(ValueError, match="Unknown role 'Admins'"):
        user_set_role(user=user, role="Admins")
    assert not user.groups.exists()
