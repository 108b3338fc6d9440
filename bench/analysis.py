"""Post-call pipeline throughput: completed calls analysed by parallel workers against a fake model.

Creates a throwaway test database (`test_<name>` on the DATABASE_URL server; SQLite runs one
worker), makes --calls completed calls with a six-line collections conversation, and runs the
analysis task for each on --workers threads, as that many Celery worker slots would (prefork
children; threads here, so the figure excludes the broker hop). A fake OpenAI-compatible model
in its own process answers every request after --latency-ms with a valid analysis (a promise and
a follow-up). Printed: calls per second against the ceiling workers / latency, time per call,
our share of it (the call's time minus the model's), and duplicates (must be 0).

    python bench/analysis.py [--calls 200] [--workers 4] [--latency-ms 800]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/analysis.py
"""

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # the bench's own throwaway settings


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=800, help="the fake model's time per answer")
    return parser.parse_args()


ARGS = arguments()
# Each Celery worker process has its own connection pool; these threads share one, so it must
# hold a connection per thread (a task keeps its connection while it waits on the model).
os.environ["DATABASE_POOL_MAX_SIZE"] = str(max(10, ARGS.workers))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench import cpu_model, percentile  # noqa: E402
from bench.fake_llm import FakeModelProcess  # noqa: E402


def conversation(due) -> list[tuple[str, str]]:
    day = f"{due:%B} {due.day}"
    return [
        ("agent", "Thanks for calling Northwind Auto Finance. How can I help?"),
        ("customer", "Hi, I got a letter about my car loan."),
        ("agent", "Your balance is 1,250 dollars, 45 days overdue. Can you make a payment?"),
        ("customer", f"I can pay 400 dollars on {day} by card."),
        ("agent", f"So 400 dollars on {day} by card. Is that right?"),
        ("customer", "Yes, that's right. Thanks for your help."),
    ]


def answer(due, lines) -> str:
    """What the fake model says for every call: valid, quoting the transcript, a promise and a follow-up."""
    return json.dumps(
        {
            "sentiment": {"label": "positive", "score": 0.6, "trajectory": [0.0, 0.6], "confidence": 85},
            "intent": "promise_to_pay",
            "promise": {
                "made": True,
                "amount": "400.00",
                "due_date": due.isoformat(),
                "method": "card",
                "confidence": 92,
                "reasoning": "Amount, date and method named and confirmed.",
                "evidence": lines[3][1],
            },
            "next_action": {
                "type": "follow_up_call",
                "when": datetime.combine(due + timedelta(days=1), datetime.min.time()).isoformat() + "+00:00",
                "urgency": "normal",
                "reason": "Check the promised payment arrived.",
                "confidence": 88,
            },
            "summary": "The customer promised 400 by card.",
        }
    )


def main() -> None:
    args = ARGS
    if connection.vendor == "sqlite" and args.workers > 1:
        print("SQLite: one writer at a time, running 1 worker (set DATABASE_URL for PostgreSQL)")
        args.workers = 1

    logging.getLogger("celery").setLevel(logging.WARNING)  # a line per task would drown the figures
    setup_test_environment(debug=False)
    settings.DEBUG = False
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args)
    finally:
        connection.close()
        connection.creation.destroy_test_db(db_name, verbosity=0)


def run(args: argparse.Namespace) -> None:
    from django.utils import timezone

    from apps.analysis.models import AnalysisStatus, CallAnalysis
    from apps.analysis.tasks import call_analyze_task
    from apps.calls.models import Call, CallStatus, Direction, TranscriptEntry
    from apps.customers.models import Customer
    from apps.outreach.models import FollowUp
    from apps.promises.models import Promise

    due = timezone.localdate() + timedelta(days=10)
    lines = conversation(due)
    ended = timezone.now() - timedelta(minutes=1)
    call_ids = []
    for i in range(args.calls):
        customer = Customer.objects.create(
            name=f"Bench {i}",
            phone=f"+1312555{i:04d}",
            account_number=f"BENCH{i:06d}",
            timezone="America/Chicago",
            balance="1250.00",
            days_overdue=45,
        )
        call = Call.objects.create(
            customer=customer,
            twilio_call_sid=f"CA{i:032x}",
            direction=Direction.INBOUND,
            status=CallStatus.COMPLETED,
            from_number=customer.phone,
            to_number="+13125550100",
            workflow_name="collections",
            started_at=ended - timedelta(seconds=95),
            ended_at=ended,
            duration_seconds=95,
        )
        TranscriptEntry.objects.bulk_create(
            TranscriptEntry(call=call, sequence=n, speaker=speaker, text=text)
            for n, (speaker, text) in enumerate(lines)
        )
        CallAnalysis.objects.create(call=call)
        call_ids.append(call.pk)

    durations: list[float] = []

    def analyse(call_id: int) -> None:
        started = time.perf_counter()
        try:
            call_analyze_task.apply(args=[call_id])
        finally:
            durations.append((time.perf_counter() - started) * 1000)
            connection.close()

    with FakeModelProcess(ttft_ms=args.latency_ms, text=answer(due, lines)) as url:
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = url, "bench"
        settings.ANALYSIS_MODEL, settings.LLM_FALLBACK_MODELS = "bench-model", []
        call_analyze_task.apply(args=[call_ids[0]])  # warm up: the client, the TLS context, imports
        CallAnalysis.objects.filter(call_id=call_ids[0]).update(status=AnalysisStatus.PENDING)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(analyse, call_ids))
        wall = time.perf_counter() - started

    done = CallAnalysis.objects.filter(status=AnalysisStatus.COMPLETED, analyzer="bench-model").count()
    per_call = [
        Counter(model.objects.values_list(field, flat=True))
        for model, field in ((Promise, "call_id"), (FollowUp, "source_call_id"))
    ]
    duplicates = sum(n - 1 for counts in per_call for n in counts.values() if n > 1)
    missing = sum(1 for counts in per_call for call_id in call_ids if counts[call_id] == 0)
    ours = [d - args.latency_ms for d in durations]
    print(f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, {connection.vendor}")
    print(f"{args.calls} calls, {args.workers} workers, model latency {args.latency_ms} ms")
    print(f"completed {done}/{args.calls}; promises and follow-ups: duplicates {duplicates}, missing {missing}")
    ceiling = args.workers / (args.latency_ms / 1000)
    print(f"throughput {args.calls / wall:.2f} calls/s (ceiling {ceiling:.2f}: workers / model latency)")
    print(f"per call p50 / p95 ms: {percentile(durations, 0.5):.0f} / {percentile(durations, 0.95):.0f}")
    print(f"ours (minus the model) p50 / p95 ms: {percentile(ours, 0.5):.1f} / {percentile(ours, 0.95):.1f}")


if __name__ == "__main__":
    main()
