"""Sign-in is throttled (django-axes): after AXES_FAILURE_LIMIT wrong passwords a username is held
back from every address and an address for every username, with a 429 page and a log line.

The finding: 50 wrong passwords for supervisor in 14 s, then the right one signed in.
"""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGN_INS = ["/admin/login/", "/accounts/login/"]
RIGHT = "pw-for-tests"
ATTACKER = "203.0.113.7"


def sign_in(client: Client, path: str, username: str, password: str, address: str = ATTACKER):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in_as(client: Client) -> str | None:
    response = client.get("/admin/")
    return response.context["user"].username if response.status_code == 200 else None


def fail(path: str, username: str, times: int, address: str = ATTACKER) -> list[int]:
    client = Client()
    return [sign_in(client, path, username, "wrong", address).status_code for _ in range(times)]


@pytest.fixture
def staff():
    return UserFactory(username="supervisor", is_staff=True), UserFactory(username="other", is_staff=True)


@pytest.mark.parametrize("path", SIGN_INS)
def test_the_right_password_is_refused_after_five_wrong_ones(settings, staff, path):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert fail(path, "supervisor", 5) == [200, 200, 200, 200, 429]

    client = Client()
    response = sign_in(client, path, "supervisor", RIGHT)
    assert response.status_code == 429
    assert response["Retry-After"] == "900"
    assert "Too many sign-in attempts" in response.content.decode()
    assert "Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert signed_in_as(client) is None


def test_fifty_wrong_passwords_are_not_fifty_guesses(staff):
    statuses = fail("/admin/login/", "supervisor", 50)
    assert statuses == [200] * 4 + [429] * 46


def test_the_held_back_user_is_refused_from_another_address_too(staff):
    fail("/accounts/login/", "supervisor", 5)
    assert sign_in(Client(), "/accounts/login/", "supervisor", RIGHT, address="198.51.100.20").status_code == 429


def test_the_held_back_address_is_refused_for_another_user_too(staff):
    fail("/accounts/login/", "supervisor", 5)
    assert sign_in(Client(), "/accounts/login/", "other", RIGHT).status_code == 429


def test_another_user_from_another_address_signs_in(staff):
    fail("/admin/login/", "supervisor", 5)
    client = Client()
    response = sign_in(client, "/admin/login/", "other", RIGHT, address="198.51.100.20")
    assert response.status_code == 302
    assert signed_in_as(client) == "other"


def test_the_lockout_is_logged_with_the_username_and_address(staff, caplog):
    with caplog.at_level(logging.WARNING, logger="axes"):
        fail("/admin/login/", "supervisor", 5)
    lockouts = [r for r in caplog.records if r.name.startswith("axes") and "Locking out" in r.getMessage()]
    assert len(lockouts) == 1
    assert lockouts[0].levelno == logging.WARNING
    message = lockouts[0].getMessage()
    assert 'username: "supervisor"' in message
    assert f'ip_address: "{ATTACKER}"' in message
    assert 'path_info: "/admin/login/"' in message
    assert "wrong" not in message  # the password


def test_sign_in_works_again_after_the_cool_off(staff):
    fail("/admin/login/", "supervisor", 5)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        client = Client()
        assert sign_in(client, "/admin/login/", "supervisor", RIGHT).status_code == 302
        assert signed_in_as(client) == "supervisor"


def test_signing_in_to_another_account_between_guesses_does_not_reset_them(staff):
    # An insider guessing at the supervisor's password from their own desk.
    assert fail("/admin/login/", "supervisor", 4) == [200] * 4
    assert sign_in(Client(), "/admin/login/", "other", RIGHT).status_code == 302
    assert fail("/admin/login/", "supervisor", 1) == [429]
    assert sign_in(Client(), "/admin/login/", "supervisor", RIGHT, address="198.51.100.20").status_code == 429


def test_the_console_sign_in_shares_the_admin_session(staff):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'action="/accounts/login/"' in page.content.decode()
    assert "Content-Security-Policy" in page

    response = sign_in(client, "/accounts/login/", "supervisor", RIGHT)
    assert (response.status_code, response["Location"]) == (302, "/console/")
    assert signed_in_as(client) == "supervisor"

    response = client.post("/accounts/logout/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
    assert signed_in_as(client) is None


def test_a_wrong_password_on_the_console_says_so(staff):
    response = sign_in(Client(), "/accounts/login/", "supervisor", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password." in response.content.decode()
