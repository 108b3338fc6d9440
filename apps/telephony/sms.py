"""Text messages through Twilio Messaging: a row first, then at most one send per row.

    sms_promise_confirmation ──(after commit)──▶ sms_send_task ──▶ sms_send
        SmsMessage(queued), or skipped with why      claims the row (sending), then one POST

Twilio has no idempotency key for messages either, so a send whose outcome is unknown (the
response timed out, the worker died mid-request) is not repeated: a duplicate text is worse than
a missing confirmation, and the row says what happened. A request that surely never arrived
(no connection) or that Twilio failed with a 5xx goes back to the queue and is retried.
"""

import logging

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioRestException

from apps.calls.models import Channel
from apps.core.effects import enqueue
from apps.core.services import audit_record
from apps.customers.models import Customer
from apps.promises.models import Promise
from apps.telephony import tasks
from apps.telephony.client import telephony_missing_settings, twilio_client
from apps.telephony.models import SmsMessage, SmsPurpose, SmsStatus

logger = logging.getLogger(__name__)

ACTOR = "system:sms"
UNSUBSCRIBED = 21610  # Twilio: the recipient replied STOP to this number


class SmsRetryable(Exception):
    """The request never reached Twilio, or Twilio failed it (5xx): safe to send again later."""


def sms_promise_confirmation(*, promise: Promise) -> SmsMessage:
    """Confirm a new promise by text, only with the customer's consent. Called inside the
    transaction that records the promise; the send happens after commit. Once per promise."""
    customer = promise.customer
    due = promise.due_date
    body = (
        f"{settings.COMPANY_NAME}: thank you. We have your promise to pay {promise.amount} {promise.currency} "
        f"by {due:%a}, {due:%b} {due.day}. Reply STOP to stop these texts."
    )
    reason = ""
    if promise.call is not None and promise.call.channel != Channel.VOICE:
        reason = "Made in a web chat (a test call): the customer is not texted."
    elif not customer.consent_sms:
        reason = "The customer has not agreed to text messages."
    elif missing := telephony_missing_settings():
        reason = f"Texting is disabled: Twilio is not configured (set {', '.join(missing)})."
    message, created = SmsMessage.objects.get_or_create(
        promise=promise,
        purpose=SmsPurpose.PROMISE_CONFIRMATION,
        defaults={
            "customer": customer,
            "to_number": customer.phone,
            "body": body,
            "status": SmsStatus.SKIPPED if reason else SmsStatus.QUEUED,
            "status_reason": reason,
        },
    )
    if created and not reason:
        enqueue(tasks.sms_send_task, message.pk)
    return message


def sms_send(*, message_id: int) -> SmsMessage:
    """Send one queued message. A message that is not queued (sent, being sent, skipped) is left
    alone, so a redelivered or duplicated task sends nothing. Raises SmsRetryable."""
    with transaction.atomic():
        message = (
            SmsMessage.objects.select_for_update(skip_locked=True)
            .select_related("customer")
            .filter(pk=message_id, status=SmsStatus.QUEUED)
            .first()
        )
        if message is None:
            return SmsMessage.objects.get(pk=message_id)
        if not message.customer.consent_sms:  # withdrawn since it was queued (SMS STOP)
            return _finish(message, SmsStatus.SKIPPED, "The customer withdrew consent to text messages.")
        message.status = SmsStatus.SENDING
        message.save(update_fields=["status", "updated_at"])

    try:
        created = twilio_client().messages.create(
            to=message.to_number, from_=settings.TWILIO_FROM_NUMBER, body=message.body
        )
    except TwilioRestException as exc:
        if exc.status >= 500:
            _finish(message, SmsStatus.QUEUED, "")
            raise SmsRetryable(f"Twilio answered {exc.status}") from exc
        if exc.code == UNSUBSCRIBED:
            Customer.objects.filter(pk=message.customer_id).update(consent_sms=False, updated_at=timezone.now())
            audit_record(actor=ACTOR, action="customer.sms_unsubscribed", obj=message.customer)
        return _finish(message, SmsStatus.FAILED, f"Twilio refused it ({exc.code}): {exc.msg}")
    except requests.exceptions.ConnectionError as exc:  # never connected: nothing was sent
        _finish(message, SmsStatus.QUEUED, "")
        raise SmsRetryable(str(exc)) from exc
    except requests.RequestException as exc:  # timed out waiting: it may have been sent
        logger.warning("SMS %s: outcome unknown: %s", message.pk, exc)
        return _finish(message, SmsStatus.FAILED, "No answer from Twilio: it may have been sent; not sent again.")
    message.twilio_sid = created.sid
    message.sent_at = timezone.now()
    return _finish(message, SmsStatus.SENT, "")


def sms_give_up(*, message_id: int, error: str) -> SmsMessage:
    """Every retry failed before reaching Twilio: the message is failed, and says why."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if message.status == SmsStatus.QUEUED:
            _finish(message, SmsStatus.FAILED, f"Not sent after retries: {error}")
    return message


def _finish(message: SmsMessage, status: str, reason: str) -> SmsMessage:
    message.status, message.status_reason = status, reason[:255]
    message.save(update_fields=["status", "status_reason", "twilio_sid", "sent_at", "updated_at"])
    return message
