"""Deciding approvals in the admin: agents through two actions with a note; managers only read."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalStatus
from apps.core.models import AuditEvent
from tests.admin import action_names, messages_of, signed_in
from tests.admin import run_action as admin_action
from tests.factories import ApprovalFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:approvals_approval_changelist")
ACTIONS = {"approve_selected", "reject_selected"}


def run_action(client, action: str, approvals, **extra):
    return admin_action(client, CHANGELIST, action, approvals, **extra)


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_agents_and_supervisors_see_the_decision_actions(role, request):
    ApprovalFactory()
    response = signed_in(request.getfixturevalue(role)).get(CHANGELIST)
    assert response.status_code == 200
    assert action_names(response) == ACTIONS


def test_managers_do_not_see_the_decision_actions_and_cannot_run_them(manager):
    approval = ApprovalFactory()
    client = signed_in(manager)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert action_names(response) & ACTIONS == set()
    response = run_action(client, "approve_selected", [approval], post="yes", note="sneaky")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not AuditEvent.objects.filter(action="approval.decide").exists()


def test_an_agent_approves_with_a_note_through_the_confirmation_page(agent):
    first, second = (
        ApprovalFactory(confidence=91),
        ApprovalFactory(payload={"fee": "collection_fee", "amount": "20.00"}),
    )
    client = signed_in(agent)

    page = run_action(client, "approve_selected", [first, second])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/confirm_action.html"
    html = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="action" value="approve_selected"' in html
    assert 'name="post" value="yes"' in html
    for approval in (first, second):
        assert f'name="_selected_action" value="{approval.pk}"' in html
        assert approval.customer.name in html
    assert "collection_fee" in html
    assert "91%" in html
    assert "First late fee in five years" in html
    assert '<textarea name="note"' in html
    assert Approval.objects.filter(status="pending").count() == 2  # nothing decided yet

    done = run_action(client, "approve_selected", [first, second], post="yes", note="Both within policy.")
    assert done.status_code == 302
    assert done["Location"] == CHANGELIST
    assert messages_of(done) == [("success", "Approved 2 approvals.")]
    for approval in (first, second):
        approval.refresh_from_db()
        assert (approval.status, approval.decided_by, approval.decided_by_label, approval.note) == (
            "approved",
            agent,
            "agt",
            "Both within policy.",
        )
    events = AuditEvent.objects.filter(action="approval.decide").order_by("object_id")
    assert [(e.object_id, e.actor_label, e.details) for e in events] == [
        (str(a.pk), "agt", {"decision": "approve", "note": "Both within policy."}) for a in (first, second)
    ]


def test_the_note_is_required(agent):
    approval = ApprovalFactory()
    page = run_action(signed_in(agent), "reject_selected", [approval], post="yes", note="   ")
    assert page.status_code == 200  # the page again, with the error
    assert page.context["form"].errors == {"note": ["This field is required."]}
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_an_agent_rejects_and_conflicts_are_reported(agent):
    pending = ApprovalFactory()
    decided = ApprovalFactory(status="approved", decided_at=timezone.now(), decided_by_label="sup", note="ok")
    expired = ApprovalFactory(expires_at=timezone.now() - timedelta(hours=1))
    done = run_action(signed_in(agent), "reject_selected", [pending, decided, expired], post="yes", note="No.")
    assert done.status_code == 302
    assert messages_of(done) == [
        ("success", "Rejected 1 approval."),
        (
            "warning",
            f"2 could not be decided: approval {decided.pk}: This approval was already decided: approved.; "
            f"approval {expired.pk}: This approval expired at {Approval.objects.get(pk=expired.pk).expires_at.isoformat()}; "
            "it can no longer be decided.",
        ),
    ]
    statuses = dict(Approval.objects.values_list("pk", "status"))
    assert statuses == {pending.pk: "rejected", decided.pk: "approved", expired.pk: "expired"}
    decided.refresh_from_db()
    assert (decided.decided_by_label, decided.note) == ("sup", "ok")
