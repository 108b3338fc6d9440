"""Per-turn overhead on live calls: many concurrent ConversationRelay sessions against daphne.

Each simulated call is answered through the signed inbound webhook, opens the relay socket with
a signed handshake, sends `setup`, then speaks a few turns with pauses between them, as a caller
would. For each turn we measure the time from sending `prompt` to receiving the first `text`
token, minus the model's own time to first token (a fake OpenAI-compatible server in its own
process, answering after --ttft-ms). What remains is ours: the socket, the engine, the HTTP
round trip to the model, and everything the event loop was busy with for the other calls.

    python bench/relay.py [--calls 100] [--turns 5] [--ttft-ms 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/7 python bench/relay.py
"""

import argparse
import asyncio
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.fake_llm import FakeModelProcess  # noqa: E402

TOKEN = "bench-auth-token"
PROMPTS = [
    "Hi, I got a letter about my account",
    "Can you tell me what this is about?",
    "I'd like to sort it out today",
    "What options do I have?",
    "Okay, that sounds fair",
    "Let me think about it",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_database() -> tuple[str, str]:
    """A fresh database for this run: its own PostgreSQL database, or a temporary SQLite file."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        parts = urlsplit(url)
        admin = urlunsplit(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS cc_bench_relay WITH (FORCE)")
            conn.execute("CREATE DATABASE cc_bench_relay")
        return urlunsplit(parts._replace(path="/cc_bench_relay")), "postgresql"
    return f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3", "sqlite"


def prepare(env: dict, calls: int) -> None:
    """Migrate and create one customer per call, in a child process with the bench environment."""
    script = (
        "from decimal import Decimal\n"
        "from apps.customers.models import Customer\n"
        f"for i in range({calls}):\n"
        "    Customer.objects.create(name=f'Caller {i}', phone=f'+1415556{i:04d}', account_number=f'RELAY{i:05d}',"
        " timezone='America/Los_Angeles', balance=Decimal('1250.50'), days_overdue=45, profile={'zip': '94607'})\n"
    )
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True, capture_output=True)


async def wait_until_up(base: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # waiting for daphne to start listening
    raise SystemExit("daphne did not start")


async def one_call(
    http: aiohttp.ClientSession, base: str, index: int, turns: int, ttft_ms: int, overheads: list[float]
) -> None:
    validator = RequestValidator(TOKEN)
    params = {
        "CallSid": f"CA{index:032x}",
        "From": f"+1415556{index:04d}",
        "To": "+14155550100",
        "CallStatus": "ringing",
    }
    headers = {"X-Twilio-Signature": validator.compute_signature(f"{base}/twilio/voice/inbound/", params)}
    async with http.post(f"{base}/twilio/voice/inbound/", data=params, headers=headers) as response:
        twiml = await response.text()
    call_id = re.search(r'name="call_id" value="(\d+)"', twiml).group(1)
    relay = base.replace("http://", "ws://") + "/ws/twilio/relay/"
    signature = validator.compute_signature(relay, {})
    async with http.ws_connect(relay, headers={"X-Twilio-Signature": signature}) as ws:
        await ws.send_json({"type": "setup", "callSid": params["CallSid"], "customParameters": {"call_id": call_id}})
        rng = random.Random(index)
        for turn in range(turns):
            await asyncio.sleep(rng.uniform(0.5, 2.0))  # the caller speaks, then pauses: load, not synchronisation
            sent = time.perf_counter()
            await ws.send_json({"type": "prompt", "voicePrompt": PROMPTS[turn % len(PROMPTS)], "last": True})
            first = None
            while True:
                message = await ws.receive_json(timeout=30)
                if message["type"] == "text" and first is None:
                    first = time.perf_counter()
                if message["type"] == "end" or (message["type"] == "text" and message["last"]):
                    break
            overheads.append((first - sent) * 1000 - ttft_ms)


async def drive(base: str, calls: int, turns: int, ttft_ms: int) -> list[float]:
    overheads: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await wait_until_up(base)
        await asyncio.gather(*(one_call(http, base, i, turns, ttft_ms, overheads) for i in range(calls)))
    return overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--ttft-ms", type=int, default=300)
    args = parser.parse_args()

    database_url, vendor = bench_database()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeModelProcess(args.ttft_ms) as model_url:
        env = {
            **os.environ,
            # Production settings: debug off (no query logging), plain http on loopback.
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_LOG_LEVEL": "WARNING",
            "DATABASE_URL": database_url,
            "PUBLIC_BASE_URL": base,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "OPENAI_BASE_URL": model_url,
            "OPENAI_API_KEY": "bench",
            "LLM_MODEL": "bench-model",
            "LLM_FALLBACK_MODELS": "",
            "LLM_FIRST_TOKEN_TIMEOUT": str(args.ttft_ms / 1000 + 10),
            "AGENT_CONVERSATIONS_PER_HOUR": "100000",
        }
        prepare(env, args.calls)
        log = Path(tempfile.mkdtemp()) / "daphne.log"
        with log.open("w") as output:
            daphne = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "contactcenter.asgi:application"],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
            try:
                started = time.perf_counter()
                overheads = asyncio.run(drive(base, args.calls, args.turns, args.ttft_ms))
                elapsed = time.perf_counter() - started
            except Exception:
                print(f"daphne's log: {log}")
                raise
            finally:
                daphne.kill()
                daphne.wait(timeout=30)

    print(f"database: {vendor}; channel layer: {'redis' if os.environ.get('REDIS_URL') else 'in-memory'}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; one daphne process"
    )
    print(f"{args.calls} concurrent calls x {args.turns} turns, fake model TTFT {args.ttft_ms} ms, {elapsed:.1f} s")
    print(line("prompt -> first token, minus the model's TTFT", overheads))
    # The server's own split of the same turns (the "turn" traces the engine records).
    for name, values in server_timings(database_url).items():
        print(line(f"  server: {name}", values))


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<48} n={len(values):<4} p50 {statistics.median(values):7.2f}  p95 {percentile(values, 0.95):7.2f}  "
        f"p99 {percentile(values, 0.99):7.2f}  max {max(values):7.2f} ms"
    )


def server_timings(database_url: str) -> dict[str, list[float]]:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "true"}
    script = (
        "import json\n"
        "from apps.calls.models import TraceEvent\n"
        "rows = list(TraceEvent.objects.filter(kind='turn', payload__mode='llm').values_list('payload', flat=True))\n"
        "print(json.dumps(rows))\n"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = json.loads(out.strip().splitlines()[-1])
    return {
        "engine overhead (excl. the model)": [r["overhead_ms"] for r in rows],
        "waiting on the model (incl. HTTP)": [r["llm_wait_ms"] for r in rows],
    }


if __name__ == "__main__":
    main()
