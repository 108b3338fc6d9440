"""Celery tasks for approvals: they take ids and call one service."""

from celery import shared_task
from django.db import OperationalError

from apps.approvals import services
from apps.core.tasking import RowTask


@shared_task(
    base=RowTask,
    # Only a database hiccup is worth retrying; the service records every other failure itself.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=30,
    time_limit=60,
)
def approval_execute(approval_id: int) -> str:
    """Carry out an approved action. Safe to run twice: only an `approved` row is claimed."""
    return services.approval_execute(approval_id=approval_id).status


@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def approvals_sweep() -> dict[str, int]:
    """Periodic (celery beat): expire overdue pending approvals; re-queue executions that were lost."""
    return {"expired": services.approvals_expire(), "resumed": len(services.approvals_resume_stalled())}
