"""Beat keeps its schedule in a file whose folder may not exist yet (a fresh clone has no `var/`)."""

import os
import queue
import shelve
import signal
import subprocess
import sys
import threading
from pathlib import Path

from celery.apps.beat import Beat

from contactcenter.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def stored_entries(schedule: Path) -> set[str]:
    with shelve.open(str(schedule), flag="r") as stored:  # noqa: S301 (the file this test made)
        return set(stored["entries"])


def test_beat_makes_the_folder_of_its_schedule_and_writes_it(tmp_path):
    schedule = tmp_path / "clone" / "var" / "celerybeat-schedule"
    beat = Beat(app=celery_app, schedule=str(schedule), quiet=True)  # what `celery beat` builds

    scheduler = beat.Service(
        app=celery_app, scheduler_cls=beat.scheduler_cls, schedule_filename=beat.schedule
    ).get_scheduler()
    scheduler.close()

    assert stored_entries(schedule) == {*celery_app.conf.beat_schedule, "celery.backend_cleanup"}  # + Celery's own


def test_celery_beat_starts_with_its_schedule_where_no_folder_exists(tmp_path):
    schedule = tmp_path / "volume" / "beat" / "schedule"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="contactcenter.settings",
        DJANGO_DEBUG="true",
        CELERY_BEAT_SCHEDULE_FILENAME=str(schedule),
        PYTHONUNBUFFERED="1",
    )
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "--app", "contactcenter", "beat", "--loglevel", "DEBUG"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=lambda: [*map(lines.put, beat.stdout), lines.put(None)], daemon=True).start()
    log = []
    try:
        while (line := lines.get(timeout=60)) is not None:
            log.append(line)
            if "beat: Ticking with max interval" in line:  # logged once the schedule is set up
                break
        beat.send_signal(signal.SIGTERM)
        assert beat.wait(timeout=30) == 0, "".join(log)
    finally:
        beat.kill()
        beat.wait()
    while (line := lines.get(timeout=10)) is not None:
        log.append(line)

    output = "".join(log)
    assert f"db -> {schedule}" in output
    assert not [line for line in log if "ERROR" in line or "Traceback" in line], output
    assert stored_entries(schedule) == {*celery_app.conf.beat_schedule, "celery.backend_cleanup"}  # + Celery's own


def test_beat_starts_afresh_from_a_schedule_file_cut_short(tmp_path):
    """The index says the entries are there, the data file is empty: what a beat killed while
    writing leaves (seen once on `make run`). Beat starts, and writes its schedule again."""
    schedule = tmp_path / "celerybeat-schedule"
    with shelve.open(str(schedule)) as stored:  # noqa: S301 (the file this test makes)
        stored["entries"] = {"x": 1}
    data = [path for path in tmp_path.iterdir() if path.suffix == ".dat"] or [schedule]
    data[0].write_bytes(b"")
    beat = Beat(app=celery_app, schedule=str(schedule), quiet=True)

    scheduler = beat.Service(
        app=celery_app, scheduler_cls=beat.scheduler_cls, schedule_filename=beat.schedule
    ).get_scheduler()
    scheduler.close()

    assert stored_entries(schedule) == {*celery_app.conf.beat_schedule, "celery.backend_cleanup"}
