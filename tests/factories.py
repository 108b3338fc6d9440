"""Factories for the domain models: valid by default, override what a test is about."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalKind
from apps.calls.models import Call, CallStatus, Direction, Speaker, TraceEvent, TraceKind, TranscriptEntry
from apps.customers.models import Customer
from apps.dispatch.models import Technician
from apps.outreach.models import FollowUp
from apps.promises.models import Payment, Promise, PromiseSource


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    # +1 415 555 01xx-style numbers are valid for phonenumbers and never real subscribers.
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    account_number = factory.Sequence(lambda n: f"ACC{n:07d}")
    timezone = "America/Los_Angeles"
    balance = Decimal("1250.00")
    days_overdue = 45
    collection_stage = "middle"

    class Params:
        # Recorded consent to AI-voiced calls: what the compliance gate needs before any dial.
        consenting = factory.Trait(
            consent_automated_calls=True,
            consent_given_at=factory.LazyFunction(lambda: timezone.now() - timedelta(days=30)),
            consent_source="web_form",
        )


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    customer = factory.SubFactory(CustomerFactory)
    twilio_call_sid = factory.Sequence(lambda n: f"CA{n:032x}")
    direction = Direction.INBOUND
    status = CallStatus.COMPLETED
    from_number = factory.SelfAttribute("customer.phone")
    to_number = "+14155550100"
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=10))
    ended_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=7))
    duration_seconds = 180


class TranscriptEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TranscriptEntry

    call = factory.SubFactory(CallFactory)
    sequence = factory.Sequence(lambda n: n)
    speaker = Speaker.CUSTOMER
    text = "Hello"


class TraceEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TraceEvent

    call = factory.SubFactory(CallFactory)
    kind = TraceKind.TOOL_CALL
    name = "lookup_account"
    payload = factory.LazyFunction(lambda: {"arguments": {}, "result": {"ok": True}})
    latency_ms = 12.5


class PromiseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promise

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("300.00")
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=7))
    source = PromiseSource.AGENT
    confidence = 90


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    customer = factory.SubFactory(CustomerFactory)
    amount = Decimal("300.00")
    reference = factory.Sequence(lambda n: f"PAY-{n:06d}")
    received_at = factory.LazyFunction(timezone.now)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    customer = factory.SubFactory(CustomerFactory)
    reason = "Check on the promised payment"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))


class ApprovalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Approval

    kind = ApprovalKind.FEE_WAIVER
    customer = factory.SubFactory(CustomerFactory)
    payload = factory.LazyFunction(lambda: {"amount": "35.00", "fee": "late_fee"})
    reasoning = "First late fee in five years; the customer paid in full today."
    confidence = 80
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))


class TechnicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technician

    name = factory.Sequence(lambda n: f"Technician {n}")
    phone = factory.Sequence(lambda n: f"+1510555{n % 10000:04d}")
    base_location = "Oakland, CA"
    latitude = Decimal("37.804400")
    longitude = Decimal("-122.271100")
    specializations = factory.LazyFunction(lambda: ["towing", "battery"])


class DispatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "dispatch.Dispatch"  # by label: imports stay at the top of this file

    call = factory.SubFactory(CallFactory)
    customer = factory.SelfAttribute("call.customer")
    technician = factory.SubFactory(TechnicianFactory, availability="busy")
    location_text = "I-880 near the Coliseum exit in Oakland"
    place_name = "Oakland, CA"
    latitude = Decimal("37.804400")
    longitude = Decimal("-122.271200")
    issue = "battery"
    severity = "urgent"
    eta_minutes = 41  # busy: 30 minutes more
    distance_km = Decimal("0.01")
    score = Decimal("0.9300")


class CallAnalysisFactory(factory.django.DjangoModelFactory):
    """A completed analysis waiting for review: the AI unsure of the promise it heard (300.00 in a
    week, by card), of the follow-up call it set and of the intent. Link `promise.promise_id` to
    the promise it produced, `next_action.followup_id` to the follow-up."""

    class Meta:
        model = "analysis.CallAnalysis"  # by label: imports stay at the top of this file

    call = factory.SubFactory(CallFactory)
    status = "completed"
    analyzer = "offline"
    sentiment = "neutral"
    sentiment_score = 0.0
    intent = "promise_to_pay"
    summary = "Inbound collections call: promise to pay."
    promise = factory.LazyFunction(
        lambda: {
            "made": True,
            "amount": "300.00",
            "due_date": (timezone.localdate() + timedelta(days=7)).isoformat(),
            "method": "card",
            "confidence": 55,
            "reasoning": "The customer named an amount and a date.",
            "evidence": "I can pay 300 dollars next week by card.",
            "promise_id": None,
        }
    )
    next_action = factory.LazyFunction(
        lambda: {
            "type": "follow_up_call",
            "when": (timezone.now() + timedelta(days=8)).replace(microsecond=0).isoformat(),
            "urgency": "normal",
            "reason": "Check the promised payment arrived.",
            "followup_id": None,
            "approval_id": None,
        }
    )
    field_confidence = factory.LazyFunction(
        lambda: {
            "promise": {"confidence": 55, "evidence": "I can pay 300 dollars next week by card."},
            "next_action": {"confidence": 60, "evidence": ""},
            "intent": {"confidence": 65, "evidence": ""},
            "sentiment": {"confidence": 80, "evidence": ""},
            "summary": {"confidence": 85, "evidence": ""},
        }
    )
    confidence = 55
    needs_review = True
    review_fields = factory.LazyFunction(
        lambda: [
            {"field": name, "confidence": value, "reason": f"Confidence {value} is below 70."}
            for name, value in (("intent", 65), ("next_action", 60), ("promise", 55))
        ]
    )
