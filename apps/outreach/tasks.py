"""Celery tasks for follow-ups: they take ids and call one service."""

from celery import shared_task

from apps.core.tasking import RowTask
from apps.outreach import dialer


# No autoretry: a dial whose outcome is unclear is reconciled, never repeated (see call_place).
@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def followup_dial_task(followup_id: int) -> str:
    """Dial one claimed follow-up (the `dialer` queue)."""
    return dialer.followup_dial(followup_id=followup_id).status


@shared_task(base=RowTask, soft_time_limit=120, time_limit=180)
def followups_sweep_task() -> dict[str, int]:
    """Periodic (celery beat, every minute): claim due follow-ups and send them to the dialer."""
    return dialer.followups_sweep()
