"""Answering calls: the call row, idempotently by CallSid, and the agent's conversation on it."""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.agent.engine import AgentSession, ReplyEnd
from apps.agent.workflows import WORKFLOWS
from apps.calls.models import (
    TERMINAL_STATUSES,
    Call,
    CallStatus,
    Channel,
    Direction,
    Speaker,
    TraceEvent,
    TraceKind,
    TranscriptEntry,
)
from apps.calls.services import StatusUpdate, call_apply_status
from apps.core.effects import enqueue
from apps.customers.models import Customer
from apps.outreach.services import NOT_A_PERSON
from apps.telephony import tasks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What the call is answered with: the agent's greeting, or a handoff straight away."""

    call_id: int
    greeting: str
    handoff: bool = False
    language: str = ""


def _inbound_call(*, call_sid: str, from_number: str, to_number: str, status: str) -> Call:
    """The Call for this CallSid: created once, whatever Twilio retries."""
    customer = Customer.objects.filter(phone=from_number).first()
    defaults = {
        "channel": Channel.VOICE,
        "direction": Direction.INBOUND,
        "status": status if status in CallStatus.values else CallStatus.RINGING,
        "from_number": from_number,
        "to_number": to_number,
        "customer": customer,
        "started_at": timezone.now(),
    }
    try:
        with transaction.atomic():
            call, _ = Call.objects.get_or_create(twilio_call_sid=call_sid, defaults=defaults)
    except IntegrityError:  # a concurrent retry created it first
        call = Call.objects.get(twilio_call_sid=call_sid)
    return call


def _claim_conversation(call_id: int) -> bool:
    """True for the one request that starts this call's conversation (Twilio's retries get False)."""
    return bool(Call.objects.filter(pk=call_id, state={}, current_step="").update(current_step="starting"))


def _greeting_already_said(call_id: int) -> str:
    entry = TranscriptEntry.objects.filter(call_id=call_id, speaker=Speaker.AGENT).order_by("sequence").first()
    return entry.text if entry else f"Thanks for calling. {settings.AGENT_DISCLOSURE} How can I help you?"


async def _start(*, call: Call, workflow: str, direction: str) -> Answer:
    session = await AgentSession.start(
        workflow=workflow,
        channel=Channel.VOICE,
        direction=direction,
        customer_id=call.customer_id,
        call_id=call.pk,
        from_number=call.from_number,
        to_number=call.to_number,
        caller=call.from_number if direction == Direction.INBOUND else call.to_number,
    )
    greeting = ""
    async for event in session.greet():  # records the greeting: Twilio speaks it as welcomeGreeting
        if isinstance(event, ReplyEnd):
            greeting = event.text
    await session.flush()  # the relay socket resumes this conversation from the database
    language = session.customer.on_file.get("language", "")
    return Answer(call_id=call.pk, greeting=greeting, handoff=bool(session.state.handoff), language=language)


async def answer_inbound(*, call_sid: str, from_number: str, to_number: str, status: str) -> Answer:
    call = await database_sync_to_async(_inbound_call)(
        call_sid=call_sid, from_number=from_number, to_number=to_number, status=status
    )
    workflow = settings.INBOUND_WORKFLOWS.get(to_number, settings.INBOUND_DEFAULT_WORKFLOW)
    if workflow not in WORKFLOWS:
        workflow = settings.INBOUND_DEFAULT_WORKFLOW
    if not await database_sync_to_async(_claim_conversation)(call.pk):
        return Answer(call_id=call.pk, greeting=await database_sync_to_async(_greeting_already_said)(call.pk))
    return await _start(call=call, workflow=workflow, direction=Direction.INBOUND)


class UnknownCall(Exception):
    """Twilio asked about a call this app did not place."""


def _outbound_call(*, call_id: int, call_sid: str) -> Call:
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(pk=call_id, direction=Direction.OUTBOUND).first()
        if call is None or (call.twilio_call_sid and call.twilio_call_sid != call_sid):
            raise UnknownCall(f"call {call_id} is not the outbound call {call_sid}")
        if not call.twilio_call_sid:
            # The dial request timed out after Twilio had placed the call: this is its SID.
            call.twilio_call_sid = call_sid
            call.save(update_fields=["twilio_call_sid", "updated_at"])
    call_apply_status(StatusUpdate(call_sid=call_sid, status=CallStatus.IN_PROGRESS))
    return Call.objects.get(pk=call_id)


async def answer_outbound(*, call_id: int, call_sid: str) -> Answer:
    """The customer picked up: the agent confirms who it is speaking to before anything else."""
    call = await database_sync_to_async(_outbound_call)(call_id=call_id, call_sid=call_sid)
    workflow = call.workflow_name or "collections"
    if not await database_sync_to_async(_claim_conversation)(call.pk):
        return Answer(call_id=call.pk, greeting=await database_sync_to_async(_greeting_already_said)(call.pk))
    return await _start(call=call, workflow=workflow, direction=Direction.OUTBOUND)


UNRESUMABLE = "the conversation could not be resumed"


@dataclass(frozen=True)
class SessionEnd:
    outcome: str  # "hang_up", "hand_off", "closed", "failed", "reconnect"
    call_id: int | None
    summary: str = ""
    cut_off: bool = False  # a hand-off because the session failed: the caller hears why
    attempt: int = 0  # for "reconnect": which reconnect of this call
    greeting: str = ""  # for "reconnect": what the caller hears first on the new session
    language: str = ""


async def relay_session_ended(
    *,
    call_sid: str,
    session_id: str,
    session_status: str,
    call_status: str,
    handoff_data: Mapping[str, Any] | None,
    error_code: str,
    error_message: str,
) -> SessionEnd:
    """What Twilio reports when the <Connect> ends, and what to do with the live call next. A
    failed session of a live conversation (its web process died) is reconnected to the agent.
    `handoff_data` is the JSON object our consumer sent with `end` (None: there was none)."""
    end = await database_sync_to_async(_session_ended)(
        call_sid=call_sid,
        session_id=session_id,
        session_status=session_status,
        call_status=call_status,
        handoff_data=handoff_data,
        error_code=error_code,
        error_message=error_message,
    )
    if end.outcome != "reconnect":
        return end
    try:
        session = await AgentSession.resume(end.call_id)
        greeting = await session.rejoin(end.attempt)  # recorded once per attempt, whatever Twilio retries
        await session.flush()  # the new socket resumes this conversation from the database
    except Exception:  # a caller still on the line never gets Twilio's error message: a person takes over
        logger.exception("could not resume call %s after its relay session failed", end.call_id)
        await Call.objects.filter(pk=end.call_id, handoff_reason="").aupdate(
            handoff_reason=UNRESUMABLE, updated_at=timezone.now()
        )
        return replace(end, outcome="hand_off", cut_off=True)
    return replace(end, greeting=greeting, language=session.customer.on_file.get("language", ""))


@transaction.atomic
def _session_ended(
    *,
    call_sid: str,
    session_id: str,
    session_status: str,
    call_status: str,
    handoff_data: Mapping[str, Any] | None,
    error_code: str,
    error_message: str,
) -> SessionEnd:
    call = Call.objects.select_for_update().filter(twilio_call_sid=call_sid).first()
    call_id = call.pk if call else None
    if session_status == "failed":
        logger.error("ConversationRelay failed on %s: %s %s", call_sid, error_code, error_message)
        if call is None:
            return SessionEnd("failed", None)
        return _session_failed(
            call, session_id=session_id, call_status=call_status, error=f"{error_code} {error_message}".strip()
        )
    if session_status == "completed":  # the caller hung up
        call_apply_status(StatusUpdate(call_sid=call_sid, status=CallStatus.COMPLETED))
        return SessionEnd("closed", call_id)
    data = handoff_data or {}
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


def record_answered_by(*, call_sid: str, answered_by: str) -> None:
    """Answering-machine detection's verdict for an outbound call. A machine gets the voicemail
    (or a hang-up) from a task: the webhook does not wait on Twilio's REST API."""
    call_id = Call.objects.filter(twilio_call_sid=call_sid).values_list("pk", flat=True).first()
    if call_id is None:
        return
    Call.objects.filter(pk=call_id).update(answered_by=answered_by, updated_at=timezone.now())
    if answered_by.startswith(NOT_A_PERSON):
        enqueue(tasks.call_machine_answered_task, call_id)


def handoff_summary(call_id: int) -> str:
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        return ""
    handoff = (call.state or {}).get("handoff") or {}
    summary = (call.state or {}).get("summary") or []
    parts = [f"Reason: {handoff.get('reason') or call.handoff_reason or 'the caller asked for a person'}."]
    if call.customer_id:
        parts.append(f"Caller: {call.customer.name}.")
    parts += summary[-3:]
    return " ".join(parts)[:600]
