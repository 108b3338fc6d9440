"""Celery tasks for the promise lifecycle and the risk score: they call one service.

Named as they were when they lived in apps/promises/tasks.py and apps/customers/tasks.py: beat's
schedule and the broker's messages carry the names (contactcenter/celery.py)."""

from celery import shared_task
from django.utils import timezone

from apps.collections import actions, risk
from apps.core.tasking import RowTask


@shared_task(name="apps.promises.tasks.promises_lapse_task", base=RowTask, soft_time_limit=120, time_limit=180)
def promises_lapse_task() -> int:
    """Periodic (celery beat): overdue promises past their grace period become broken."""
    return len(actions.promises_lapse())


@shared_task(name="apps.customers.tasks.customers_risk_score_task", base=RowTask, soft_time_limit=600, time_limit=900)
def customers_risk_score_task() -> int:
    """Periodic (celery beat, daily at 03:00 business time): recompute every risk score."""
    return risk.customers_risk_score(now=timezone.now())
