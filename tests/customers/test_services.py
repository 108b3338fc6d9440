"""Customers' own writes that other apps call: the balance, opting out and back in."""

from decimal import Decimal

import pytest

from apps.core.errors import InvalidReference
from apps.core.models import AuditEvent
from apps.customers.models import Customer, DoNotCallEntry
from apps.customers.services import (
    BalanceChange,
    BalanceTooLow,
    customer_adjust_balance,
    customer_opt_in,
    customer_opt_out,
    customer_record_payment,
    customer_sms_unsubscribed,
)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE = "+14155550123"


def audits(customer) -> list[tuple[str, str, dict]]:
    events = AuditEvent.objects.filter(object_type="customers.customer", object_id=str(customer.pk)).order_by("id")
    return [(e.action, e.actor_label, e.details) for e in events]


def flags(customer) -> tuple[bool, bool]:
    customer = Customer.objects.get(pk=customer.pk)
    return customer.do_not_call, customer.consent_sms


def entries() -> list[tuple[str, str, str]]:
    return sorted(DoNotCallEntry.objects.values_list("phone", "source", "reason"))


# --- the balance ------------------------------------------------------------------------------


def test_a_balance_change_is_applied_and_audited_with_its_reason():
    customer = CustomerFactory(balance=Decimal("1250.00"))
    change = customer_adjust_balance(
        customer_id=customer.pk, delta=Decimal("-35.00"), reason="Waived the late fee.", actor="staff"
    )
    assert change == BalanceChange(before=Decimal("1250.00"), after=Decimal("1215.00"))
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("1215.00")
    assert audits(customer) == [
        (
            "customer.balance_adjust",
            "staff",
            {"before": "1250.00", "after": "1215.00", "delta": "-35.00", "reason": "Waived the late fee."},
        )
    ]


def test_the_balance_never_goes_below_zero():
    customer = CustomerFactory(balance=Decimal("20.00"))
    with pytest.raises(BalanceTooLow) as refused:
        customer_adjust_balance(customer_id=customer.pk, delta=Decimal("-35.00"), reason="Waive.", actor="staff")
    assert (refused.value.balance, refused.value.delta) == (Decimal("20.00"), Decimal("-35.00"))
    assert refused.value.message == "The balance (20.00) is less than 35.00: it cannot go below 0."
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("20.00")
    assert audits(customer) == []
    # To exactly zero is fine.
    customer_adjust_balance(customer_id=customer.pk, delta=Decimal("-20.00"), reason="Waive.", actor="staff")
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("0.00")


@pytest.mark.parametrize(
    ("delta", "reason", "field"),
    [
        (Decimal("0.00"), "Waive.", "delta"),
        (Decimal("-0.005"), "Waive.", "delta"),
        (Decimal("NaN"), "Waive.", "delta"),
        (-35, "Waive.", "delta"),  # an int or float is not an amount of money
        (Decimal("9999999999.00"), "Waive.", "delta"),  # more than the column holds
        (Decimal("-5.00"), "   ", "reason"),
    ],
)
def test_an_invalid_balance_change_is_refused_and_changes_nothing(delta, reason, field):
    customer = CustomerFactory(balance=Decimal("1250.00"))
    with pytest.raises(InvalidReference) as refused:
        customer_adjust_balance(customer_id=customer.pk, delta=delta, reason=reason, actor="staff")
    assert refused.value.field == field
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("1250.00")
    assert audits(customer) == []


# --- opting out -------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "reason"), [("call_opt_out", "Said stop calling."), ("sms_stop", "Texted STOP")])
def test_an_opt_out_lists_the_number_flags_the_customer_withdraws_texts_and_is_audited_once(source, reason):
    customer = CustomerFactory(phone=PHONE, consent_sms=True)
    customer_opt_out(customer_id=customer.pk, source=source, reason=reason, actor="agent:call-1")
    customer_opt_out(customer_id=customer.pk, source=source, reason=reason, actor="agent:call-1")  # said twice

    assert entries() == [(PHONE, source, reason)]
    assert flags(customer) == (True, False)
    assert audits(customer) == [
        (
            "customer.opt_out",
            "agent:call-1",
            {"source": source, "changed": ["do_not_call_entry", "do_not_call", "consent_sms"]},
        )
    ]


def test_a_stop_from_a_number_that_is_no_customer_s_still_lists_it_and_is_audited_once():
    customer_opt_out(phone="+13125550000", source="sms_stop", reason="Texted STOP", actor="system:sms")
    customer_opt_out(phone="+13125550000", source="sms_stop", reason="Texted STOP", actor="system:sms")  # again
    assert entries() == [("+13125550000", "sms_stop", "Texted STOP")]
    entry = DoNotCallEntry.objects.get()
    # On the entry (the analytics count opt-outs from these audit entries, customers' or not).
    assert list(AuditEvent.objects.values_list("action", "object_type", "object_id", "actor_label", "details")) == [
        (
            "customer.opt_out",
            "customers.donotcallentry",
            str(entry.pk),
            "system:sms",
            {"source": "sms_stop", "changed": ["do_not_call_entry"]},
        )
    ]


def test_an_opt_out_needs_the_customer_or_the_number_and_a_known_source():
    customer = CustomerFactory(phone=PHONE)
    for arguments, field in (
        ({"source": "call_opt_out"}, "customer_id"),
        ({"source": "call_opt_out", "customer_id": customer.pk, "phone": PHONE}, "customer_id"),
        ({"source": "shouted", "customer_id": customer.pk}, "source"),
    ):
        with pytest.raises(InvalidReference) as refused:
            customer_opt_out(actor="x", **arguments)
        assert refused.value.field == field
    assert not DoNotCallEntry.objects.exists()
    assert flags(customer) == (False, False)


# --- START undoes a STOP, and only a STOP -------------------------------------------------------


def test_start_undoes_everything_stop_did():
    customer = CustomerFactory(phone=PHONE, consent_sms=True)
    customer_opt_out(phone=PHONE, source="sms_stop", reason="Texted STOP", actor="system:sms")

    assert customer_opt_in(phone=PHONE, actor="system:sms") is True

    assert entries() == []
    assert flags(customer) == (False, True)
    assert [(action, details) for action, _, details in audits(customer)] == [
        ("customer.opt_out", {"source": "sms_stop", "changed": ["do_not_call_entry", "do_not_call", "consent_sms"]}),
        ("customer.opt_in", {"source": "sms_start", "changed": ["do_not_call_entry", "consent_sms", "do_not_call"]}),
    ]


def test_start_keeps_an_opt_out_heard_on_a_call():
    customer = CustomerFactory(phone=PHONE, consent_sms=True)
    customer_opt_out(customer_id=customer.pk, source="call_opt_out", reason="Said stop calling.", actor="agent")
    customer_opt_out(phone=PHONE, source="sms_stop", reason="Texted STOP", actor="system:sms")  # changes nothing

    assert customer_opt_in(phone=PHONE, actor="system:sms") is False

    assert entries() == [(PHONE, "call_opt_out", "Said stop calling.")]
    assert flags(customer) == (True, True)  # texts again: START asked for them


def test_an_opt_out_on_a_call_after_a_stop_outlasts_the_start():
    customer = CustomerFactory(phone=PHONE, consent_sms=True)
    customer_opt_out(phone=PHONE, source="sms_stop", reason="Texted STOP", actor="system:sms")
    customer_opt_out(customer_id=customer.pk, source="call_opt_out", reason="Said stop calling.", actor="agent")
    assert entries() == [(PHONE, "call_opt_out", "Said stop calling.")]

    assert customer_opt_in(phone=PHONE, actor="system:sms") is False

    assert entries() == [(PHONE, "call_opt_out", "Said stop calling.")]
    assert flags(customer) == (True, True)
    assert [(action, details["changed"]) for action, _, details in audits(customer)] == [
        ("customer.opt_out", ["do_not_call_entry", "do_not_call", "consent_sms"]),
        ("customer.opt_out", ["do_not_call_entry"]),
        ("customer.opt_in", ["consent_sms"]),
    ]


def test_a_stop_from_a_customer_staff_had_flagged_is_not_lifted_by_start():
    customer = CustomerFactory(phone=PHONE, consent_sms=True, do_not_call=True)  # flagged by staff, no entry
    customer_opt_out(phone=PHONE, source="sms_stop", reason="Texted STOP", actor="system:sms")
    assert entries() == [(PHONE, "customer_request", "Texted STOP")]

    assert customer_opt_in(phone=PHONE, actor="system:sms") is False

    assert entries() == [(PHONE, "customer_request", "Texted STOP")]
    assert flags(customer) == (True, True)


def test_start_lifts_only_the_stop_s_entry():
    customer = CustomerFactory(phone=PHONE, consent_sms=False)
    DoNotCallEntry.objects.create(phone="+14155550999", source="sms_stop", reason="Texted STOP")
    DoNotCallEntry.objects.create(phone=PHONE, source="imported", reason="Imported list")

    assert customer_opt_in(phone=PHONE, actor="system:sms") is False

    assert entries() == [(PHONE, "imported", "Imported list"), ("+14155550999", "sms_stop", "Texted STOP")]
    assert flags(customer) == (False, True)


# --- what Twilio or a payment tells us ----------------------------------------------------------


def test_twilios_unsubscribed_error_withdraws_consent_to_texts_and_nothing_else():
    customer = CustomerFactory(phone=PHONE, consent_sms=True, do_not_call=False)

    customer_sms_unsubscribed(customer_id=customer.pk, actor="system:sms")

    assert flags(customer) == (False, False)  # do-not-call untouched, texts withdrawn
    assert entries() == []
    assert audits(customer) == [("customer.sms_unsubscribed", "system:sms", {})]


def test_a_payment_lowers_the_balance_below_zero_too():
    customer = CustomerFactory(balance=Decimal("100.00"))

    customer_record_payment(customer_id=customer.pk, amount=Decimal("60.00"))
    customer_record_payment(customer_id=customer.pk, amount=Decimal("60.00"))

    assert Customer.objects.get(pk=customer.pk).balance == Decimal("-20.00")
    assert audits(customer) == []  # the payment's own entry says why
