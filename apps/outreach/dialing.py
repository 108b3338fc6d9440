"""Placing one outbound call: paced, gated at the moment of the dial, exactly one request per attempt.

Twilio has no idempotency key for creating a call, so the attempt row comes first:

    call_create_outbound (calls) ──(after commit)──▶ call_place_task ──▶ call_place
        Call(status=queued)                     waits for a send slot (pacing), claims the row by
                                                setting dialed_at, runs the gate, then one POST

A POST whose outcome we never learned (timeout, connection error, 5xx) is not retried: the call
keeps its dialed_at and no CallSid, and reconciliation (apps/voice/outbound.py) later asks Twilio
which call (if any) that request placed. A 429 (Too Many Requests) placed nothing for certain:
that call is released and dialed again after a backoff. The row is written by the calls app's
services (apps/calls/attempts.py); Twilio is spoken to through apps/twilio.

Twilio's answer to the POST is the call's first status, applied in full (answered_by, duration,
end time) as a status callback would be. A status that ends nothing is applied here; one that ends
the call (rare: Twilio answers `queued`) starts what a call's end starts (its analysis, its
follow-up moved on), which is the voice channel's, above this app: it is handed to the voice
channel's status task, queued by name, the path of a status callback (apps/voice/lifecycle.py).
"""

import logging
import random
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone

from apps.calls.attempts import (
    call_attach_sid,
    call_dial_claim,
    call_dial_reclaim,
    call_dial_release,
    call_dial_unclear,
    call_end_undialed,
    call_touch,
    calls_undialed,
)
from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus
from apps.calls.services import StatusUpdate, call_apply_status
from apps.core.effects import enqueue, enqueue_later
from apps.core.services import audit_record
from apps.outreach.compliance import ALLOWED, Verdict, calling_zones, compliance_check, in_window
from apps.outreach.services import BLOCKED_AT_DIAL
from apps.twilio.calls import TOO_MANY_REQUESTS, call_create, rest_error
from apps.twilio.client import TelephonyNotConfigured
from apps.twilio.pacing import Pacer, dial_pacer
from apps.twilio.signatures import public_url

logger = logging.getLogger(__name__)

CALL_PLACE_TASK = "apps.telephony.tasks.call_place_task"
# The voice channel's handling of a status (apps/voice/tasks.py), for a call that ended at once.
CALL_STATUS_TASK = "apps.voice.tasks.call_status_record_task"
# Pacing (apps/twilio/pacing.py): a dial waits for its send slot this long at most, so no worker
# is held for minutes (the request's TWILIO_HTTP_TIMEOUT comes on top, inside the task's 30 s
# soft limit). A slot further off sends the call back to the broker for about that long, capped
# below reconciliation's grace (apps/voice/outbound.py) so it does not send it again meanwhile.
PACING_MAX_WAIT = 10.0
PACING_MAX_DEFER = 60.0
# A dial that stalled past its slot takes the next free one (within PACING_MAX_WAIT in all).
PACING_TRIES = 3
# Twilio's 429 Too Many Requests: nothing was placed; the call is tried again after a backoff
# (2 s doubling, with jitter, capped at PACING_MAX_DEFER) this many times, then failed.
THROTTLED_RETRIES = 6
THROTTLED_BACKOFF = 2.0


def call_place(*, call_id: int, pacer: Pacer | None = None, throttled: int = 0) -> Call:
    """Place the call with Twilio: at most one REST request per Call row at a time, one call ever.

    Must run outside any transaction: the claim commits before the request goes out, and the
    request must not hold row locks while it waits on the network. The call waits for its send
    slot (pacing) and is claimed; the compliance gate judges it then, after any wait, so a call
    whose calling window closed while it waited is blocked, not placed. `throttled` counts the
    429 answers Twilio gave this call so far.
    """
    if not calls_undialed(call_id).exists():  # no slot spent on a call that is not to be dialed
        call = Call.objects.get(pk=call_id)
        logger.info("Call %s was already dialed (or is not a queued outbound call): not dialing", call_id)
        return call
    urls = callback_urls(call_id)  # before the slot: the first reverse() loads the URLconf
    pacer = pacer or dial_pacer()
    give_up_at = pacer.clock() + PACING_MAX_WAIT
    call, claimed_at = None, None
    for _ in range(PACING_TRIES):
        slot = pacer.acquire(max_wait=max(0.0, give_up_at - pacer.clock()))
        if not slot.granted:
            break
        now = timezone.now()
        if claimed_at is None:
            claimed = call_dial_claim(call_id=call_id, now=now)
            call = Call.objects.select_related("customer", "followup").get(pk=call_id)
            if not claimed:
                logger.info("Call %s was already dialed (or is not a queued outbound call): not dialing", call_id)
                return call
        else:  # a later slot: dialed_at stays the moment the dial was decided
            call_dial_reclaim(call_id=call_id, claimed_at=claimed_at, now=now)
        claimed_at = now
        verdict = _judge(call, now=now)
        if not verdict.allowed:
            return _block(call, verdict)
        if pacer.on_time(slot):
            return _request(call, urls=urls, claimed_at=claimed_at, throttled=throttled)
        # Stalled past its slot (a pause, a slow query): sent now it would crowd the next slots.
    if call is not None:
        call_dial_release(call_id=call.pk, claimed_at=claimed_at)
    # Spread over [wait, 1.5 wait], so the calls sent back together do not return together.
    countdown = min(PACING_MAX_DEFER, max(slot.wait, 1.0) * random.uniform(1, 1.5))  # noqa: S311
    return _dial_later(call_id, countdown=countdown, throttled=throttled)


def callback_urls(call_id: int) -> dict[str, str]:
    """Where Twilio asks about a call we place (`call_create`'s URLs): the voice channel's routes
    (apps/voice/urls.py), reversed by name at PUBLIC_BASE_URL.

    Outreach sits below voice and never imports it: the route names are the whole contract, so a
    path changed in voice's urls.py is followed here, and a name that stops resolving to its view
    fails tests/telephony/test_routes.py."""
    return {
        "answer_url": public_url(reverse("voice:outbound", kwargs={"call_id": call_id})),
        "status_url": public_url(reverse("voice:status")),
        "amd_url": public_url(reverse("voice:amd")),
    }


def twilio_status(resource: Any) -> StatusUpdate:
    """A call resource's status as Twilio's REST API reports it (the answer to a create or a
    fetch: no sequence number, unlike a callback), with its duration, answered_by and end time."""
    status = resource.status or CallStatus.QUEUED
    duration = resource.duration
    return StatusUpdate(
        call_sid=resource.sid,
        status=status,
        duration_seconds=int(duration) if duration not in (None, "") else None,
        answered_by=resource.answered_by or "",
        at=resource.end_time if status in TERMINAL_STATUSES else None,
    )


def _judge(call: Call, *, now: datetime) -> Verdict:
    """The gate, at the moment of the dial: an opt-out since the request, or a wait (for the send
    slot, or in the broker) that ran past the calling window."""
    if not call.customer_id:
        return ALLOWED
    requested = bool(call.followup_id and call.followup.requested_by_customer)
    return compliance_check(call.customer, now=now, requested_by_customer=requested, exclude_call_id=call.pk)


def _block(call: Call, verdict: Verdict) -> Call:
    call_end_undialed(
        call_id=call.pk, status=CallStatus.CANCELED, error=BLOCKED_AT_DIAL + verdict.reason, now=timezone.now()
    )
    audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "blocked", "reason": verdict.reason})
    call.refresh_from_db()
    return call


def _request(call: Call, *, urls: dict[str, str], claimed_at: datetime, throttled: int) -> Call:
    """The one POST, and what its answer means for the call."""
    sent_at = timezone.now()
    try:
        placed = call_create(to=call.to_number, from_=call.from_number, **urls)
    except TelephonyNotConfigured as exc:  # settings changed since the request: nothing was sent
        call_end_undialed(call_id=call.pk, status=CallStatus.FAILED, error=exc.message, now=timezone.now())
        audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "failed", "error": exc.message})
    except Exception as exc:
        rest = rest_error(exc)
        if rest is not None and rest[0] == TOO_MANY_REQUESTS and throttled < THROTTLED_RETRIES:
            # Twilio turned it away for now: nothing was placed. The claim is released and the
            # call dialed again later, waiting longer each time (never a tight loop).
            call_dial_release(call_id=call.pk, claimed_at=claimed_at, error=f"throttled: {rest[1]}")
            audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "throttled", "error": rest[1]})
            logger.warning("Twilio throttled call %s (%d so far): %s", call.pk, throttled + 1, rest[1])
            delay = min(PACING_MAX_DEFER, THROTTLED_BACKOFF * 2**throttled)
            countdown = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311
            return _dial_later(call.pk, countdown=countdown, throttled=throttled + 1)
        if rest is not None and 400 <= rest[0] < 500:
            # Twilio refused the request: definitely no call. Retrying would be refused again.
            call_end_undialed(call_id=call.pk, status=CallStatus.FAILED, error=rest[1], now=timezone.now())
            audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "failed", "error": rest[1]})
            logger.warning("Twilio refused call %s: %s", call.pk, rest[1])
        else:
            # Timeout, connection error, 5xx, anything else: Twilio may have placed the call.
            # Retrying could ring the customer twice; reconciliation finds out instead.
            error = f"unclear: {rest[1] if rest else f'{type(exc).__name__}: {exc}'}"
            call_dial_unclear(call_id=call.pk, error=error)
            audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "unclear", "error": error})
            logger.exception("Dialing call %s: outcome unknown, left for reconciliation", call.pk)
    else:
        if call_attach_sid(call_id=call.pk, sid=placed.sid, now=timezone.now()):
            _first_status(twilio_status(placed))
        details = {"outcome": "placed", "call_sid": placed.sid, "in_window": _in_window(call, sent_at)}
        audit_record(actor=None, action="call.dial", obj=call, details=details)
    call.refresh_from_db()
    return call


def _in_window(call: Call, moment: datetime) -> bool | None:
    """Whether a dial that went out at `moment` was inside the calling window where the customer
    is: checked again, apart from the gate, for the managers' compliance figures (None: no customer)."""
    if not call.customer_id:
        return None
    zones, _ = calling_zones(call.customer)
    return bool(zones) and in_window(moment, zones)


def _first_status(update: StatusUpdate) -> None:
    """What Twilio says of the call it just created. Queued (at most ringing) starts nothing: it
    is applied here. An end starts the call's post-call work, above this app: the update goes to
    the voice channel's status task (after commit), as a status callback would. Should that task
    be lost, the call stays live and quiet, and reconciliation asks Twilio (apps/voice/outbound.py)."""
    if update.status not in TERMINAL_STATUSES:
        call_apply_status(update)
        return
    at = update.at.isoformat() if update.at else None
    enqueue(
        CALL_STATUS_TASK,
        call_sid=update.call_sid,
        status=update.status,
        duration_seconds=update.duration_seconds,
        answered_by=update.answered_by,
        at=at,
    )


def _dial_later(call_id: int, *, countdown: float, throttled: int) -> Call:
    """Send the call back to the broker; when its task runs again it is dialed as above, gate and
    all. Touched, so reconciliation does not take it for a lost task meanwhile."""
    call_touch(call_id=call_id)
    enqueue_later(CALL_PLACE_TASK, args=(call_id,), kwargs={"throttled": throttled}, countdown=round(countdown, 3))
    return Call.objects.select_related("customer", "followup").get(pk=call_id)
