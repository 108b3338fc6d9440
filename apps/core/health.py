"""Readiness of what a request or task depends on: database, cache, broker, channel layer.

"down" (503) when one of them does not answer. "degraded" (200) when all answer but a part serves
worse than it should: an app registers what it can tell of itself (the live agent: an LLM
endpoint's circuit breaker is open, so calls go to the next model or the offline engine).
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

import kombu
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _cache() -> None:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("a value written to the cache did not read back")
    cache.delete(key)


def _broker() -> None:
    timeout = settings.HEALTH_CHECK_TIMEOUT
    with kombu.Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=timeout,
    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
        channel = conn.default_channel  # opening a channel proves the broker really answers
        channel.close()


async def _channel_layer() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel("healthz.")
    await layer.send(channel, {"type": "health.ping"})
    message = await layer.receive(channel)
    if message.get("type") != "health.ping":
        raise RuntimeError("the channel layer returned another message")


CHECKS: dict[str, Callable[[], Awaitable[None]]] = {
    "database": sync_to_async(_database),
    "cache": sync_to_async(_cache, thread_sensitive=False),
    "broker": sync_to_async(_broker, thread_sensitive=False),
    "channel_layer": _channel_layer,
}


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> str:
    try:
        await asyncio.wait_for(check(), timeout=settings.HEALTH_CHECK_TIMEOUT)
    except Exception as exc:  # any failure means "down"; the log keeps the detail
        logger.warning("health check %s failed: %r", name, exc)
        return f"down ({type(exc).__name__})"
    return "ok"


# name -> a function that says what is degraded ("" when nothing is); apps register theirs when ready.
DEGRADATIONS: dict[str, Callable[[], str]] = {}


def register_degradation(name: str, check: Callable[[], str]) -> None:
    DEGRADATIONS[name] = check


def _degradations() -> dict[str, str]:
    found = {}
    for name, check in DEGRADATIONS.items():
        try:
            if note := check():
                found[name] = f"degraded ({note})"
        except Exception as exc:
            logger.warning("health note %s failed: %r", name, exc)
    return found


async def health_report() -> tuple[str, dict[str, str]]:
    """("ok" | "degraded" | "down", a line per check)."""
    results = await asyncio.gather(*(_run(name, check) for name, check in CHECKS.items()))
    checks = dict(zip(CHECKS, results, strict=True))
    if any(result != "ok" for result in checks.values()):
        return "down", checks
    degraded = await sync_to_async(_degradations, thread_sensitive=False)()
    return ("degraded" if degraded else "ok"), {**checks, **degraded}
