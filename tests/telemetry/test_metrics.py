"""GET /metrics: who may read it, what a call leaves in it, and that several processes add up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apps.core import breakers, metrics
from apps.core.metrics import prepare_directory
from tests.telemetry.phone import a_call

METRICS_TOKEN = "scrape-token-of-the-test"
ANALYZE = "apps.analysis.tasks.call_analyze_task"


@pytest.fixture
def scraper(settings) -> Client:
    settings.METRICS_TOKEN = METRICS_TOKEN
    return Client(headers={"Authorization": f"Bearer {METRICS_TOKEN}"})


def scrape(client: Client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum over every series of `name` that has these labels (others free)."""
    return sum(v for (n, series), v in samples.items() if n == name and set(labels.items()) <= series)


# --- who may read it --------------------------------------------------------------------------


def test_with_neither_a_token_nor_an_allow_list_there_are_no_metrics(db):
    assert Client().get("/metrics").status_code == 404


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("Bearer wrong-token", 401), (f"Basic {METRICS_TOKEN}", 401), (f"Bearer {METRICS_TOKEN}", 200)],
)
def test_a_token_is_required_when_one_is_set(db, settings, header, status):
    settings.METRICS_TOKEN = METRICS_TOKEN
    response = Client(headers={"Authorization": header} if header else {}).get("/metrics")
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"cc_" not in response.content


@pytest.mark.parametrize(
    ("allowed", "status"), [(["10.0.0.0/8"], 403), (["10.0.0.0/8", "127.0.0.1"], 200), (["127.0.0.0/24"], 200)]
)
def test_an_allow_list_admits_only_its_addresses(db, settings, allowed, status):
    settings.METRICS_ALLOWED_IPS = allowed
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == status


def test_with_both_set_a_listed_address_still_needs_the_token(db, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    settings.METRICS_TOKEN = METRICS_TOKEN
    assert Client().get("/metrics").status_code == 401
    assert (
        Client(REMOTE_ADDR="10.1.2.3", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get("/metrics").status_code
        == 403
    )
    assert Client(headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get("/metrics").status_code == 200


# --- what a call leaves -----------------------------------------------------------------------


def test_after_a_call_its_turns_are_in_the_latency_histograms(maria, fake_llm, settings, scraper):
    settings.ANALYSIS_MIN_SECONDS = 0
    before = scrape(scraper)
    a_call(maria, fake_llm)
    after = scrape(scraper)

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    # Two caller turns: one the model answered, one code decided (the hand-off).
    assert grew("cc_turn_first_token_seconds_count", channel="voice") == 2
    assert grew("cc_turn_first_token_seconds_count", channel="voice", mode="llm") == 1
    assert grew("cc_turn_first_token_seconds_count", channel="voice", mode="rule") == 1
    assert grew("cc_turn_overhead_seconds_count", channel="voice") == 2
    assert grew("cc_turn_first_token_seconds_bucket", channel="voice", le="+Inf") == 2
    assert grew("cc_llm_requests_total", model="primary", face="live", outcome="ok") == 3
    assert grew("cc_llm_time_to_first_token_seconds_count", model="primary") == 3
    assert grew("cc_llm_requests_total", face="analysis", outcome="error") == 4  # answers the analysis refused
    assert grew("cc_twilio_webhooks_total", webhook="/twilio/voice/inbound/", status="200") == 1
    assert grew("cc_twilio_webhooks_total", webhook="/twilio/voice/status/", status="204") == 1
    assert grew("cc_websocket_connections_total", route="relay", outcome="accepted") == 1
    assert grew("cc_celery_tasks_total", task=ANALYZE, outcome="success") == 1
    assert grew("cc_celery_task_duration_seconds_count", task=ANALYZE) == 1
    assert grew("cc_http_requests_total", method="POST", status="200") == 1  # the inbound webhook
    # Over: no socket open, no call live.
    assert value(after, "cc_websocket_open", route="relay") == 0
    assert value(after, "cc_live_calls", channel="voice") == 0
    # Read when scraped: every queue, and each model's breaker (closed).
    assert {dict(series)["queue"] for (name, series) in after if name == "cc_celery_queue_depth"} == {
        "live",
        "analysis",
        "dialer",
        "default",
    }
    assert value(after, "cc_breaker_open", endpoint=f"primary@{fake_llm.url}") == 0


def test_an_open_breaker_shows_until_it_closes(live_db, fake_llm, settings, scraper):
    settings.BREAKER_FAILURES = 2
    label = f"backup@{fake_llm.url}"
    before = scrape(scraper)
    assert [breakers.failed(label) for _ in range(2)] == ["", "opened"]
    opened = scrape(scraper)
    assert value(opened, "cc_breaker_open", endpoint=label) == 1
    assert value(opened, "cc_breaker_open", endpoint=f"primary@{fake_llm.url}") == 0
    changes = "cc_breaker_changes_total"
    assert (
        value(opened, changes, endpoint=label, change="opened")
        - value(before, changes, endpoint=label, change="opened")
        == 1
    )


def test_a_queued_task_shows_in_its_queues_depth(live_db, scraper):
    from apps.analysis.tasks import call_analyze_task

    before = value(scrape(scraper), "cc_celery_queue_depth", queue="analysis")
    call_analyze_task.apply_async(args=[123456])  # to the test's in-process broker, which no worker reads
    assert value(scrape(scraper), "cc_celery_queue_depth", queue="analysis") == before + 1


# --- several processes ----------------------------------------------------------------------------


def _in_another_process(code: str) -> None:
    subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"import django; django.setup(); from apps.core import metrics; {code}"],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        check=True,
        timeout=60,
    )


def test_what_other_processes_recorded_adds_up_in_any_process(db, scraper):
    """Two other processes (say, a second daphne and a worker) record into the same folder."""
    before = scrape(scraper)
    metrics.turn_finished(channel="voice", mode="offline", first_token_ms=40, overhead_ms=2)
    _in_another_process("metrics.turn_finished(channel='voice', mode='offline', first_token_ms=60, overhead_ms=3)")
    _in_another_process("metrics.turn_finished(channel='voice', mode='offline', first_token_ms=2500, overhead_ms=4)")
    after = scrape(scraper)
    count, total_s = "cc_turn_first_token_seconds_count", "cc_turn_first_token_seconds_sum"
    labels = {"channel": "voice", "mode": "offline"}
    assert value(after, count, **labels) - value(before, count, **labels) == 3
    assert round(value(after, total_s, **labels) - value(before, total_s, **labels), 6) == 2.6
    bucket = "cc_turn_first_token_seconds_bucket"
    assert value(after, bucket, le="0.05", **labels) - value(before, bucket, le="0.05", **labels) == 1
    assert value(after, bucket, le="3.0", **labels) - value(before, bucket, le="3.0", **labels) == 3


# --- the folder, wiped at a fresh start only ------------------------------------------------------


def _dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(finished.stdout)


def test_a_fresh_start_wipes_the_folder(tmp_path: Path):
    gone = _dead_pid()
    for name in (f"counter_{gone}.db", f"histogram_{gone}.db", f"gauge_livesum_{gone}.db", f"{gone}.pid"):
        (tmp_path / name).write_bytes(b"x")
    prepare_directory(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == [".lock", f"{os.getpid()}.pid"]


def test_while_others_run_only_the_dead_processes_live_gauges_go(tmp_path: Path):
    gone = _dead_pid()
    running = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        kept = [f"counter_{gone}.db", f"gauge_all_{gone}.db", f"counter_{running.pid}.db", f"{running.pid}.pid"]
        for name in [*kept, f"gauge_livesum_{gone}.db", f"{gone}.pid"]:
            (tmp_path / name).write_bytes(b"x")
        prepare_directory(tmp_path)
        names = sorted(path.name for path in tmp_path.iterdir())
    finally:
        running.communicate(b"")
    assert names == sorted([".lock", f"{os.getpid()}.pid", *kept])
