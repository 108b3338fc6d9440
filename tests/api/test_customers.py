import pytest

from apps.core.models import AuditEvent
from apps.customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

FULL = {
    "name": "Maria Lopez",
    "phone": "+14155550123",
    "email": "maria@example.com",
    "timezone": "America/Los_Angeles",
    "language": "es-US",
    "account_number": "ACC1000001",
    "balance": "1250.50",
    "days_overdue": 45,
    "risk_category": "medium",
    "collection_stage": "middle",
    "profile": {"vehicle": {"make": "Honda", "model": "Civic", "year": 2019}},
    "consent_automated_calls": True,
    "consent_given_at": "2026-01-15T10:00:00Z",
    "consent_source": "web_form",
}


def post(api, body):
    return api.post("/api/v1/customers", body, content_type="application/json")


def test_create_returns_the_stored_customer(api):
    response = post(api, FULL)
    assert response.status_code == 201
    body = response.json()
    customer = Customer.objects.get()
    assert body["id"] == customer.pk
    assert {k: body[k] for k in FULL} == {**FULL, "consent_given_at": "2026-01-15T10:00:00Z"}
    assert body["currency"] == "USD"
    assert body["do_not_call"] is False
    assert str(customer.balance) == "1250.50"
    assert customer.profile["vehicle"]["model"] == "Civic"


def test_create_is_audited_with_the_key_as_actor(api):
    customer_id = post(api, FULL).json()["id"]
    event = AuditEvent.objects.get(action="customer.create")
    assert (event.actor_label, event.object_type, event.object_id) == (
        "api-key:test-system",
        "customers.customer",
        str(customer_id),
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "415-555-0123", "must be an E.164 phone number"),
        ("phone", "+1415555012", "is not a valid phone number for its country code"),
        ("timezone", "Mars/Olympus_Mons", "must be an IANA time zone name"),
        ("timezone", "PST8PDTX", "must be an IANA time zone name"),
        ("email", "maria-at-example", "must be an email address"),
        ("days_overdue", -1, "greater than or equal to 0"),
        ("collection_stage", "whenever", "Input should be"),
        ("balance", "12.345", "decimal places"),
    ],
)
def test_invalid_fields_get_a_422_naming_the_field(api, field, value, message):
    response = post(api, {**FULL, field: value})
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert [e["loc"] for e in errors] == [["body", "payload", field]]
    assert message in errors[0]["msg"]
    assert not Customer.objects.exists()


def test_consent_without_when_and_how_is_refused(api):
    response = post(api, {**FULL, "consent_given_at": None})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body"],
            "msg": "Consent to automated calls needs when and how it was given.",
            "type": "value_error",
        }
    ]
    assert not Customer.objects.exists()


def test_a_naive_consent_time_is_refused(api):
    response = post(api, {**FULL, "consent_given_at": "2026-01-15T10:00:00"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "consent_given_at"]


def test_a_duplicate_phone_is_a_409_and_changes_nothing(api):
    existing = CustomerFactory(phone=FULL["phone"], name="Someone Else")
    response = post(api, FULL)
    assert response.status_code == 409
    assert response.json() == {"detail": "Another customer already has phone number +14155550123."}
    assert list(Customer.objects.values_list("name", flat=True)) == [existing.name]


def test_a_duplicate_account_number_is_a_409(api):
    CustomerFactory(account_number=FULL["account_number"])
    response = post(api, FULL)
    assert response.status_code == 409
    assert response.json() == {"detail": "Another customer already has account number ACC1000001."}


def test_get_and_404(api):
    customer = CustomerFactory(name="Maria Lopez")
    assert api.get(f"/api/v1/customers/{customer.pk}").json()["name"] == "Maria Lopez"
    response = api.get(f"/api/v1/customers/{customer.pk + 1}")
    assert response.status_code == 404
    assert response.json() == {"detail": "No Customer matches the given query."}


def test_patch_changes_only_what_is_sent_and_audits_the_change(api):
    customer = CustomerFactory(name="Maria Lopez", days_overdue=45, timezone="America/Los_Angeles")
    response = api.patch(
        f"/api/v1/customers/{customer.pk}",
        {"days_overdue": 60, "timezone": "America/Chicago"},
        content_type="application/json",
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.name, customer.days_overdue, customer.timezone) == ("Maria Lopez", 60, "America/Chicago")
    event = AuditEvent.objects.get(action="customer.update")
    assert event.details == {
        "changes": {"days_overdue": [45, 60], "timezone": ["America/Los_Angeles", "America/Chicago"]}
    }


def test_patch_with_a_bad_timezone_is_a_422_and_changes_nothing(api):
    customer = CustomerFactory(timezone="America/Los_Angeles")
    response = api.patch(f"/api/v1/customers/{customer.pk}", {"timezone": "Nowhere"}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "timezone"]
    customer.refresh_from_db()
    assert customer.timezone == "America/Los_Angeles"
    assert not AuditEvent.objects.filter(action="customer.update").exists()


def test_patch_to_another_customers_phone_is_a_409(api):
    CustomerFactory(phone="+14155550111")
    customer = CustomerFactory(phone="+14155550112")
    response = api.patch(f"/api/v1/customers/{customer.pk}", {"phone": "+14155550111"}, content_type="application/json")
    assert response.status_code == 409
    customer.refresh_from_db()
    assert customer.phone == "+14155550112"


def test_patch_turning_consent_on_needs_when_and_how(api):
    customer = CustomerFactory()
    response = api.patch(
        f"/api/v1/customers/{customer.pk}", {"consent_automated_calls": True}, content_type="application/json"
    )
    assert response.status_code == 422
    customer.refresh_from_db()
    assert customer.consent_automated_calls is False


def test_patch_null_for_a_required_field_is_a_422(api):
    customer = CustomerFactory(name="Maria Lopez")
    response = api.patch(f"/api/v1/customers/{customer.pk}", {"name": None}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "name"]


def test_list_is_paginated_and_filtered(api):
    for i in range(5):
        CustomerFactory(name=f"Customer {i}", collection_stage="late" if i % 2 else "early")
    page = api.get("/api/v1/customers?limit=2&offset=2").json()
    assert page["count"] == 5
    assert [c["name"] for c in page["items"]] == ["Customer 2", "Customer 3"]
    late = api.get("/api/v1/customers?collection_stage=late").json()
    assert [c["name"] for c in late["items"]] == ["Customer 1", "Customer 3"]


def test_list_rejects_a_limit_above_the_maximum(api):
    response = api.get("/api/v1/customers?limit=1000")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]
