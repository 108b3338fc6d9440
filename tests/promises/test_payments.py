"""Payments through POST /api/v1/payments: applied to the open promise, idempotent by reference."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.collections.actions import payment_record
from apps.core.errors import Conflict
from apps.core.models import AuditEvent
from apps.customers.models import Customer
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.promises.models import Payment, Promise, PromiseStatus
from tests.concurrency import concurrently
from tests.factories import CustomerFactory, FollowUpFactory, PaymentFactory, PromiseFactory

pytestmark = pytest.mark.django_db

RECEIVED = "2026-11-20T15:30:00+00:00"


def post(api, **body):
    return api.post("/api/v1/payments", body, content_type="application/json")


def payment_body(customer, **overrides):
    return {"customer_id": customer.pk, "amount": "300.00", "reference": "BANK-1", "received_at": RECEIVED, **overrides}


def state(customer):
    """Everything a payment may change, to show that a refused or repeated one changed nothing."""
    return (
        Customer.objects.get(pk=customer.pk).balance,
        list(Promise.objects.filter(customer=customer).values_list("pk", "status", "amount_paid").order_by("pk")),
        list(Payment.objects.values_list("pk", "reference", "amount", "promise_id").order_by("pk")),
        list(FollowUp.objects.values_list("pk", "status").order_by("pk")),
        AuditEvent.objects.count(),
    )


def test_a_payment_in_full_keeps_the_promise_and_cancels_its_follow_ups(api):
    customer = CustomerFactory(balance=Decimal("1250.00"))
    promise = PromiseFactory(customer=customer, amount=Decimal("300.00"))
    chase = FollowUpFactory(customer=customer, promise=promise)
    unrelated = FollowUpFactory(customer=customer)

    with time_machine.travel(datetime(2026, 11, 21, 9, 0, tzinfo=UTC), tick=False):
        response = post(api, **payment_body(customer, method="bank_transfer"))

    assert response.status_code == 201
    payment = Payment.objects.get()
    assert response.json() == {
        "id": payment.pk,
        "customer_id": customer.pk,
        "amount": "300.00",
        "currency": "USD",
        "reference": "BANK-1",
        "method": "bank_transfer",
        "received_at": "2026-11-20T15:30:00Z",
        "promise_id": promise.pk,
        "promise_status": "kept",
        "created_at": "2026-11-21T09:00:00Z",
    }
    promise.refresh_from_db()
    assert (promise.status, promise.amount_paid, promise.status_reason) == (
        PromiseStatus.KEPT,
        Decimal("300.00"),
        "Payment BANK-1: 300.00 of 300.00 USD paid.",
    )
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("950.00")
    assert FollowUp.objects.get(pk=chase.pk).status == FollowUpStatus.CANCELLED
    assert FollowUp.objects.get(pk=unrelated.pk).status == FollowUpStatus.SCHEDULED
    event = AuditEvent.objects.get(action="payment.record")
    assert (event.object_id, event.details) == (
        str(payment.pk),
        {"amount": "300.00", "reference": "BANK-1", "promise": promise.pk},
    )


def test_partial_payments_make_the_promise_partially_kept_then_kept(api):
    customer = CustomerFactory(balance=Decimal("1250.00"))
    promise = PromiseFactory(customer=customer, amount=Decimal("300.00"))
    chase = FollowUpFactory(customer=customer, promise=promise)

    assert post(api, **payment_body(customer, amount="100.00", reference="P-1")).status_code == 201
    promise.refresh_from_db()
    assert (promise.status, promise.amount_paid) == (PromiseStatus.PARTIALLY_KEPT, Decimal("100.00"))
    assert promise.status_reason == "Payment P-1: 100.00 of 300.00 USD paid."
    assert FollowUp.objects.get(pk=chase.pk).status == FollowUpStatus.SCHEDULED  # still owed

    # More than the rest: the promise is kept, the surplus still lowers the balance.
    assert post(api, **payment_body(customer, amount="250.00", reference="P-2")).json()["promise_status"] == "kept"
    promise.refresh_from_db()
    assert (promise.status, promise.amount_paid) == (PromiseStatus.KEPT, Decimal("300.00"))
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("900.00")
    assert list(Payment.objects.order_by("reference").values_list("reference", "promise_id")) == [
        ("P-1", promise.pk),
        ("P-2", promise.pk),
    ]
    assert FollowUp.objects.get(pk=chase.pk).status == FollowUpStatus.CANCELLED


def test_the_earliest_open_promise_takes_the_payment(api):
    customer = CustomerFactory()
    today = timezone.localdate()
    later = PromiseFactory(customer=customer, due_date=today + timedelta(days=9))
    earlier = PromiseFactory(customer=customer, due_date=today + timedelta(days=2))
    PromiseFactory(customer=customer, due_date=today - timedelta(days=20), status=PromiseStatus.BROKEN)

    assert post(api, **payment_body(customer, amount="50.00")).json()["promise_id"] == earlier.pk
    assert Promise.objects.get(pk=later.pk).amount_paid == Decimal("0.00")


def test_a_duplicate_reference_changes_nothing(api):
    customer = CustomerFactory()
    PromiseFactory(customer=customer, amount=Decimal("300.00"))
    first = post(api, **payment_body(customer, amount="120.00"))
    assert first.status_code == 201
    before = state(customer)

    again = post(api, **payment_body(customer, amount="120.00"))

    assert again.status_code == 200
    assert again.json() == first.json()
    assert state(customer) == before


@pytest.mark.parametrize("change", [{"amount": "121.00"}, {"customer": "other"}])
def test_a_reference_reused_for_another_payment_is_a_conflict(api, change):
    customer, other = CustomerFactory(), CustomerFactory()
    PromiseFactory(customer=customer)
    PromiseFactory(customer=other)
    first = post(api, **payment_body(customer, amount="120.00")).json()
    before = (state(customer), state(other))

    who = other if change.get("customer") else customer
    response = post(api, **payment_body(who, amount=change.get("amount", "120.00")))

    assert response.status_code == 409
    assert response.json() == {
        "detail": f"Reference 'BANK-1' is payment {first['id']}: 120.00 USD from customer {customer.pk}. "
        "A reference identifies one payment."
    }
    assert (state(customer), state(other)) == before


def test_a_payment_without_an_open_promise_is_recorded_unapplied(api):
    customer = CustomerFactory(balance=Decimal("500.00"))
    broken = PromiseFactory(customer=customer, status=PromiseStatus.BROKEN)

    body = post(api, **payment_body(customer, amount="40.00")).json()

    assert (body["promise_id"], body["promise_status"]) == (None, None)
    assert Promise.objects.get(pk=broken.pk).status == PromiseStatus.BROKEN  # a late payment does not reopen it
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("460.00")


@pytest.mark.parametrize(
    ("override", "loc", "message"),
    [
        ({"customer_id": 999999}, ["body", "customer_id"], "No customer with id 999999."),
        ({"amount": "0"}, ["body", "payload", "amount"], "Input should be greater than 0"),
        (
            {"amount": "10.005"},
            ["body", "payload", "amount"],
            "Decimal input should have no more than 2 decimal places",
        ),
        ({"reference": "   "}, ["body", "payload", "reference"], "Value error, The reference is blank."),
        ({"received_at": "2026-11-20T15:30:00"}, ["body", "payload", "received_at"], "Input should have timezone info"),
        (
            {"received_at": "2099-01-01T00:00:00+00:00"},
            ["body", "received_at"],
            "2099-01-01T00:00:00+00:00 is in the future.",
        ),
        ({"currency": "EUR"}, ["body", "currency"], "The account is in USD, not EUR."),
        (
            {"method": "barter"},
            ["body", "payload", "method"],
            "Input should be '', 'card', 'bank_transfer', 'check', 'cash', 'online_portal' or 'other'",
        ),
    ],
)
def test_bad_payments_are_refused_with_the_field_and_write_nothing(api, override, loc, message):
    customer = CustomerFactory()
    PromiseFactory(customer=customer)
    before = state(customer)

    response = post(api, **payment_body(customer, **override))

    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert (error["loc"], error["msg"]) == (loc, message)
    assert state(customer) == before


def test_posting_a_payment_needs_the_permission(client, manager, raw_api_key):
    customer = CustomerFactory()
    before = state(customer)
    assert client.post("/api/v1/payments", payment_body(customer), content_type="application/json").status_code == 401
    assert state(customer) == before
    client.force_login(manager)  # managers read payments, they do not post them
    before = state(customer)
    response = client.post("/api/v1/payments", payment_body(customer), content_type="application/json")
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Your role does not allow this (needs promises.add_payment)."},
    )
    assert state(customer) == before


def test_payments_list_by_customer(api):
    customer = CustomerFactory()
    older = PaymentFactory(customer=customer, received_at=datetime(2026, 11, 1, tzinfo=UTC))
    newer = PaymentFactory(customer=customer, received_at=datetime(2026, 11, 2, tzinfo=UTC))
    PaymentFactory()
    body = api.get(f"/api/v1/payments?customer_id={customer.pk}").json()
    assert (body["count"], [p["id"] for p in body["items"]]) == (2, [newer.pk, older.pk])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_payment_posted_concurrently_on_postgres_counts_once():
    customer = CustomerFactory(balance=Decimal("1000.00"))
    promise = PromiseFactory(customer=customer, amount=Decimal("300.00"))

    outcomes = concurrently(
        4,
        lambda i: payment_record(
            customer_id=customer.pk,
            amount=Decimal("100.00"),
            reference="WIRE-7",
            received_at=datetime(2026, 11, 20, tzinfo=UTC),
            actor="test",
        ),
    )

    assert sorted(created for _, created in outcomes) == [False, False, False, True]
    assert len({payment.pk for payment, _ in outcomes}) == 1
    promise.refresh_from_db()
    assert (promise.status, promise.amount_paid) == (PromiseStatus.PARTIALLY_KEPT, Decimal("100.00"))
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("900.00")
    assert AuditEvent.objects.filter(action="payment.record").count() == 1


def test_a_conflicting_reference_raises_in_the_service_too():
    customer = CustomerFactory()
    first = PaymentFactory(customer=customer, reference="X-1", amount=Decimal("10.00"))
    before = state(customer)
    with pytest.raises(Conflict) as raised:
        payment_record(
            customer_id=customer.pk, amount=Decimal("11.00"), reference="X-1", received_at=timezone.now(), actor="t"
        )
    assert raised.value.message == (
        f"Reference 'X-1' is payment {first.pk}: 10.00 USD from customer {customer.pk}. "
        "A reference identifies one payment."
    )
    assert state(customer) == before
