"""Circuit breakers for the endpoints we call (one per LLM model and endpoint), shared by every
process through the cache (Redis in production), so a dead endpoint is skipped everywhere at once.

    closed ── BREAKER_FAILURES failures in a row (timeouts, 5xx) ──▶ open
    open ── BREAKER_COOLDOWN_S later, one caller gets the probe ──▶ probing
    probing ── the probe answers ──▶ closed;  it fails ──▶ open again

`read()` then `state()` tell a caller whether to use an endpoint; `succeeded()`/`failed()`
report how it went. Each returns the transition it caused ("opened", "probe", "closed", or ""), for the
caller's trace. When the cache itself is down, every breaker reads as closed: the endpoints are
still tried, as they would be without breakers.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


class State(StrEnum):
    CLOSED = "closed"  # use it
    PROBE = "probe"  # open, and this caller holds the one probe: try it once
    OPEN = "open"  # skip it


def _key(name: str, part: str) -> str:
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:16]
    return f"breaker:{digest}:{part}"


def _now() -> float:
    return time.time()  # shared across processes and machines: wall-clock seconds


@dataclass(frozen=True)
class Reading:
    open_until: float | None = None  # set while open: when it may be probed
    fails: int = 0  # failures in a row, while closed


def read(names: list[str]) -> dict[str, Reading]:
    """The breakers of `names` (one cache round trip); a name missing from the answer is closed."""
    keys = {_key(name, part): (name, part) for name in names for part in ("open", "fails")}
    try:
        found = cache.get_many(list(keys))
    except Exception:  # the cache is down: no breaker is known to be open
        logger.warning("circuit breakers unreadable (cache down)", exc_info=True)
        return {}
    readings: dict[str, dict[str, float]] = {}
    for key, value in found.items():
        name, part = keys[key]
        readings.setdefault(name, {})[part] = value
    return {
        name: Reading(open_until=float(v["open"]) if "open" in v else None, fails=int(v.get("fails", 0)))
        for name, v in readings.items()
    }


def state(name: str, reading: Reading | None) -> State:
    """Whether to use `name` now, given its reading."""
    if reading is None or reading.open_until is None:
        return State.CLOSED
    if _now() < reading.open_until:
        return State.OPEN
    try:
        # Past the cool-down: exactly one caller, in any process, gets to probe.
        claimed = cache.add(_key(name, "probe"), 1, timeout=max(int(settings.BREAKER_COOLDOWN_S), 1))
    except Exception:
        return State.CLOSED
    if claimed:
        logger.info("circuit breaker %s: probing", name)
        return State.PROBE
    return State.OPEN


def failed(name: str, *, probing: bool = False) -> str:
    """Report a timeout, connection error or 5xx. Returns "opened" when this opened the breaker."""
    try:
        if probing:
            _open(name)
            cache.delete(_key(name, "probe"))
            logger.warning("circuit breaker %s: probe failed, open again", name)
            return "opened"
        fails_key = _key(name, "fails")
        cache.add(fails_key, 0, timeout=int(settings.BREAKER_WINDOW_S))
        fails = cache.incr(fails_key)
        if fails >= settings.BREAKER_FAILURES and cache.get(_key(name, "open")) is None:
            _open(name)
            logger.warning("circuit breaker %s: open after %s failures", name, fails)
            return "opened"
    except Exception:
        logger.warning("circuit breaker %s: not updated (cache down)", name, exc_info=True)
    return ""


def succeeded(name: str, *, probing: bool = False, reading: Reading | None = None) -> str:
    """Report an answer. Returns "closed" when this closed an open breaker (a probe answered).
    A breaker read as closed with no failures is left alone: no write on the healthy path."""
    if not probing and (reading is None or (reading.open_until is None and not reading.fails)):
        return ""
    try:
        cache.delete_many([_key(name, "fails"), _key(name, "open"), _key(name, "probe")])
    except Exception:
        logger.warning("circuit breaker %s: not updated (cache down)", name, exc_info=True)
        return ""
    if probing:
        logger.info("circuit breaker %s: closed (the probe answered)", name)
        return "closed"
    return ""


def _open(name: str) -> None:
    until = _now() + settings.BREAKER_COOLDOWN_S
    # Kept well past the cool-down, so a probe that never reports back still leaves it open.
    cache.set(_key(name, "open"), until, timeout=int(settings.BREAKER_COOLDOWN_S * 10) + 60)
    cache.delete(_key(name, "fails"))
