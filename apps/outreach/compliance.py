"""The compliance gate: may this customer be called by the AI now, and if not, why and when.

Checked when a follow-up is dialed (under the customer's row lock), when a call is requested
through the API, and again just before such a call is dialed. The rules (US: TCPA and Regulation F; confirm with counsel):

- one at a time: no call while another call to the customer is still open;
- do-not-call: the customer's flag, or the number on the do-not-call list (opt-outs heard on a
  call, SMS STOP, staff, imports);
- consent: AI-voiced calls need recorded prior express consent;
- frequency: at most CALLING_MAX_ATTEMPTS_7_DAYS dial attempts in any rolling 7 days, and none
  within 7 days after a conversation, unless the customer asked for that callback; calls the
  customer made to us (inbound) count for neither (the issue's reading of Regulation F; a
  stricter reading counts inbound conversations too: confirm with counsel);
- calling window: CALLING_WINDOW_START to CALLING_WINDOW_END in the customer's local time: the
  record's time zone, else every zone the number may be in (the window must hold in all).
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, Channel, Direction, Speaker
from apps.customers.models import Customer, DoNotCallEntry
from apps.customers.selectors import number_zones

WEEK = timedelta(days=7)
OPEN_CALL_RECHECK = timedelta(minutes=30)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""
    # The earliest time the rules may allow it; None when only a person can change the answer
    # (do-not-call, no consent, no time zone that works).
    retry_at: datetime | None = None
    rule: str = ""


ALLOWED = Verdict(True)


def compliance_check(
    customer: Customer, *, now: datetime, requested_by_customer: bool = False, exclude_call_id: int | None = None
) -> Verdict:
    """Every rule, cheapest first; `exclude_call_id` is the attempt being checked itself."""
    if customer.do_not_call or DoNotCallEntry.objects.filter(phone=customer.phone).exists():
        return Verdict(False, f"{customer.phone} is on the do-not-call list.", rule="do_not_call")
    if not customer.consent_automated_calls:
        return Verdict(False, "No recorded consent to automated (AI-voiced) calls.", rule="consent")
    zones, zone_source = calling_zones(customer)
    if not zones:
        return Verdict(False, "No time zone on record, and none known for the number.", rule="calling_window")

    if _outbound(customer, exclude_call_id).exclude(status__in=TERMINAL_STATUSES).exists():
        return Verdict(False, "A call to the customer is still open.", now + OPEN_CALL_RECHECK, "call_open")

    earliest, reason, rule = now, "", ""
    attempts = list(
        _outbound(customer, exclude_call_id)
        .filter(dialed_at__gt=now - WEEK)
        .order_by("-dialed_at")
        .values_list("dialed_at", flat=True)[: settings.CALLING_MAX_ATTEMPTS_7_DAYS]
    )
    if len(attempts) >= settings.CALLING_MAX_ATTEMPTS_7_DAYS:
        earliest = attempts[-1] + WEEK
        reason = f"{len(attempts)} call attempts in the last 7 days (the most allowed)."
        rule = "frequency_attempts"
    if not requested_by_customer:
        spoke = (
            _outbound(customer, exclude_call_id)
            .filter(status=CallStatus.COMPLETED, ended_at__gt=now - WEEK, transcript__speaker=Speaker.CUSTOMER)
            .exclude(answered_by__startswith="machine")
            .order_by("-ended_at")
            .values_list("ended_at", flat=True)
            .first()
        )
        if spoke is not None and spoke + WEEK > earliest:
            earliest = spoke + WEEK
            reason = f"A conversation on {spoke:%Y-%m-%d %H:%M} UTC: no call for 7 days after one, unless asked for."
            rule = "frequency_conversation"

    opens = next_window(max(now, earliest), zones)
    where = ", ".join(zone.key for zone in zones) if len(zones) <= 3 else f"{len(zones)} time zones"
    if opens is None:
        return Verdict(False, f"The calling window never holds in all of {where} at once.", rule="calling_window")
    if rule:
        return Verdict(False, reason, opens, rule)
    if opens > now:
        start, end = calling_window()
        return Verdict(
            False,
            f"Outside {start:%H:%M}-{end:%H:%M} in {where} ({zone_source}).",
            opens,
            "calling_window",
        )
    return ALLOWED


def _outbound(customer: Customer, exclude_call_id: int | None):
    """Our calls to the customer, less the ones that never reached Twilio (stopped or refused) and
    staff's test calls."""
    calls = Call.objects.filter(
        customer=customer, direction=Direction.OUTBOUND, channel=Channel.VOICE, is_test=False
    ).exclude(twilio_call_sid="", status__in=[CallStatus.CANCELED, CallStatus.FAILED])
    return calls.exclude(pk=exclude_call_id) if exclude_call_id else calls


def calling_zones(customer: Customer) -> tuple[list[ZoneInfo], str]:
    """The zones the customer may be in, and where that came from."""
    if customer.timezone:
        return [ZoneInfo(customer.timezone)], "the customer's time zone"
    return [ZoneInfo(name) for name in number_zones(customer.phone)], "the number's time zones"


def calling_window() -> tuple[time, time]:
    """CALLING_WINDOW_START and _END: a call may start at or after the start and before the end,
    in the customer's local time. Anything that books a call for a time (a callback) uses this."""
    return time.fromisoformat(settings.CALLING_WINDOW_START), time.fromisoformat(settings.CALLING_WINDOW_END)


def in_window(moment: datetime, zones: list[ZoneInfo]) -> bool:
    start, end = calling_window()
    return all(start <= moment.astimezone(zone).time() < end for zone in zones)


def next_window(moment: datetime, zones: list[ZoneInfo]) -> datetime | None:
    """The first instant at or after `moment` inside the window in every zone, or None when the
    zones never share one. Window starts (08:00 local) never fall in a DST gap."""
    if in_window(moment, zones):
        return moment
    start, _ = calling_window()
    candidates = sorted(
        datetime.combine(moment.astimezone(zone).date() + timedelta(days=day), start, tzinfo=zone)
        for zone in zones
        for day in range(3)
    )
    return next((c for c in candidates if c >= moment and in_window(c, zones)), None)
