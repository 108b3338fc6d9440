"""A real Celery worker on PostgreSQL and Redis is killed in the middle of an analysis.

The worker's pool process is SIGKILLed while it waits on the model (the fake OpenAI server holds
the first request). Late acks and reject-on-worker-lost put the message back; the pool starts a
new process, which runs the task again. The result must be complete and single: one analysis,
one promise, one follow-up.
"""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import Connection

from apps.analysis.models import AnalysisStatus, CallAnalysis
from apps.analysis.tasks import call_analyze_task
from apps.calls.models import TraceEvent, TraceKind
from apps.outreach.models import FollowUp
from apps.promises.models import Promise
from tests.analysis.test_pipeline import insights, make_call
from tests.fakes.openai_server import FakeOpenAI

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]
CELERY = [sys.executable, "-m", "celery", "-A", "contactcenter"]
QUIET = ["--without-gossip", "--without-mingle", "--without-heartbeat"]


class Worker:
    """`celery worker -Q analysis -c 1` in its own process; a thread reads its log into a queue."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 (our own command line)
            [*CELERY, "worker", "-Q", "analysis", "-c", "1", "-P", "prefork", *QUIET, "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._log: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def read_until(self, marker: str, timeout: float = 120) -> str:
        """Wait for a log line containing `marker`; fail with the log after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._log.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break  # the worker exited
            self.lines.append(line)
            if marker in line:
                return line
        raise AssertionError(f"no {marker!r} from the worker:\n{''.join(self.lines)}")

    def _pump(self) -> None:
        for line in self.process.stdout:
            self._log.put(line)
        self._log.put(None)

    def pool_process(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def broker_url():
    """The suite's Redis, with this test's queue emptied first (a stale message would be run too)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("analysis", "unacked", "unacked_index", "unacked_mutex")
    yield settings.REDIS_URL
    client.delete("analysis", "unacked", "unacked_index", "unacked_mutex")
    client.close()


def test_a_worker_killed_mid_analysis_leaves_one_complete_result(broker_url):
    llm = FakeOpenAI().start()
    llm.script("primary", delay=300)  # the first run hangs on the model until it is killed
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()
    database = {**connection.settings_dict}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "contactcenter.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}"
        ),
        "REDIS_URL": broker_url,
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": llm.url,
        "LLM_ANALYSIS_MODEL": "primary",
        "LLM_FALLBACK_MODELS": "",
    }
    worker = Worker(env)
    try:
        worker.read_until("ready.")
        with Connection(broker_url) as broker:
            call_analyze_task.apply_async(args=[call.pk], connection=broker)
        assert llm.wait_for_requests(1, timeout=60), "".join(worker.lines)

        os.kill(worker.pool_process(), signal.SIGKILL)  # mid-analysis, as a crash or the OOM killer would

        worker.read_until("WorkerLostError")
        assert llm.wait_for_requests(2, timeout=60), "".join(worker.lines)  # redelivered to the new process
        worker.read_until("succeeded")
    finally:
        worker.stop()
        llm.stop()

    assert CallAnalysis.objects.filter(call=call).count() == 1
    analysis = CallAnalysis.objects.get(call=call)
    assert (analysis.status, analysis.analyzer, analysis.intent) == (
        AnalysisStatus.COMPLETED,
        "primary",
        "promise_to_pay",
    )
    promise = Promise.objects.get(customer=call.customer)
    assert (promise.call_id, str(promise.amount)) == (call.pk, "400.00")
    followup = FollowUp.objects.get(customer=call.customer)
    assert (followup.source_call_id, followup.promise_id) == (call.pk, promise.pk)
    assert analysis.promise["promise_id"] == promise.pk
    assert analysis.next_action["followup_id"] == followup.pk
    # The killed run wrote nothing after its first step; only the complete run left a trace.
    assert TraceEvent.objects.filter(call=call, kind=TraceKind.LLM_CALL).count() == 1
    assert [r.model for r in llm.requests] == ["primary", "primary"]
