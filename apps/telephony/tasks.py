"""Celery tasks for text messages: they take ids and call one service.

The tasks of outbound calls kept their names (`apps.telephony.tasks.call_place_task`,
`calls_reconcile_task`, `call_machine_answered_task`) when their code moved: the dial to
apps/outreach/tasks.py, the others to apps/voice/tasks.py.
"""

from celery import shared_task

from apps.core.tasking import RowTask, retrying_task
from apps.telephony import sms


def _give_up(exc: Exception, message_id: int) -> str:
    return sms.sms_give_up(message_id=message_id, error=str(exc)).status


@retrying_task(retry_for=(sms.SmsRetryable,), give_up=_give_up, max_retries=5, soft_time_limit=30, time_limit=60)
def sms_send_task(message_id: int) -> str:
    """Send one text message. Retried (backoff with full jitter) only when it surely was not sent."""
    return sms.sms_send(message_id=message_id).status


@shared_task(base=RowTask, soft_time_limit=30, time_limit=60)
def sms_resend_task() -> int:
    """Periodic (celery beat): re-send queued texts whose task was lost."""
    return sms.sms_resend_lost()
