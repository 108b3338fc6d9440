"""Supervisors manage staff accounts and roles, and cannot grant more than a role."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from apps.accounts.roles import AGENTS, SUPERVISORS
from apps.core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor_client(supervisor) -> Client:
    client = Client()
    client.force_login(supervisor)
    return client


def change_form_data(client, user) -> dict:
    page = client.get(reverse("admin:auth_user_change", args=[user.pk])).context
    data = {name: value for name, value in page["adminform"].form.initial.items() if value not in (None, False)}
    data.pop("password", None)
    data.pop("last_login", None)
    data.pop("date_joined", None)
    return data


def test_a_supervisor_gives_a_new_colleague_the_agent_role(supervisor_client):
    response = supervisor_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newagent",
            "password1": "a-Long-passw0rd!",
            "password2": "a-Long-passw0rd!",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302
    user = UserFactory._meta.model.objects.get(username="newagent")
    data = change_form_data(supervisor_client, user)
    data.update({"is_staff": "on", "is_active": "on", "groups": [Group.objects.get(name=AGENTS).pk]})
    response = supervisor_client.post(reverse("admin:auth_user_change", args=[user.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == [AGENTS]
    assert user.is_staff is True
    assert user.is_superuser is False
    assert AuditEvent.objects.filter(action="admin.change", object_id=str(user.pk)).count() == 1


def test_a_supervisor_cannot_make_anyone_a_superuser(supervisor_client, agent):
    data = change_form_data(supervisor_client, agent)
    data.update({"is_superuser": "on", "user_permissions": [1, 2, 3], "groups": [Group.objects.get(name=AGENTS).pk]})
    supervisor_client.post(reverse("admin:auth_user_change", args=[agent.pk]), data)
    agent.refresh_from_db()
    assert agent.is_superuser is False
    assert not agent.user_permissions.exists()


def test_only_roles_are_offered_as_groups(supervisor_client, agent):
    Group.objects.create(name="Billing admins")
    form = supervisor_client.get(reverse("admin:auth_user_change", args=[agent.pk])).context["adminform"].form
    assert set(form.fields) == {
        "username",
        "password",
        "first_name",
        "last_name",
        "email",
        "is_active",
        "is_staff",
        "groups",
    }
    assert set(form.fields["groups"].queryset.values_list("name", flat=True)) == {"Supervisors", "Agents", "Managers"}


def test_superusers_are_out_of_a_supervisors_reach(supervisor_client):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert "root" not in supervisor_client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert supervisor_client.get(reverse("admin:auth_user_change", args=[root.pk])).status_code == 302
    response = supervisor_client.post(
        reverse("admin:auth_user_password_change", args=[root.pk]),
        {"password1": "Taken-0ver-pass!", "password2": "Taken-0ver-pass!"},
    )
    assert response.status_code == 404
    root.refresh_from_db()
    assert not root.check_password("Taken-0ver-pass!")


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_agents_and_managers_do_not_manage_accounts(role, request):
    client = Client()
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403


def test_role_column(supervisor_client, agent):
    page = supervisor_client.get(reverse("admin:auth_user_changelist")).content.decode()
    assert f'<td class="field-role">{AGENTS}</td>' in page
    assert SUPERVISORS in page
