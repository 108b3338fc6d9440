"""The dial pacer: send slots (1 + slack) / rate apart, claimed atomically in this process or in Redis."""

import itertools
import json
import math
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import redis

from apps.twilio.pacing import ARRIVAL_SLACK, LocalPacer, RedisPacer, dial_pacer
from tests.telephony import ACCOUNT_SID

RATE = 20
INTERVAL = (1 + ARRIVAL_SLACK) / RATE  # 52.5 ms
REDIS_URL = os.environ.get("REDIS_URL", "")
ROOT = Path(__file__).resolve().parents[2]
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (set REDIS_URL)")


class Clock:
    """Stands still until someone sleeps on it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def no_sleep(seconds: float) -> None:
    """For callers that would each sleep in their own worker: here only the slots matter."""


# --- in this process ----------------------------------------------------------------------------


def test_callers_at_one_instant_get_slots_one_interval_apart():
    clock = Clock()
    pacer = LocalPacer(RATE, clock=clock, sleep=no_sleep)
    slots = [pacer.acquire(max_wait=1) for _ in range(4)]
    assert [s.granted for s in slots] == [True] * 4
    assert [s.wait for s in slots] == pytest.approx([0, INTERVAL, 2 * INTERVAL, 3 * INTERVAL])
    assert [s.at for s in slots] == pytest.approx([1000 + n * INTERVAL for n in range(4)])


def test_a_caller_sleeps_until_its_slot_and_an_idle_line_sends_at_once():
    clock = Clock()
    pacer = LocalPacer(RATE, clock=clock, sleep=clock.sleep)
    first, second = pacer.acquire(max_wait=1), pacer.acquire(max_wait=1)
    assert (first.wait, first.at, first.due) == (0.0, 1000.0, 1000.0)
    assert (second.wait, second.at, second.due) == pytest.approx((INTERVAL, 1000 + INTERVAL, 1000 + INTERVAL))
    assert clock.slept == [pytest.approx(INTERVAL)]
    clock.now += 5  # the line went idle
    assert pacer.acquire(max_wait=1).wait == 0.0
    assert len(clock.slept) == 1


def test_a_caller_that_stalls_past_its_slot_is_no_longer_on_time_for_it():
    clock = Clock()
    pacer = LocalPacer(RATE, clock=clock, sleep=clock.sleep)
    slot = pacer.acquire(max_wait=1)
    clock.now += ARRIVAL_SLACK / 2  # the claim and the gate took this long
    assert pacer.on_time(slot)
    clock.now += 0.001  # a pause: sent now, it would come too close to the slots after it
    assert not pacer.on_time(slot)


def test_a_slot_further_off_than_the_longest_wait_is_not_claimed():
    clock = Clock()
    pacer = LocalPacer(RATE, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire(max_wait=1)
    clock.now = 1000.0  # three callers in other threads are asleep until their slots
    refused = pacer.acquire(max_wait=2 * INTERVAL)
    assert (refused.granted, refused.wait) == (False, pytest.approx(3 * INTERVAL))
    assert pacer.acquire(max_wait=1).wait == pytest.approx(3 * INTERVAL)  # the refusal took nothing


def test_threads_share_the_line_without_losing_or_sharing_a_slot():
    pacer = LocalPacer(RATE, clock=Clock(), sleep=no_sleep)
    waits: list[float] = []
    barrier = threading.Barrier(8)

    def dial() -> None:
        barrier.wait()
        for _ in range(50):
            waits.append(pacer.acquire(max_wait=3600).wait)

    threads = [threading.Thread(target=dial) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(waits) == pytest.approx([n * INTERVAL for n in range(400)])


def test_the_settings_choose_the_pacer(settings):
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_CALLS_PER_SECOND = 5
    settings.REDIS_URL = ""
    local = dial_pacer()
    assert isinstance(local, LocalPacer)
    assert local.interval == pytest.approx(1.05 / 5)
    assert dial_pacer() is local  # one line per process
    settings.REDIS_URL = "redis://127.0.0.1:6379/7"
    shared = dial_pacer()
    assert isinstance(shared, RedisPacer)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    assert shared.key == f"{prefix}:dial-pacer:{ACCOUNT_SID}"  # Twilio's rate is per account


# --- shared through Redis -----------------------------------------------------------------------


@pytest.fixture
def key():
    name = f"test-pacer:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(REDIS_URL).delete(name)


# A worker process of its own: its own connection and pacer, the same key. Prints its slots.
CLAIMER = """
import json, sys
import redis
from apps.twilio.pacing import RedisPacer
url, key, rate, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
pacer = RedisPacer(redis.Redis.from_url(url, socket_timeout=3), key, rate, sleep=lambda seconds: None)
sys.stdin.read()  # all start together
print(json.dumps([pacer.acquire(max_wait=3600).at for _ in range(count)]))
"""


@needs_redis
def test_processes_sharing_a_redis_line_get_distinct_slots_one_interval_apart(key):
    processes = [
        subprocess.Popen(  # noqa: S603 (our own script, our own interpreter)
            [sys.executable, "-c", CLAIMER, REDIS_URL, key, str(RATE), "25"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate("", timeout=30)[0] for process in processes]
    slots = sorted(at for output in outputs for at in json.loads(output))
    assert len(slots) == 100
    # All claimed within a moment, so the line stayed busy: each slot exactly one interval on.
    assert [b - a for a, b in itertools.pairwise(slots)] == pytest.approx([INTERVAL] * 99, abs=2e-6)


@needs_redis
def test_a_redis_slot_further_off_than_the_longest_wait_is_not_claimed(key):
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    pacer = RedisPacer(client, key, RATE, sleep=no_sleep)
    first = pacer.acquire(max_wait=1)
    second = pacer.acquire(max_wait=1)
    assert (first.granted, first.wait, second.granted) == (True, 0.0, True)
    assert second.at == pytest.approx(first.at + INTERVAL, abs=2e-6)
    refused = pacer.acquire(max_wait=0.01)
    assert (refused.granted, refused.at) == (False, pytest.approx(first.at + 2 * INTERVAL, abs=2e-6))
    assert pacer.acquire(max_wait=1).at == pytest.approx(first.at + 2 * INTERVAL, abs=2e-6)
    # An idle line leaves nothing behind: the key expires a second after its last slot.
    assert 0 < client.pttl(key) <= 1000 + math.ceil(3 * INTERVAL * 1000)


@needs_redis
def test_a_redis_caller_really_sleeps_until_its_slot(key):
    pacer = RedisPacer(redis.Redis.from_url(REDIS_URL, socket_timeout=3), key, RATE)
    began = time.monotonic()
    pacer.acquire(max_wait=1)
    second = pacer.acquire(max_wait=1)
    assert second.wait > 0.04
    assert time.monotonic() - began >= second.wait
