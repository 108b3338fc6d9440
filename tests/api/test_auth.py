"""Who may call the API: other systems with a key, people according to their role."""

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NEW_CUSTOMER = {"name": "Ana Ruiz", "phone": "+13125550188", "account_number": "ACC9000001"}


def test_without_credentials_the_api_answers_401_and_reads_nothing(client):
    CustomerFactory()
    response = client.get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required: send an X-API-Key header or sign in."}
    assert response["WWW-Authenticate"] == 'ApiKey header="X-API-Key"'


def test_a_write_without_credentials_is_401_not_a_csrf_failure(client):
    response = client.post("/api/v1/customers", NEW_CUSTOMER, content_type="application/json")
    assert response.status_code == 401
    assert not Customer.objects.exists()


def test_an_unknown_key_is_401():
    response = Client(headers={"X-API-Key": "cc_deadbeef_not-a-real-key"}).get("/api/v1/customers")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked API key."}


def test_a_revoked_key_is_401(api):
    ApiKey.objects.update(revoked_at=timezone.now())
    assert api.get("/api/v1/customers").status_code == 401


def test_a_valid_key_reads_and_writes(api):
    assert api.get("/api/v1/customers").status_code == 200
    assert api.post("/api/v1/customers", NEW_CUSTOMER, content_type="application/json").status_code == 201


def test_a_key_records_when_it_was_last_used(api):
    assert ApiKey.objects.get().last_used_at is None
    api.get("/api/v1/customers")
    assert ApiKey.objects.get().last_used_at is not None


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_agents_and_managers_read_customers_with_their_session(role, request):
    CustomerFactory(name="Maria Lopez")
    client = Client()
    client.force_login(request.getfixturevalue(role))
    response = client.get("/api/v1/customers")
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["items"]] == ["Maria Lopez"]


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_agents_and_managers_cannot_create_customers(role, request):
    client = Client(enforce_csrf_checks=True)
    client.force_login(request.getfixturevalue(role))
    client.get("/admin/")  # sets the CSRF cookie
    response = client.post(
        "/api/v1/customers",
        NEW_CUSTOMER,
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 403
    assert response.json() == {"detail": "Your role does not allow this (needs customers.add_customer)."}
    assert not Customer.objects.exists()


def test_agents_cannot_read_follow_ups(agent):
    client = Client()
    client.force_login(agent)
    assert client.get("/api/v1/followups").status_code == 403


def test_a_session_write_needs_the_csrf_token(supervisor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    response = client.post("/api/v1/customers", NEW_CUSTOMER, content_type="application/json")
    assert response.status_code == 403
    assert response.json() == {"detail": "CSRF check Failed"}
    assert not Customer.objects.exists()


def test_a_supervisor_session_with_the_csrf_token_creates(supervisor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    client.get("/admin/")
    response = client.post(
        "/api/v1/customers",
        NEW_CUSTOMER,
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value},
    )
    assert response.status_code == 201
    assert Customer.objects.get().name == "Ana Ruiz"


def test_api_docs_are_for_signed_in_staff(client, manager):
    assert client.get("/api/v1/docs").status_code == 302
    client.force_login(manager)
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Contact center API"
