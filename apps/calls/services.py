"""Call lifecycle writes: starting a conversation, and recording each turn in one transaction."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, TraceEvent, TraceKind, TranscriptEntry
from apps.core.db import limit_database_time
from apps.core.effects import broadcast


@dataclass
class Utterance:
    sequence: int
    speaker: str
    text: str
    spoken_at: datetime
    interrupted: bool = False
    redacted: bool = False


# The live monitor's channel-layer group: every conversation's step and flags after each turn
# (apps/agent/monitor.py), and the end of each call.
MONITOR_GROUP = "monitor"


def call_group(call_id: int) -> str:
    """The channel-layer group of one call's watchers: its lines as they are saved."""
    return f"call-{call_id}"


def session_group(call_id: int) -> str:
    """The channel-layer group of the socket holding one call's live conversation (whichever web
    process it is on): what supervisors do to the call (guidance, take-over, hand-back) reaches it here."""
    return f"session-{call_id}"


@transaction.atomic
def call_start_conversation(
    *,
    customer_id: int | None,
    channel: str,
    direction: str,
    workflow: str,
    version: str,
    step: str,
    state: dict[str, Any],
    call_id: int | None = None,
    from_number: str = "",
    to_number: str = "",
    reason: str = "",
    test: bool = False,
    started_by_id: int | None = None,
) -> Call:
    """Attach a conversation to its call: an existing voice call, or a new web chat or simulation
    (a test call when staff started it)."""
    now = timezone.now()
    if call_id is not None:
        call = Call.objects.select_for_update().get(pk=call_id)
    else:
        call = Call(
            channel=channel,
            direction=direction,
            from_number=from_number,
            to_number=to_number,
            reason=reason,
            is_test=test,
            started_by_id=started_by_id,
        )
    call.customer_id = customer_id if customer_id is not None else call.customer_id
    call.workflow_name, call.workflow_version, call.current_step, call.state = workflow, version, step, state
    call.started_at = call.started_at or now
    if call_id is None:  # not a Twilio call: nobody else will say it is in progress
        call.status = CallStatus.IN_PROGRESS
        call.answered_at = call.answered_at or now
    call.save()
    return call


@transaction.atomic
def call_record_turn(
    *,
    call_id: int,
    state: dict[str, Any],
    step: str,
    customer_id: int | None,
    utterances: list[Utterance],
    traces: list[TraceEvent],
    prompt_tokens: int,
    completion_tokens: int,
    cost_usd: Decimal,
    handoff_reason: str = "",
    ended: bool = False,
) -> dict[str, Any] | None:
    """Save a turn: what was said, what happened, and the state to resume from. Returns the
    message for the call's live monitors, to send once this has committed. A stalled database
    fails it quickly: the engine retries, and answers nothing more until it is stored."""
    limit_database_time()
    entries = TranscriptEntry.objects.bulk_create(
        TranscriptEntry(
            call_id=call_id,
            sequence=u.sequence,
            speaker=u.speaker,
            text=u.text,
            spoken_at=u.spoken_at,
            interrupted=u.interrupted,
            redacted=u.redacted,
        )
        for u in utterances
    )
    for trace in traces:
        trace.call_id = call_id
    TraceEvent.objects.bulk_create(traces)
    fields: dict[str, Any] = {
        "state": state,
        "current_step": step,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "cost_usd": cost_usd,
        "updated_at": timezone.now(),
    }
    if customer_id is not None:
        fields["customer_id"] = customer_id
    if handoff_reason:
        fields["handoff_reason"] = handoff_reason[:255]
    Call.objects.filter(pk=call_id).update(**fields)
    if ended:
        call_end_conversation(call_id=call_id)
    return transcript_message(call_id, entries, step=step, traces=traces)


def call_traces_add(*, traces: list[TraceEvent]) -> None:
    """Add trace events recorded off the turn (each names its call): the post-call analysis's
    model requests and what they did to the circuit breakers."""
    TraceEvent.objects.bulk_create(traces)


# What a call's watchers see happen in a turn, besides its lines.
WATCHED_TRACES = (
    TraceKind.TOOL_CALL,
    TraceKind.GUARDRAIL,
    TraceKind.STEP_CHANGE,
    TraceKind.SANDBOXED,
    TraceKind.SUPERVISOR,
)


def transcript_message(
    call_id: int, entries: list[TranscriptEntry], *, step: str = "", traces: list[TraceEvent] = ()
) -> dict[str, Any] | None:
    """What the call's watchers (group `call-<id>`) receive: one message per saved turn with its
    new entries, the step it left the call in, and its tool calls, guardrail hits and step changes.
    Entries are keyed by sequence: a later entry with a sequence already shown replaces it (an
    interrupted reply, cut to what the caller heard)."""
    events = [
        {"id": trace.pk, "kind": trace.kind, "name": trace.name, "ok": trace.ok, "at": trace.at.isoformat()}
        for trace in traces
        if trace.kind in WATCHED_TRACES
    ]
    if not entries and not events:
        return None
    return {
        "type": "transcript.appended",
        "call_id": call_id,
        "step": step,
        "events": events,
        "entries": [
            {
                "sequence": entry.sequence,
                "speaker": entry.speaker,
                "text": entry.text,
                "interrupted": entry.interrupted,
                "spoken_at": entry.spoken_at.isoformat(),
            }
            for entry in entries
        ],
    }


@transaction.atomic
def call_end_conversation(*, call_id: int) -> None:
    """End a call no telephony provider ends for us: web chats and simulations (no CallSid). What
    its end starts (the analysis) is the chat channel's, in the same transaction (apps/chat/lifecycle.py)."""
    call = Call.objects.select_for_update().get(pk=call_id)
    if call.twilio_call_sid or call.status in TERMINAL_STATUSES:
        return
    now = timezone.now()
    call.status = CallStatus.COMPLETED
    call.ended_at = now
    call.duration_seconds = int((now - call.started_at).total_seconds()) if call.started_at else None
    call.save(update_fields=["status", "ended_at", "duration_seconds", "updated_at"])


@transaction.atomic
def call_truncate_reply(*, call_id: int, sequence: int, heard: str) -> dict[str, Any] | None:
    """The caller interrupted: keep only what they heard of the agent's reply. Returns the
    corrected entry for the live monitors."""
    TranscriptEntry.objects.filter(call_id=call_id, sequence=sequence).update(text=heard, interrupted=True)
    return transcript_message(call_id, list(TranscriptEntry.objects.filter(call_id=call_id, sequence=sequence)))


@transaction.atomic
def call_redact_entry(*, call_id: int, sequence: int, text: str) -> dict[str, Any] | None:
    """A stored line turned out to hold part of a card number (the caller finished it in the next
    turn): replace it with its redacted text. Returns the corrected entry for the live monitors."""
    TranscriptEntry.objects.filter(call_id=call_id, sequence=sequence).update(text=text, redacted=True)
    return transcript_message(call_id, list(TranscriptEntry.objects.filter(call_id=call_id, sequence=sequence)))


# Where a status sits in a call's life: a callback never moves a call backwards.
_STATUS_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.INITIATED: 1,
    CallStatus.RINGING: 2,
    CallStatus.IN_PROGRESS: 3,
}


def _rank(status: str) -> int:
    return 4 if status in TERMINAL_STATUSES else _STATUS_RANK.get(status, 0)


@dataclass(frozen=True)
class StatusUpdate:
    call_sid: str
    status: str
    sequence: int | None = None
    duration_seconds: int | None = None
    answered_by: str = ""
    at: datetime | None = None


@dataclass(frozen=True)
class StatusApplied:
    call: Call
    applied: bool  # the update changed the call (False: a repeat, late or out of order)
    completed: bool = False  # this update completed the call: its post-call processing is due


@transaction.atomic
def call_apply_status(update: StatusUpdate) -> StatusApplied | None:
    """Apply Twilio's view of a call. Safe in any order and any number of times: an older
    sequence number, a repeat, or a step backwards (a terminal status never regresses) changes
    nothing. Says whether this update was the first arrival at `completed`: the caller
    (apps/voice/lifecycle.py) then starts post-call processing, in the same transaction."""
    if not update.call_sid:
        return None  # "" would match every call not yet given a CallSid
    call = Call.objects.select_for_update().filter(twilio_call_sid=update.call_sid).first()
    if call is None:
        return None
    unchanged = StatusApplied(call, applied=False)
    if update.sequence is not None and call.status_sequence is not None and update.sequence <= call.status_sequence:
        return unchanged
    if update.status not in CallStatus.values or _rank(update.status) < _rank(call.status):
        return unchanged
    if call.status in TERMINAL_STATUSES and update.status != call.status:
        return unchanged  # terminal is final, whatever arrives late
    now = update.at or timezone.now()
    was_completed = call.status == CallStatus.COMPLETED
    call.status = update.status
    if update.sequence is not None:
        call.status_sequence = update.sequence
    if update.status == CallStatus.IN_PROGRESS and call.answered_at is None:
        call.answered_at = now
    if update.answered_by:
        call.answered_by = update.answered_by
    if update.status in TERMINAL_STATUSES:
        call.ended_at = call.ended_at or now
        if call.started_at and call.ended_at < call.started_at:
            call.ended_at = call.started_at
        if update.duration_seconds is not None:
            call.duration_seconds = update.duration_seconds
    call.save()
    if update.status in TERMINAL_STATUSES:
        broadcast(MONITOR_GROUP, {"type": "call.ended", "call_id": call.pk})
    return StatusApplied(call, applied=True, completed=call.status == CallStatus.COMPLETED and not was_completed)
