"""Bad input gets a 4xx JSON `{"detail": ...}` answer, never a 500 or Django's HTML error page.

Runs on SQLite and on PostgreSQL (which refuses NUL characters and integers past 64 bits).
"""

import json

import pytest
from django.db import connection

from apps.customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LISTS = ["customers", "calls", "promises", "payments", "followups", "approvals"]
HUGE = "99999999999999999999"  # past a 64-bit integer


def assert_json_error(response, status: int) -> object:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert response["Cache-Control"] == "no-store"
    return response.json()["detail"]


@pytest.mark.parametrize("name", LISTS)
def test_an_offset_past_any_list_is_refused_on_every_list(api, name):
    detail = assert_json_error(api.get(f"/api/v1/{name}?offset={HUGE}"), 422)
    assert [(e["loc"], e["type"]) for e in detail] == [(["query", "offset"], "less_than_equal")]


@pytest.mark.parametrize("name", LISTS)
def test_the_largest_offset_allowed_answers_an_empty_page(api, name):
    response = api.get(f"/api/v1/{name}?offset=1000000000&limit=200")
    assert response.status_code == 200
    assert response.json()["items"] == []


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=201", "limit"), ("offset=-1", "offset")])
def test_limits_and_offsets_out_of_range_are_refused(api, query, field):
    detail = assert_json_error(api.get(f"/api/v1/customers?{query}"), 422)
    assert [e["loc"] for e in detail] == [["query", field]]


def test_a_nul_character_in_a_search_is_refused(api):
    CustomerFactory(name="Maria Lopez")
    detail = assert_json_error(api.get("/api/v1/customers?q=Maria%00"), 400)
    assert detail == "Query parameters must not contain NUL (\\u0000) characters."


def test_a_nul_character_in_a_query_key_is_refused(api):
    detail = assert_json_error(api.get("/api/v1/calls?x%00=1"), 400)
    assert detail == "Query parameters must not contain NUL (\\u0000) characters."


def test_a_nul_character_in_a_json_body_is_refused_and_nothing_is_written(api):
    body = {
        "name": "Maria Lopez",
        "phone": "+14155550123",
        "account_number": "ACC1000001",
        "profile": {"notes": ["fine", {"deep": "a\u0000b"}]},
    }
    detail = assert_json_error(api.post("/api/v1/customers", body, content_type="application/json"), 400)
    assert detail == "The request body must not contain NUL (\\u0000) characters."
    assert not Customer.objects.exists()


def test_a_nul_character_in_a_json_key_is_refused(api):
    customer = CustomerFactory()
    body = json.dumps({"profile": {"k\u0000": 1}})
    response = api.patch(f"/api/v1/customers/{customer.pk}", body, content_type="application/json")
    assert assert_json_error(response, 400) == "The request body must not contain NUL (\\u0000) characters."


def test_a_body_over_the_upload_limit_is_refused_as_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"name": "x" * 2000, "phone": "+14155550123"})
    detail = assert_json_error(api.post("/api/v1/customers", body, content_type="application/json"), 413)
    assert detail == "The request body is too large: the limit is 1000 bytes."
    assert not Customer.objects.exists()


def test_a_ten_megabyte_body_is_refused_as_json(api):
    body = json.dumps({"name": "x" * (10 * 1024 * 1024), "phone": "+14155550123"})
    detail = assert_json_error(api.post("/api/v1/customers", body, content_type="application/json"), 413)
    assert detail.startswith("The request body is too large")
    assert not Customer.objects.exists()


def test_a_body_that_is_not_json_is_refused_as_json(api):
    detail = assert_json_error(api.post("/api/v1/customers", "{not json", content_type="application/json"), 400)
    assert detail == "Cannot parse request body"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/customers/{HUGE}",
        f"/api/v1/calls/{HUGE}",
        f"/api/v1/followups/{HUGE}",
        f"/api/v1/approvals/{HUGE}",
    ],
)
def test_an_id_past_a_64_bit_integer_is_not_found(api, path):
    assert assert_json_error(api.get(path), 404)


@pytest.mark.parametrize("name", ["calls", "promises", "payments", "followups"])
def test_a_customer_filter_past_a_64_bit_integer_is_answered_cleanly(api, name):
    response = api.get(f"/api/v1/{name}?customer_id={HUGE}")
    if connection.vendor == "postgresql":
        assert response.status_code == 200
        assert response.json() == {"items": [], "count": 0}
    else:  # SQLite cannot take the number at all
        assert assert_json_error(response, 422) == "A number in the request is out of range."


def test_an_unknown_api_path_answers_json_not_found(api):
    # Django answers unknown paths itself (HTML by default); under /api/ the answer is still JSON.
    assert assert_json_error(api.get("/api/v1/no-such-thing"), 404) == "Not found: /api/v1/no-such-thing"
