"""An executed approval changes the customer's records through the apps that own them: a fee
waiver through customers' balance service, a settlement through promises' `promise_record`
(its text confirmation and audit entry, like any other promise)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.approvals.services import approval_decide, approval_execute, approval_request
from apps.calls.models import Channel
from apps.core.models import AuditEvent
from apps.customers.models import Customer
from apps.promises.models import Promise, PromiseStatus
from apps.telephony.models import SmsMessage, SmsPurpose, SmsStatus
from tests.factories import CallFactory, CustomerFactory, PromiseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def call():
    customer = CustomerFactory(phone="+14155550123", balance=Decimal("1250.00"), consent_sms=True)
    return CallFactory(customer=customer, channel=Channel.VOICE)


def approved(call, agent, kind: str, payload: dict):
    approval = approval_request(
        kind=kind,
        customer=call.customer,
        call=call,
        payload=payload,
        reasoning="Asked on the call.",
        confidence=80,
        actor="ai-agent",
    )
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    return approval


def test_a_waived_fee_is_a_balance_change_audited_on_the_customer_in_the_approver_s_name(call, agent):
    approval = approved(call, agent, "fee_waiver", {"fee": "late_fee", "amount": "35.00"})

    approval_execute(approval_id=approval.pk)

    event = AuditEvent.objects.get(action="customer.balance_adjust")
    assert (event.object_type, event.object_id) == ("customers.customer", str(call.customer.pk))
    assert (event.actor, event.actor_label) == (agent, "agt")
    assert event.details == {
        "before": "1250.00",
        "after": "1215.00",
        "delta": "-35.00",
        "reason": f"Waived the late_fee (approval {approval.pk}).",
    }


def test_a_settlement_s_promise_is_confirmed_by_text_and_audited_like_any_promise(call, agent, fake_twilio):
    old = PromiseFactory(customer=call.customer, amount=Decimal("300.00"))
    due = timezone.localdate() + timedelta(days=14)
    approval = approved(call, agent, "settlement", {"settlement_amount": "800.00", "due_date": due.isoformat()})

    executed = approval_execute(approval_id=approval.pk)  # queued: sent by a task after commit

    promise = Promise.objects.get(status=PromiseStatus.PENDING)
    assert executed.result["promise_id"] == promise.pk
    assert promise.status_reason == f"Settlement approved (approval {approval.pk})."
    message = SmsMessage.objects.get(promise=promise)
    assert (message.purpose, message.status, message.to_number) == (
        SmsPurpose.PROMISE_CONFIRMATION,
        SmsStatus.QUEUED,
        "+14155550123",
    )
    assert message.body == (
        f"Northwind Auto Finance: thank you. We have your promise to pay 800.00 USD by {due:%a}, {due:%b} {due.day}. "
        "Reply STOP to stop these texts."
    )
    event = AuditEvent.objects.get(action="promise.record")
    assert (event.object_id, event.actor, event.actor_label) == (str(promise.pk), agent, "agt")
    assert event.details == {"amount": "800.00", "due_date": due.isoformat(), "superseded": [old.pk]}


def test_a_settlement_for_a_customer_who_refused_texts_is_not_texted(call, agent):
    call.customer.consent_sms = False
    call.customer.save()
    due = timezone.localdate() + timedelta(days=14)
    approval = approved(call, agent, "settlement", {"settlement_amount": "800.00", "due_date": due.isoformat()})

    approval_execute(approval_id=approval.pk)

    message = SmsMessage.objects.get()
    assert (message.status, message.status_reason) == (
        SmsStatus.SKIPPED,
        "The customer has not agreed to text messages.",
    )


def test_a_failed_settlement_records_no_promise_text_or_audit(call, agent):
    due = timezone.localdate() + timedelta(days=14)
    approval = approved(call, agent, "settlement", {"settlement_amount": "800.00", "due_date": due.isoformat()})
    Customer.objects.filter(pk=call.customer.pk).update(balance=Decimal("700.00"))

    assert approval_execute(approval_id=approval.pk).status == "failed"

    assert not Promise.objects.exists()
    assert not SmsMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="promise.record").exists()
