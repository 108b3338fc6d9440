"""The compliance gate, with the time given: windows across time zones and DST, DNC, consent, frequency."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.calls.models import CallStatus, Direction
from apps.customers.models import DoNotCallEntry
from apps.outreach.compliance import compliance_check, next_window
from tests.factories import CallFactory, CustomerFactory, TranscriptEntryFactory

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def consenting(**fields):
    return CustomerFactory(
        **{
            "consent_automated_calls": True,
            "consent_given_at": utc(2026, 1, 5),
            "consent_source": "web_form",
            "timezone": "America/New_York",
            **fields,
        }
    )


def dialed(customer, at: datetime, **fields):
    return CallFactory(
        customer=customer,
        direction=Direction.OUTBOUND,
        status=fields.pop("status", CallStatus.NO_ANSWER),
        dialed_at=at,
        started_at=at,
        ended_at=at + timedelta(seconds=30),
        **fields,
    )


@pytest.mark.parametrize(
    ("now", "allowed", "retry_at"),
    [
        (utc(2026, 11, 23, 12, 59), False, utc(2026, 11, 23, 13, 0)),  # 07:59 EST
        (utc(2026, 11, 23, 13, 0), True, None),  # 08:00 EST
        (utc(2026, 11, 24, 1, 59), True, None),  # 20:59 EST
        (utc(2026, 11, 24, 2, 0), False, utc(2026, 11, 24, 13, 0)),  # 21:00 EST: tomorrow 08:00
        # Daylight saving time begins on 8 March 2026: 08:00 is 12:00 UTC that day, 13:00 the day before.
        (utc(2026, 3, 7, 12, 30), False, utc(2026, 3, 7, 13, 0)),
        (utc(2026, 3, 8, 11, 30), False, utc(2026, 3, 8, 12, 0)),
        (utc(2026, 3, 8, 12, 0), True, None),
        # ...and ends on 1 November 2026: 20:59 EST is 01:59 UTC the next day.
        (utc(2026, 11, 1, 12, 30), False, utc(2026, 11, 1, 13, 0)),
        (utc(2026, 11, 2, 1, 30), True, None),
    ],
)
def test_the_window_is_the_customers_local_time_across_dst(now, allowed, retry_at):
    verdict = compliance_check(consenting(), now=now)
    assert (verdict.allowed, verdict.retry_at) == (allowed, retry_at)
    if not allowed:
        assert (verdict.rule, verdict.reason) == (
            "calling_window",
            "Outside 08:00-21:00 in America/New_York (the customer's time zone).",
        )


def test_without_a_time_zone_the_window_must_hold_in_every_zone_of_the_number():
    # +1 907: Alaska, on Anchorage time or Adak's, an hour apart; 08:00 in Adak is 18:00 UTC.
    customer = consenting(timezone="", phone="+19075550100")
    early = compliance_check(customer, now=utc(2026, 11, 23, 17, 30))  # 08:30 Anchorage, 07:30 Adak
    assert (early.allowed, early.retry_at) == (False, utc(2026, 11, 23, 18, 0))
    assert early.reason == "Outside 08:00-21:00 in America/Adak, America/Anchorage (the number's time zones)."
    assert compliance_check(customer, now=utc(2026, 11, 23, 18, 0)).allowed is True
    # 21:00 in Anchorage is 06:00 UTC, while Adak is still at 20:00: the earlier end wins.
    assert compliance_check(customer, now=utc(2026, 11, 24, 6, 0)).allowed is False


def test_a_toll_free_number_may_be_anywhere_from_guam_to_newfoundland():
    customer = consenting(timezone="", phone="+18005550123")
    verdict = compliance_check(customer, now=utc(2026, 11, 23, 18, 0))
    # 08:00 in Guam is 22:00 UTC; 21:00 in St. John's is 00:30 UTC: an hour and a half a day.
    assert (verdict.allowed, verdict.retry_at) == (False, utc(2026, 11, 23, 22, 0))
    assert verdict.reason == "Outside 08:00-21:00 in 42 time zones (the number's time zones)."
    assert compliance_check(customer, now=utc(2026, 11, 24, 0, 29)).allowed is True
    assert compliance_check(customer, now=utc(2026, 11, 24, 0, 30)).allowed is False


def test_zones_that_never_share_a_window_have_no_next_time():
    zones = [ZoneInfo("Europe/London"), ZoneInfo("Asia/Singapore"), ZoneInfo("America/Los_Angeles")]
    assert next_window(utc(2026, 11, 23, 18, 0), zones) is None


@pytest.mark.parametrize(
    ("fields", "reason", "rule"),
    [
        ({"do_not_call": True}, "+14155550123 is on the do-not-call list.", "do_not_call"),
        (
            {"consent_automated_calls": False, "consent_given_at": None, "consent_source": ""},
            "No recorded consent to automated (AI-voiced) calls.",
            "consent",
        ),
    ],
)
def test_do_not_call_and_missing_consent_block_until_a_person_changes_them(fields, reason, rule):
    verdict = compliance_check(consenting(phone="+14155550123", **fields), now=utc(2026, 11, 23, 18, 0))
    assert verdict == type(verdict)(False, reason, None, rule)


def test_a_number_on_the_do_not_call_list_is_blocked():
    customer = consenting(phone="+14155550124")
    DoNotCallEntry.objects.create(phone="+14155550124", source="sms_stop")
    verdict = compliance_check(customer, now=utc(2026, 11, 23, 18, 0))
    assert verdict == type(verdict)(False, "+14155550124 is on the do-not-call list.", None, "do_not_call")


def test_the_eighth_attempt_in_seven_days_is_blocked_until_the_first_is_a_week_old():
    customer = consenting()
    now = utc(2026, 11, 23, 18, 0)
    first = now - timedelta(days=6, hours=2)
    for n in range(6):
        dialed(customer, first + timedelta(days=n))
    CallFactory(customer=customer, direction=Direction.INBOUND, status=CallStatus.COMPLETED)  # does not count
    assert compliance_check(customer, now=now).allowed is True  # the 7th

    dialed(customer, now - timedelta(minutes=30))
    verdict = compliance_check(customer, now=now)
    assert (verdict.allowed, verdict.rule, verdict.retry_at) == (False, "frequency_attempts", first + timedelta(days=7))
    assert verdict.reason == "7 call attempts in the last 7 days (the most allowed)."
    assert compliance_check(customer, now=first + timedelta(days=7)).allowed is True


def test_no_call_for_seven_days_after_a_conversation_unless_the_customer_asked():
    customer = consenting()
    now = utc(2026, 11, 23, 18, 0)
    talk = dialed(customer, now - timedelta(days=2), status=CallStatus.COMPLETED, answered_by="human")
    TranscriptEntryFactory(call=talk, sequence=0, speaker="customer", text="Call me next week.")

    verdict = compliance_check(customer, now=now)
    assert (verdict.allowed, verdict.rule) == (False, "frequency_conversation")
    assert verdict.retry_at == talk.ended_at + timedelta(days=7)  # 17:00:30 UTC: inside the window
    assert compliance_check(customer, now=now, requested_by_customer=True).allowed is True


def test_machines_and_inbound_calls_are_not_conversations():
    customer = consenting()
    now = utc(2026, 11, 23, 18, 0)
    machine = dialed(customer, now - timedelta(days=1), status=CallStatus.COMPLETED, answered_by="machine_end_beep")
    TranscriptEntryFactory(call=machine, sequence=0, speaker="customer", text="Leave a message after the tone.")
    inbound = CallFactory(customer=customer, direction=Direction.INBOUND, status=CallStatus.COMPLETED)
    TranscriptEntryFactory(call=inbound, sequence=0, speaker="customer", text="Hi, about my bill.")
    assert compliance_check(customer, now=now).allowed is True


def test_no_second_call_while_one_to_the_customer_is_open():
    customer = consenting()
    now = utc(2026, 11, 23, 18, 0)
    ringing = dialed(customer, now - timedelta(minutes=1), status=CallStatus.RINGING, twilio_call_sid="CA" + "7" * 32)
    assert compliance_check(customer, now=now) == type(compliance_check(customer, now=now))(
        False, "A call to the customer is still open.", now + timedelta(minutes=30), "call_open"
    )
    assert compliance_check(customer, now=now, exclude_call_id=ringing.pk).allowed is True  # checking that very call
