"""One opt-out, whichever way it is said: "stop calling me" on a call and STOP by text leave the
same records (customers' `customer_opt_out`), the entry's source saying which; START by text
undoes what a STOP did and nothing else."""

import pytest

from apps.core.models import AuditEvent
from apps.customers.models import Customer, DoNotCallEntry
from tests.factories import CustomerFactory
from tests.telephony import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, signed

SMS_PATH = "/twilio/sms/inbound/"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID = AUTH_TOKEN, ACCOUNT_SID
    settings.TWILIO_FROM_NUMBER, settings.PUBLIC_BASE_URL = FROM_NUMBER, PUBLIC_BASE_URL


def text(body: str, sender: str, sid: str):
    response = signed(
        SMS_PATH, {"MessageSid": sid, "From": sender, "To": FROM_NUMBER, "Body": body, "AccountSid": ACCOUNT_SID}
    )
    assert response.status_code == 200


def records(customer) -> dict:
    """What an opt-out leaves on the customer, less what names the channel it came by."""
    customer = Customer.objects.get(pk=customer.pk)
    audit = AuditEvent.objects.filter(object_type="customers.customer", object_id=str(customer.pk)).order_by("id")
    return {
        "do_not_call": customer.do_not_call,
        "consent_sms": customer.consent_sms,
        "consent_automated_calls": customer.consent_automated_calls,
        "listed": DoNotCallEntry.objects.filter(phone=customer.phone).count(),
        "audit": [(e.action, e.details.get("changed")) for e in audit],
    }


def state(customer) -> dict:
    return {
        name: value for name, value in records(customer).items() if name in ("do_not_call", "consent_sms", "listed")
    }


def entry(customer) -> tuple[str, str]:
    return DoNotCallEntry.objects.filter(phone=customer.phone).values_list("source", "reason").get()


def test_stop_by_text_and_stop_calling_me_on_a_call_leave_the_same_records(maria, converse):
    Customer.objects.filter(pk=maria.pk).update(consent_sms=True)
    texter = CustomerFactory(phone="+14155550177", consent_sms=True)

    c = converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk)
    c.say("Stop calling me.")
    text("STOP", sender=texter.phone, sid="SM" + "1" * 32)

    assert records(maria) == records(texter)
    assert records(texter) == {
        "do_not_call": True,
        "consent_sms": False,
        "consent_automated_calls": False,
        "listed": 1,
        "audit": [("customer.opt_out", ["do_not_call_entry", "do_not_call", "consent_sms"])],
    }
    assert (entry(maria), entry(texter)) == (("call_opt_out", "Opted out"), ("sms_stop", "Texted STOP"))
    sources = AuditEvent.objects.filter(action="customer.opt_out").order_by("id").values_list("details", flat=True)
    assert [d["source"] for d in sources] == ["call_opt_out", "sms_stop"]


def test_start_undoes_a_stop_but_not_an_opt_out_heard_on_a_call(maria, converse):
    Customer.objects.filter(pk=maria.pk).update(consent_sms=True)
    texter = CustomerFactory(phone="+14155550177", consent_sms=True)
    converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk).say(
        "Stop calling me."
    )
    text("STOP", sender=texter.phone, sid="SM" + "1" * 32)

    text("START", sender=texter.phone, sid="SM" + "2" * 32)
    text("START", sender=maria.phone, sid="SM" + "3" * 32)

    assert state(texter) == {"do_not_call": False, "consent_sms": True, "listed": 0}
    # START asks for texts again; the request not to be called, made on the call, stands.
    assert state(maria) == {"do_not_call": True, "consent_sms": True, "listed": 1}
    assert entry(maria) == ("call_opt_out", "Opted out")
