"""/api/v1/approvals: list, read and decide."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalStatus
from apps.core.models import AuditEvent
from apps.customers.models import Customer
from tests.factories import ApprovalFactory, CallFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def session(user) -> Client:
    """A signed-in browser: CSRF is enforced, as in production."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/admin/")  # sets the CSRF cookie
    return client


def decide(client: Client, approval_id: int, body: dict, *, csrf: bool = True):
    headers = {"X-CSRFToken": client.cookies["csrftoken"].value} if csrf and "csrftoken" in client.cookies else {}
    return client.post(
        f"/api/v1/approvals/{approval_id}/decide", body, content_type="application/json", headers=headers
    )


def test_without_credentials_nothing_is_read_or_decided(client):
    approval = ApprovalFactory()
    assert client.get("/api/v1/approvals").status_code == 401
    assert client.get(f"/api/v1/approvals/{approval.pk}").status_code == 401
    response = decide(client, approval.pk, {"decision": "approve", "note": ""}, csrf=False)
    assert response.status_code == 401
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_an_approval_reads_as_json(api):
    call = CallFactory()
    with time_machine.travel(datetime(2026, 3, 10, 15, 0, tzinfo=UTC), tick=False):
        approval = ApprovalFactory(
            customer=call.customer, call=call, confidence=80, expires_at=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        )
    response = api.get(f"/api/v1/approvals/{approval.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "id": approval.pk,
        "kind": "fee_waiver",
        "customer_id": call.customer.pk,
        "call_id": call.pk,
        "payload": {"amount": "35.00", "fee": "late_fee"},
        "reasoning": "First late fee in five years; the customer paid in full today.",
        "confidence": 80,
        "flags": [],
        "caller_words": "",
        "status": "pending",
        "expires_at": "2030-01-02T03:04:05Z",
        "decided_by_label": "",
        "decided_at": None,
        "note": "",
        "result": {},
        "created_at": "2026-03-10T15:00:00Z",
    }


def test_an_unknown_approval_is_404(api):
    assert api.get("/api/v1/approvals/999999").status_code == 404
    response = decide(api, 999999, {"decision": "approve", "note": ""})
    assert response.status_code == 404
    assert response.json() == {"detail": "No Approval matches the given query."}


def test_the_list_filters_by_status_and_customer(api):
    customer = CustomerFactory()
    pending = ApprovalFactory(customer=customer)
    ApprovalFactory(customer=customer, status="rejected", decided_at=timezone.now())
    other = ApprovalFactory()
    response = api.get("/api/v1/approvals", {"status": "pending"})
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert {item["id"] for item in response.json()["items"]} == {pending.pk, other.pk}
    response = api.get("/api/v1/approvals", {"status": "pending", "customer_id": customer.pk})
    assert [item["id"] for item in response.json()["items"]] == [pending.pk]
    assert api.get("/api/v1/approvals", {"status": "maybe"}).status_code == 422


def test_an_agent_session_approves(agent):
    approval = ApprovalFactory()
    client = session(agent)
    response = decide(client, approval.pk, {"decision": "approve", "note": "Long-standing customer."})
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["decided_by_label"], body["note"]) == ("approved", "agt", "Long-standing customer.")
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == (ApprovalStatus.APPROVED, agent)
    event = AuditEvent.objects.get(action="approval.decide")
    assert (event.actor, event.details) == (agent, {"decision": "approve", "note": "Long-standing customer."})


def test_a_session_decision_needs_the_csrf_token(agent):
    approval = ApprovalFactory()
    client = session(agent)
    response = decide(client, approval.pk, {"decision": "approve", "note": ""}, csrf=False)
    assert response.status_code == 403
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_a_manager_reads_but_cannot_decide(manager):
    approval = ApprovalFactory()
    client = session(manager)
    assert client.get(f"/api/v1/approvals/{approval.pk}").status_code == 200
    response = decide(client, approval.pk, {"decision": "approve", "note": "ok"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this (needs approvals.decide_approval)."}
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not AuditEvent.objects.filter(action="approval.decide").exists()


def test_an_api_key_rejects_with_a_note_and_nothing_executes(api):
    customer = CustomerFactory(balance=Decimal("500.00"))
    approval = ApprovalFactory(customer=customer)
    response = decide(api, approval.pk, {"decision": "reject", "note": "Fee was correct."})
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decided_by_label"]) == ("rejected", "api-key:test-system")
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("500.00")


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_rejection_without_a_note_is_422_naming_the_note(api, note):
    approval = ApprovalFactory()
    body = {"decision": "reject"} if note is None else {"decision": "reject", "note": note}
    response = decide(api, approval.pk, body)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"][-1] == "note"
    assert error["msg"] == "Value error, A rejection needs a note saying why."
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


@pytest.mark.parametrize(
    ("body", "field"),
    [({"decision": "maybe", "note": ""}, "decision"), ({"decision": "approve", "note": "x" * 1001}, "note")],
)
def test_an_invalid_decision_is_422(api, body, field):
    approval = ApprovalFactory()
    response = decide(api, approval.pk, body)
    assert response.status_code == 422
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING


def test_deciding_twice_is_409_and_changes_nothing(api, agent):
    approval = ApprovalFactory()
    assert decide(api, approval.pk, {"decision": "approve", "note": "first"}).status_code == 200
    response = decide(session(agent), approval.pk, {"decision": "reject", "note": "second"})
    assert response.status_code == 409
    assert response.json() == {"detail": "This approval was already decided: approved."}
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by_label, approval.note) == ("approved", "api-key:test-system", "first")


def test_deciding_an_expired_approval_is_409_and_it_stays_expired(api):
    expires_at = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    approval = ApprovalFactory(expires_at=expires_at)
    response = decide(api, approval.pk, {"decision": "approve", "note": ""})
    assert response.status_code == 409
    assert response.json() == {
        "detail": f"This approval expired at {expires_at.isoformat()}; it can no longer be decided."
    }
    assert expires_at.isoformat().endswith("+00:00")
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXPIRED
    assert AuditEvent.objects.filter(action="approval.expire", object_id=str(approval.pk)).count() == 1
