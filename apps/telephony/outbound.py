"""Outbound calls through Twilio's REST API: exactly one call per attempt, and reconciliation.

Twilio has no idempotency key for creating a call, so the attempt row comes first:

    call_request_outbound ──(after commit)──▶ call_place_task ──▶ call_place
        Call(status=queued)                     waits for a send slot (pacing), claims the row by
                                                setting dialed_at, runs the gate, then one POST

A POST whose outcome we never learned (timeout, connection error, 5xx) is not retried: the call
keeps its dialed_at and no CallSid, and `calls_reconcile` later asks Twilio which call (if any)
that request placed. A 429 (Too Many Requests) placed nothing for certain: that call is released
and dialed again after a backoff.
"""

import logging
import random
from datetime import datetime, timedelta
from typing import Any

import requests

# The client imports its Calls resource on first use (~30-80 ms): imported here, when the process
# starts, so that cost never falls between a dial's send slot and its request (see pacing).
import twilio.rest.api.v2010.account.call  # noqa: F401
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client

from apps.agent.workflows import WORKFLOWS
from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, Channel, Direction
from apps.calls.services import StatusUpdate, call_apply_status
from apps.core.effects import enqueue, enqueue_later
from apps.core.errors import Conflict, InvalidReference
from apps.core.models import AuditEvent
from apps.core.services import Actor, audit_record
from apps.customers.models import Customer
from apps.outreach.compliance import ALLOWED, Verdict, compliance_check
from apps.outreach.models import FollowUp
from apps.outreach.services import BLOCKED_AT_DIAL, NOT_A_PERSON
from apps.telephony import twiml
from apps.telephony.client import TelephonyNotConfigured, telephony_ensure_configured, twilio_client
from apps.telephony.pacing import Pacer, dial_pacer
from apps.telephony.signatures import public_url

logger = logging.getLogger(__name__)

CALL_PLACE_TASK = "apps.telephony.tasks.call_place_task"
STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
# A dial with no CallSid is looked at once it has been quiet this long (well past any HTTP timeout).
UNCLEAR_DIAL_GRACE = timedelta(minutes=2)
# Twilio's StartTime filter is compared with its own clock: leave room for skew.
CLOCK_SKEW = timedelta(minutes=1)
RECONCILE_LIST_LIMIT = 20
# Rows per kind per sweep; the rest wait for the next sweep.
RECONCILE_BATCH = 100
# Failures that leave the sweep going: the network, Twilio's errors, and nothing else.
NETWORK_ERRORS = (TwilioException, requests.RequestException)
# Pacing (apps/telephony/pacing.py): a dial waits for its send slot this long at most, so no
# worker is held for minutes (the request's TWILIO_HTTP_TIMEOUT comes on top, inside the task's
# 30 s soft limit). A slot further off sends the call back to the broker for about that long,
# capped below UNCLEAR_DIAL_GRACE so reconciliation does not send it again meanwhile.
PACING_MAX_WAIT = 10.0
PACING_MAX_DEFER = 60.0
# A dial that stalled past its slot takes the next free one (within PACING_MAX_WAIT in all).
PACING_TRIES = 3
# Twilio's 429 Too Many Requests: nothing was placed; the call is tried again after a backoff
# (2 s doubling, with jitter, capped at PACING_MAX_DEFER) this many times, then failed.
TOO_MANY_REQUESTS = 429
THROTTLED_RETRIES = 6
THROTTLED_BACKOFF = 2.0

_OPEN = {"status__in": [s for s in CallStatus.values if s not in TERMINAL_STATUSES]}


# --- request ----------------------------------------------------------------------------------


class ComplianceBlocked(Conflict):
    """The compliance gate refuses this call now."""

    def __init__(self, verdict: Verdict) -> None:
        later = f" Allowed again from {verdict.retry_at:%Y-%m-%d %H:%M %Z}." if verdict.retry_at else ""
        super().__init__(f"Not allowed to call now: {verdict.reason}{later}")
        self.verdict = verdict


@transaction.atomic
def call_request_outbound(*, customer_id: int, workflow: str, reason: str, actor: Actor) -> Call:
    """Record an outbound call attempt and dial it after commit, if the compliance gate allows it
    now. Nothing is written when refused."""
    customer = Customer.objects.select_for_update().filter(pk=customer_id).first()  # one decision at a time
    if customer is None:
        raise InvalidReference("customer_id", f"No customer with id {customer_id}.")
    if workflow not in WORKFLOWS:
        raise InvalidReference("workflow", f"No workflow {workflow!r}; known: {', '.join(sorted(WORKFLOWS))}.")
    verdict = compliance_check(customer, now=timezone.now())
    if not verdict.allowed:
        raise ComplianceBlocked(verdict)
    telephony_ensure_configured()
    call = call_create_outbound(customer=customer, workflow=workflow, reason=reason, actor=actor)
    enqueue(CALL_PLACE_TASK, call.pk)
    return call


def call_create_outbound(
    *, customer: Customer, workflow: str, reason: str, actor: Actor, followup: FollowUp | None = None
) -> Call:
    """The attempt's row, written before anything is dialed (see call_place)."""
    call = Call.objects.create(
        customer=customer,
        channel=Channel.VOICE,
        direction=Direction.OUTBOUND,
        status=CallStatus.QUEUED,
        from_number=settings.TWILIO_FROM_NUMBER,
        to_number=customer.phone,
        reason=reason,
        workflow_name=workflow,
        followup=followup,
    )
    details: dict[str, Any] = {"workflow": workflow, "reason": reason}
    if followup is not None:
        details["followup_id"] = followup.pk
    audit_record(actor=actor, action="call.request_outbound", obj=call, details=details)
    return call


# --- dial -------------------------------------------------------------------------------------


def _rest_error(exc: Exception) -> tuple[int, str] | None:
    """(HTTP status, "<code>: <message>") for an error response from Twilio, else None."""
    if isinstance(exc, TwilioRestException):
        message = str(exc.msg).removeprefix("Unable to create record: ")
        return exc.status, f"{exc.code}: {message}"
    if isinstance(exc, TwilioServiceException):
        return exc.status, f"{exc.code}: {exc.detail or exc.title}"
    return None


def _end_undialed(call: Call, *, status: str, error: str, now: datetime) -> bool:
    """Close a claimed call that Twilio never got (or refused): it has no CallSid to hear about."""
    return bool(
        Call.objects.filter(pk=call.pk, twilio_call_sid="")
        .exclude(status__in=TERMINAL_STATUSES)
        .update(status=status, ended_at=now, error=error, updated_at=now)
    )


def _undialed(call_id: int):
    return Call.objects.filter(
        pk=call_id,
        dialed_at__isnull=True,
        twilio_call_sid="",
        status=CallStatus.QUEUED,
        direction=Direction.OUTBOUND,
        channel=Channel.VOICE,
    )


def call_place(*, call_id: int, pacer: Pacer | None = None, throttled: int = 0) -> Call:
    """Place the call with Twilio: at most one REST request per Call row at a time, one call ever.

    Must run outside any transaction: the claim commits before the request goes out, and the
    request must not hold row locks while it waits on the network. The call waits for its send
    slot (pacing) and is claimed; the compliance gate judges it then, after any wait, so a call
    whose calling window closed while it waited is blocked, not placed. `throttled` counts the
    429 answers Twilio gave this call so far.
    """
    if not _undialed(call_id).exists():  # no slot spent on a call that is not to be dialed
        call = Call.objects.get(pk=call_id)
        logger.info("Call %s was already dialed (or is not a queued outbound call): not dialing", call_id)
        return call
    pacer = pacer or dial_pacer()
    give_up_at = pacer.clock() + PACING_MAX_WAIT
    call, claimed_at = None, None
    for _ in range(PACING_TRIES):
        slot = pacer.acquire(max_wait=max(0.0, give_up_at - pacer.clock()))
        if not slot.granted:
            break
        now = timezone.now()
        if claimed_at is None:
            # The claim: one conditional UPDATE. Whoever sets dialed_at is the only one who may
            # dial; a second worker, a redelivered task or a retry finds nothing to claim.
            claimed = _undialed(call_id).update(dialed_at=now, updated_at=now)
            call = Call.objects.select_related("customer", "followup").get(pk=call_id)
            if not claimed:
                logger.info("Call %s was already dialed (or is not a queued outbound call): not dialing", call_id)
                return call
        else:  # a later slot: dialed_at stays the moment the dial was decided
            Call.objects.filter(pk=call_id, dialed_at=claimed_at).update(dialed_at=now)
        claimed_at = now
        verdict = _judge(call, now=now)
        if not verdict.allowed:
            return _block(call, verdict)
        if pacer.on_time(slot):
            return _request(call, claimed_at=claimed_at, throttled=throttled)
        # Stalled past its slot (a pause, a slow query): sent now it would crowd the next slots.
    if call is not None:
        _release(call, claimed_at=claimed_at)
    # Spread over [wait, 1.5 wait], so the calls sent back together do not return together.
    countdown = min(PACING_MAX_DEFER, max(slot.wait, 1.0) * random.uniform(1, 1.5))  # noqa: S311
    return _dial_later(call_id, countdown=countdown, throttled=throttled)


def _judge(call: Call, *, now: datetime) -> Verdict:
    """The gate, at the moment of the dial: an opt-out since the request, or a wait (for the send
    slot, or in the broker) that ran past the calling window."""
    if not call.customer_id:
        return ALLOWED
    requested = bool(call.followup_id and call.followup.requested_by_customer)
    return compliance_check(call.customer, now=now, requested_by_customer=requested, exclude_call_id=call.pk)


def _block(call: Call, verdict: Verdict) -> Call:
    _end_undialed(call, status=CallStatus.CANCELED, error=BLOCKED_AT_DIAL + verdict.reason, now=timezone.now())
    audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "blocked", "reason": verdict.reason})
    call.refresh_from_db()
    return call


def _request(call: Call, *, claimed_at: datetime, throttled: int) -> Call:
    """The one POST, and what its answer means for the call."""
    try:
        client = twilio_client()
        placed = client.calls.create(
            to=call.to_number,
            from_=call.from_number,
            url=public_url(f"/twilio/voice/outbound/{call.pk}/"),
            method="POST",
            status_callback=public_url("/twilio/voice/status/"),
            status_callback_method="POST",
            status_callback_event=STATUS_CALLBACK_EVENTS,
            machine_detection="DetectMessageEnd",
            # Twilio wants the string "true"; a Python bool would be sent as "True".
            async_amd="true",
            async_amd_status_callback=public_url("/twilio/voice/amd/"),
            async_amd_status_callback_method="POST",
            time_limit=settings.OUTBOUND_CALL_TIME_LIMIT,
        )
    except TelephonyNotConfigured as exc:  # settings changed since the request: nothing was sent
        _end_undialed(call, status=CallStatus.FAILED, error=exc.message, now=timezone.now())
        audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "failed", "error": exc.message})
    except Exception as exc:
        rest = _rest_error(exc)
        if rest is not None and rest[0] == TOO_MANY_REQUESTS and throttled < THROTTLED_RETRIES:
            # Twilio turned it away for now: nothing was placed. The claim is released and the
            # call dialed again later, waiting longer each time (never a tight loop).
            _release(call, claimed_at=claimed_at, error=f"throttled: {rest[1]}")
            audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "throttled", "error": rest[1]})
            logger.warning("Twilio throttled call %s (%d so far): %s", call.pk, throttled + 1, rest[1])
            delay = min(PACING_MAX_DEFER, THROTTLED_BACKOFF * 2**throttled)
            countdown = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311
            return _dial_later(call.pk, countdown=countdown, throttled=throttled + 1)
        if rest is not None and 400 <= rest[0] < 500:
            # Twilio refused the request: definitely no call. Retrying would be refused again.
            _end_undialed(call, status=CallStatus.FAILED, error=rest[1], now=timezone.now())
            audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "failed", "error": rest[1]})
            logger.warning("Twilio refused call %s: %s", call.pk, rest[1])
        else:
            # Timeout, connection error, 5xx, anything else: Twilio may have placed the call.
            # Retrying could ring the customer twice; reconciliation finds out instead.
            error = f"unclear: {rest[1] if rest else f'{type(exc).__name__}: {exc}'}"
            Call.objects.filter(pk=call.pk).update(error=error, updated_at=timezone.now())
            audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "unclear", "error": error})
            logger.exception("Dialing call %s: outcome unknown, left for reconciliation", call.pk)
    else:
        if _attach_sid(call, placed.sid, now=timezone.now()):
            _apply_twilio_state(placed)
        audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "placed", "call_sid": placed.sid})
    call.refresh_from_db()
    return call


def _release(call: Call, *, claimed_at: datetime, error: str = "") -> None:
    """Give back a claim that sent nothing (for certain), so the call can be dialed later."""
    Call.objects.filter(pk=call.pk, dialed_at=claimed_at, twilio_call_sid="").update(
        dialed_at=None, error=error, updated_at=timezone.now()
    )


def _dial_later(call_id: int, *, countdown: float, throttled: int) -> Call:
    """Send the call back to the broker; when its task runs again it is dialed as above, gate and
    all. Touched, so reconciliation does not take it for a lost task meanwhile."""
    Call.objects.filter(pk=call_id).update(updated_at=timezone.now())
    enqueue_later(CALL_PLACE_TASK, args=(call_id,), kwargs={"throttled": throttled}, countdown=round(countdown, 3))
    return Call.objects.select_related("customer", "followup").get(pk=call_id)


# --- answering machines ------------------------------------------------------------------------


def voicemail_text() -> str:
    """A limited-content message: who is calling and how to call back, nothing about a debt."""
    return settings.OUTBOUND_VOICEMAIL_TEXT or (
        f"Hello, this is {settings.AGENT_NAME}, a virtual assistant calling for {settings.COMPANY_NAME}. "
        f"Please call us back at {' '.join(settings.TWILIO_FROM_NUMBER.removeprefix('+'))}. Thank you."
    )


def call_machine_answered(*, call_id: int) -> str:
    """Answering-machine detection heard a machine: replace the call's TwiML with the voicemail
    (said after the beep), or end the call. Once per call: the audit entry is written, under the
    call's lock, before the one request."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(pk=call_id)
        if not call.twilio_call_sid or call.status in TERMINAL_STATUSES:
            return "ended"
        if not call.answered_by.startswith(NOT_A_PERSON):
            return "person"
        if AuditEvent.objects.filter(action="call.machine", object_type="calls.call", object_id=str(call.pk)).exists():
            return "done"
        action = settings.OUTBOUND_VOICEMAIL if call.answered_by.startswith("machine") else "hang_up"
        audit_record(
            actor=None, action="call.machine", obj=call, details={"answered_by": call.answered_by, "action": action}
        )
    try:
        twilio_call = twilio_client().calls(call.twilio_call_sid)
        if action == "message":
            twilio_call.update(twiml=str(twiml.voicemail(voicemail_text())))
        else:
            twilio_call.update(status="completed")
    except (*NETWORK_ERRORS, TelephonyNotConfigured):
        # Not repeated (the message might have started); the call still ends at its time limit.
        logger.exception("Call %s: the %s for an answering machine failed", call.pk, action)
        return "failed"
    return action


def _attach_sid(call: Call, sid: str, *, now: datetime) -> bool:
    """Give a call without one its CallSid. False when it has one, or the SID belongs to another."""
    try:
        with transaction.atomic():
            return bool(
                Call.objects.filter(pk=call.pk, twilio_call_sid="").update(
                    twilio_call_sid=sid, error="", updated_at=now
                )
            )
    except IntegrityError:
        logger.error("CallSid %s is already attached to another call; not attaching it to call %s", sid, call.pk)
        return False


def _apply_twilio_state(instance: Any) -> Call | None:
    """Apply a call resource's status as Twilio reports it (REST, not a callback: no sequence)."""
    status = instance.status or CallStatus.QUEUED
    duration = instance.duration
    return call_apply_status(
        StatusUpdate(
            call_sid=instance.sid,
            status=status,
            duration_seconds=int(duration) if duration not in (None, "") else None,
            answered_by=instance.answered_by or "",
            at=instance.end_time if status in TERMINAL_STATUSES else None,
        )
    )


# --- reconciliation ---------------------------------------------------------------------------


def _claim(call_id: int, *, now: datetime, **conditions: Any) -> Call | None:
    """Lock one row that still meets `conditions` (skipping rows someone else holds) and touch it,
    so a concurrent sweep no longer sees it as stale. Short: no network inside."""
    with transaction.atomic():
        call = Call.objects.select_for_update(skip_locked=True).filter(pk=call_id, **conditions, **_OPEN).first()
        if call is not None:
            Call.objects.filter(pk=call.pk).update(updated_at=now)
        return call


def _reconcile_stale(client: Client, call: Call, counts: dict[str, int]) -> None:
    """A live status nobody updated for a long time: ask Twilio what really happened."""
    instance = client.calls(call.twilio_call_sid).fetch()
    applied = _apply_twilio_state(instance)
    if applied is not None and applied.status != call.status:
        counts["updated"] += 1
        audit_record(
            actor=None,
            action="call.reconcile",
            obj=call,
            details={"outcome": "updated", "call_sid": call.twilio_call_sid, "from": call.status, "to": applied.status},
        )


def _reconcile_unclear(client: Client, call: Call, counts: dict[str, int], *, now: datetime) -> None:
    """A dial whose outcome we never learned: find the call that request placed, if any."""
    found = client.calls.list(
        to=call.to_number,
        from_=call.from_number,
        start_time_after=call.dialed_at - CLOCK_SKEW,  # what the SDK sends as StartTime>=
        limit=RECONCILE_LIST_LIMIT,
    )
    # Only a call placed through the REST API (not a <Dial> leg) and created after our request can
    # be ours. Twilio documents StartTime filters by date, so the time of day is checked here too.
    earliest = call.dialed_at - CLOCK_SKEW
    candidates = [
        c
        for c in found
        if (c.direction or "outbound-api") == "outbound-api" and (c.date_created is None or c.date_created >= earliest)
    ]
    taken = set(
        Call.objects.filter(twilio_call_sid__in=[c.sid for c in candidates])
        .exclude(pk=call.pk)
        .values_list("twilio_call_sid", flat=True)
    )
    ours = [c for c in candidates if c.sid not in taken]
    if len(ours) > 1:
        logger.error(
            "Call %s: %d Twilio calls could be the one placed (%s); a person must decide",
            call.pk,
            len(ours),
            ", ".join(c.sid for c in ours),
        )
        return
    if not ours:
        if _end_undialed(call, status=CallStatus.FAILED, error="reconciled: no call was placed", now=now):
            counts["failed"] += 1
            audit_record(actor=None, action="call.reconcile", obj=call, details={"outcome": "failed"})
        return
    instance = ours[0]
    if _attach_sid(call, instance.sid, now=now):
        counts["attached"] += 1
        audit_record(
            actor=None, action="call.reconcile", obj=call, details={"outcome": "attached", "call_sid": instance.sid}
        )
        _apply_twilio_state(instance)


def calls_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: bring calls Twilio never told us about in line with Twilio.

    (a) a CallSid in a live status, untouched for CALL_RECONCILE_AFTER_MINUTES: fetch its status;
    (b) dialed, no CallSid (the dial's outcome was unclear): attach the call it placed, or fail it;
    (c) queued and never dialed (its dial task was lost with a broker or a worker): send it again.
        Safe to repeat: only the dial that claims the row reaches Twilio.
    """
    now = now or timezone.now()
    counts = {"checked": 0, "updated": 0, "attached": 0, "failed": 0, "requeued": 0}
    undialed = Call.objects.filter(
        direction=Direction.OUTBOUND,
        channel=Channel.VOICE,
        status=CallStatus.QUEUED,
        dialed_at__isnull=True,
        twilio_call_sid="",
        updated_at__lt=now - UNCLEAR_DIAL_GRACE,
    ).values_list("pk", flat=True)[:RECONCILE_BATCH]
    for call_id in undialed:
        enqueue(CALL_PLACE_TASK, call_id)
        counts["requeued"] += 1
    stale_conditions = {
        "twilio_call_sid__gt": "",
        "updated_at__lt": now - timedelta(minutes=settings.CALL_RECONCILE_AFTER_MINUTES),
    }
    unclear_conditions = {
        "twilio_call_sid": "",
        "dialed_at__lt": now - UNCLEAR_DIAL_GRACE,
        "updated_at__lt": now - UNCLEAR_DIAL_GRACE,
    }
    stale_ids = list(
        Call.objects.filter(**stale_conditions, **_OPEN)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    unclear_ids = list(
        Call.objects.filter(**unclear_conditions, **_OPEN)
        .order_by("dialed_at")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    if not stale_ids and not unclear_ids:
        return counts
    try:
        client = twilio_client()
    except TelephonyNotConfigured as exc:
        logger.warning("Not reconciling %d calls: %s", len(stale_ids) + len(unclear_ids), exc.message)
        return counts

    for call_id in stale_ids:
        call = _claim(call_id, now=now, **stale_conditions)
        if call is None:
            continue
        counts["checked"] += 1
        try:
            _reconcile_stale(client, call, counts)
        except NETWORK_ERRORS:
            logger.exception("Reconciling call %s (%s) failed; trying again next sweep", call.pk, call.twilio_call_sid)
    for call_id in unclear_ids:
        call = _claim(call_id, now=now, **unclear_conditions)
        if call is None:
            continue
        counts["checked"] += 1
        try:
            _reconcile_unclear(client, call, counts, now=now)
        except NETWORK_ERRORS:
            logger.exception("Reconciling undialed call %s failed; trying again next sweep", call.pk)
    return counts
