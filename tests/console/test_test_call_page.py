"""The test call page (`/console/test-call/`): for supervisors and agents, with the customers to
pick (searched by name, account number or phone) and the workflows."""

import json
import re

import pytest
from django.test import Client

from apps.console.test_call import CUSTOMERS_SHOWN
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

URL = "/console/test-call/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def options(response) -> list[str]:
    """The customers offered, as the select shows them (the first option is the unknown caller)."""
    return re.findall(r'<option value="\d+"[^>]*>([^<]*)</option>', response.content.decode())


@pytest.fixture
def customers():
    return [
        CustomerFactory(name="Maria Lopez", account_number="ACC0040042", phone="+14155550123"),
        CustomerFactory(name="John Smith", account_number="ACC0077001", phone="+14155550777"),
    ]


@pytest.mark.parametrize("role", ["supervisor", "agent"])
def test_supervisors_and_agents_open_it(request, role, customers):
    response = signed_in(request.getfixturevalue(role)).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert options(response) == ["John Smith · ACC0077001", "Maria Lopez · ACC0040042"]
    assert re.findall(r'name="workflow" id="workflow-\w+" value="(\w+)" data-directions="([\w ]+)"', html) == [
        ("collections", "inbound outbound"),
        ("roadside", "inbound outbound"),
    ]
    assert re.findall(r'name="direction" id="direction-\w+" value="(\w+)"', html) == ["inbound", "outbound"]
    # Its script and stylesheet are files (the CSP allows no inline script or style).
    assert '<script src="/static/console/test_call.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/console/test_call.css">' in html
    labels = json.loads(re.search(r'id="test-call-labels" type="application/json">(.*?)</script>', html).group(1))
    assert labels["titles"]["promise_record"] == "Would record a promise"
    assert (labels["fields"]["amount"], labels["fields"]["due_date"]) == ("Amount", "Due date")


def test_managers_may_not(manager):
    response = signed_in(manager).get(URL)
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get(URL)
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/console/test-call/")


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("maria", ["Maria Lopez · ACC0040042"]),
        ("ACC0077", ["John Smith · ACC0077001"]),
        ("0040042", ["Maria Lopez · ACC0040042"]),
        ("(415) 555-0777", ["John Smith · ACC0077001"]),
        ("nobody", []),
    ],
)
def test_the_customer_search_finds_by_name_account_number_and_phone(agent, customers, query, found):
    response = signed_in(agent).get(URL, {"q": query})
    assert options(response) == found
    html = response.content.decode()
    assert f'value="{query}"' in html
    if found:  # the one found is chosen already
        assert re.search(r'<option value="\d+"[^>]* selected>' + re.escape(found[0]), html)


def test_at_most_fifty_customers_are_listed(agent):
    CustomerFactory.create_batch(CUSTOMERS_SHOWN + 1)
    response = signed_in(agent).get(URL)
    assert len(options(response)) == CUSTOMERS_SHOWN
    assert f"the first {CUSTOMERS_SHOWN} by name; search to narrow" in response.content.decode()
