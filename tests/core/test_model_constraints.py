"""The database itself refuses rows that would break the domain's rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call
from apps.customers.models import Customer
from tests.factories import (
    ApprovalFactory,
    CallFactory,
    CustomerFactory,
    FollowUpFactory,
    PaymentFactory,
    PromiseFactory,
    TechnicianFactory,
    TranscriptEntryFactory,
)

pytestmark = pytest.mark.django_db


def refused(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_customer_phone_must_be_e164_in_the_database():
    refused(lambda: CustomerFactory(phone="4155550123"))
    assert not Customer.objects.exists()


def test_customer_phone_and_account_number_are_unique():
    CustomerFactory(phone="+14155550123", account_number="A1")
    refused(lambda: CustomerFactory(phone="+14155550123"))
    refused(lambda: CustomerFactory(account_number="A1"))
    assert Customer.objects.count() == 1


def test_consent_needs_when_and_how():
    refused(lambda: CustomerFactory(consent_automated_calls=True))
    refused(lambda: CustomerFactory(consent_automated_calls=True, consent_given_at=timezone.now()))
    customer = CustomerFactory(consent_automated_calls=True, consent_given_at=timezone.now(), consent_source="web_form")
    assert customer.consent_automated_calls is True


def test_model_validation_names_the_bad_phone_and_timezone():
    customer = CustomerFactory.build(phone="+1415555012", timezone="Mars/Base")
    with pytest.raises(ValidationError) as excinfo:
        customer.full_clean()
    assert set(excinfo.value.message_dict) == {"phone", "timezone"}


def test_call_sid_is_unique_when_present_and_optional_for_web_chats():
    CallFactory(twilio_call_sid="CA" + "1" * 32)
    refused(lambda: CallFactory(twilio_call_sid="CA" + "1" * 32))
    CallFactory(twilio_call_sid="", channel="web_chat")
    CallFactory(twilio_call_sid="", channel="web_chat")
    assert Call.objects.filter(twilio_call_sid="").count() == 2


def test_a_call_cannot_end_before_it_started():
    now = timezone.now()
    refused(lambda: CallFactory(started_at=now, ended_at=now - timedelta(seconds=1)))


def test_transcript_sequence_is_unique_per_call():
    entry = TranscriptEntryFactory(sequence=0)
    refused(lambda: TranscriptEntryFactory(call=entry.call, sequence=0))
    TranscriptEntryFactory(sequence=0)  # another call may use 0


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": Decimal("0")},
        {"amount": Decimal("100"), "amount_paid": Decimal("100.01")},
        {"amount_paid": Decimal("-1")},
        {"confidence": 101},
        {"status": "superseded"},  # without the promise that replaced it
    ],
)
def test_promise_constraints(fields):
    refused(lambda: PromiseFactory(**fields))


def test_a_superseded_promise_points_at_its_successor_which_cannot_be_deleted():
    new = PromiseFactory()
    old = PromiseFactory(customer=new.customer, status="superseded", superseded_by=new)
    assert list(new.supersedes.all()) == [old]
    with pytest.raises(ProtectedError):
        new.delete()
    promise = PromiseFactory()
    promise.superseded_by = promise
    refused(promise.save)


def test_risk_score_is_0_to_100():
    refused(lambda: CustomerFactory(risk_score=Decimal("100.01")))
    assert CustomerFactory(risk_score=Decimal("100")).risk_score == Decimal("100")


def test_payment_reference_is_unique_and_amount_positive():
    PaymentFactory(reference="PAY-1")
    refused(lambda: PaymentFactory(reference="PAY-1"))
    refused(lambda: PaymentFactory(amount=Decimal("0")))


@pytest.mark.parametrize(
    "fields",
    [
        {"attempts": 4, "max_attempts": 3},
        {"max_attempts": 0},
        {"business_override": True, "override_reason": ""},
        {"status": "blocked", "block_reason": ""},
    ],
)
def test_follow_up_constraints(fields):
    refused(lambda: FollowUpFactory(**fields))


def test_a_decided_approval_records_when():
    refused(lambda: ApprovalFactory(status="approved"))
    refused(lambda: ApprovalFactory(confidence=101))
    approval = ApprovalFactory(status="approved", decided_at=timezone.now())
    assert approval.status == "approved"


def test_one_analysis_per_call():
    call = CallFactory()
    CallAnalysis.objects.create(call=call)
    refused(lambda: CallAnalysis.objects.create(call=call))


def test_technician_coordinates_and_specializations():
    refused(lambda: TechnicianFactory(latitude=Decimal("91")))
    technician = TechnicianFactory.build(specializations=["towing", "teleportation"])
    with pytest.raises(ValidationError) as excinfo:
        technician.full_clean()
    assert excinfo.value.message_dict["specializations"] == [
        "Unknown specializations: teleportation. Known: towing, battery, tire, lockout, fuel, engine, ev, accident."
    ]


def test_one_pending_approval_per_call_and_kind():
    call = CallFactory()
    ApprovalFactory(call=call, customer=call.customer, kind="fee_waiver")
    refused(lambda: ApprovalFactory(call=call, customer=call.customer, kind="fee_waiver"))
    ApprovalFactory(call=call, customer=call.customer, kind="settlement")  # another kind is fine
    ApprovalFactory(call=None, kind="fee_waiver")  # requests without a call are not limited
    ApprovalFactory(call=None, kind="fee_waiver")
