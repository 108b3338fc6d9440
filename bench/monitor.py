"""Live monitoring under load: transcript lines from saved to a watching console socket.

N concurrent relay calls (bench/relay_turns.py's machinery: signed webhooks, signed relay sockets,
a fake model in its own process) talk while M console sockets (`/ws/console/`, signed in as
supervisors, same origin) watch: half subscribed to `monitor` (every call's step and flags), the
others each to one call's lines (`call-<id>`). For every message a watcher receives we take the
time from the moment the server committed what it shows (the `saved_at` the engine stamps on it)
to its arrival; at the end every line each call-watcher should have seen is checked against the
database, so a line never delivered is counted, not missed. The relay's own overhead is printed
too: it must hold while watched.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/7 \\
        python bench/monitor.py [--calls 100] [--watchers 20] [--turns 5] [--web-processes 2] [--pause-s 5-9]

Target (issue 16): 100 calls, 20 watchers, PostgreSQL and Redis: p95 <= 200 ms, max <= 1 s, 0 lines lost.
"""

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import cpu_model, percentile  # noqa: E402
from bench.fake_llm import FakeModelProcess  # noqa: E402
from bench.relay_turns import (  # noqa: E402
    Load,
    bench_database,
    cpu_seconds,
    line,
    one_call,
    overhead,
    production_env,
    run_ours,
    seconds_range,
    wait_until_up,
)

SESSIONS = """
from django.contrib.auth import get_user_model
from importlib import import_module
from django.conf import settings
SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
from apps.accounts.roles import SUPERVISORS
from apps.accounts.services import user_set_role
keys = []
for i in range({watchers}):
    user, _ = get_user_model().objects.get_or_create(username=f"watcher{{i}}")
    user_set_role(user=user, role=SUPERVISORS)
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(" ".join(keys))
"""

LINES = """
import json
from apps.calls.models import TranscriptEntry
rows = TranscriptEntry.objects.filter(call_id__in={call_ids}).values_list("call_id", "sequence")
print(json.dumps(sorted(rows)))
"""


def manage_shell(env: dict, script: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1]


class WatchedLoad(Load):
    """The calls of relay_turns.Load, held back until every watcher is subscribed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.callers_in = asyncio.Event()

    def joined(self, index: int) -> None:
        self.ready.add(index)
        if len(self.ready) == self.calls:
            self.callers_in.set()

    def start_talking(self) -> None:
        self.talking_from = time.perf_counter()
        self.cpu_from = cpu_seconds(self.pids)
        self.all_in_session.set()


class Watchers:
    def __init__(self) -> None:
        self.delays_ms: list[float] = []
        self.monitor_delays_ms: list[float] = []
        self.seen: dict[int, set[int]] = defaultdict(set)  # call id -> sequences a call-watcher received
        self.watched_calls: list[int] = []
        self.errors: list[str] = []
        self.subscribed = 0
        self._changed = asyncio.Event()

    def _count(self) -> None:
        self._changed.set()

    async def all_subscribed(self, count: int) -> None:
        while self.subscribed + len(self.errors) < count:
            await self._changed.wait()
            self._changed.clear()

    async def watch(self, http: aiohttp.ClientSession, base: str, session_key: str, group: str, done: asyncio.Event):
        headers = {"Cookie": f"sessionid={session_key}", "Origin": base}
        async with http.ws_connect(base.replace("http://", "ws://") + "/ws/console/", headers=headers) as ws:
            await ws.send_json({"subscribe": group} if group == "monitor" else {"subscribe": group, "after": -1})
            while (message := await ws.receive_json(timeout=30)).get("subscribed") != group:
                self._lines(group, message)  # the catch-up: what was said before we joined
            self.subscribed += 1
            self._count()
            while not done.is_set():
                try:
                    raw = await ws.receive(timeout=0.5)
                except TimeoutError:
                    continue
                if raw.type != aiohttp.WSMsgType.TEXT:
                    self.errors.append(f"{group}: socket closed ({raw.type.name})")
                    return
                arrived = time.time()
                message = json.loads(raw.data)
                self._lines(group, message)
                if message.get("saved_at") is None:
                    continue  # presence, catch-up: not timed from a save
                delay = (arrived - message["saved_at"]) * 1000
                (self.monitor_delays_ms if group == "monitor" else self.delays_ms).append(delay)

    def _lines(self, group: str, message: dict) -> None:
        """The transcript lines a call-watcher was sent (as the page keys them: line-<call>-<seq>)."""
        if group == "monitor":
            return
        call_id = int(group.removeprefix("call-"))
        for piece in message.get("fragments", []):
            if piece["into"] == f"transcript-{call_id}":
                self.seen[call_id].update(_sequences(piece["html"], call_id))


def _sequences(html: str, call_id: int) -> list[int]:
    prefix = f'id="line-{call_id}-'
    found, at = [], html.find(prefix)
    while at >= 0:
        end = html.index('"', at + len(prefix))
        found.append(int(html[at + len(prefix) : end]))
        at = html.find(prefix, end)
    return found


async def drive(load: WatchedLoad, watchers: Watchers, env: dict, count: int) -> None:
    done = asyncio.Event()
    # The supervisors' sessions, made once the database is migrated (run_ours prepares it).
    keys = (await asyncio.to_thread(manage_shell, env, SESSIONS.format(watchers=count))).split()

    async def counted_call(http, index):
        try:
            await one_call(http, load, index)
        except Exception as exc:  # counted and shown, never hidden in the figures
            load.errors.append(f"call {index}: {type(exc).__name__}: {exc}")
            load.joined(index)

    async def counted_watch(http, i, key, group):
        try:
            await watchers.watch(http, load.bases[i % len(load.bases)], key, group, done)
        except Exception as exc:
            watchers.errors.append(f"watcher {i} ({group}): {type(exc).__name__}: {exc}")
            watchers._count()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        for base in load.bases:
            await wait_until_up(base)
        calls = [asyncio.create_task(counted_call(http, i)) for i in range(load.calls)]
        await load.callers_in.wait()
        # Half watch the monitor, half one call each (a fresh database: the calls are 1..N).
        step = max(1, load.calls // max(1, len(keys) - len(keys) // 2))
        groups = []
        for i, _ in enumerate(keys):
            if i % 2 == 0:
                groups.append("monitor")
            else:
                call_id = 1 + (i // 2) * step % load.calls
                watchers.watched_calls.append(call_id)
                groups.append(f"call-{call_id}")
        pairs = enumerate(zip(keys, groups, strict=True))
        watching = [asyncio.create_task(counted_watch(http, i, key, group)) for i, (key, group) in pairs]
        await watchers.all_subscribed(len(keys))
        load.start_talking()
        await asyncio.gather(*calls)
        load.finished()
        await asyncio.sleep(1.0)  # the last turns' saves and messages land
        done.set()
        await asyncio.gather(*watching)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--watchers", type=int, default=20)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--ttft-ms", type=int, default=300)
    parser.add_argument("--ramp-s", type=float, default=5.0)
    parser.add_argument("--pause-s", type=seconds_range, default=(0.5, 2.0), help="after each reply, e.g. 5-9")
    parser.add_argument("--web-processes", type=int, default=1)
    args = parser.parse_args()
    args.hang_share = 0.0

    database_url, vendor = bench_database()
    watchers = Watchers()
    env = production_env(database_url)  # the servers' own: their secret key signs the sessions
    model = FakeModelProcess(args.ttft_ms)
    with model as model_url:
        load, elapsed = run_ours(
            args,
            model_url,
            database_url,
            make_load=WatchedLoad,
            driver=lambda load: drive(load, watchers, env, args.watchers),
        )

    expected = json.loads(manage_shell(env, LINES.format(call_ids=watchers.watched_calls)))
    lost = [(call_id, sequence) for call_id, sequence in expected if sequence not in watchers.seen[call_id]]
    print(f"database: {vendor}; channel layer: {'redis' if os.environ.get('REDIS_URL') else 'in-memory'}")
    print(
        f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{args.web_processes} daphne process{'es' if args.web_processes > 1 else ''}"
    )
    print(
        f"{args.calls} calls x {args.turns} turns, pauses {args.pause_s[0]:g}-{args.pause_s[1]:g} s, "
        f"{args.watchers} watchers ({len(watchers.watched_calls)} on single calls, the rest on the monitor), "
        f"{elapsed:.0f} s"
    )
    for error in watchers.errors[:10]:
        print(f"  {error}")
    if not watchers.delays_ms or not watchers.monitor_delays_ms:
        raise SystemExit("the watchers received no saved turn: see the errors above")
    print(line("saved -> call watcher (lines, step, events)", watchers.delays_ms))
    print(line("saved -> monitor watcher (step, flags)", watchers.monitor_delays_ms))
    print(f"lines never delivered to their watcher: {len(lost)} of {len(expected)}")
    overheads, untimed = overhead(load, model)
    print(line("relay overhead while watched (prompt -> first token - TTFT)", overheads))
    print(f"errors: {len(load.errors)} calls, {len(watchers.errors)} watchers; {untimed} turns untimed")
    for error in load.errors[:10]:
        print(f"  {error}")
    ok = percentile(watchers.delays_ms, 0.95) <= 200 and max(watchers.delays_ms) <= 1000 and not lost
    print(f"target (p95 <= 200 ms, max <= 1 s, 0 lost): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
