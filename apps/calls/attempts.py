"""The row of an outbound call attempt, written only here (the calls app owns Call).

Whoever dials (apps/outreach/dialing.py) or reconciles (apps/voice/outbound.py) asks these
services to change the row; each is one conditional UPDATE, so the condition is the guard:

    call_create_outbound ─▶ queued ─▶ call_dial_claim (sets dialed_at: only one dialer wins)
        ─▶ call_attach_sid (Twilio placed it) | call_end_undialed (refused, blocked, never placed)
        | call_dial_release (nothing was sent: dial again later) | call_dial_unclear (who knows)
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, Channel, Direction
from apps.core.services import Actor, audit_record
from apps.core.tasking import requeue_stale

logger = logging.getLogger(__name__)

OPEN = {"status__in": [s for s in CallStatus.values if s not in TERMINAL_STATUSES]}


def call_create_outbound(
    *, customer: Any, workflow: str, reason: str, actor: Actor, followup_id: int | None = None
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
        followup_id=followup_id,
    )
    details: dict[str, Any] = {"workflow": workflow, "reason": reason}
    if followup_id is not None:
        details["followup_id"] = followup_id
    audit_record(actor=actor, action="call.request_outbound", obj=call, details=details)
    return call


def calls_undialed(call_id: int) -> QuerySet[Call]:
    """The call, while it is a queued outbound voice call nobody has dialed."""
    return Call.objects.filter(
        pk=call_id,
        dialed_at__isnull=True,
        twilio_call_sid="",
        status=CallStatus.QUEUED,
        direction=Direction.OUTBOUND,
        channel=Channel.VOICE,
    )


def calls_requeue_undialed(*, task: str, older_than: timedelta, now: datetime, limit: int) -> list[int]:
    """Queued outbound calls nobody dialed for `older_than` (their dial task was lost with a
    worker): `task` is sent again for each, after commit; the ids sent, oldest first."""
    undialed = Call.objects.filter(
        direction=Direction.OUTBOUND, channel=Channel.VOICE, status=CallStatus.QUEUED, dialed_at__isnull=True
    ).filter(twilio_call_sid="")
    return requeue_stale(undialed, older_than=older_than, task=task, now=now, limit=limit)


def call_dial_claim(*, call_id: int, now: datetime) -> bool:
    """The claim: one conditional UPDATE. Whoever sets dialed_at is the only one who may dial; a
    second worker, a redelivered task or a retry finds nothing to claim."""
    return bool(calls_undialed(call_id).update(dialed_at=now, updated_at=now))


def call_dial_reclaim(*, call_id: int, claimed_at: datetime, now: datetime) -> None:
    """A later send slot of the same claim: dialed_at stays the moment the dial was decided."""
    Call.objects.filter(pk=call_id, dialed_at=claimed_at).update(dialed_at=now)


def call_end_undialed(*, call_id: int, status: str, error: str, now: datetime) -> bool:
    """Close a claimed call that Twilio never got (or refused): it has no CallSid to hear about."""
    return bool(
        Call.objects.filter(pk=call_id, twilio_call_sid="")
        .exclude(status__in=TERMINAL_STATUSES)
        .update(status=status, ended_at=now, error=error, updated_at=now)
    )


def call_dial_release(*, call_id: int, claimed_at: datetime, error: str = "") -> None:
    """Give back a claim that sent nothing (for certain), so the call can be dialed later."""
    Call.objects.filter(pk=call_id, dialed_at=claimed_at, twilio_call_sid="").update(
        dialed_at=None, error=error, updated_at=timezone.now()
    )


def call_dial_unclear(*, call_id: int, error: str) -> None:
    """The dial's outcome is unknown: the error says so, and reconciliation finds out."""
    Call.objects.filter(pk=call_id).update(error=error, updated_at=timezone.now())


def call_touch(*, call_id: int, now: datetime | None = None) -> None:
    """Mark the row as looked at, so sweeps that look for quiet rows leave it alone for a while."""
    Call.objects.filter(pk=call_id).update(updated_at=now or timezone.now())


def call_attach_sid(*, call_id: int, sid: str, now: datetime) -> bool:
    """Give a call without one its CallSid. False when it has one, or the SID belongs to another."""
    try:
        with transaction.atomic():
            return bool(
                Call.objects.filter(pk=call_id, twilio_call_sid="").update(
                    twilio_call_sid=sid, error="", updated_at=now
                )
            )
    except IntegrityError:
        logger.error("CallSid %s is already attached to another call; not attaching it to call %s", sid, call_id)
        return False


def call_claim_open(call_id: int, *, now: datetime, **conditions: Any) -> Call | None:
    """Lock one live row that still meets `conditions` (skipping rows someone else holds) and
    touch it, so a concurrent sweep no longer sees it as stale. Short: no network inside."""
    with transaction.atomic():
        call = Call.objects.select_for_update(skip_locked=True).filter(pk=call_id, **conditions, **OPEN).first()
        if call is not None:
            Call.objects.filter(pk=call.pk).update(updated_at=now)
        return call
