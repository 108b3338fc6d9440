"""Celery tasks for customers: they call one service."""

from celery import shared_task
from django.utils import timezone

from apps.core.tasking import RowTask
from apps.customers.risk import customers_risk_score


@shared_task(base=RowTask, soft_time_limit=600, time_limit=900)
def customers_risk_score_task() -> int:
    """Periodic (celery beat, daily at 03:00 business time): recompute every risk score."""
    return customers_risk_score(now=timezone.now())
