"""Per-turn overhead on live calls: many concurrent ConversationRelay sessions against daphne.

Calls ring in over --ramp-s seconds. Each is answered through the signed inbound webhook, opens
the relay socket with a signed handshake and sends `setup`; once all N calls are in session, each
speaks --turns turns, pausing --pause-s seconds after each reply (default 0.5-2: far harsher than
a phone call, where Twilio first plays the reply aloud and the caller then speaks; `--pause-s 5-9`
is that pace). For each turn we measure the time from sending `prompt` to receiving the first
`text` token, minus the model's own time to first token for that request: a fake
OpenAI-compatible server in its own process answers after --ttft-ms and times itself. What
remains is ours: both socket hops, the engine, the HTTP round trip to the model, and whatever
the event loop was busy with for the other calls. Failed calls are counted, never dropped.

    python bench/relay_turns.py [--calls 100] [--turns 5] [--ttft-ms 300] [--ramp-s 5] [--pause-s 0.5-2]
                                [--web-processes 2] [--hang-share 0.2] [--baseline]

With --baseline, the same load then runs against a bare relay (bench/bare_relay.py: `websockets`
and the openai client reading the stream as we do, no Django, no database), in as many processes,
against the same fake model; both figures are printed with their ratio, as is the CPU the relay
processes spent per turn while every call was talking (target: overhead p95 <= 1.5x the bare
relay's, CPU per turn <= 2x).

With --hang-share, that share of model requests is accepted and never answered: the line "time to
first words" is then what callers hear (the target: p95 <= 1.3 s, max <= 1.5 s), and the server
counts who answered each turn (the model, or the offline engine once the turn's budget ran out).
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/7 python bench/relay_turns.py
"""

import argparse
import asyncio
import html
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
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import cpu_model, percentile  # noqa: E402
from bench.fake_llm import FakeModelProcess, tag  # noqa: E402

TOKEN = "bench-auth-token"
ASGI_APP = "contactcenter.asgi:application"
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


def seconds_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    try:
        low_s, high_s = float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 0.5-2, got {text!r}") from None
    if not 0 <= low_s <= high_s:
        raise argparse.ArgumentTypeError(f"expected 0 <= low <= high, got {text!r}")
    return low_s, high_s


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


async def wait_until_listening(base: str) -> None:
    host, port = base.rsplit("/", 1)[-1].rsplit(":", 1)
    for _ in range(300):
        try:
            _, writer = await asyncio.open_connection(host, int(port))
        except OSError:
            await asyncio.sleep(0.1)  # waiting for the bare relay to start listening
            continue
        writer.close()
        return
    raise SystemExit("the bare relay did not start")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (Linux /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


class Load:
    """What every simulated call shares: the settings, the figures, and the moment to start talking."""

    def __init__(self, bases: list[str], args: argparse.Namespace, pids: list[int], bare: bool = False) -> None:
        self.bases, self.calls, self.turns, self.ramp_s = bases, args.calls, args.turns, args.ramp_s
        self.pause_s, self.pids, self.bare = args.pause_s, pids, bare
        # Prompts carry a tag the fake model times them by: the baseline's must differ from ours.
        self.tag_offset = 10_000_000 if bare else 0
        self.cpu_from = self.cpu_until = 0.0
        self.turns_timed: list[tuple[str, float]] = []  # (prompt, ms from sending it to the first token)
        self.errors: list[str] = []
        self.ended: list[str] = []  # calls the agent ended or handed off before their last turn, and why
        self.ready: set[int] = set()
        self.all_in_session = asyncio.Event()
        self.talking_from = self.talking_until = 0.0  # the measured phase: every call in session, talking

    def joined(self, index: int) -> None:
        self.ready.add(index)
        if len(self.ready) == self.calls:
            self.talking_from = time.perf_counter()
            self.cpu_from = cpu_seconds(self.pids)
            self.all_in_session.set()

    @property
    def turns_per_s(self) -> float:
        return len(self.turns_timed) / max(self.talking_until - self.talking_from, 1e-9)

    @property
    def cpu_ms_per_turn(self) -> float:
        """The relay processes' CPU while every call was talking, per turn answered then."""
        return (self.cpu_until - self.cpu_from) * 1000 / max(len(self.turns_timed), 1)

    def finished(self) -> None:
        self.talking_until = time.perf_counter()
        self.cpu_until = cpu_seconds(self.pids)


async def one_call(http: aiohttp.ClientSession, load: Load, index: int) -> None:
    """One caller: rings in (at its place in the ramp), waits until every call is connected, talks."""
    await asyncio.sleep(load.ramp_s * index / load.calls)  # arrivals spread over the ramp, as calls ring in
    # Calls take turns across the web processes, as a load balancer would spread them.
    base = load.bases[index % len(load.bases)]
    call_sid = f"CA{index:032x}"
    if load.bare:
        relay, headers, call_id = base.replace("http://", "ws://") + "/", {}, str(index)
    else:
        relay, headers, call_id = await answer(http, base, index, call_sid)
    async with http.ws_connect(relay, headers=headers) as ws:
        await ws.send_json({"type": "setup", "callSid": call_sid, "customParameters": {"call_id": call_id}})
        load.joined(index)
        await load.all_in_session.wait()  # every turn measured is a turn among N live calls
        rng = random.Random(index)
        for turn in range(load.turns):
            await asyncio.sleep(rng.uniform(*load.pause_s))  # the reply is heard, the caller speaks: load, not sync
            words = f"{PROMPTS[turn % len(PROMPTS)]} {tag(load.tag_offset + index * 1000 + turn)}"
            sent = time.perf_counter()
            await ws.send_json({"type": "prompt", "voicePrompt": words, "last": True})
            first = None
            while True:
                message = await ws.receive_json(timeout=30)
                if message["type"] == "text" and first is None:
                    first = time.perf_counter()
                if message["type"] == "end" or (message["type"] == "text" and message["last"]):
                    break
            if first is None and message["type"] == "end":
                # The agent closed the call after its last reply (e.g. a hand-off after three turns
                # it could not make sense of): the call is over, not broken.
                load.ended.append(json.loads(message["handoffData"]).get("reason", ""))
                return
            if first is None:
                raise RuntimeError(f"turn {turn} ended without a token: {message}")
            load.turns_timed.append((words, (first - sent) * 1000))


async def answer(http: aiohttp.ClientSession, base: str, index: int, call_sid: str) -> tuple[str, dict, str]:
    """The signed inbound webhook: the relay socket's URL (with its one-time token), its handshake
    headers signed as Twilio signs them, and the call's id."""
    validator = RequestValidator(TOKEN)
    params = {"CallSid": call_sid, "From": f"+1415556{index:04d}", "To": "+14155550100", "CallStatus": "ringing"}
    headers = {"X-Twilio-Signature": validator.compute_signature(f"{base}/twilio/voice/inbound/", params)}
    async with http.post(f"{base}/twilio/voice/inbound/", data=params, headers=headers) as response:
        twiml = await response.text()
    call_id = re.search(r'name="call_id" value="(\d+)"', twiml).group(1)
    relay = html.unescape(re.search(r'<ConversationRelay [^>]*url="([^"]+)"', twiml).group(1))
    return relay, {"X-Twilio-Signature": validator.compute_signature(relay, {})}, call_id


async def drive(load: Load) -> None:
    async def counted(http: aiohttp.ClientSession, index: int) -> None:
        try:
            await one_call(http, load, index)
        except Exception as exc:  # counted and shown, never hidden in the figures
            load.errors.append(f"call {index}: {type(exc).__name__}: {exc}")
            load.joined(index)  # a call that failed to connect must not hold the others back

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        for base in load.bases:
            await (wait_until_listening(base) if load.bare else wait_until_up(base))
        await asyncio.gather(*(counted(http, i) for i in range(load.calls)))
    load.finished()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--ttft-ms", type=int, default=300)
    parser.add_argument("--ramp-s", type=float, default=5.0, help="calls ring in over this many seconds")
    parser.add_argument("--pause-s", type=seconds_range, default=(0.5, 2.0), help="after each reply, e.g. 5-9")
    parser.add_argument("--web-processes", type=int, default=1, help="daphne processes (production: one per core)")
    parser.add_argument(
        "--hang-share", type=float, default=0.0, help="a flaky model: this share of requests never answers, e.g. 0.2"
    )
    parser.add_argument(
        "--baseline", action="store_true", help="then the same load against a bare relay, and the ratio of the two"
    )
    args = parser.parse_args()

    database_url, vendor = bench_database()
    model = FakeModelProcess(args.ttft_ms, hang_share=args.hang_share)
    with model as model_url:
        ours, elapsed = run_ours(args, model_url, database_url)
        bare = run_bare(args, model_url) if args.baseline else None

    print(f"database: {vendor}; channel layer: {'redis' if os.environ.get('REDIS_URL') else 'in-memory'}")
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.web_processes} daphne process{'es' if args.web_processes > 1 else ''}"
    )
    print(
        f"{args.calls} concurrent calls x {args.turns} turns, pauses {args.pause_s[0]:g}-{args.pause_s[1]:g} s, "
        f"fake model TTFT {args.ttft_ms} ms"
        + (f", {args.hang_share:.0%} of its requests hang" if args.hang_share else "")
        + f": {ours.turns_per_s:.0f} turns/s over {elapsed:.1f} s"
    )
    print(line("time to first words: prompt -> first text token", [latency for _, latency in ours.turns_timed]))
    overheads, untimed = overhead(ours, model)
    print(line("overhead: prompt -> first token - model's TTFT", overheads))
    print(line("  (minus the nominal TTFT instead)", [latency - args.ttft_ms for _, latency in ours.turns_timed]))
    print(f"CPU per turn (daphne processes, while all calls talk): {ours.cpu_ms_per_turn:.2f} ms")
    print(f"errors: {len(ours.errors)} calls failed; {untimed} turns the model has no timing for")
    if ours.ended:
        reasons = ", ".join(f"{reason} {n}" for reason, n in Counter(ours.ended).most_common())
        print(f"calls the agent closed before their last turn: {len(ours.ended)} ({reasons})")
    for error in ours.errors[:10]:
        print(f"  {error}")
    # The server's own split of the same turns (the "turn" traces the engine records).
    timings, modes = server_timings(database_url)
    for name, values in timings.items():
        print(line(f"  server: {name}", values))
    print("  server: turns by who answered: " + ", ".join(f"{mode} {count}" for mode, count in sorted(modes.items())))
    if bare is not None:
        bare_overheads, bare_untimed = overhead(bare, model)
        print(f"bare relay ({args.web_processes} process{'es' if args.web_processes > 1 else ''}, same load):")
        print(line("  overhead: prompt -> first token - model's TTFT", bare_overheads))
        print(f"  CPU per turn: {bare.cpu_ms_per_turn:.2f} ms; errors: {len(bare.errors)}; untimed: {bare_untimed}")
        for error in bare.errors[:10]:
            print(f"  {error}")
        ratio = percentile(overheads, 0.95) / percentile(bare_overheads, 0.95)
        cpu_ratio = ours.cpu_ms_per_turn / max(bare.cpu_ms_per_turn, 1e-9)
        print(
            f"ratio ours / bare: overhead p95 {ratio:.2f}x (target <= 1.5x), CPU per turn {cpu_ratio:.2f}x (target <= 2x)"
        )


def overhead(load: Load, model: FakeModelProcess) -> tuple[list[float], int]:
    """Per turn: the time from sending `prompt` to the first token, minus the model's own time to
    first token for that very request, as the model measured it (see bench/fake_llm.py)."""
    overheads, untimed = [], 0
    for words, latency in load.turns_timed:
        own = model.own_ttft_ms(words)
        if own is None:
            untimed += 1
        else:
            overheads.append(latency - own)
    return overheads, untimed


def production_env(database_url: str) -> dict[str, str]:
    """Production settings: debug off (no query logging), plain http on loopback."""
    return {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
    }


def run_ours(
    args: argparse.Namespace, model_url: str, database_url: str, *, make_load=Load, driver=None
) -> tuple[Load, float]:
    """Our relay in --web-processes daphne processes on a fresh database; `driver` drives the
    load (bench/monitor.py adds console watchers to it)."""
    bases = [f"http://127.0.0.1:{free_port()}" for _ in range(args.web_processes)]
    env = {
        **production_env(database_url),
        "TWILIO_AUTH_TOKEN": TOKEN,
        "OPENAI_BASE_URL": model_url,
        "OPENAI_API_KEY": "bench",
        "LLM_MODEL": "bench-model",
        "LLM_FALLBACK_MODELS": "",
        # The turn's budget (LLM_TURN_FIRST_AUDIO_S, 1.2 s by default) bounds the wait on a model.
        "LLM_FIRST_TOKEN_TIMEOUT": str(args.ttft_ms / 1000 + 10),
        "AGENT_CONVERSATIONS_PER_HOUR": "100000",
    }
    prepare(env, args.calls)
    logs = Path(tempfile.mkdtemp())
    servers = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", base.rsplit(":", 1)[1], ASGI_APP],
            cwd=ROOT,
            env={**env, "PUBLIC_BASE_URL": base},  # each process signs for the URL it is reached at
            stdout=(logs / f"daphne-{i}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for i, base in enumerate(bases)
    ]
    return run_against(servers, make_load(bases, args, [server.pid for server in servers]), logs, driver or drive)


def run_bare(args: argparse.Namespace, model_url: str) -> Load:
    bases = [f"http://127.0.0.1:{free_port()}" for _ in range(args.web_processes)]
    logs = Path(tempfile.mkdtemp())
    script = str(ROOT / "bench" / "bare_relay.py")
    servers = [
        subprocess.Popen(
            [sys.executable, script, "--port", base.rsplit(":", 1)[1], "--model-url", model_url],
            cwd=ROOT,
            stdout=(logs / f"bare-{i}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for i, base in enumerate(bases)
    ]
    load, _ = run_against(servers, Load(bases, args, [server.pid for server in servers], bare=True), logs)
    return load


def run_against(servers: list[subprocess.Popen], load: Load, logs: Path, driver=drive) -> tuple[Load, float]:
    try:
        started = time.perf_counter()
        asyncio.run(driver(load))
        return load, time.perf_counter() - started
    except Exception:
        print(f"the relay processes' logs: {logs}")
        raise
    finally:
        for server in servers:
            server.terminate()  # a clean stop: the last turns' saves finish
        for server in servers:
            server.wait(timeout=30)


def line(name: str, values: list[float]) -> str:
    return (
        f"{name:<48} n={len(values):<4} p50 {statistics.median(values):7.2f}  p95 {percentile(values, 0.95):7.2f}  "
        f"p99 {percentile(values, 0.99):7.2f}  max {max(values):7.2f} ms"
    )


def server_timings(database_url: str) -> tuple[dict[str, list[float]], Counter]:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_DEBUG": "true"}
    script = (
        "import json\n"
        "from apps.calls.models import TraceEvent\n"
        "rows = list(TraceEvent.objects.filter(kind='turn').values_list('payload', flat=True))\n"
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
    modes = Counter(r["mode"] + (" after a holding phrase" if r.get("held") else "") for r in rows)
    rows = [r for r in rows if r["mode"] == "llm"]
    return {
        "engine overhead (excl. the model)": [r["overhead_ms"] for r in rows],
        "waiting on the model (incl. HTTP)": [r["llm_wait_ms"] for r in rows],
    }, modes


if __name__ == "__main__":
    main()
