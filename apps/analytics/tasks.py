"""Celery tasks of the analytics: they call one service."""

from celery import shared_task

from apps.analytics.rollups import rollups_catch_up
from apps.core.tasking import RowTask


@shared_task(base=RowTask, soft_time_limit=600, time_limit=660)
def rollups_catch_up_task() -> int:
    """Periodic (celery beat, every minute): the daily rollups take in what changed in the raw rows."""
    return rollups_catch_up()
