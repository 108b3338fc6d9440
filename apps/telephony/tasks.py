"""Celery tasks for outbound calls and texts: they take ids and call one service."""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from apps.core.tasking import RowTask
from apps.telephony import outbound, sms


# No autoretry, deliberately: a dial whose outcome is unclear must never be repeated blindly
# (Twilio has no idempotency key); reconciliation finds out what happened. A redelivered or
# duplicated message is harmless: only the first run claims the call. call_place itself sends the
# call back with a countdown when its send slot is far off or Twilio answered 429 (`throttled`).
@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def call_place_task(call_id: int, throttled: int = 0) -> str:
    """Place one outbound call (routed to the `dialer` queue)."""
    return outbound.call_place(call_id=call_id, throttled=throttled).status


@shared_task(base=RowTask, soft_time_limit=240, time_limit=300)
def calls_reconcile_task() -> dict[str, int]:
    """Periodic (celery beat): calls stuck in a live status, and dials whose outcome was unclear."""
    return outbound.calls_reconcile()


@shared_task(base=RowTask, bind=True, max_retries=5, soft_time_limit=30, time_limit=60)
def sms_send_task(self, message_id: int) -> str:
    """Send one text message. Retried (backoff with full jitter) only when it surely was not sent."""
    try:
        return sms.sms_send(message_id=message_id).status
    except sms.SmsRetryable as exc:
        if self.request.retries >= self.max_retries:
            return sms.sms_give_up(message_id=message_id, error=str(exc)).status
        countdown = get_exponential_backoff_interval(30, self.request.retries, 600, full_jitter=True)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(base=RowTask, soft_time_limit=20, time_limit=40)
def call_machine_answered_task(call_id: int) -> str:
    """A machine answered an outbound call: leave the voicemail, or hang up (the `live` queue)."""
    return outbound.call_machine_answered(call_id=call_id)


@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def sms_resend_task() -> int:
    """Periodic (celery beat): re-send queued texts whose task was lost."""
    return sms.sms_resend_lost()
