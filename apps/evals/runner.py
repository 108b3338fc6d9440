"""Running a suite: worker processes, each on its own scratch database, play scenarios through the
real channels and judge them.

The suite never touches the configured database, cache, broker or Twilio account. The parent
migrates one SQLite template in a temporary folder; each worker is a fresh `manage.py eval_agent
--worker` process whose environment points at its own copy of it, an in-memory cache, channel
layer and broker (tasks are queued and never run), and a Twilio account of its own (webhooks
signed with its token, the REST API an address nothing listens on). Only the LLM settings are
passed through, and only with `--llm configured`.
"""

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.evals.drivers import LINES
from apps.evals.play import play, prepare_database
from apps.evals.scenarios import Scenario

PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "VIRTUAL_ENV", "SSL_CERT_FILE", "TMPDIR")
LLM_SETTINGS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_MODEL", "LLM_FALLBACK_MODELS", "LLM_CONNECT_TIMEOUT",
                "LLM_FIRST_TOKEN_TIMEOUT", "LLM_STREAM_IDLE_TIMEOUT", "LLM_TURN_FIRST_AUDIO_S", "LLM_TURN_HOLD_S")  # fmt: skip


@dataclass(frozen=True)
class Options:
    llm: str = "offline"  # or "configured"
    caller: str = "rules"  # or "llm"
    workers: int = 2
    judge: bool = False  # the configured model also scores each conversation on a rubric
    candidates: tuple[str, ...] = ()  # workflows whose candidate definition every call runs


def worker_environment(database: Path, options: Options) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH}
    env.update(
        DJANGO_SETTINGS_MODULE="contactcenter.settings",
        DATABASE_URL=f"sqlite:///{database}",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="testserver",
        DJANGO_SECURE_SSL_REDIRECT="false",
        CELERY_BROKER_URL="memory://",
        PUBLIC_BASE_URL="https://eval.invalid",
        TWILIO_ACCOUNT_SID="AC" + secrets.token_hex(16),
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        TWILIO_FROM_NUMBER="+14155550100",
        TWILIO_API_BASE_URL="http://127.0.0.1:9",
        TWILIO_HTTP_TIMEOUT="0.5",
        CALLING_WINDOW_START="00:00",
        CALLING_WINDOW_END="23:59:59",
        AGENT_TURNS_PER_MINUTE="100000",
        AGENT_CONVERSATIONS_PER_HOUR="100000",
        PYTHONUNBUFFERED="1",
        INBOUND_WORKFLOWS=json.dumps({number: workflow for workflow, number in LINES.items()}),
        # This release's candidate definitions, and the ones every call of this run tries.
        AGENT_CANDIDATES=",".join(settings.AGENT_CANDIDATES),
        AGENT_RUN_CANDIDATES=",".join(options.candidates),
    )
    if options.llm == "configured":
        env.update({k: os.environ[k] for k in LLM_SETTINGS if k in os.environ})
    # The simulated caller's model and the judge's, under names the agent does not read.
    for role, wanted in (("CALLER", options.caller == "llm"), ("JUDGE", options.judge)):
        if wanted:
            env.update(
                {
                    f"EVAL_{role}_{k}": v
                    for k in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "LLM_MODEL")
                    if (v := os.environ.get(k))
                }
            )
    return env


def _manage(*args: str) -> list[str]:
    return [sys.executable, str(settings.BASE_DIR / "manage.py"), *args]


def run_suite(jobs: list[dict[str, Any]], options: Options) -> list[dict[str, Any]]:
    """Run `jobs` (scenario dicts, each with a `run` number) in `options.workers` processes; the
    results in the jobs' order."""
    with tempfile.TemporaryDirectory(prefix="eval-") as folder:
        root = Path(folder)
        template = root / "template.sqlite3"
        env = worker_environment(template, options)
        migrate = subprocess.run(  # noqa: S603 (this interpreter and manage.py)
            _manage("migrate", "--noinput"), env=env, capture_output=True, text=True, timeout=600
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"could not prepare the scratch database:\n{migrate.stderr[-2000:]}")
        count = max(1, min(options.workers, len(jobs)))
        shares: list[list[dict[str, Any]]] = [jobs[n::count] for n in range(count)]
        processes = []
        for n, share in enumerate(shares):
            database = root / f"worker-{n}.sqlite3"
            shutil.copyfile(template, database)
            jobfile, out = root / f"jobs-{n}.json", root / f"results-{n}.jsonl"
            jobfile.write_text(json.dumps({"jobs": share, "options": asdict(options)}))
            worker_env = worker_environment(database, options)
            log = root / f"worker-{n}.log"  # a file, not a pipe: a chatty worker never blocks on it
            with log.open("w") as sink:
                process = subprocess.Popen(  # noqa: S603 (this interpreter and manage.py)
                    _manage("eval_agent", "--worker", str(jobfile), "--out", str(out)),
                    env=worker_env,
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
            processes.append((process, out, log))
        results: list[dict[str, Any]] = []
        errors = []
        for process, out, log in processes:
            if process.wait() != 0:
                errors.append(log.read_text(errors="replace")[-3000:])
            if out.exists():
                results += [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
        if errors:
            raise RuntimeError("a worker failed:\n" + "\n".join(errors))
    order = {(j["id"], j["run"]): n for n, j in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r["id"], r["run"])])


# --- inside a worker -------------------------------------------------------------------------


def work(jobfile: Path, out: Path) -> None:
    """A worker's share: each scenario played and judged in turn, each result written as it comes."""
    data = json.loads(jobfile.read_text())
    options = Options(**data["options"])
    prepare_database()
    with out.open("w") as sink:
        for job in data["jobs"]:
            started = time.perf_counter()
            result = asyncio.run(_play_one(job, options))
            result["seconds"] = round(time.perf_counter() - started, 3)
            sink.write(json.dumps(result, default=_json) + "\n")
            sink.flush()


async def _play_one(job: dict[str, Any], options: Options) -> dict[str, Any]:
    scenario = Scenario.model_validate(job["scenario"])
    try:
        return await play(scenario, options, run=job["run"])
    except Exception as exc:  # one broken run is a failed scenario, not a dead suite
        return {
            "id": scenario.id,
            "run": job["run"],
            "passed": False,
            "task_completed": False,
            "failures": [f"the run broke: {type(exc).__name__}: {exc}"],
            "forbidden": [],
            "error": traceback.format_exc()[-2000:],
        }


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    return str(value)
