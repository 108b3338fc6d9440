"""Celery tasks for the promise lifecycle: they call one service."""

from celery import shared_task

from apps.core.tasking import RowTask
from apps.promises import services


@shared_task(base=RowTask, soft_time_limit=120, time_limit=180)
def promises_lapse_task() -> int:
    """Periodic (celery beat): overdue promises past their grace period become broken."""
    return len(services.promises_lapse())
