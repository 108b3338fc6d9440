"""Dialing due follow-ups: the sweep claims them, one task per follow-up dials it.

    beat ─▶ followups_sweep ─▶ claims due rows (SKIP LOCKED) ─▶ followup_dial_task (dialer queue)
                                                                  ├─ gate refuses ─▶ blocked until the next allowed time
                                                                  └─ gate allows ─▶ Call row ─▶ call_place
                                                                       (send slot, gate again, one POST)

A follow-up is claimed once (the claim is a status change under a row lock), its call row is
written before the dial, and call_place sends at most one request per call row: two workers, two
beats or a redelivered task dial nobody twice. The call's end moves the follow-up on
(`followup_call_ended`).

Twilio takes TWILIO_CALLS_PER_SECOND calls a second (apps/twilio/pacing.py), so a sweep claims
at most a minute's worth: the rest stay scheduled, and are judged by the gate when their turn comes.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from apps.calls.attempts import call_create_outbound
from apps.calls.models import TERMINAL_STATUSES, Call
from apps.core import telemetry
from apps.core.effects import enqueue
from apps.core.tasking import requeue_stale
from apps.customers.models import Customer
from apps.outreach.compliance import compliance_check
from apps.outreach.dialing import call_place
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.outreach.services import (
    ACTOR,
    RECHECK_BLOCKED,
    followup_block,
    followup_call_ended,
    followups_claim_due,
)
from apps.twilio.client import telephony_missing_settings
from apps.twilio.pacing import Pacer

WORKFLOW = "collections"  # follow-ups chase promises and balances
CLAIM_BATCH = 500
SWEEP_LIMIT = 5000  # follow-ups claimed per sweep at most; the rest are claimed by the next one
SWEEP_EVERY = timedelta(minutes=1)  # beat's schedule (contactcenter/celery.py)
LOST_AFTER = timedelta(minutes=5)  # a claimed follow-up whose dial task never ran
DIAL_TASK = "apps.outreach.tasks.followup_dial_task"
RECHECK_TWILIO = timedelta(minutes=15)


def followup_dial(*, followup_id: int, now: datetime | None = None, pacer: Pacer | None = None) -> FollowUp:
    """Dial one claimed follow-up if the gate allows it now; otherwise block it until it may.
    The call then waits for its send slot in call_place (`pacer`: the settings' by default)."""
    now = now or timezone.now()
    with transaction.atomic():
        followup = (
            FollowUp.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk=followup_id, status=FollowUpStatus.CLAIMED)
            .first()
        )
        if followup is None:  # dialed, or being dialed, by someone else
            return FollowUp.objects.get(pk=followup_id)
        # One dial decision per customer at a time: a second follow-up of theirs waits here, then
        # sees this one's call (open, and counted).
        Customer.objects.select_for_update().filter(pk=followup.customer_id).first()
        verdict = compliance_check(followup.customer, now=now, requested_by_customer=followup.requested_by_customer)
        if not verdict.allowed:
            followup_block(
                followup, reason=verdict.reason, until=verdict.retry_at or now + RECHECK_BLOCKED, rule=verdict.rule
            )
            return followup
        missing = telephony_missing_settings()
        if missing:
            reason = f"Dialing is disabled: Twilio is not configured (set {', '.join(missing)})."
            followup_block(followup, reason=reason, until=now + RECHECK_TWILIO, rule="telephony")
            return followup
        call = call_create_outbound(
            customer=followup.customer, workflow=WORKFLOW, reason=followup.reason, actor=ACTOR, followup_id=followup.pk
        )
        telemetry.bind_call(call.pk)  # this task's span joins the trace of the call it dials
        followup.status = FollowUpStatus.DIALING
        followup.attempts += 1
        followup.last_attempt_at = now
        followup.block_reason = ""
        followup.save(update_fields=["status", "attempts", "last_attempt_at", "block_reason", "updated_at"])
    # Outside the transaction: the follow-up and its call row are committed before the one request.
    call = call_place(call_id=call.pk, pacer=pacer)
    if call.status in TERMINAL_STATUSES:  # refused or stopped before ringing: no callback will come
        followup_call_ended(call=call)
    followup.refresh_from_db()
    return followup


def followups_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic (every minute): claim what is due and send each to the dialer queue; resend
    claims whose task was lost; settle follow-ups whose call ended without telling us."""
    now = now or timezone.now()
    counts = {"claimed": 0, "resent": 0, "settled": 0}
    claimed = FollowUp.objects.filter(status=FollowUpStatus.CLAIMED)
    resent = requeue_stale(claimed, older_than=LOST_AFTER, task=DIAL_TASK, now=now, limit=CLAIM_BATCH)
    counts["resent"] = len(resent)
    latest = Call.objects.filter(followup=OuterRef("pk")).order_by("-pk").values("pk")[:1]
    dialing = FollowUp.objects.filter(status=FollowUpStatus.DIALING).annotate(call_id=Subquery(latest))
    ended = Call.objects.filter(pk__in=dialing.values("call_id"), status__in=TERMINAL_STATUSES)
    for call in ended.order_by("pk")[:CLAIM_BATCH]:
        followup_call_ended(call=call)
        counts["settled"] += 1
    # What Twilio can take before the next sweep: claiming more would only make calls wait.
    budget = min(SWEEP_LIMIT, math.ceil(settings.TWILIO_CALLS_PER_SECOND * SWEEP_EVERY.total_seconds()))
    while counts["claimed"] < budget:
        limit = min(CLAIM_BATCH, budget - counts["claimed"])
        ids = followups_claim_due(now=now, limit=limit)
        for followup_id in ids:
            enqueue(DIAL_TASK, followup_id)
        counts["claimed"] += len(ids)
        if len(ids) < limit:
            break
    return counts
