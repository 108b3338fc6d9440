"""Pacing outbound calls: Twilio is handed at most TWILIO_CALLS_PER_SECOND, across all workers.

Twilio places an account's calls at its calls-per-second rate (1 unless raised) and queues the
rest on its side, where a call the compliance gate allowed at 20:59 could still ring after 21:00.
So a dial waits here instead, where the gate can look again after the wait (apps/outreach/dialing.py).

Each dial claims the next free send slot: `interval` after the slot before it, or now when the
line is idle. The claim is atomic: in Redis when REDIS_URL is set (a Lua script on Redis's own
clock, so workers on every machine share one line per Twilio account), else in this process (the
embedded default: `make run`'s worker is one process, and its threads share the line). A dial
that reaches its request too long after its slot gives the slot up (`on_time`).
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

# Slots are spaced a little wider than 1/rate, so that a request may reach Twilio up to this many
# seconds later than the one `rate` slots after it (scheduling and network jitter) and still no
# second at Twilio's end sees more than `rate`. It costs 5% of the rate.
ARRIVAL_SLACK = 0.05


@dataclass(frozen=True)
class Slot:
    granted: bool
    # Seconds until the slot; when not granted, until the next free slot (nothing was claimed).
    wait: float
    at: float  # when the slot is, on the line's clock (Redis's, or this process's)
    due: float  # when the slot is, on this process's clock


class Pacer:
    """Hands out send slots `interval` apart; subclasses claim them atomically. `clock` and
    `sleep` are this process's (a test may drive both)."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = (1 + ARRIVAL_SLACK) / rate
        self.clock = clock
        self.sleep = sleep

    def acquire(self, *, max_wait: float) -> Slot:
        """Claim the next free slot and sleep until it, if it comes within `max_wait` seconds.
        Claims nothing when it comes later: the caller tries again after about `wait`."""
        asked_at = self.clock()
        granted, wait, at = self._claim(max_wait)
        slot = Slot(granted, wait, at, due=asked_at + wait)
        if granted and wait > 0:
            self.sleep(wait)
        return slot

    def on_time(self, slot: Slot) -> bool:
        """Whether a request sent now still belongs to `slot`: at most half the slack after it
        (the other half is for the request's way to Twilio). One sent later, after a pause or a
        slow query, would crowd the slots after it."""
        return self.clock() <= slot.due + ARRIVAL_SLACK / 2

    def _claim(self, max_wait: float) -> tuple[bool, float, float]:
        """(granted, wait, slot time on the line's clock)."""
        raise NotImplementedError


class LocalPacer(Pacer):
    """One line for this process (its threads share it), on its clock."""

    def __init__(self, rate: float, **clock_and_sleep: Callable) -> None:
        super().__init__(rate, **clock_and_sleep)
        self._free_at = float("-inf")
        self._lock = threading.Lock()

    def _claim(self, max_wait: float) -> tuple[bool, float, float]:
        with self._lock:
            now = self.clock()
            wait = max(0.0, self._free_at - now)
            if wait > max_wait:
                return False, wait, now + wait
            self._free_at = now + wait + self.interval
            return True, wait, now + wait


# KEYS[1]: when the next slot is free, in microseconds on Redis's clock. ARGV: the interval and
# the longest wait. Returns {granted (1 or 0), wait, slot time}. Integer microseconds throughout:
# Lua prints a double with 14 digits only, too few for microseconds since 1970.
_CLAIM = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2])
local wait = math.max(0, (tonumber(redis.call('GET', KEYS[1])) or 0) - now)
if wait > max_wait then
    return {0, wait, now + wait}
end
local ttl_ms = math.ceil((wait + interval) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', now + wait + interval), 'PX', ttl_ms)
return {1, wait, now + wait}
"""


class RedisPacer(Pacer):
    """One line shared by every process that uses this Redis key."""

    def __init__(self, client: redis.Redis, key: str, rate: float, **clock_and_sleep: Callable) -> None:
        super().__init__(rate, **clock_and_sleep)
        self.key = key
        self._script = client.register_script(_CLAIM)

    def _claim(self, max_wait: float) -> tuple[bool, float, float]:
        granted, wait, at = self._script(keys=[self.key], args=[round(self.interval * 1e6), round(max_wait * 1e6)])
        return bool(granted), wait / 1e6, at / 1e6


_made = threading.Lock()


def dial_pacer() -> Pacer:
    """The pacer for the current settings: one line per Twilio account (its rate is per account)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    key = f"{prefix}:dial-pacer:{settings.TWILIO_ACCOUNT_SID}"
    with _made:  # two threads dialing first must not each make a line of their own
        return _pacer(settings.REDIS_URL, key, settings.TWILIO_CALLS_PER_SECOND)


@lru_cache(maxsize=8)
def _pacer(redis_url: str, key: str, rate: float) -> Pacer:
    if redis_url:
        return RedisPacer(_redis(redis_url), key, rate)
    return LocalPacer(rate)


@lru_cache(maxsize=2)
def _redis(url: str) -> redis.Redis:
    timeout = settings.REDIS_SOCKET_TIMEOUT
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
