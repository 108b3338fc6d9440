import pytest
from django.test import Client

from apps.accounts.roles import AGENTS, MANAGERS, SUPERVISORS
from apps.accounts.services import api_key_create, user_set_role
from tests.factories import UserFactory


def _user_with_role(username: str, role: str):
    user = UserFactory(username=username)
    user_set_role(user=user, role=role)
    return user


@pytest.fixture
def supervisor(db):
    return _user_with_role("sup", SUPERVISORS)


@pytest.fixture
def agent(db):
    return _user_with_role("agt", AGENTS)


@pytest.fixture
def manager(db):
    return _user_with_role("mgr", MANAGERS)


@pytest.fixture
def raw_api_key(db) -> str:
    _, raw = api_key_create(name="test-system")
    return raw


@pytest.fixture
def api(raw_api_key) -> Client:
    """A client that authenticates as another system, with an API key."""
    return Client(headers={"X-API-Key": raw_api_key})
