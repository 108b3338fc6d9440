"""Promises and payments in the admin: recorded through the services, closed only with a reason."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.customers.models import Customer
from apps.outreach.models import FollowUp
from apps.promises.models import Payment, Promise, PromiseSource, PromiseStatus
from tests.admin import action_names, messages_of, run_action, signed_in
from tests.factories import CustomerFactory, PaymentFactory, PromiseFactory

pytestmark = pytest.mark.django_db

PROMISES = reverse("admin:promises_promise_changelist")
PAYMENTS = reverse("admin:promises_payment_changelist")


def test_a_payment_added_in_the_admin_is_applied_like_one_from_the_api(supervisor):
    customer = CustomerFactory(balance=Decimal("800.00"))
    promise = PromiseFactory(customer=customer, amount=Decimal("300.00"))
    received = timezone.now() - timedelta(hours=1)

    response = signed_in(supervisor).post(
        reverse("admin:promises_payment_add"),
        {
            "customer": customer.pk,
            "amount": "300.00",
            "reference": "TELLER-55",
            "method": "cash",
            "received_at_0": received.strftime("%Y-%m-%d"),
            "received_at_1": received.strftime("%H:%M:%S"),
        },
    )

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert (payment.reference, payment.amount, payment.promise) == ("TELLER-55", Decimal("300.00"), promise)
    promise.refresh_from_db()
    assert (promise.status, promise.amount_paid) == (PromiseStatus.KEPT, Decimal("300.00"))
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("500.00")
    assert AuditEvent.objects.get(action="payment.record").actor == supervisor


def test_a_payment_dated_in_the_future_is_refused_on_the_form(supervisor):
    customer = CustomerFactory()
    PromiseFactory(customer=customer)
    future = timezone.now() + timedelta(days=2)
    response = signed_in(supervisor).post(
        reverse("admin:promises_payment_add"),
        {
            "customer": customer.pk,
            "amount": "300.00",
            "reference": "TELLER-56",
            "method": "",
            "received_at_0": future.strftime("%Y-%m-%d"),
            "received_at_1": future.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "received_at": [f"{future.replace(microsecond=0).isoformat()} is in the future."]
    }
    assert not Payment.objects.exists()
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("1250.00")
    assert not AuditEvent.objects.filter(action="payment.record").exists()


def test_recorded_payments_and_promises_are_read_only(supervisor):
    promise = PromiseFactory(amount=Decimal("321.00"))
    payment = PaymentFactory(customer=promise.customer, reference="WIRE-9", amount=Decimal("45.00"))
    client = signed_in(supervisor)
    for url, shown in (
        (reverse("admin:promises_promise_change", args=[promise.pk]), "321.00"),
        (reverse("admin:promises_payment_change", args=[payment.pk]), "WIRE-9"),
    ):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200
        assert response.context["title"].startswith("View ")
        assert shown in page
        assert 'name="amount"' not in page
        assert 'name="_save"' not in page
        assert client.post(url, {"amount": "1.00", "status": "kept"}).status_code == 403

    assert Promise.objects.filter(pk=promise.pk).values_list("amount", "status").get() == (Decimal("321.00"), "pending")
    assert Payment.objects.get(pk=payment.pk).amount == Decimal("45.00")


def test_a_promise_added_in_the_admin_supersedes_the_open_one(supervisor):
    customer = CustomerFactory()
    old = PromiseFactory(customer=customer)
    response = signed_in(supervisor).post(
        reverse("admin:promises_promise_add"),
        {"customer": customer.pk, "call": "", "amount": "150.00", "due_date": "2026-12-01", "method": "card"},
    )
    assert response.status_code == 302
    new = Promise.objects.exclude(pk=old.pk).get()
    assert (new.amount, new.due_date, new.source, new.status) == (
        Decimal("150.00"),
        date(2026, 12, 1),
        PromiseSource.STAFF,
        PromiseStatus.PENDING,
    )
    old.refresh_from_db()
    assert (old.status, old.superseded_by) == (PromiseStatus.SUPERSEDED, new)


def test_a_supervisor_marks_promises_broken_with_a_reason(supervisor):
    open_one = PromiseFactory()
    kept = PromiseFactory(status=PromiseStatus.KEPT, amount_paid=Decimal("300.00"))
    client = signed_in(supervisor)

    page = run_action(client, PROMISES, "mark_broken", [open_one, kept])
    assert page.status_code == 200
    assert page.templates[0].name == "admin/confirm_action.html"
    html = page.content.decode()
    assert '<textarea name="reason"' in html
    assert "A follow-up call is scheduled for each." in html
    assert Promise.objects.get(pk=open_one.pk).status == PromiseStatus.PENDING  # nothing yet

    done = run_action(client, PROMISES, "mark_broken", [open_one, kept], post="yes", reason="Disconnected number.")
    assert done.status_code == 302
    assert messages_of(done) == [
        ("success", "Marked 1 promise broken."),
        (
            "warning",
            f"1 could not be marked broken: promise {kept.pk}: Promise {kept.pk} is kept; only open promises close.",
        ),
    ]
    open_one.refresh_from_db()
    assert (open_one.status, open_one.status_reason) == (PromiseStatus.BROKEN, "Disconnected number.")
    assert FollowUp.objects.get().promise == open_one


def test_the_reason_is_required(supervisor):
    promise = PromiseFactory()
    page = run_action(signed_in(supervisor), PROMISES, "mark_kept", [promise], post="yes", reason="")
    assert page.status_code == 200
    assert page.context["form"].errors == {"reason": ["This field is required."]}
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.PENDING


def test_managers_read_promises_but_cannot_close_them(manager):
    promise = PromiseFactory()
    client = signed_in(manager)
    assert action_names(client.get(PROMISES)) & {"mark_kept", "mark_broken"} == set()
    audited = AuditEvent.objects.count()
    response = run_action(client, PROMISES, "mark_kept", [promise], post="yes", reason="sneaky")
    assert response.status_code == 200  # the list again: not an action they may choose
    assert Promise.objects.get(pk=promise.pk).status == PromiseStatus.PENDING
    assert AuditEvent.objects.count() == audited
