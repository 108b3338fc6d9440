"""Dialer pacing and throughput: N due follow-ups, W worker processes, each dialed exactly once.

Creates a throwaway test database (`test_<name>` on the DATABASE_URL server: PostgreSQL, since the
workers claim with SKIP LOCKED), N consenting customers with a follow-up due now, and a local fake
Twilio REST API (tests/fakes/twilio_server.py, in this process). W worker processes then do what
the `dialer` queue's workers do: claim due follow-ups in short transactions, run the compliance
gate, write the call row, wait for a send slot (TWILIO_CALLS_PER_SECOND = --rate, shared through
Redis when REDIS_URL is set), judge the call again and send one `calls.create` each.

Printed: the rate held at the fake Twilio (the most requests in any one-second window, by arrival
time, and the average), how long calls waited for their slot, the longest time from the gate's
decision to the request reaching Twilio, duplicates (numbers dialed more than once: must be 0) and
misses (follow-ups never dialed). A --rate far above what the dialer can do measures its throughput.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/7 \
        python bench/dialer.py [--followups 2000] [--workers 4] [--rate 50]
"""

import argparse
import bisect
import gc
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


def _work(database_url: str, twilio_url: str, rate: float, ready, start, results) -> None:
    os.environ.update(
        TWILIO_CALLS_PER_SECOND=str(rate),
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

    ready.put(os.getpid())
    start.wait()
    dialed, began = 0, time.perf_counter()
    while ids := followups_claim_due(now=timezone.now(), limit=50):
        for followup_id in ids:
            followup_dial(followup_id=followup_id)
            dialed += 1
    results.put((dialed, began, time.perf_counter()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followups", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50, help="TWILIO_CALLS_PER_SECOND")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from apps.calls.models import Call
    from bench import cpu_model, percentile
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
        ready, start, results = spawn.Queue(), spawn.Event(), spawn.Queue()
        workers = [
            spawn.Process(target=_work, args=(database_url, twilio.url, args.rate, ready, start, results))
            for _ in range(args.workers)
        ]
        for worker in workers:
            worker.start()
        # The fake Twilio shares this process: what the set-up made is frozen out of the garbage
        # collector, whose pauses (70-130 ms) had held up requests that were sent on time.
        gc.freeze()
        for _ in workers:  # all set up (Django's start-up is CPU-heavy) before the first dial
            ready.get(timeout=120)
        start.set()
        outcomes = [results.get(timeout=3600) for _ in workers]
        for worker in workers:
            worker.join()
        timing = request_timing(twilio.creates)
        sent_back = Call.objects.filter(dialed_at=None, status="queued").count()
    finally:
        twilio.stop()
        connection.close()
        connection.creation.destroy_test_db(db_name, verbosity=0)

    dialed = len(twilio.creates)  # requests that reached Twilio, not follow-ups the gate held back
    wall = max(end for _, _, end in outcomes) - min(began for _, began, _ in outcomes)
    numbers = Counter(r.form["To"][0] for r in twilio.creates)
    duplicates = sum(count - 1 for count in numbers.values())
    arrived = sorted(r.at for r in twilio.creates)
    busiest = max(bisect.bisect_left(arrived, at + 1) - i for i, at in enumerate(arrived))
    average = (len(arrived) - 1) / (arrived[-1] - arrived[0])
    waited, judged = timing
    pacer = "Redis, shared" if os.environ.get("REDIS_URL") else "in-process: each worker paces alone"
    print(f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL")
    print(f"{args.followups} due follow-ups (customers in {zone}), {args.workers} worker processes")
    print(f"TWILIO_CALLS_PER_SECOND {args.rate:g} (pacer: {pacer})")
    print(f"dialed {dialed} in {wall:.1f} s: {dialed / wall:.1f} dials/s; per worker {[n for n, _, _ in outcomes]}")
    print(f"at Twilio: at most {busiest} requests in any one second, {average:.2f}/s on average")
    print(
        f"waited for a send slot (follow-up's gate to the request): p50 {percentile(waited, 0.5):.3f} s, "
        f"max {max(waited):.3f} s"
    )
    print(
        f"gate's decision to the request at Twilio: p50 {percentile(judged, 0.5) * 1000:.1f} ms, "
        f"p99 {percentile(judged, 0.99) * 1000:.1f} ms, max {max(judged) * 1000:.1f} ms"
    )
    print(f"requests to Twilio {len(twilio.creates)}, duplicates {duplicates}, missed {args.followups - len(numbers)}")
    if sent_back:  # no worker here reads the broker; a real one would dial them after the countdown
        print(f"of the missed, sent back to the broker by the pacer: {sent_back}")


def request_timing(creates) -> tuple[list[float], list[float]]:
    """Per request, in seconds: from the follow-up's gate to its arrival at Twilio (the wait for
    a send slot, mostly), and from the gate's last decision to its arrival. call_place claims the
    call and judges it at one instant, `dialed_at`, after any wait; the request follows."""
    from apps.calls.models import Call

    dialed = Call.objects.exclude(dialed_at=None).values_list("pk", "followup__last_attempt_at", "dialed_at")
    when = {call_id: (gated.timestamp(), judged.timestamp()) for call_id, gated, judged in dialed}
    waited, decided = [], []
    for request in creates:
        gated, judged = when[int(request.form["Url"][0].rstrip("/").rsplit("/", 1)[1])]
        waited.append(request.at - gated)
        decided.append(request.at - judged)
    return waited, decided


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
