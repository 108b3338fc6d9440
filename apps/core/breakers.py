"""Circuit breakers for the endpoints we call (one per LLM model and endpoint), shared by every
process through the cache (Redis in production), so a dead endpoint is skipped everywhere at once.

    closed ── BREAKER_FAILURES failures, and at least BREAKER_FAILURE_RATE of the requests
              in the window (timeouts, 5xx, 429) ──▶ open
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache as once

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.signals import setting_changed
from django.dispatch import receiver

from apps.core import metrics

logger = logging.getLogger(__name__)


@once
def _store() -> BaseCache:
    """One cache client for the whole process. `django.core.cache.cache` is one per async context:
    each call's turn would open its own Redis connections (measured: about a tenth of a live
    turn's CPU went to connecting)."""
    return caches.create_connection(DEFAULT_CACHE_ALIAS)


@receiver(setting_changed)
def _caches_changed(*, setting: str, **kwargs) -> None:
    if setting == "CACHES":
        _store.cache_clear()
        _recent.clear()


# What this process last read, for live turns (`recent`): reading the cache costs every turn a
# thread hop and a round trip, and breakers change seldom. Another process's open is seen within
# READ_FRESH_S; this process's own reports clear it, so it always sees what it did itself.
READ_FRESH_S = 1.0
_recent: dict[tuple[str, ...], tuple[float, dict[str, "Reading"]]] = {}


def recent(names: list[str]) -> "dict[str, Reading] | None":
    """The breakers of `names` as this process read them less than READ_FRESH_S ago, or None
    (then `read(names, remember=True)`). Memory only: no I/O, safe on an event loop."""
    hit = _recent.get(tuple(names))
    if hit is None or time.monotonic() - hit[0] >= READ_FRESH_S:
        return None
    return hit[1]


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


def read(names: list[str], *, remember: bool = False) -> dict[str, Reading]:
    """The breakers of `names` (one cache round trip); a name missing from the answer is closed.
    With `remember`, `recent` answers for them for a moment."""
    keys = {_key(name, "open"): name for name in names}
    try:
        found = _store().get_many(list(keys))
    except Exception:  # the cache is down: no breaker is known to be open
        logger.warning("circuit breakers unreadable (cache down)", exc_info=True)
        return {}
    readings = {keys[key]: Reading(open_until=float(until)) for key, until in found.items()}
    if remember:
        _recent[tuple(names)] = (time.monotonic(), readings)
    return readings


def state(name: str, reading: Reading | None) -> State:
    """Whether to use `name` now, given its reading."""
    if reading is None or reading.open_until is None:
        return State.CLOSED
    if _now() < reading.open_until:
        return State.OPEN
    try:
        # Past the cool-down: exactly one caller, in any process, gets to probe.
        claimed = _store().add(_key(name, "probe"), 1, timeout=max(int(settings.BREAKER_COOLDOWN_S), 1))
    except Exception:
        return State.CLOSED
    if claimed:
        logger.info("circuit breaker %s: probing", name)
        metrics.BREAKER_CHANGES.labels(name, "probe").inc()
        return State.PROBE
    return State.OPEN


def _count(name: str, part: str, n: int = 1) -> int:
    """Add `n` to this window's count (the window starts with the first count, BREAKER_WINDOW_S long)."""
    key, store = _key(name, part), _store()
    try:
        return store.incr(key, n)  # one round trip while the window lasts
    except ValueError:  # no window yet (or it just ended): start one
        if store.add(key, n, timeout=int(settings.BREAKER_WINDOW_S)):
            return n
        return store.incr(key, n)  # another process started it first


def answered(counts: dict[str, int]) -> None:
    """Report answers counted together (`counts`: per name): each adds to its request count only."""
    for name, n in counts.items():
        try:
            _count(name, "total", n)
        except Exception:
            logger.warning("circuit breaker %s: not updated (cache down)", name, exc_info=True)


def failed(name: str, *, probing: bool = False) -> str:
    """Report a timeout, connection error, 5xx or 429. Returns "opened" when this opened it."""
    _recent.clear()
    try:
        if probing:
            _open(name, again=True)
            _store().delete(_key(name, "probe"))
            logger.warning("circuit breaker %s: probe failed, open again", name)
            metrics.BREAKER_CHANGES.labels(name, "opened").inc()
            return "opened"
        fails, total = _count(name, "fails"), _count(name, "total")
        # Enough failures, and most requests failing: a model that is merely flaky (one request
        # in five hangs) stays in use; the turn's budget covers its slow turns.
        if fails >= settings.BREAKER_FAILURES and fails / total >= settings.BREAKER_FAILURE_RATE and _open(name):
            logger.warning("circuit breaker %s: open after %s of %s requests failed", name, fails, total)
            metrics.BREAKER_CHANGES.labels(name, "opened").inc()
            return "opened"
    except Exception:
        logger.warning("circuit breaker %s: not updated (cache down)", name, exc_info=True)
    return ""


def succeeded(name: str, *, probing: bool = False) -> str:
    """Report an answer. Returns "closed" when this closed an open breaker (a probe answered)."""
    if probing:
        _recent.clear()
    try:
        if probing:
            _store().delete_many([_key(name, part) for part in ("fails", "total", "open", "probe")])
            logger.info("circuit breaker %s: closed (the probe answered)", name)
            metrics.BREAKER_CHANGES.labels(name, "closed").inc()
            return "closed"
        _count(name, "total")
    except Exception:
        logger.warning("circuit breaker %s: not updated (cache down)", name, exc_info=True)
    return ""


def _open(name: str, *, again: bool = False) -> bool:
    """Open it; False when another process just did. The key outlives the cool-down well, so a
    probe that never reports back still leaves it open."""
    until, timeout = _now() + settings.BREAKER_COOLDOWN_S, int(settings.BREAKER_COOLDOWN_S * 10) + 60
    _store().delete_many([_key(name, "fails"), _key(name, "total")])
    if again:  # the probe failed: only its holder gets here
        _store().set(_key(name, "open"), until, timeout=timeout)
        return True
    return _store().add(_key(name, "open"), until, timeout=timeout)


# --- for /metrics: the breakers of the endpoints an app names (apps/agent: its models) ----------

_watched: list[Callable[[], list[str]]] = []


def watch(names: Callable[[], list[str]]) -> None:
    """Report the breakers of `names()` in /metrics (an app registers its endpoints when ready)."""
    _watched.append(names)


def watched() -> list[str]:
    return list(dict.fromkeys(name for names in _watched for name in names()))


def _scraped() -> Iterator[object]:
    names = watched()
    if not names:
        return
    readings = read(names)
    family = metrics.gauge(
        "cc_breaker_open",
        "1 while an endpoint's circuit breaker is open (skipped until a probe answers).",
        ["endpoint"],
    )
    for name in names:
        reading = readings.get(name)
        family.add_metric([name], 1 if reading is not None and reading.open_until is not None else 0)
    yield family


metrics.at_scrape(_scraped)
