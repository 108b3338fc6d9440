"""Outbound calls from the voice channel: a call requested through the API, what an answering
machine gets, and reconciliation with Twilio.

The dial itself (paced, gated, one request per attempt) is outreach's (apps/outreach/dialing.py),
queued here by its task's name. Reconciliation finds out what Twilio did with calls it never told
us about, and applies it as a status callback would (apps/voice/lifecycle.py: a call's end starts
its analysis and moves its follow-up on):

    (a) a CallSid in a live status, untouched for CALL_RECONCILE_AFTER_MINUTES: fetch its status;
    (b) dialed, no CallSid (the dial's outcome was unclear): attach the call it placed, or fail it;
    (c) queued and never dialed (its dial task was lost with a broker or a worker): send it again.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from twilio.rest import Client

from apps.agent.workflows import WORKFLOWS
from apps.calls.attempts import (
    OPEN,
    call_attach_sid,
    call_claim_open,
    call_create_outbound,
    call_end_undialed,
    calls_requeue_undialed,
)
from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus
from apps.core.effects import enqueue
from apps.core.errors import Conflict, InvalidReference
from apps.core.models import AuditEvent
from apps.core.services import Actor, audit_record
from apps.customers.models import Customer
from apps.outreach.compliance import Verdict, compliance_check
from apps.outreach.dialing import CALL_PLACE_TASK, twilio_status
from apps.outreach.services import NOT_A_PERSON
from apps.twilio import twiml
from apps.twilio.calls import NETWORK_ERRORS
from apps.twilio.client import TelephonyNotConfigured, telephony_ensure_configured, twilio_client
from apps.voice.lifecycle import call_status_record

logger = logging.getLogger(__name__)

# A dial with no CallSid is looked at once it has been quiet this long (well past any HTTP timeout).
UNCLEAR_DIAL_GRACE = timedelta(minutes=2)
# Twilio's StartTime filter is compared with its own clock: leave room for skew.
CLOCK_SKEW = timedelta(minutes=1)
RECONCILE_LIST_LIMIT = 20
# Rows per kind per sweep; the rest wait for the next sweep.
RECONCILE_BATCH = 100


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


def _apply_twilio_state(instance: Any) -> Call | None:
    """Apply a call resource's status as Twilio reports it, as a status callback would be."""
    return call_status_record(twilio_status(instance))


# --- reconciliation ---------------------------------------------------------------------------


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
        if call_end_undialed(
            call_id=call.pk, status=CallStatus.FAILED, error="reconciled: no call was placed", now=now
        ):
            counts["failed"] += 1
            audit_record(actor=None, action="call.reconcile", obj=call, details={"outcome": "failed"})
        return
    instance = ours[0]
    if call_attach_sid(call_id=call.pk, sid=instance.sid, now=now):
        counts["attached"] += 1
        audit_record(
            actor=None, action="call.reconcile", obj=call, details={"outcome": "attached", "call_sid": instance.sid}
        )
        _apply_twilio_state(instance)


def calls_reconcile(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: bring calls Twilio never told us about in line with Twilio ((a), (b) and (c)
    above). Safe to repeat: only the dial that claims the row reaches Twilio."""
    now = now or timezone.now()
    counts = {"checked": 0, "updated": 0, "attached": 0, "failed": 0, "requeued": 0}
    requeued = calls_requeue_undialed(
        task=CALL_PLACE_TASK, older_than=UNCLEAR_DIAL_GRACE, now=now, limit=RECONCILE_BATCH
    )
    counts["requeued"] = len(requeued)
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
        Call.objects.filter(**stale_conditions, **OPEN)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:RECONCILE_BATCH]
    )
    unclear_ids = list(
        Call.objects.filter(**unclear_conditions, **OPEN)
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
        call = call_claim_open(call_id, now=now, **stale_conditions)
        if call is None:
            continue
        counts["checked"] += 1
        try:
            _reconcile_stale(client, call, counts)
        except NETWORK_ERRORS:
            logger.exception("Reconciling call %s (%s) failed; trying again next sweep", call.pk, call.twilio_call_sid)
    for call_id in unclear_ids:
        call = call_claim_open(call_id, now=now, **unclear_conditions)
        if call is None:
            continue
        counts["checked"] += 1
        try:
            _reconcile_unclear(client, call, counts, now=now)
        except NETWORK_ERRORS:
            logger.exception("Reconciling undialed call %s failed; trying again next sweep", call.pk)
    return counts
