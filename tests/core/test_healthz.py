"""/healthz answers 200 only when every dependency answers, and names the one that did not."""

import socket

import pytest
from django.test import override_settings

from apps.core import breakers

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_redis_url() -> str:
    """A Redis URL where nothing listens: a port the OS just handed out and took back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_all_up(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok", "channel_layer": "ok"},
    }
    assert "no-cache" in response["Cache-Control"]


def test_broker_down(client, dead_redis_url):
    with override_settings(CELERY_BROKER_URL=dead_redis_url, CELERY_BROKER_TRANSPORT_OPTIONS={}):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["broker"] == "down (OperationalError)"
    assert {k: v for k, v in body["checks"].items() if k != "broker"} == {
        "database": "ok",
        "cache": "ok",
        "channel_layer": "ok",
    }


def test_cache_down(client, dead_redis_url):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead_redis_url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=caches):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "down (ConnectionError)"
    assert response.json()["checks"]["database"] == "ok"


def test_channel_layer_down(client, dead_redis_url):
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead_redis_url]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("down (")
    assert response.json()["checks"]["broker"] == "ok"


def test_only_get(client):
    assert client.post("/healthz").status_code == 405


def test_an_open_circuit_breaker_is_degraded_not_down(client, settings):
    settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = "http://llm.test/v1", "sk-test"
    settings.LLM_MODEL, settings.LLM_FALLBACK_MODELS, settings.ANALYSIS_MODEL = "primary", ["backup"], "primary"
    settings.BREAKER_FAILURES = 1
    breakers.failed("backup@http://llm.test/v1")

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {
            "database": "ok",
            "cache": "ok",
            "broker": "ok",
            "channel_layer": "ok",
            "llm": "degraded (circuit open: backup@http://llm.test/v1)",
        },
    }
    breakers.succeeded("backup@http://llm.test/v1", probing=True)
    assert client.get("/healthz").json()["status"] == "ok"
