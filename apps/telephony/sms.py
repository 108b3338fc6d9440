"""Text messages through Twilio Messaging: a row first, then at most one send per row.

    sms_promise_confirmation ──(after commit)──▶ sms_send_task ──▶ sms_send
        SmsMessage(queued), or skipped with why      claims the row (sending), then one POST

Twilio has no idempotency key for messages either, so a send whose outcome is unknown (the
response timed out, the worker died mid-request) is not repeated: a duplicate text is worse than
a missing confirmation, and the row says what happened. A request that surely never arrived
(no connection) or that Twilio failed with a 5xx goes back to the queue and is retried.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.calls.models import Channel
from apps.core.effects import enqueue
from apps.core.tasking import requeue_stale
from apps.customers.models import Customer, DoNotCallSource
from apps.customers.services import customer_opt_in, customer_opt_out, customer_sms_unsubscribed
from apps.promises.models import Promise
from apps.telephony.models import SmsDirection, SmsMessage, SmsPurpose, SmsStatus
from apps.twilio.client import TelephonyNotConfigured, telephony_missing_settings
from apps.twilio.messages import MessageRefused, MessageRetryable, MessageUnclear, message_send

logger = logging.getLogger(__name__)

ACTOR = "system:sms"
# By name: the tasks module imports this one (a task runs its service).
SEND_TASK = "apps.telephony.tasks.sms_send_task"


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
    if promise.call is not None and (promise.call.is_test or promise.call.channel != Channel.VOICE):
        reason = "Made in a web chat (a test call): the customer is not texted."
    elif not customer.consent_sms:
        reason = "The customer has not agreed to text messages."
    elif missing := telephony_missing_settings():
        reason = _not_configured(missing)
    message, created = SmsMessage.objects.get_or_create(
        promise=promise,
        purpose=SmsPurpose.PROMISE_CONFIRMATION,
        defaults={
            "customer": customer,
            "from_number": settings.TWILIO_FROM_NUMBER[:16],
            "to_number": customer.phone,
            "body": body,
            "status": SmsStatus.SKIPPED if reason else SmsStatus.QUEUED,
            "status_reason": reason,
        },
    )
    if created and not reason:
        enqueue(SEND_TASK, message.pk)
    return message


def sms_send(*, message_id: int) -> SmsMessage:
    """Send one queued message. A message that is not queued (sent, being sent, skipped) is left
    alone, so a redelivered or duplicated task sends nothing. Raises SmsRetryable."""
    with transaction.atomic():
        message = (
            SmsMessage.objects.select_for_update(skip_locked=True, of=("self",))
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
        sid = message_send(to=message.to_number, body=message.body)
    except TelephonyNotConfigured as exc:  # unset since it was queued: nothing was sent
        return _finish(message, SmsStatus.SKIPPED, _not_configured(exc.missing))
    except MessageRetryable as exc:
        _finish(message, SmsStatus.QUEUED, "")
        raise SmsRetryable(str(exc)) from exc
    except MessageRefused as exc:
        if exc.unsubscribed:
            customer_sms_unsubscribed(customer_id=message.customer_id, actor=ACTOR)
        return _finish(message, SmsStatus.FAILED, f"Twilio refused it ({exc.code}): {exc.message}")
    except MessageUnclear as exc:
        logger.warning("SMS %s: outcome unknown: %s", message.pk, exc)
        return _finish(message, SmsStatus.FAILED, "No answer from Twilio: it may have been sent; not sent again.")
    message.twilio_sid = sid
    message.sent_at = timezone.now()
    return _finish(message, SmsStatus.SENT, "")


LOST_AFTER = timedelta(minutes=5)


def sms_resend_lost(*, now: datetime | None = None) -> int:
    """Periodic: queued texts whose task never ran (a crash between commit and send) are sent again."""
    queued = SmsMessage.objects.filter(status=SmsStatus.QUEUED)
    return len(requeue_stale(queued, older_than=LOST_AFTER, task=SEND_TASK, now=now))


def sms_give_up(*, message_id: int, error: str) -> SmsMessage:
    """Every retry failed before reaching Twilio: the message is failed, and says why."""
    with transaction.atomic():
        message = SmsMessage.objects.select_for_update().get(pk=message_id)
        if message.status == SmsStatus.QUEUED:
            _finish(message, SmsStatus.FAILED, f"Not sent after retries: {error}")
    return message


def _not_configured(missing) -> str:
    return f"Texting is disabled: Twilio is not configured (set {', '.join(missing)})."


def _finish(message: SmsMessage, status: str, reason: str) -> SmsMessage:
    message.status, message.status_reason = status, reason[:255]
    message.save(update_fields=["status", "status_reason", "twilio_sid", "sent_at", "updated_at"])
    return message


# --- received ---------------------------------------------------------------------------------

# Twilio's own opt-out keywords (Advanced Opt-Out): it also confirms STOP and START to the sender.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def sms_receive(*, message_sid: str, from_number: str, to_number: str, body: str) -> str:
    """A text to our number. STOP is an opt-out, recorded as one heard on a call is
    (`customer_opt_out`); START lifts what STOP did, only that (`customer_opt_in`); HELP gets the
    help text; anything else is kept for a person. Returns the reply to send, or "". A repeat
    (same MessageSid) changes nothing."""
    keyword = body.strip().split(maxsplit=1)[0].upper() if body.strip() else ""
    purpose = (
        SmsPurpose.OPT_OUT
        if keyword in STOP_WORDS
        else SmsPurpose.OPT_IN
        if keyword in START_WORDS
        else SmsPurpose.HELP
        if keyword in HELP_WORDS
        else SmsPurpose.REPLY
    )
    with transaction.atomic():
        if message_sid and SmsMessage.objects.filter(twilio_sid=message_sid).exists():
            return _reply(purpose)
        customer = Customer.objects.select_for_update().filter(phone=from_number).first()
        done = ""
        if purpose == SmsPurpose.OPT_OUT:
            done = _opt_out(from_number)
        elif purpose == SmsPurpose.OPT_IN:
            done = _opt_in(from_number)
        SmsMessage.objects.create(
            direction=SmsDirection.INBOUND,
            customer=customer,
            purpose=purpose,
            # As Twilio sent them (apps/telephony/params.py checked them): nothing is cut to fit,
            # so Twilio's retry of this MessageSid finds this row.
            from_number=from_number,
            to_number=to_number,
            body=body,
            status=SmsStatus.RECEIVED,
            status_reason=done,
            twilio_sid=message_sid,
        )
    return _reply(purpose)


def _opt_out(phone: str) -> str:
    customer_opt_out(phone=phone, source=DoNotCallSource.SMS_STOP, reason="Texted STOP", actor=ACTOR)
    return "Added to the do-not-call list; consent to texts withdrawn."


def _opt_in(phone: str) -> str:
    lifted = customer_opt_in(phone=phone, actor=ACTOR)
    return "Texts allowed again" + ("; the STOP entry left the do-not-call list." if lifted else ".")


def _reply(purpose: str) -> str:
    if purpose != SmsPurpose.HELP:
        return ""  # Twilio confirms STOP and START itself; replies are read by people
    return (
        f"{settings.COMPANY_NAME}: account questions? Call us at {settings.TWILIO_FROM_NUMBER}. Reply STOP to opt out."
    )
