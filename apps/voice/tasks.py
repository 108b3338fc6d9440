"""Celery tasks for outbound calls: they take ids and call one service.

Their names are the ones they had when this code lived in apps/telephony: names are what the
broker's messages and beat's schedule carry (contactcenter/celery.py), so they stay.
"""

from celery import shared_task

from apps.core.tasking import RowTask
from apps.voice import outbound


@shared_task(name="apps.telephony.tasks.calls_reconcile_task", base=RowTask, soft_time_limit=240, time_limit=300)
def calls_reconcile_task() -> dict[str, int]:
    """Periodic (celery beat): calls stuck in a live status, and dials whose outcome was unclear."""
    return outbound.calls_reconcile()


@shared_task(name="apps.telephony.tasks.call_machine_answered_task", base=RowTask, soft_time_limit=20, time_limit=40)
def call_machine_answered_task(call_id: int) -> str:
    """A machine answered an outbound call: leave the voicemail, or hang up (the `live` queue)."""
    return outbound.call_machine_answered(call_id=call_id)
