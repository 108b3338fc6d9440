"""Shared fixtures.

A test that needs real transactions (threads, the live server, channels' database hops) uses
`django_db(transaction=True, serialized_rollback=True)`: always with serialized rollback, since a
flush without it recreates content types that the next serialized test would then duplicate,
and drops the roles the data migrations made.
"""

import copy
import os
import uuid

import pytest
from django.db import connection
from django.test import Client

from apps.accounts.roles import AGENTS, MANAGERS, SUPERVISORS
from apps.accounts.services import api_key_create, user_set_role
from contactcenter.celery import app as celery_app
from tests.broker import record_sent_tasks
from tests.factories import UserFactory
from tests.fakes.openai_server import FakeOpenAI
from tests.telephony import use_fake_twilio
from tests.writers import WriteLog


@pytest.fixture(autouse=True, scope="session")
def private_broker():
    """Tasks the code sends after commit go to an in-process broker that no worker reads: a test
    run never leaves work for a real worker. A test that runs a worker gives it its own broker."""
    celery_app.conf.broker_url = "memory://"


_writes = WriteLog()


@pytest.fixture(autouse=True, scope="session")
def write_log():
    """Every write the suite makes is checked against its model's app (tests/writers.py)."""
    _writes.install()
    yield _writes
    _writes.uninstall()


@pytest.fixture(autouse=True)
def one_writer_per_model(write_log):
    """Fails the test in which a module of one app wrote another app's model."""
    write_log.take()
    yield
    if foreign := write_log.take():
        listed = "\n  ".join(sorted({str(write) for write in foreign}))
        pytest.fail(f"a module wrote another app's model (call that app's service instead):\n  {listed}")


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Each test gets its own cache namespace: counters (rate limits) never leak between tests or runs."""
    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture
def fake_llm(settings):
    """The local OpenAI-compatible server, as the chain's `primary` model with `backup` behind it."""
    server = FakeOpenAI().start()
    settings.OPENAI_BASE_URL = server.url
    settings.OPENAI_API_KEY = "sk-test"
    settings.LLM_MODEL = "primary"
    settings.LLM_FALLBACK_MODELS = ["backup"]
    # Within the turn's 1.2 s budget a model that hangs leaves the next one time to answer.
    settings.LLM_FIRST_TOKEN_TIMEOUT = 0.5
    settings.LLM_CONNECT_TIMEOUT = 1.0
    settings.LLM_STREAM_IDLE_TIMEOUT = 1.0
    settings.LLM_PRICES = {"primary": [1.0, 2.0], "backup": [0.5, 1.0]}
    yield server
    server.stop()


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


def pytest_collection_modifyitems(config, items):
    """`postgres` tests need PostgreSQL: skipped elsewhere, unless REQUIRE_POSTGRES=1 makes that a failure."""
    if connection.vendor == "postgresql":
        return
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL")
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))


@pytest.fixture
def fake_twilio(settings):
    """Twilio's REST API, faked locally (tests/fakes/twilio_server.py), the settings pointing at it."""
    fake = use_fake_twilio(settings)
    yield fake
    fake.stop()


@pytest.fixture
def sent(monkeypatch):
    """What would have gone to the broker (tests/broker.py)."""
    return record_sent_tasks(monkeypatch)
