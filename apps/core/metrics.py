"""Prometheus metrics, and `GET /metrics` that serves them (README "Operators' telemetry").

Every process records into memory-mapped files in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode), and `/metrics` on any web process adds up the files of every process on its
machine: each daphne process, the Celery worker and its pool processes. What lives outside the
processes (the circuit breakers in the cache, the queues in the broker) is read when scraped.

The folder is emptied when a set of processes starts, without a race: each process, as it first
imports this module, takes a lock on the folder and leaves a `<pid>.pid` marker; when no marker
names a live process it is a fresh start and every file goes (last run's counters with it), else
only the markers and live gauges of processes that died go (a restarted web process's open
sockets no longer count). Counters of a dead process stay until the next fresh start, so totals
never go down while anything runs.
"""

import fcntl
import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def prepare_directory(path: Path) -> None:
    """Make `path` ready for this process (see the module's docstring). Safe when many start at once."""
    path.mkdir(parents=True, exist_ok=True)
    me = os.getpid()
    with open(path / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        pids = {int(marker.stem) for marker in path.glob("*.pid") if marker.stem.isdigit()} - {me}
        alive = {pid for pid in pids if _alive(pid)}
        if not alive:
            for stale in [*path.glob("*.db"), *path.glob("*.pid")]:
                stale.unlink(missing_ok=True)
        else:
            for pid in pids - alive:
                for stale in [*path.glob(f"gauge_live*_{pid}.db"), path / f"{pid}.pid"]:
                    stale.unlink(missing_ok=True)
        (path / f"{me}.pid").touch()


# prometheus-client picks its storage when it is imported: the folder must be known (and ready) first.
DIRECTORY = Path(settings.PROMETHEUS_MULTIPROC_DIR)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(DIRECTORY)
prepare_directory(DIRECTORY)

from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.registry import Collector  # noqa: E402

# --- what is recorded -------------------------------------------------------------------------

HTTP_REQUESTS = Counter("cc_http_requests", "HTTP requests answered, by method and status code.", ["method", "status"])
TWILIO_WEBHOOKS = Counter(
    "cc_twilio_webhooks", "Twilio webhooks answered, by route and status code.", ["webhook", "status"]
)
WEBSOCKETS = Counter(
    "cc_websocket_connections", "WebSocket handshakes, by route and outcome (accepted, refused).", ["route", "outcome"]
)
WEBSOCKETS_OPEN = Gauge("cc_websocket_open", "WebSockets open now, by route.", ["route"], multiprocess_mode="livesum")
LIVE_CALLS = Gauge(
    "cc_live_calls",
    "Conversations in progress on a socket now (voice, web_chat).",
    ["channel"],
    multiprocess_mode="livesum",
)
TURN_SECONDS = Histogram(
    "cc_turn_first_token_seconds",
    "A caller turn: from the caller's words to the first words sent back (what the caller waits).",
    ["channel", "mode"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0),
)
TURN_OVERHEAD_SECONDS = Histogram(
    "cc_turn_overhead_seconds",
    "A caller turn's own time to its first words: TURN_SECONDS minus the wait on the model.",
    ["channel", "mode"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
LLM_REQUESTS = Counter(
    "cc_llm_requests",
    "Requests to a model, by model, face (live, analysis) and outcome (ok, error: timeouts, 5xx, refused answers).",
    ["model", "face", "outcome"],
)
LLM_FIRST_TOKEN_SECONDS = Histogram(
    "cc_llm_time_to_first_token_seconds",
    "A live turn's model request: time to its first token.",
    ["model"],
    buckets=(0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0),
)
BREAKER_CHANGES = Counter(
    "cc_breaker_changes", "Circuit breaker transitions, by endpoint (opened, probe, closed).", ["endpoint", "change"]
)
TASKS = Counter(
    "cc_celery_tasks", "Celery tasks run, by task and outcome (success, retry, failure).", ["task", "outcome"]
)
TASK_SECONDS = Histogram(
    "cc_celery_task_duration_seconds",
    "How long a Celery task ran.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)


def turn_finished(*, channel: str, mode: str, first_token_ms: float, overhead_ms: float) -> None:
    TURN_SECONDS.labels(channel, mode).observe(first_token_ms / 1000)
    TURN_OVERHEAD_SECONDS.labels(channel, mode).observe(overhead_ms / 1000)


# --- read when scraped ----------------------------------------------------------------------------


# Functions read at each scrape, each yielding metric families (made with `gauge`): what no process
# holds, like the circuit breakers in the cache (apps/core/breakers.py registers them).
_SCRAPED: list[Callable[[], Iterable[Any]]] = []


def at_scrape(collect: Callable[[], Iterable[Any]]) -> None:
    _SCRAPED.append(collect)


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    """A gauge read at scrape time (fill it with `add_metric([label values], value)`)."""
    return GaugeMetricFamily(name, documentation, labels=labels)


class ScrapeTime(Collector):
    """What no process holds: the queues (in the broker), and what `at_scrape` registered."""

    def collect(self) -> Any:
        for collect in _SCRAPED:
            try:
                yield from collect()
            except Exception:
                logger.warning("metrics: %s failed", collect.__qualname__, exc_info=True)
        depths = _queue_depths()
        if depths is not None:
            family = gauge("cc_celery_queue_depth", "Messages waiting in each Celery queue.", ["queue"])
            for queue, depth in depths.items():
                family.add_metric([queue], depth)
            yield family


def _queue_depths() -> dict[str, int] | None:
    from celery import current_app

    timeout = settings.HEALTH_CHECK_TIMEOUT
    try:
        with current_app.connection_for_read(connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=0, timeout=timeout)
            channel = conn.default_channel
            depths = {}
            for queue in current_app.conf.task_queues or ():
                try:
                    depths[queue.name] = channel.queue_declare(queue=queue.name, passive=True).message_count
                except conn.channel_errors:  # never declared: nothing was ever sent to it
                    depths[queue.name] = 0
            return depths
    except Exception as exc:
        logger.warning("metrics: could not read the queues' depths (%s)", type(exc).__name__)
        return None


# --- GET /metrics ---------------------------------------------------------------------------------


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the scraper may read: each of METRICS_TOKEN and METRICS_ALLOWED_IPS that is set
    must pass. With neither set the route does not exist (404): metrics are never open to all."""
    token, allowed = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not allowed:
        return HttpResponse("Not found.", status=404, content_type="text/plain")
    if allowed:
        try:
            address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
        except ValueError:
            address = None
        if address is None or not any(address in ipaddress.ip_network(net, strict=False) for net in allowed):
            return HttpResponse("Forbidden.", status=403, content_type="text/plain")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            response = HttpResponse("A bearer token is required.", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return None


def exposition() -> bytes:
    """Every process's metrics on this machine, and the scrape-time ones, in Prometheus' text format."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(DIRECTORY))
    registry.register(ScrapeTime())
    return generate_latest(registry)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    if refusal := _refusal(request):
        return refusal
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
