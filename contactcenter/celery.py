"""The Celery app. Settings come from Django settings under the CELERY_ namespace."""

import os
from datetime import timedelta
from pathlib import Path

from celery import Celery
from celery.beat import PersistentScheduler
from celery.schedules import crontab
from celery.signals import worker_process_init
from kombu import Exchange, Queue
from kombu.transport import TRANSPORT_ALIASES, filesystem

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactcenter.settings")

app = Celery("contactcenter")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Queues scale independently: `live` for work a call is waiting on, `analysis` for post-call
# LLM work, `dialer` for outbound dialing, `default` for the rest.
# Each queue has its own exchange and routing key, so a message reaches exactly one queue.
app.conf.task_queues = [
    Queue(name, Exchange(name), routing_key=name) for name in ("live", "analysis", "dialer", "default")
]
app.autodiscover_tasks()
app.conf.task_routes = {
    "apps.telephony.tasks.call_place_task": {"queue": "dialer"},
    "apps.outreach.tasks.followup_dial_task": {"queue": "dialer"},
    "apps.telephony.tasks.call_machine_answered_task": {"queue": "live"},
    "apps.analysis.tasks.*": {"queue": "analysis"},
}

# Periodic sweeps. Only one beat should run, but the tasks tolerate a duplicate.
app.conf.beat_schedule = {
    "followups-sweep": {
        "task": "apps.outreach.tasks.followups_sweep_task",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 60},
    },
    "approvals-sweep": {
        "task": "apps.approvals.tasks.approvals_sweep",
        "schedule": timedelta(minutes=5),
        # A sweep nobody picked up before the next one is due is pointless: drop it.
        "options": {"expires": 5 * 60},
    },
    "analyses-resume": {
        "task": "apps.analysis.tasks.analyses_resume",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
    "promises-lapse": {
        "task": "apps.promises.tasks.promises_lapse_task",
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
    "customers-risk-score": {
        "task": "apps.customers.tasks.customers_risk_score_task",
        # 03:00 in the business's time zone (CELERY_TIMEZONE = BUSINESS_TIME_ZONE), DST included.
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 6 * 3600},
    },
    "sms-resend": {
        "task": "apps.telephony.tasks.sms_resend_task",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
    "chats-close-idle": {
        "task": "apps.chat.tasks.chats_close_idle_task",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
    "analytics-catch-up": {
        "task": "apps.analytics.tasks.rollups_catch_up_task",
        "schedule": timedelta(minutes=1),
        "options": {"expires": 60},
    },
    "calls-reconcile": {
        "task": "apps.telephony.tasks.calls_reconcile_task",
        "schedule": timedelta(minutes=5),
        "options": {"expires": 300},
    },
}


class BeatScheduler(PersistentScheduler):
    """Celery's file-backed schedule (the last run of each entry), in a folder beat makes itself:
    on a fresh clone `var/` does not exist yet, and only beat writes there. A schedule file cut
    short (a beat killed while writing it) is started afresh instead of stopping beat: it holds only
    when each entry last ran, and the periodic tasks tolerate running once more."""

    def setup_schedule(self) -> None:
        Path(self.schedule_filename).parent.mkdir(parents=True, exist_ok=True)
        try:
            super().setup_schedule()
        except EOFError as exc:  # Celery recreates a corrupt file on other errors, not on this one
            self._store = self._destroy_open_corrupted_schedule(exc)
            super().setup_schedule()


app.conf.beat_scheduler = "contactcenter.celery:BeatScheduler"

# The filesystem broker (embedded default) needs its folders before the first message.
for option in ("data_folder_in", "data_folder_out", "control_folder"):
    folder = (app.conf.broker_transport_options or {}).get(option)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)


class FilesystemTransport(filesystem.Transport):
    """Kombu's filesystem broker, drained in short waits. For a broker without async I/O Celery's
    worker looks for a stop request only between waits of up to 2 s, and waits once more after
    it: it began shutting down 2-4 s after SIGTERM."""

    def drain_events(self, connection, timeout=None):
        return super().drain_events(connection, timeout=timeout if timeout is None else min(timeout, 0.5))


if (app.conf.broker_url or "").startswith("filesystem://"):
    # On `make run`'s Ctrl-C the worker overran honcho's 5 s and was killed: the waits above, then
    # the prefork pool's teardown (2-3 s more). Threads have nothing to tear down; they enforce no
    # time limits, which is fine on one development machine (production, on Redis, keeps prefork).
    TRANSPORT_ALIASES["filesystem"] = "contactcenter.celery:FilesystemTransport"  # filesystem:// URLs only
    app.conf.worker_pool = "threads"


@worker_process_init.connect
def _pool_process_own_group(**kwargs) -> None:
    """Each prefork pool process leads its own process group. Supervisors (honcho, foreman) send
    SIGTERM to the worker's whole group: pool processes died of it mid-task (logged as errors)
    while the main process was still shutting down in order. Now only the main process hears it,
    finishes the running tasks and closes the pool; billiard's time limits signal a leader's
    group, and Celery's parent-death signal still kills these processes if the worker dies."""
    os.setpgid(0, 0)
