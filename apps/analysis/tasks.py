"""Celery tasks for post-call analysis (the `analysis` queue): they take ids and call one service."""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import OperationalError

from apps.analysis import services
from apps.analysis.analyzers import AnalysisUnavailable
from apps.core.tasking import RowTask

MAX_RETRIES = 6  # 30 s doubling to 10 min, with full jitter: about half an hour of outage


# The time limits cover the whole model chain (each request has ANALYSIS_TIMEOUT) and stay far
# below the broker's visibility timeout, so a running task is never delivered twice for being slow.
@shared_task(base=RowTask, bind=True, max_retries=MAX_RETRIES, soft_time_limit=240, time_limit=300)
def call_analyze_task(self, call_id: int, force: bool = False) -> str:
    """Analyse a completed call and act on it. Safe to run twice, or to be killed and run again."""
    try:
        return services.analysis_run(call_id=call_id, force=force).status
    except (AnalysisUnavailable, OperationalError) as exc:  # timeouts, 5xx, a database hiccup
        if self.request.retries >= self.max_retries:
            return services.analysis_give_up(call_id=call_id, error=str(exc)).status
        countdown = get_exponential_backoff_interval(30, self.request.retries, 600, full_jitter=True)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def analyses_resume() -> int:
    """Periodic (celery beat): re-queue analyses whose task was lost (a crash before it was sent)."""
    ids = services.analyses_stalled()
    for call_id in ids:
        call_analyze_task.delay(call_id)
    return len(ids)
