"""Dialer throughput: N due follow-ups, W worker processes, each follow-up dialed exactly once.

Creates a throwaway test database (`test_<name>` on the DATABASE_URL server: PostgreSQL, since the
workers claim with SKIP LOCKED), N consenting customers with a follow-up due now, and a local fake
Twilio REST API (tests/fakes/twilio_server.py, in this process). W worker processes then do what
the `dialer` queue's workers do: claim due follow-ups in short transactions, run the compliance
gate, write the call row, and send one `calls.create` each. Printed: dials per second, and
duplicates (numbers dialed more than once: must be 0) and misses (follow-ups never dialed).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/dialer.py [--followups 10000] [--workers 4]
"""

import argparse
import multiprocessing
import os
import platform
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")  # the bench's own throwaway settings

ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER = "AC" + "be" * 16, "bench-token", "+14155550100"
# Zones to put the customers in: the first whose clock is well inside the calling window.
ZONES = ["America/Los_Angeles", "America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Honolulu"]


def _work(database_url: str, twilio_url: str, start, results) -> None:
    os.environ.update(
        DATABASE_URL=database_url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=twilio_url,
        TWILIO_HTTP_TIMEOUT="10",
        PUBLIC_BASE_URL="https://bench.example.com",
    )
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)  # the audit and dial logs would drown the figures
    from django.conf import settings
    from django.utils import timezone

    settings.DEBUG = False  # as in production: no query log

    from apps.outreach.dialer import followup_dial
    from apps.outreach.services import followups_claim_due

    start.wait()
    dialed, began = 0, time.perf_counter()
    while ids := followups_claim_due(now=timezone.now(), limit=50):
        for followup_id in ids:
            followup_dial(followup_id=followup_id)
            dialed += 1
    results.put((dialed, began, time.perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench import cpu_model
    from tests.fakes.twilio_server import FakeTwilio

    if connection.vendor != "postgresql":
        sys.exit("bench/dialer.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment(debug=False)
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{db_name}"
    twilio = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    try:
        zone = seed(args.followups)
        spawn = multiprocessing.get_context("spawn")
        start, results = spawn.Event(), spawn.Queue()
        workers = [
            spawn.Process(target=_work, args=(database_url, twilio.url, start, results)) for _ in range(args.workers)
        ]
        for worker in workers:
            worker.start()
        start.set()
        outcomes = [results.get(timeout=3600) for _ in workers]
        for worker in workers:
            worker.join()
    finally:
        twilio.stop()
        connection.close()
        connection.creation.destroy_test_db(db_name, verbosity=0)

    dialed = len(twilio.creates)  # requests that reached Twilio, not follow-ups the gate held back
    wall = max(end for _, _, end in outcomes) - min(began for _, began, _ in outcomes)
    numbers = Counter(r.form["To"][0] for r in twilio.creates)
    duplicates = sum(count - 1 for count in numbers.values())
    print(f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL")
    print(f"{args.followups} due follow-ups (customers in {zone}), {args.workers} worker processes")
    print(f"dialed {dialed} in {wall:.1f} s: {dialed / wall:.0f} dials/s; per worker {[n for n, _, _ in outcomes]}")
    print(f"requests to Twilio {len(twilio.creates)}, duplicates {duplicates}, missed {args.followups - len(numbers)}")


def seed(count: int) -> str:
    from django.utils import timezone

    from apps.customers.models import Customer
    from apps.outreach.models import FollowUp

    now = timezone.now()
    zone = next(
        (z for z in ZONES if 9 <= now.astimezone(ZoneInfo(z)).hour < 19), ZONES[0]
    )  # an hour or more inside 08:00-21:00 for the whole run
    customers = Customer.objects.bulk_create(
        (
            Customer(
                name=f"Bench {n}",
                phone=f"+1312{n // 10000 + 555:03d}{n % 10000:04d}",
                account_number=f"DIAL{n:07d}",
                timezone=zone,
                consent_automated_calls=True,
                consent_given_at=now - timedelta(days=30),
                consent_source="web_form",
            )
            for n in range(count)
        ),
        batch_size=2000,
    )
    FollowUp.objects.bulk_create(
        (
            FollowUp(customer=c, reason="Balance overdue", due_at=now - timedelta(seconds=n % 3600))
            for n, c in enumerate(customers)
        ),
        batch_size=2000,
    )
    return zone


if __name__ == "__main__":
    main()
