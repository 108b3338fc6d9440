"""Celery tasks for follow-ups and dials: they take ids and call one service."""

from celery import shared_task

from apps.core.tasking import RowTask
from apps.outreach import dialer, dialing


# No autoretry: a dial whose outcome is unclear is reconciled, never repeated (see call_place).
@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def followup_dial_task(followup_id: int) -> str:
    """Dial one claimed follow-up (the `dialer` queue)."""
    return dialer.followup_dial(followup_id=followup_id).status


@shared_task(base=RowTask, soft_time_limit=120, time_limit=180)
def followups_sweep_task() -> dict[str, int]:
    """Periodic (celery beat, every minute): claim due follow-ups and send them to the dialer."""
    return dialer.followups_sweep()


# No autoretry, deliberately: a dial whose outcome is unclear must never be repeated blindly
# (Twilio has no idempotency key); reconciliation finds out what happened. A redelivered or
# duplicated message is harmless: only the first run claims the call. call_place itself sends the
# call back with a countdown when its send slot is far off or Twilio answered 429 (`throttled`).
# Named as it was when it lived in apps/telephony/tasks.py: queued messages carry the name.
@shared_task(name=dialing.CALL_PLACE_TASK, base=RowTask, soft_time_limit=30, time_limit=60)
def call_place_task(call_id: int, throttled: int = 0) -> str:
    """Place one outbound call (routed to the `dialer` queue)."""
    return dialing.call_place(call_id=call_id, throttled=throttled).status
