"""Procfile smoke test: the processes a deploy runs, started the way a deploy starts them.

On a fresh PostgreSQL database and a Redis database of its own, with production settings (DEBUG
off, a random secret key, allowed hosts, an https PUBLIC_BASE_URL) and Twilio's REST API played by
the local fake: runs the Procfile's `release` step, starts `web`, `worker` and `beat` through
honcho, creates a customer and a follow-up due now through the REST API, and expects exactly one
`calls.create` at the fake Twilio within two minutes (beat's sweep, then the worker's dial). Then
SIGTERM to honcho: every process must stop without a SIGKILL, and no process may have logged an
ERROR, CRITICAL or Traceback line during the whole run.

    .venv/bin/python .ci/smoke_procfile.py

CI_POSTGRES_URL (the server, as in .ci/run), SMOKE_DB_NAME and SMOKE_REDIS_URL choose where it
runs; the database is dropped and created again and the Redis database flushed first, and both
are left as the run ends, for a look after a failure.
"""

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import psycopg
import redis
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.fakes.twilio_server import FakeTwilio  # noqa: E402

PG_ROOT = os.environ.get("CI_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("SMOKE_DB_NAME", "contactcenter_smoke")
REDIS_URL = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/6")  # the suite's, in CI, is 5
PUBLIC_BASE_URL = "https://cc.example.com"
FROM_NUMBER = "+14155550100"
CUSTOMER_PHONE = "+14155550123"
START_DEADLINE = 60  # seconds for web, worker and beat to come up
DIAL_DEADLINE = 120  # seconds from the follow-up to Twilio's calls.create
STOP_DEADLINE = 30  # honcho itself SIGKILLs what is left 5 s after the first process stopped
BAD_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback")
# What a developer's shell may carry that would change what this run tests.
UNSET_PREFIXES = ("DJANGO_", "CELERY_", "TWILIO_", "OPENAI_", "LLM_")
UNSET = {"DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL", "PORT", "WEB_BIND", "HUMAN_AGENT_NUMBER"}


class SmokeFailure(Exception):
    pass


class Output:
    """Every line the processes printed, echoed as it comes and searchable while they run."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def add(self, source: str, line: str) -> None:
        line = line.rstrip("\n")
        with self._lock:
            self.lines.append(line)
            self._print(f"{source:>8} | {line}")

    def say(self, message: str) -> None:
        """This script's own progress, kept out of the lines searched for errors."""
        with self._lock:
            self._print(f"smoke: {message}")

    def first(self, pattern: str) -> str | None:
        with self._lock:
            return next((line for line in self.lines if re.search(pattern, line)), None)

    def bad_lines(self) -> list[str]:
        with self._lock:
            return [line for line in self.lines if BAD_LINE.search(line)]

    @staticmethod
    def _print(text: str) -> None:
        sys.stdout.write(text + "\n")  # one write, so lines from two threads never mix
        sys.stdout.flush()


class Honcho:
    """`honcho start web worker beat`, exactly as a deploy runs it, in a session of its own."""

    def __init__(self, env: dict[str, str], output: Output) -> None:
        self.output = output
        self.process = subprocess.Popen(
            [".venv/bin/honcho", "--procfile", "Procfile", "start", "web", "worker", "beat"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.add("honcho", line)

    def check_running(self, doing: str) -> None:
        """Fail when a process has stopped (honcho then stops the others) or honcho has exited."""
        if stopped := self.output.first(r"\S+ stopped \(rc="):
            raise SmokeFailure(f"a process stopped while {doing}: {stopped.split('|')[-1].strip()}")
        if self.process.poll() is not None:
            raise SmokeFailure(f"honcho exited (rc={self.process.returncode}) while {doing}")

    def wait_for(self, what: str, seconds: float, ready: Callable[[], object]) -> None:
        """Poll until `ready()` is true; fail after `seconds`, or as soon as honcho has exited."""
        deadline = time.monotonic() + seconds
        while not ready():
            self.check_running(f"waiting for {what}")
            if time.monotonic() > deadline:
                raise SmokeFailure(f"no {what} within {seconds} s")
            time.sleep(0.5)

    def terminate(self) -> float:
        """SIGTERM, as a platform stops a release; the seconds until everything had exited."""
        stopping = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            raise SmokeFailure(f"honcho did not exit within {STOP_DEADLINE} s of SIGTERM") from None
        self._reader.join(timeout=10)  # its last lines
        return time.monotonic() - stopping

    def kill_leftovers(self) -> None:
        """Whatever still runs after a failure: honcho, and each process it started that it never
        saw stop (by process group: honcho starts each in a session of its own)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        text = "\n".join(self.output.lines)
        stopped = set(re.findall(r"(\S+) stopped \(rc=", text))
        for name, pid in re.findall(r"(\S+) started \(pid=(\d+)\)", text):
            if name not in stopped:
                with contextlib.suppress(ProcessLookupError):  # already gone
                    os.killpg(int(pid), signal.SIGKILL)


class Api:
    """The REST API as another system calls it, behind a TLS-terminating proxy."""

    def __init__(self, origin: str, key: str, honcho: Honcho) -> None:
        self.origin, self.key, self.honcho = origin, key, honcho

    def healthy(self) -> bool:
        try:
            return self._request("GET", "/healthz", auth=False)[0] == 200
        except (urllib.error.URLError, OSError):
            return False  # not listening yet, or a dependency not answering yet (503)

    def get(self, path: str) -> dict:
        return self._call("GET", path)

    def post(self, path: str, body: dict) -> dict:
        return self._call("POST", path, body)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        self.honcho.check_running(f"calling {method} {path}")
        try:
            return self._request(method, path, body)[1]
        except urllib.error.HTTPError as exc:
            raise SmokeFailure(f"{method} {path}: {exc.code} {exc.read().decode(errors='replace')}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SmokeFailure(f"{method} {path}: {exc}") from None

    def _request(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> tuple[int, dict]:
        headers = {"X-Forwarded-Proto": "https", "Content-Type": "application/json"}
        if auth:
            headers["X-API-Key"] = self.key
        data = json.dumps(body).encode() if body is not None else None
        url = self.origin + path  # http://127.0.0.1:<port>/…: our own web process
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")


def smoke(output: Output) -> None:
    if (ROOT / ".env").exists():
        raise SmokeFailure(".env exists: honcho and the settings would read it, and a deploy has none. Move it aside.")
    reset_database()
    reset_redis()
    account_sid, auth_token = "AC" + secrets.token_hex(16), secrets.token_hex(16)
    twilio = FakeTwilio(account_sid, auth_token).start()
    port = free_port()
    env = deploy_env(port=port, twilio_url=twilio.url, account_sid=account_sid, auth_token=auth_token)
    honcho = None
    try:
        run(procfile()["release"], env, output, "release")
        api_key = run("python manage.py create_api_key smoke-test", env, output, "api-key").splitlines()[-1]

        started = time.monotonic()
        honcho = Honcho(env, output)
        api = Api(f"http://127.0.0.1:{port}", api_key, honcho)
        honcho.wait_for("web answering /healthz", START_DEADLINE, api.healthy)
        honcho.wait_for("worker ready", START_DEADLINE, lambda: output.first(r"celery@\S+ ready\."))
        honcho.wait_for("beat starting", START_DEADLINE, lambda: output.first(r"beat: Starting\.\.\."))
        output.say(f"web, worker and beat up in {time.monotonic() - started:.1f} s")

        now = datetime.now(UTC)
        zone = open_window_zone(now)
        customer = api.post(
            "/api/v1/customers",
            {
                "name": "Smoke Test",
                "phone": CUSTOMER_PHONE,
                "timezone": zone,
                "account_number": "SMOKE-1",
                "balance": "120.00",
                "days_overdue": 12,
                "consent_automated_calls": True,
                "consent_given_at": now.isoformat(),
                "consent_source": "signed_agreement",
            },
        )
        followup = api.post(
            "/api/v1/followups",
            {"customer_id": customer["id"], "due_at": now.isoformat(), "reason": "Smoke test: a follow-up due now"},
        )
        output.say(f"customer {customer['id']} in {zone}, follow-up {followup['id']} due now")

        scheduled = time.monotonic()
        honcho.wait_for("calls.create at Twilio", DIAL_DEADLINE, lambda: twilio.creates)
        dialed_after = time.monotonic() - scheduled
        # The dial task moves the follow-up on after its one request; any request after that is a repeat.
        path = f"/api/v1/followups/{followup['id']}"
        honcho.wait_for("end of the dial task", 30, lambda: api.get(path)["status"] != "claimed")
        if (state := api.get(path))["status"] != "dialing":
            raise SmokeFailure(f"the follow-up is {state['status']}: {state['block_reason'] or state['last_error']}")
        check_one_call(twilio)
        output.say(f"one calls.create {dialed_after:.1f} s after the follow-up was scheduled")

        took = honcho.terminate()
        output.say(f"all stopped {took:.1f} s after SIGTERM (honcho rc={honcho.process.returncode})")
        if output.first("sending SIGKILL"):
            raise SmokeFailure("a process did not stop on SIGTERM within honcho's 5 s and was SIGKILLed")
        for name in ("web", "worker", "beat"):
            if not output.first(rf"{name}\.1 stopped"):
                raise SmokeFailure(f"honcho never saw {name} stop")
        check_one_call(twilio)  # still one, over the whole run
        if output.bad_lines():
            raise SmokeFailure("the processes logged errors")
    finally:
        if honcho is not None:
            honcho.kill_leftovers()
        twilio.stop()


def reset_database() -> None:
    try:
        with psycopg.connect(f"{PG_ROOT}/postgres", connect_timeout=5, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    except psycopg.Error as exc:
        raise SmokeFailure(f"PostgreSQL at {PG_ROOT}: {exc}") from exc


def reset_redis() -> None:
    try:
        with redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5, socket_timeout=5) as client:
            client.flushdb()  # this run owns its Redis database number
    except redis.RedisError as exc:
        raise SmokeFailure(f"Redis at {REDIS_URL}: {exc}") from exc


def deploy_env(*, port: int, twilio_url: str, account_sid: str, auth_token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(UNSET_PREFIXES) and k not in UNSET}
    env.update(
        PATH=f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",  # each line reaches honcho (and a platform's log drain) as it is written
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",  # PUBLIC_BASE_URL's host is added by the settings
        PUBLIC_BASE_URL=PUBLIC_BASE_URL,
        DATABASE_URL=f"{PG_ROOT}/{DB_NAME}",
        REDIS_URL=REDIS_URL,
        TWILIO_ACCOUNT_SID=account_sid,
        TWILIO_AUTH_TOKEN=auth_token,
        TWILIO_FROM_NUMBER=FROM_NUMBER,
        TWILIO_API_BASE_URL=twilio_url,
        PORT=str(port),  # honcho hands it to the first process type, web
        WEB_BIND="127.0.0.1",
    )
    return env


def procfile() -> dict[str, str]:
    entries = (line.partition(":") for line in (ROOT / "Procfile").read_text().splitlines() if ":" in line)
    return {name.strip(): command.strip() for name, _, command in entries}


def run(command: str, env: dict[str, str], output: Output, source: str) -> str:
    result = subprocess.run(  # noqa: S602 (the Procfile's own command line, run as a deploy runs it)
        command, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    for line in (result.stdout + result.stderr).splitlines():
        output.add(source, line)
    if result.returncode != 0:
        raise SmokeFailure(f"`{command}` exited with {result.returncode}")
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def open_window_zone(now: datetime) -> str:
    """A real time zone where it is about 14:30 now: the calling window (08:00-21:00) stays open
    for hours around this run, whenever CI runs it."""

    def distance(name: str) -> int:
        local = now.astimezone(ZoneInfo(name))
        return abs(local.hour * 60 + local.minute - (14 * 60 + 30))

    regions = ("America/", "Europe/", "Asia/", "Africa/", "Australia/", "Pacific/")
    return min(sorted(z for z in available_timezones() if z.startswith(regions)), key=distance)


def check_one_call(twilio: FakeTwilio) -> None:
    creates = twilio.creates
    if len(creates) != 1:
        raise SmokeFailure(f"expected exactly one calls.create, Twilio got {len(creates)}")
    form = {name: values[0] for name, values in creates[0].form.items()}
    if (form.get("To"), form.get("From")) != (CUSTOMER_PHONE, FROM_NUMBER):
        raise SmokeFailure(f"the call went to {form.get('To')} from {form.get('From')}")
    if not form.get("Url", "").startswith(f"{PUBLIC_BASE_URL}/twilio/voice/outbound/"):
        raise SmokeFailure(f"the call's answer URL is {form.get('Url')!r}, not under {PUBLIC_BASE_URL}")


def main() -> int:
    # A CI timeout's SIGTERM unwinds through smoke()'s cleanup like a failure does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("smoke: terminated"))
    output = Output()
    try:
        smoke(output)
    except SmokeFailure as failure:
        bad = output.bad_lines()
        errors = "\nLines logged as errors:\n  " + "\n  ".join(bad) if bad else ""
        print(f"\nsmoke: FAILED: {failure}{errors}", file=sys.stderr)
        return 1
    output.say("the Procfile passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
