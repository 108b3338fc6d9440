"""Texts to our number at POST /twilio/sms/inbound/: STOP, START, HELP and replies, signature-checked."""

import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from apps.analytics.figures import Filters, compliance
from apps.analytics.rollups import rollups_rebuild
from apps.core.models import AuditEvent
from apps.customers.models import Customer, DoNotCallEntry
from apps.telephony.models import SmsMessage
from tests.factories import CustomerFactory
from tests.telephony import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, signed

pytestmark = pytest.mark.django_db

PATH = "/twilio/sms/inbound/"


@pytest.fixture(autouse=True)
def twilio_settings(settings):
    settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ACCOUNT_SID = AUTH_TOKEN, ACCOUNT_SID
    settings.TWILIO_FROM_NUMBER, settings.PUBLIC_BASE_URL = FROM_NUMBER, PUBLIC_BASE_URL


def text(body: str, sid: str = "SM" + "1" * 32, sender: str = "+14155550123"):
    return signed(PATH, {"MessageSid": sid, "From": sender, "To": FROM_NUMBER, "Body": body, "AccountSid": ACCOUNT_SID})


def reply_of(response) -> list[str]:
    assert (response.status_code, response["Content-Type"]) == (200, "text/xml")
    return [m.text for m in ET.fromstring(response.content).findall("Message")]


@pytest.fixture
def maria():
    return CustomerFactory(phone="+14155550123", consenting=True, consent_sms=True)


def test_stop_puts_the_number_on_the_do_not_call_list_and_withdraws_texts(maria):
    assert reply_of(text("  stop please")) == []  # Twilio confirms STOP itself

    entry = DoNotCallEntry.objects.get(phone="+14155550123")
    assert (entry.source, entry.reason) == ("sms_stop", "Texted STOP")
    assert Customer.objects.get(pk=maria.pk).consent_sms is False
    message = SmsMessage.objects.get()
    assert (message.direction, message.purpose, message.customer, message.body, message.status_reason) == (
        "inbound",
        "opt_out",
        maria,
        "  stop please",
        "Added to the do-not-call list; consent to texts withdrawn.",
    )
    assert AuditEvent.objects.filter(action="customer.opt_out", object_id=str(maria.pk)).count() == 1


def test_twilios_retry_of_the_same_message_changes_nothing(maria):
    text("STOP")
    text("STOP")
    assert SmsMessage.objects.count() == 1
    assert AuditEvent.objects.filter(action="customer.opt_out").count() == 1


def test_start_lifts_only_what_stop_did(maria):
    text("STOP", sid="SM" + "1" * 32)
    DoNotCallEntry.objects.create(phone="+14155550999", source="manual")

    assert reply_of(text("Start", sid="SM" + "2" * 32)) == []

    assert not DoNotCallEntry.objects.filter(phone="+14155550123").exists()
    assert Customer.objects.get(pk=maria.pk).consent_sms is True
    assert DoNotCallEntry.objects.filter(phone="+14155550999").exists()


def test_start_does_not_lift_a_do_not_call_entry_made_another_way(maria):
    DoNotCallEntry.objects.create(phone="+14155550123", source="call_opt_out", reason="Said stop calling")
    text("START")
    assert DoNotCallEntry.objects.get(phone="+14155550123").source == "call_opt_out"


def test_help_gets_the_help_text(maria):
    assert reply_of(text("HELP")) == [
        f"Northwind Auto Finance: account questions? Call us at {FROM_NUMBER}. Reply STOP to opt out."
    ]


def test_a_reply_is_kept_for_a_person_and_changes_nothing(maria):
    assert reply_of(text("I already paid on Monday")) == []
    message = SmsMessage.objects.get()
    assert (message.purpose, message.body, message.customer) == ("reply", "I already paid on Monday", maria)
    assert not DoNotCallEntry.objects.exists()


def test_stop_from_an_unknown_number_still_blocks_it_and_counts_as_an_opt_out(settings):
    text("STOP", sender="+13125550000")
    assert DoNotCallEntry.objects.filter(phone="+13125550000", source="sms_stop").exists()
    assert SmsMessage.objects.get().customer is None
    rollups_rebuild()
    today = timezone.now().astimezone(ZoneInfo(settings.BUSINESS_TIME_ZONE)).date()
    opted = compliance(Filters(today, today))
    assert (opted["opt_outs"], opted["opt_outs_by_source"]) == (1, [("sms_stop", 1)])


def test_a_bad_signature_is_refused_with_nothing_written(maria):
    response = Client().post(
        PATH, {"MessageSid": "SM1", "From": "+14155550123", "Body": "STOP"}, headers={"X-Twilio-Signature": "bad"}
    )
    assert response.status_code == 403
    assert not DoNotCallEntry.objects.exists()
    assert not SmsMessage.objects.exists()
