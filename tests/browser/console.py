"""The product's own web process (daphne, tests/servers.py) for browser tests that need WebSockets.

pytest-django's live server speaks WSGI only. This runs `daphne contactcenter.asgi:application`
as a separate process over the test database; live updates cross from the test process (a
service broadcasting after commit, as a worker would) to the server through the channel layer.
So it needs what production has: PostgreSQL and the Redis channel layer.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from django.conf import settings
from django.db import connections

from tests.servers import Daphne
from tests.telephony import AUTH_TOKEN, PUBLIC_BASE_URL

T = TypeVar("T")


def shared_parts_missing() -> str | None:
    if connections["default"].vendor != "postgresql":
        return "need PostgreSQL, which the server process shares (set DATABASE_URL)"
    if "channels_redis" not in settings.CHANNEL_LAYERS["default"]["BACKEND"]:
        return "need the Redis channel layer, which the server process shares (set REDIS_URL)"
    return None


def require_shared_parts() -> None:
    if missing := shared_parts_missing():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but the live console tests {missing}")
        pytest.skip(f"the live console tests {missing}")


def server_env(**overrides: str) -> dict[str, str]:
    """The server process's environment: the test database, the suite's settings."""
    database = connections["default"].settings_dict
    return {
        **os.environ,
        # The suite's settings (its password hasher signs the test users in), on the test database.
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_DEBUG": "true",  # plain http on loopback: no secure-only cookies
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}"
        ),
        "OPENAI_API_KEY": "",  # the offline engine: deterministic replies
        "OPENAI_BASE_URL": "",
        "AGENT_CONVERSATIONS_PER_HOUR": "1000",
        # Twilio's signatures, as tests/telephony makes them (nothing reaches Twilio's REST API).
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": "",
        "HUMAN_AGENT_NUMBER": "+14155550142",  # a call handed to a person is dialed there
        **overrides,
    }


@pytest.fixture(scope="session")
def asgi_daphne(django_db_setup, tmp_path_factory):
    """Daphne serving the product over the test database, for the whole session (each test
    brings its own data)."""
    require_shared_parts()
    server = Daphne(server_env(), tmp_path_factory.mktemp("daphne") / "daphne.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def asgi_server(asgi_daphne):
    """Its URL."""
    return asgi_daphne.url


_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-orm")


def off_the_browser_thread(work: Callable[..., T], *args, **kwargs) -> T:
    """Run ORM work while Playwright's sync API holds this thread's event loop (where Django
    refuses database calls): on a plain thread, committed as a worker would commit it."""

    def run() -> T:
        try:
            return work(*args, **kwargs)
        finally:
            connections.close_all()

    return _worker.submit(run).result(timeout=60)
