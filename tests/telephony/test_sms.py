"""Promise confirmations by text: only with consent, once per promise, never sent twice."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.calls.models import Channel
from apps.collections.actions import promise_record
from apps.core.models import AuditEvent
from apps.customers.models import Customer
from apps.promises.models import PromiseSource
from apps.telephony.models import SmsMessage, SmsStatus
from apps.telephony.sms import SmsRetryable, sms_send
from apps.telephony.tasks import sms_resend_task, sms_send_task
from tests.factories import CallFactory, CustomerFactory
from tests.telephony import FROM_NUMBER

pytestmark = pytest.mark.django_db

SMS_TASK = "apps.telephony.tasks.sms_send_task"


def record(customer, **overrides):
    fields = {
        "customer_id": customer.pk,
        "amount": Decimal("400.00"),
        "due_date": date(2026, 12, 4),
        "method": "card",
        "source": PromiseSource.AGENT,
        "actor": "test",
        **overrides,
    }
    return promise_record(**fields)


@pytest.fixture
def consenting(db):
    return CustomerFactory(phone="+14155550123", consent_sms=True)


def test_a_new_promise_is_confirmed_by_text_once(fake_twilio, sent, consenting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        promise = record(consenting)
        assert sent == []  # not before the commit

    message = SmsMessage.objects.get()
    assert sent == [(SMS_TASK, (message.pk,), {})]
    assert (message.status, message.to_number, message.promise) == (SmsStatus.QUEUED, "+14155550123", promise)
    assert message.body == (
        "Northwind Auto Finance: thank you. We have your promise to pay 400.00 USD by Fri, Dec 4. "
        "Reply STOP to stop these texts."
    )

    assert sms_send(message_id=message.pk).status == SmsStatus.SENT
    assert sms_send(message_id=message.pk).status == SmsStatus.SENT  # a redelivered task sends nothing
    [request] = fake_twilio.message_creates
    assert (request.form["To"], request.form["From"], request.form["Body"]) == (
        ["+14155550123"],
        [FROM_NUMBER],
        [message.body],
    )
    message.refresh_from_db()
    [sid] = fake_twilio.messages
    assert (message.twilio_sid, message.sent_at is not None, message.status_reason) == (sid, True, "")


def test_the_same_promise_recorded_again_sends_nothing_more(
    fake_twilio, sent, consenting, django_capture_on_commit_callbacks
):
    call = CallFactory(customer=consenting)
    with django_capture_on_commit_callbacks(execute=True):
        promise = record(consenting, call_id=call.pk)
        again = record(consenting, call_id=call.pk)  # the agent's tool ran twice
    assert again == promise
    message = SmsMessage.objects.get()
    assert sent == [(SMS_TASK, (message.pk,), {})]


def test_without_consent_nothing_is_sent_and_the_row_says_why(fake_twilio, sent, django_capture_on_commit_callbacks):
    customer = CustomerFactory(consent_sms=False)
    with django_capture_on_commit_callbacks(execute=True):
        record(customer)
    message = SmsMessage.objects.get()
    assert (message.status, message.status_reason) == (
        SmsStatus.SKIPPED,
        "The customer has not agreed to text messages.",
    )
    assert sent == []
    assert sms_send(message_id=message.pk).status == SmsStatus.SKIPPED
    assert fake_twilio.message_creates == []


def test_a_promise_made_in_a_web_chat_is_not_texted(fake_twilio, sent, consenting, django_capture_on_commit_callbacks):
    chat = CallFactory(customer=consenting, channel=Channel.WEB_CHAT, twilio_call_sid="")
    with django_capture_on_commit_callbacks(execute=True):
        record(consenting, call_id=chat.pk)
    message = SmsMessage.objects.get()
    assert (message.status, message.status_reason) == (
        SmsStatus.SKIPPED,
        "Made in a web chat (a test call): the customer is not texted.",
    )
    assert sent == []


def test_without_twilio_nothing_is_sent_and_the_row_says_why(
    settings, sent, consenting, django_capture_on_commit_callbacks
):
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = settings.TWILIO_FROM_NUMBER = ""
    with django_capture_on_commit_callbacks(execute=True):
        record(consenting)
    message = SmsMessage.objects.get()
    assert (message.status, message.status_reason) == (
        SmsStatus.SKIPPED,
        "Texting is disabled: Twilio is not configured "
        "(set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER).",
    )
    assert sent == []


def test_consent_withdrawn_before_sending_stops_it(fake_twilio, sent, consenting):
    message = SmsMessage.objects.get(promise=record(consenting))
    Customer.objects.filter(pk=consenting.pk).update(consent_sms=False)  # SMS STOP arrived meanwhile
    assert sms_send(message_id=message.pk).status_reason == "The customer withdrew consent to text messages."
    assert fake_twilio.message_creates == []


def test_an_unsubscribed_number_fails_and_withdraws_consent(fake_twilio, sent, consenting):
    message = SmsMessage.objects.get(promise=record(consenting))
    fake_twilio.script_message(status=400, code=21610, message="Attempt to send to unsubscribed recipient")

    result = sms_send(message_id=message.pk)

    assert (result.status, result.status_reason) == (
        SmsStatus.FAILED,
        "Twilio refused it (21610): Unable to create record: Attempt to send to unsubscribed recipient",
    )
    assert Customer.objects.get(pk=consenting.pk).consent_sms is False
    assert AuditEvent.objects.filter(action="customer.sms_unsubscribed", object_id=str(consenting.pk)).count() == 1


def test_a_5xx_goes_back_to_the_queue_and_the_task_retries(fake_twilio, sent, consenting):
    message = SmsMessage.objects.get(promise=record(consenting))
    fake_twilio.script_message(status=503, code=20500, message="Service unavailable")

    with pytest.raises(SmsRetryable):
        sms_send(message_id=message.pk)
    assert SmsMessage.objects.get(pk=message.pk).status == SmsStatus.QUEUED

    fake_twilio.script_message(status=500, code=20500, message="Internal error")
    assert sms_send_task.apply(args=[message.pk]).get() == SmsStatus.SENT  # eager: the retry runs at once
    assert len(fake_twilio.message_creates) == 3
    assert len(fake_twilio.messages) == 1


def test_a_timeout_is_not_sent_again(settings, fake_twilio, sent, consenting):
    settings.TWILIO_HTTP_TIMEOUT = 0.3
    message = SmsMessage.objects.get(promise=record(consenting))
    fake_twilio.script_message(delay=2)

    assert sms_send_task.apply(args=[message.pk]).get() == SmsStatus.FAILED
    assert SmsMessage.objects.get(pk=message.pk).status_reason == (
        "No answer from Twilio: it may have been sent; not sent again."
    )
    assert len(fake_twilio.message_creates) == 1


def test_a_queued_text_whose_task_was_lost_is_sent_again(
    fake_twilio, sent, consenting, django_capture_on_commit_callbacks
):
    message = SmsMessage.objects.get(promise=record(consenting))  # its task never left (no commit here)
    fresh = SmsMessage.objects.get(promise=record(CustomerFactory(consent_sms=True)))
    SmsMessage.objects.filter(pk=message.pk).update(updated_at=timezone.now() - timedelta(minutes=6))

    with django_capture_on_commit_callbacks(execute=True):
        assert sms_resend_task.apply().get() == 1
    assert sent == [(SMS_TASK, (message.pk,), {})]
    with django_capture_on_commit_callbacks(execute=True):
        assert sms_resend_task.apply().get() == 0  # touched: not again until it is lost again
    assert SmsMessage.objects.get(pk=fresh.pk).status == SmsStatus.QUEUED


def test_twilio_unset_before_sending_skips_the_text_with_the_reason(settings, fake_twilio, sent, consenting):
    message = SmsMessage.objects.get(promise=record(consenting))
    settings.TWILIO_AUTH_TOKEN = ""
    result = sms_send(message_id=message.pk)
    assert (result.status, result.status_reason) == (
        SmsStatus.SKIPPED,
        "Texting is disabled: Twilio is not configured (set TWILIO_AUTH_TOKEN).",
    )
    assert fake_twilio.requests == []
