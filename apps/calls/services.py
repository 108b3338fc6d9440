"""Call lifecycle writes: starting a conversation, and recording each turn in one transaction."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, TraceEvent, TranscriptEntry
from apps.core.effects import broadcast


@dataclass
class Utterance:
    sequence: int
    speaker: str
    text: str
    spoken_at: datetime
    interrupted: bool = False
    redacted: bool = False


def call_group(call_id: int) -> str:
    return f"call-{call_id}"


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
) -> Call:
    """Attach a conversation to its call: an existing voice call, or a new web chat or simulation."""
    now = timezone.now()
    if call_id is not None:
        call = Call.objects.select_for_update().get(pk=call_id)
    else:
        call = Call(channel=channel, direction=direction, from_number=from_number, to_number=to_number, reason=reason)
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
) -> None:
    """Save a turn: what was said, what happened, and the state to resume from."""
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
    for entry in entries:
        broadcast(
            call_group(call_id),
            {
                "type": "transcript.appended",
                "call_id": call_id,
                "sequence": entry.sequence,
                "speaker": entry.speaker,
                "text": entry.text,
                "interrupted": entry.interrupted,
                "spoken_at": entry.spoken_at.isoformat(),
            },
        )


@transaction.atomic
def call_end_conversation(*, call_id: int) -> None:
    """End a call no telephony provider ends for us: web chats and simulations (no CallSid)."""
    call = Call.objects.select_for_update().get(pk=call_id)
    if call.twilio_call_sid or call.status in TERMINAL_STATUSES:
        return
    now = timezone.now()
    call.status = CallStatus.COMPLETED
    call.ended_at = now
    call.duration_seconds = int((now - call.started_at).total_seconds()) if call.started_at else None
    call.save(update_fields=["status", "ended_at", "duration_seconds", "updated_at"])


@transaction.atomic
def call_truncate_reply(*, call_id: int, sequence: int, heard: str) -> None:
    """The caller interrupted: keep only what they heard of the agent's reply."""
    TranscriptEntry.objects.filter(call_id=call_id, sequence=sequence).update(text=heard, interrupted=True)
