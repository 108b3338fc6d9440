"""REST API latency on the demo data set, in process (no network, no web server).

Creates a throwaway test database (SQLite in memory, or `test_<name>` on the DATABASE_URL
server), seeds the demo data, and times each endpoint through Django's full request stack:
middleware, API-key authentication, validation, queries and JSON rendering.

    python bench/api.py [--requests 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc python bench/api.py
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # the bench's own throwaway settings; DEBUG is switched off below

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per endpoint")
    args = parser.parse_args()

    setup_test_environment(debug=False)
    settings.DEBUG = False
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args.requests, db_name)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


def run(requests: int, db_name: str) -> None:
    from apps.accounts.services import api_key_create
    from apps.calls.models import Call
    from apps.demo.seed import seed_demo

    seed_demo(with_users=False)
    _, key = api_key_create(name="bench")
    client = Client(headers={"X-API-Key": key})
    busy_call = Call.objects.filter(transcript__isnull=False).order_by("-id").first()
    customer_id = busy_call.customer_id
    transcript_length = busy_call.transcript.count()

    endpoints = [
        ("GET /api/v1/customers (50 of 60)", lambda i: client.get("/api/v1/customers")),
        ("GET /api/v1/customers?q=…", lambda i: client.get("/api/v1/customers?q=lee")),
        ("GET /api/v1/calls (50 of 500)", lambda i: client.get("/api/v1/calls")),
        ("GET /api/v1/calls?customer_id=", lambda i: client.get(f"/api/v1/calls?customer_id={customer_id}")),
        (
            f"GET /api/v1/calls/{{id}} ({transcript_length} turns)",
            lambda i: client.get(f"/api/v1/calls/{busy_call.pk}"),
        ),
        ("GET /api/v1/promises?status=pending", lambda i: client.get("/api/v1/promises?status=pending")),
        ("GET /api/v1/followups", lambda i: client.get("/api/v1/followups")),
        (
            "POST /api/v1/customers",
            lambda i: client.post(
                "/api/v1/customers",
                {"name": f"Bench {i}", "phone": f"+1312556{i:04d}", "account_number": f"BENCH{i:06d}"},
                content_type="application/json",
            ),
        ),
        ("GET /healthz", lambda i: client.get("/healthz")),
    ]

    print(f"database: {connection.vendor} ({db_name}), {requests} requests per endpoint")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'endpoint':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>8}")
    for name, call in endpoints:
        call(9999)  # warm up caches and connections
        samples = []
        for i in range(requests):
            start = time.perf_counter()
            response = call(i)
            samples.append((time.perf_counter() - start) * 1000)
            if response.status_code >= 400:
                raise SystemExit(f"{name}: HTTP {response.status_code} {response.content[:200]!r}")
        print(
            f"{name:<44} {statistics.median(samples):>8.2f} {percentile(samples, 0.95):>8.2f} "
            f"{max(samples):>8.2f} {1000 / statistics.mean(samples):>8.0f}"
        )


if __name__ == "__main__":
    main()
