"""Celery tasks for outbound calls: they take ids and call one service.

The older ones keep the names they had when this code lived in apps/telephony: names are what the
broker's messages and beat's schedule carry (contactcenter/celery.py), so they stay.
"""

from datetime import datetime

from celery import shared_task

from apps.calls.services import StatusUpdate
from apps.core.tasking import RowTask
from apps.voice import lifecycle, outbound


@shared_task(name="apps.telephony.tasks.calls_reconcile_task", base=RowTask, soft_time_limit=240, time_limit=300)
def calls_reconcile_task() -> dict[str, int]:
    """Periodic (celery beat): calls stuck in a live status, and dials whose outcome was unclear."""
    return outbound.calls_reconcile()


@shared_task(name="apps.telephony.tasks.call_machine_answered_task", base=RowTask, soft_time_limit=20, time_limit=40)
def call_machine_answered_task(call_id: int) -> str:
    """A machine answered an outbound call: leave the voicemail, or hang up (the `live` queue)."""
    return outbound.call_machine_answered(call_id=call_id)


@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def call_status_record_task(
    call_sid: str, status: str, duration_seconds: int | None = None, answered_by: str = "", at: str | None = None
) -> str | None:
    """Twilio's status of a call learnt other than by a status callback (its answer to the dial,
    apps/outreach/dialing.py, when the call had already ended): applied as a callback is, with what
    a call's end starts. Safe to repeat; None when the call is not ours."""
    call = lifecycle.call_status_record(
        StatusUpdate(
            call_sid=call_sid,
            status=status,
            duration_seconds=duration_seconds,
            answered_by=answered_by,
            at=datetime.fromisoformat(at) if at else None,
        )
    )
    return call.status if call is not None else None
