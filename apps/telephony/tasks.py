"""Celery tasks for outbound calls: they take ids and call one service."""

from celery import shared_task

from apps.telephony import outbound


# No autoretry, deliberately: a dial whose outcome is unclear must never be repeated blindly
# (Twilio has no idempotency key); reconciliation finds out what happened. A redelivered or
# duplicated message is harmless: only the first run claims the call.
@shared_task(soft_time_limit=30, time_limit=60)
def call_place_task(call_id: int) -> str:
    """Place one outbound call (routed to the `dialer` queue)."""
    return outbound.call_place(call_id=call_id).status


@shared_task(soft_time_limit=240, time_limit=300)
def calls_reconcile_task() -> dict[str, int]:
    """Periodic (celery beat): calls stuck in a live status, and dials whose outcome was unclear."""
    return outbound.calls_reconcile()
