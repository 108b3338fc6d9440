"""Celery tasks for post-call analysis (the `analysis` queue): they take ids and call one service."""

from celery import shared_task
from django.db import OperationalError

from apps.analysis import services
from apps.analysis.analyzers import AnalysisUnavailable
from apps.core.tasking import RowTask, retrying_task

MAX_RETRIES = 6  # 30 s doubling to 10 min, with full jitter: about half an hour of outage


def _give_up(exc: Exception, call_id: int, force: bool = False) -> str:
    return services.analysis_give_up(call_id=call_id, error=str(exc)).status


# The time limits cover the whole model chain (each request has ANALYSIS_TIMEOUT) and stay far
# below the broker's visibility timeout, so a running task is never delivered twice for being slow.
@retrying_task(
    retry_for=(AnalysisUnavailable, OperationalError),  # timeouts, 5xx, a database hiccup
    give_up=_give_up,
    max_retries=MAX_RETRIES,
    soft_time_limit=240,
    time_limit=300,
)
def call_analyze_task(call_id: int, force: bool = False) -> str:
    """Analyse a completed call and act on it. Safe to run twice, or to be killed and run again."""
    return services.analysis_run(call_id=call_id, force=force).status


@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def analyses_resume() -> int:
    """Periodic (celery beat): re-queue analyses whose task was lost (a crash before it was sent)."""
    return len(services.analyses_resume_stalled())
