"""The agent engine's own overhead per turn, with a fake LLM of set latency, under concurrency.

Overhead is the time from the caller's words reaching the engine to the first token it sends,
minus the time it waited on the LLM before that token (the model's time to first token). The
engine records this split for every turn (the "turn" trace); this script drives many concurrent
conversations and summarises it. It also times offline turns (no LLM), which are all overhead,
tool calls and database writes included.

    python bench/agent_turn.py [--sessions 20] [--turns 8] [--ttft-ms 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cc python bench/agent_turn.py
"""

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench import percentile  # noqa: E402
from bench.fake_llm import FakeModelProcess  # noqa: E402

LLM_SCRIPT = [
    "Hello, I got a letter about my account",
    "I'd like to know what I owe",
    "Can I pay part of it next week?",
    "What about three hundred dollars on Friday?",
    "Okay, and how do I pay?",
    "Thanks for explaining",
    "One more question about the fee",
    "Alright, that helps",
]
OFFLINE_SCRIPT = ["My zip code is 94607", "I can pay 300 dollars on Friday", "Yes", "No, that's all, thanks. Bye!"]


def summary(name: str, samples: list[float]) -> str:
    return (
        f"{name:<34} n={len(samples):<5} p50 {statistics.median(samples):7.2f}  p95 {percentile(samples, 0.95):7.2f}  "
        f"max {max(samples):7.2f} ms"
    )


async def conversation(customer_id: int, script: list[str]) -> int:
    from apps.agent.engine import AgentSession

    session = await AgentSession.start(
        workflow="collections",
        channel="voice",
        direction="inbound",
        customer_id=customer_id,
        caller=f"bench:{customer_id}",
    )
    async for _ in session.greet():
        pass
    for line in script:
        async for _ in session.reply(line):
            pass
        if session.state.ended:
            break
    await session.flush()
    return session.call_id


async def run_many(customer_ids: list[int], script: list[str]) -> list[int]:
    return await asyncio.gather(*(conversation(pk, script) for pk in customer_ids))


def turn_timings(call_ids: list[int]) -> list[dict]:
    from apps.calls.models import TraceEvent, TraceKind

    return list(TraceEvent.objects.filter(call_id__in=call_ids, kind=TraceKind.TURN).values_list("payload", flat=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent conversations")
    parser.add_argument("--turns", type=int, default=8, help="caller turns per LLM conversation")
    parser.add_argument("--ttft-ms", type=int, default=300, help="the fake model's time to first token")
    args = parser.parse_args()

    setup_test_environment(debug=False)
    settings.DEBUG = False
    settings.AGENT_CONVERSATIONS_PER_HOUR = 10_000
    db_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run(args, db_name)
    finally:
        connection.creation.destroy_test_db(db_name, verbosity=0)


def run(args, db_name: str) -> None:
    from decimal import Decimal

    from apps.customers.models import Customer

    customers = [
        Customer.objects.create(
            name=f"Caller {i}",
            phone=f"+1415556{i:04d}",
            account_number=f"BENCH{i:05d}",
            timezone="America/Los_Angeles",
            balance=Decimal("1250.50"),
            days_overdue=45,
            profile={"zip": "94607"},
        ).pk
        for i in range(args.sessions)
    ]
    print(f"database: {connection.vendor}; {args.sessions} concurrent conversations; fake LLM TTFT {args.ttft_ms} ms")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")

    # Offline: no model configured; every millisecond is the engine's (tools and database included).
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    started = time.perf_counter()
    offline_calls = asyncio.run(run_many(customers, OFFLINE_SCRIPT))
    offline_elapsed = time.perf_counter() - started

    # With a model: a local OpenAI-compatible server, in another process, answering after the set TTFT.
    with FakeModelProcess(args.ttft_ms) as url:
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY = url, "bench"
        settings.LLM_MODEL, settings.LLM_FALLBACK_MODELS = "bench-model", []
        settings.LLM_FIRST_TOKEN_TIMEOUT = args.ttft_ms / 1000 + 5
        started = time.perf_counter()
        llm_calls = asyncio.run(run_many(customers, LLM_SCRIPT[: args.turns]))
        llm_elapsed = time.perf_counter() - started

    offline = [t for t in turn_timings(offline_calls) if t["mode"] == "offline"]
    llm = [t for t in turn_timings(llm_calls) if t["mode"] == "llm"]
    print(summary("LLM turns: engine overhead", [t["overhead_ms"] for t in llm]))
    print(summary("LLM turns: waiting on the model", [t["llm_wait_ms"] for t in llm]))
    print(summary("LLM turns: first token", [t["first_token_ms"] for t in llm]))
    # The strict view: everything but the model's own TTFT, the HTTP round trip to it included.
    print(summary("LLM turns: first token - model TTFT", [t["first_token_ms"] - args.ttft_ms for t in llm]))
    print(summary("offline turns: first token (all ours)", [t["first_token_ms"] for t in offline]))
    print(summary("offline turns: of which tools", [t["tools_ms"] for t in offline]))
    print(f"\nturns per second: LLM {len(llm) / llm_elapsed:.1f}, offline {len(offline) / offline_elapsed:.1f}")


if __name__ == "__main__":
    main()
