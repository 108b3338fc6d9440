from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.analysis.models import CallAnalysis
from apps.core.models import AuditEvent
from apps.outreach.models import FollowUp
from contactcenter.api import api as ninja_api
from tests.factories import (
    CallFactory,
    CustomerFactory,
    FollowUpFactory,
    PromiseFactory,
    TranscriptEntryFactory,
)

pytestmark = pytest.mark.django_db


def test_calls_list_filters_by_customer(api):
    maria, john = CustomerFactory(name="Maria"), CustomerFactory(name="John")
    first = CallFactory(customer=maria, started_at=timezone.now() - timedelta(days=2))
    second = CallFactory(customer=maria, started_at=timezone.now() - timedelta(days=1))
    CallFactory(customer=john)
    body = api.get(f"/api/v1/calls?customer_id={maria.pk}").json()
    assert body["count"] == 2
    assert [c["id"] for c in body["items"]] == [second.pk, first.pk]  # newest first
    assert "transcript" not in body["items"][0]


def test_test_calls_are_marked_and_can_be_left_out(api):
    maria = CustomerFactory(name="Maria")
    real = CallFactory(customer=maria, started_at=timezone.now() - timedelta(days=1))
    test = CallFactory(customer=maria, is_test=True)

    listed = api.get(f"/api/v1/calls?customer_id={maria.pk}").json()["items"]
    real_only = api.get(f"/api/v1/calls?customer_id={maria.pk}&is_test=false").json()["items"]
    tests_only = api.get("/api/v1/calls?is_test=true").json()["items"]

    assert [(c["id"], c["is_test"]) for c in listed] == [(test.pk, True), (real.pk, False)]
    assert [c["id"] for c in real_only] == [real.pk]
    assert [c["id"] for c in tests_only] == [test.pk]
    assert api.get(f"/api/v1/calls/{test.pk}").json()["is_test"] is True


def test_call_detail_has_the_transcript_in_order_and_the_analysis(api):
    call = CallFactory()
    TranscriptEntryFactory(call=call, sequence=1, speaker="customer", text="I can pay on Friday.")
    TranscriptEntryFactory(call=call, sequence=0, speaker="agent", text="Hi Maria, this is the billing team.")
    CallAnalysis.objects.create(call=call, status="completed", sentiment="positive", intent="promise_to_pay")
    body = api.get(f"/api/v1/calls/{call.pk}").json()
    assert body["twilio_call_sid"] == call.twilio_call_sid
    assert [(e["sequence"], e["speaker"], e["text"]) for e in body["transcript"]] == [
        (0, "agent", "Hi Maria, this is the billing team."),
        (1, "customer", "I can pay on Friday."),
    ]
    assert (body["analysis"]["sentiment"], body["analysis"]["intent"]) == ("positive", "promise_to_pay")


def test_call_detail_without_analysis_and_404(api):
    call = CallFactory()
    assert api.get(f"/api/v1/calls/{call.pk}").json()["analysis"] is None
    response = api.get(f"/api/v1/calls/{call.pk + 1}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"No call with id {call.pk + 1}."}


def test_call_detail_is_documented_as_it_always_was():
    """Served from above the calls app (apps/analysis/api.py), documented as when the calls app
    served it: same path, operation id, tags, security and response."""
    schema = ninja_api.get_openapi_schema(path_prefix="/api/v1/")
    assert [path for path in schema["paths"] if path.startswith("/api/v1/calls")] == [
        "/api/v1/calls",
        "/api/v1/calls/{call_id}",
        "/api/v1/calls/outbound",
    ]
    assert schema["paths"]["/api/v1/calls/{call_id}"] == {
        "get": {
            "operationId": "apps_calls_api_get_call",
            "summary": "Get Call",
            "parameters": [
                {"in": "path", "name": "call_id", "schema": {"title": "Call Id", "type": "integer"}, "required": True}
            ],
            "responses": {
                200: {
                    "description": "OK",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallDetailOut"}}},
                }
            },
            "tags": ["calls"],
            "security": [{"ApiKeyAuth": []}, {"RoleSessionAuth": []}],
        }
    }
    detail = schema["components"]["schemas"]["CallDetailOut"]["properties"]
    assert list(detail)[-2:] == ["transcript", "analysis"]
    assert detail["analysis"] == {"anyOf": [{"$ref": "#/components/schemas/CallAnalysisOut"}, {"type": "null"}]}
    assert schema["components"]["schemas"]["CallAnalysisOut"]["required"] == [
        "status",
        "analyzer",
        "sentiment",
        "sentiment_score",
        "intent",
        "summary",
        "promise",
        "next_action",
        "confidence",
        "needs_review",
        "updated_at",
    ]


def test_promises_filter_by_customer_and_status(api):
    maria = CustomerFactory()
    kept = PromiseFactory(customer=maria, status="kept", amount_paid="300.00")
    PromiseFactory(customer=maria, status="pending")
    PromiseFactory(status="kept", amount_paid="300.00")
    body = api.get(f"/api/v1/promises?customer_id={maria.pk}&status=kept").json()
    assert body["count"] == 1
    item = body["items"][0]
    assert (item["id"], item["amount"], item["amount_paid"], item["status"]) == (kept.pk, "300.00", "300.00", "kept")


def test_promises_reject_an_unknown_status(api):
    response = api.get("/api/v1/promises?status=maybe")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "status"]


def test_create_follow_up(api):
    customer = CustomerFactory()
    promise = PromiseFactory(customer=customer)
    due = timezone.now().replace(microsecond=0) + timedelta(days=3)
    response = api.post(
        "/api/v1/followups",
        {
            "customer_id": customer.pk,
            "promise_id": promise.pk,
            "due_at": due.isoformat(),
            "reason": "Confirm the payment arrived",
            "requested_by_customer": True,
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    followup = FollowUp.objects.get()
    assert response.json()["id"] == followup.pk
    assert (followup.customer, followup.promise, followup.due_at, followup.status, followup.attempts) == (
        customer,
        promise,
        due,
        "scheduled",
        0,
    )
    assert followup.requested_by_customer is True
    assert AuditEvent.objects.filter(action="followup.schedule", object_id=str(followup.pk)).count() == 1
    assert api.get(f"/api/v1/followups/{followup.pk}").json()["reason"] == "Confirm the payment arrived"


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"customer_id": 999999}, ["body", "customer_id"]),
        ({"promise_id": "other"}, ["body", "promise_id"]),
        ({"due_at": "2026-12-01T10:00:00"}, ["body", "payload", "due_at"]),
        ({"reason": ""}, ["body", "payload", "reason"]),
        ({"max_attempts": 0}, ["body", "payload", "max_attempts"]),
    ],
)
def test_invalid_follow_ups_get_a_422_naming_the_field(api, change, loc):
    customer = CustomerFactory()
    body = {"customer_id": customer.pk, "due_at": "2026-12-01T10:00:00Z", "reason": "Check in"}
    if change.get("promise_id") == "other":
        change = {"promise_id": PromiseFactory().pk}  # another customer's promise
    response = api.post("/api/v1/followups", {**body, **change}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc
    assert not FollowUp.objects.exists()


def test_follow_ups_list_filters(api):
    customer = CustomerFactory()
    FollowUpFactory(customer=customer, status="blocked", block_reason="Outside the calling window")
    FollowUpFactory(customer=customer)
    body = api.get(f"/api/v1/followups?customer_id={customer.pk}&status=blocked").json()
    assert body["count"] == 1
    assert body["items"][0]["block_reason"] == "Outside the calling window"
    assert date.fromisoformat(body["items"][0]["due_at"][:10]) >= timezone.now().date()
