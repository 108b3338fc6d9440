"""What Twilio tells us about a voice call, written to the call's row (the calls app owns Call).

The voice channel (apps/voice) parses Twilio's requests and decides what to answer; every change
to a Call row it asks for is made here: the inbound call's row (once per CallSid, whatever Twilio
retries), the outbound call's SID, the claim that starts a conversation, and what the end of a
ConversationRelay session means for the call.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, Channel, Direction, TraceEvent, TraceKind

logger = logging.getLogger(__name__)

UNRESUMABLE = "the conversation could not be resumed"


class UnknownCall(Exception):
    """Twilio asked about a call this app did not place."""


def call_inbound(*, call_sid: str, from_number: str, to_number: str, status: str, customer_id: int | None) -> Call:
    """The Call for this CallSid: created once, whatever Twilio retries."""
    defaults = {
        "channel": Channel.VOICE,
        "direction": Direction.INBOUND,
        "status": status if status in CallStatus.values else CallStatus.RINGING,
        "from_number": from_number,
        "to_number": to_number,
        "customer_id": customer_id,
        "started_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            call, _ = Call.objects.get_or_create(twilio_call_sid=call_sid, defaults=defaults)
    except IntegrityError:  # a concurrent retry created it first
        call = Call.objects.get(twilio_call_sid=call_sid)
    return call


def call_claim_conversation(call_id: int) -> bool:
    """True for the one request that starts this call's conversation (Twilio's retries get False)."""
    return bool(Call.objects.filter(pk=call_id, state={}, current_step="").update(current_step="starting"))


def call_bind_outbound(*, call_id: int, call_sid: str) -> None:
    """Twilio asks for the TwiML of outbound call `call_id` as `call_sid`: that must be the call we
    placed (raises UnknownCall). A dial whose request timed out after Twilio had placed the call
    gets its SID here."""
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id, direction=Direction.OUTBOUND).first()
        if call is None or (call.twilio_call_sid and call.twilio_call_sid != call_sid):
            raise UnknownCall(f"call {call_id} is not the outbound call {call_sid}")
        if not call.twilio_call_sid:
            call.twilio_call_sid = call_sid
            call.save(update_fields=["twilio_call_sid", "updated_at"])


def call_mark_unresumable(call_id: int) -> None:
    """A person takes over a call whose conversation could not be resumed."""
    Call.objects.filter(pk=call_id, handoff_reason="").update(handoff_reason=UNRESUMABLE, updated_at=timezone.now())


def call_record_answered_by(*, call_sid: str, answered_by: str) -> int | None:
    """Answering-machine detection's verdict for an outbound call. Returns the call's id (None:
    not a call of ours)."""
    call_id = Call.objects.filter(twilio_call_sid=call_sid).values_list("pk", flat=True).first()
    if call_id is not None:
        Call.objects.filter(pk=call_id).update(answered_by=answered_by, updated_at=timezone.now())
    return call_id


def call_trace_error(*, call_id: int, name: str, payload: dict[str, Any]) -> None:
    """Something went wrong on the call's channel: kept with the call's trace."""
    TraceEvent.objects.create(call_id=call_id, kind=TraceKind.ERROR, name=name, ok=False, payload=payload)


@dataclass(frozen=True)
class SessionEnd:
    outcome: str  # "hang_up", "hand_off", "closed", "failed", "reconnect"
    call_id: int | None
    summary: str = ""
    cut_off: bool = False  # a hand-off because the session failed: the caller hears why
    attempt: int = 0  # for "reconnect": which reconnect of this call
    greeting: str = ""  # for "reconnect": what the caller hears first on the new session
    language: str = ""


@dataclass(frozen=True)
class SessionReport:
    """What Twilio reports when a <Connect> (a ConversationRelay session) ends."""

    call_sid: str
    session_id: str  # Twilio's id for the session, else its retry token: one failure, however often retried
    session_status: str
    call_status: str
    handoff_data: Mapping[str, Any] | None  # the JSON object our consumer sent with `end` (None: none)
    error_code: str
    error_message: str


def call_relay_session_ended(call: Call | None, report: SessionReport) -> SessionEnd:
    """What a <Connect> that ended other than by the caller hanging up means for the call, which
    the caller holds locked (None: not a call of ours)."""
    call_id = call.pk if call else None
    if report.session_status == "failed":
        if call is None:
            return SessionEnd("failed", None)
        error = f"{report.error_code} {report.error_message}".strip()
        return _session_failed(call, session_id=report.session_id, call_status=report.call_status, error=error)
    data = report.handoff_data or {}
    if data.get("handoff"):
        if call and not call.handoff_reason:
            call.handoff_reason = str(data.get("reason", "handoff"))[:255]
            call.save(update_fields=["handoff_reason", "updated_at"])
        return SessionEnd("hand_off", call_id, str(data.get("summary", ""))[:500])
    return SessionEnd("hang_up", call_id)


def _session_failed(call: Call, *, session_id: str, call_status: str, error: str) -> SessionEnd:
    """The socket failed while the call may still be up (the caller did not hang up: that is
    `completed`). A live conversation is reconnected, at most RELAY_RECONNECTS times, then handed
    to a person; the caller is never simply hung up on. The row is locked by the caller."""
    call.error = f"ConversationRelay failed: {error}"[:1000]
    fields = ["error", "updated_at"]
    state = call.state or {}
    if call.status in TERMINAL_STATUSES or call_status in TERMINAL_STATUSES:
        outcome = SessionEnd("failed", call.pk)  # nobody is on the line any more
    elif state.get("ended"):
        # The conversation had finished: a hand-off still goes to a person; after a goodbye, as before.
        outcome = SessionEnd("hand_off" if state.get("handoff") else "failed", call.pk)
    else:
        # Twilio's retry of the same failure (same session) is answered alike and counts once.
        # Its retries come before the reconnect's new session exists, so the last one suffices.
        retried = bool(session_id) and session_id == call.relay_failed_session
        failures = call.relay_failures + (0 if retried else 1)
        reconnect = bool(state) and failures <= settings.RELAY_RECONNECTS
        if not retried:
            call.relay_failures, call.relay_failed_session = failures, session_id[:64]
            fields += ["relay_failures", "relay_failed_session"]
            TraceEvent.objects.create(
                call=call,
                kind=TraceKind.ERROR,
                name="relay_reconnect" if reconnect else "relay_hand_off",
                ok=False,
                payload={"session_id": session_id, "failures": failures, "error": error[:500]},
            )
        if reconnect:
            outcome = SessionEnd("reconnect", call.pk, attempt=call.relay_failures)
        else:
            if not call.handoff_reason:
                call.handoff_reason = (
                    f"the connection to the agent failed {call.relay_failures} times" if state else UNRESUMABLE
                )
                fields.append("handoff_reason")
            outcome = SessionEnd("hand_off", call.pk, cut_off=True)
    call.save(update_fields=fields)
    return outcome
