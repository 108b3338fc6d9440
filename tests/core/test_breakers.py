"""Circuit breakers, shared through the cache: open after repeated failures, one probe after the
cool-down, closed when it answers; a cache that is down leaves every endpoint in use."""

import socket

import time_machine
from django.test import override_settings

from apps.core import breakers
from apps.core.breakers import State

NAME = "primary@http://llm.internal/v1"


def current(name: str = NAME) -> State:
    return breakers.state(name, breakers.read([name]).get(name))


def test_enough_failures_open_it_when_most_requests_fail(settings):
    settings.BREAKER_FAILURES, settings.BREAKER_FAILURE_RATE = 3, 0.5
    assert [breakers.failed(NAME), breakers.failed(NAME), breakers.failed(NAME)] == ["", "", "opened"]
    assert current() == State.OPEN
    assert breakers.failed(NAME) == ""  # already open: reported once


def test_a_flaky_endpoint_that_mostly_answers_stays_in_use(settings):
    settings.BREAKER_FAILURES, settings.BREAKER_FAILURE_RATE = 3, 0.5
    for _ in range(5):  # one request in three fails: 5 failures of 15
        assert [breakers.succeeded(NAME), breakers.succeeded(NAME), breakers.failed(NAME)] == ["", "", ""]
    assert current() == State.CLOSED
    assert [breakers.failed(NAME) for _ in range(5)] == [""] * 4 + ["opened"]  # now 10 of 20


def test_after_the_cool_down_exactly_one_caller_probes_and_its_answer_closes_it(settings):
    settings.BREAKER_FAILURES, settings.BREAKER_COOLDOWN_S = 1, 30
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        assert breakers.failed(NAME) == "opened"
        clock.shift(29)
        assert current() == State.OPEN
        clock.shift(2)
        assert [current(), current(), current()] == [State.PROBE, State.OPEN, State.OPEN]
        assert breakers.succeeded(NAME, probing=True) == "closed"
        assert current() == State.CLOSED
        assert breakers.read([NAME]) == {}
        assert breakers.failed(NAME) == "opened"  # counting starts afresh (BREAKER_FAILURES is 1 here)


def test_a_failed_probe_opens_it_for_another_cool_down(settings):
    settings.BREAKER_FAILURES, settings.BREAKER_COOLDOWN_S = 1, 30
    with time_machine.travel(1_800_000_000, tick=False) as clock:
        breakers.failed(NAME)
        clock.shift(31)
        assert current() == State.PROBE
        assert breakers.failed(NAME, probing=True) == "opened"
        assert current() == State.OPEN
        clock.shift(31)
        assert current() == State.PROBE  # the next cool-down ended: a new probe


def test_each_endpoint_has_its_own_breaker(settings):
    settings.BREAKER_FAILURES = 1
    breakers.failed(NAME)
    other = "backup@http://llm.internal/v1"
    assert (current(NAME), current(other)) == (State.OPEN, State.CLOSED)


def test_a_cache_that_is_down_leaves_every_endpoint_in_use(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.BREAKER_FAILURES = 1
    with override_settings(CACHES=dead):
        assert breakers.failed(NAME) == ""
        assert breakers.read([NAME]) == {}
        assert current() == State.CLOSED


def test_answers_counted_together_weigh_as_many_requests(settings):
    settings.BREAKER_FAILURES, settings.BREAKER_FAILURE_RATE = 3, 0.5
    breakers.answered({NAME: 7, "backup@http://llm.internal/v1": 2})
    assert [breakers.failed(NAME) for _ in range(3)] == ["", "", ""]  # 3 failures of 10
    assert current() == State.CLOSED
    assert [breakers.failed(NAME) for _ in range(4)] == ["", "", "", "opened"]  # 7 of 14


def test_a_live_turn_reuses_what_this_process_read_until_it_reports_itself(settings):
    settings.BREAKER_FAILURES, settings.BREAKER_FAILURE_RATE = 1, 0.5
    assert breakers.recent([NAME]) is None  # never read
    assert breakers.read([NAME], remember=True) == {}
    assert breakers.recent([NAME]) == {}  # closed, as read a moment ago: no round trip
    assert breakers.recent([NAME, "other"]) is None  # another set of endpoints: not read
    assert breakers.failed(NAME) == "opened"
    assert breakers.recent([NAME]) is None  # its own report: read again
    opened = breakers.read([NAME], remember=True)
    assert breakers.recent([NAME]) == opened != {}
    settings.CACHES = {**settings.CACHES}  # another cache (each test has its own): nothing carried over
    assert breakers.recent([NAME]) is None
