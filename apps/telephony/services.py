"""Answering calls: the call row, idempotently by CallSid, and the agent's conversation on it."""

import json
import logging
from dataclasses import dataclass

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.agent.engine import AgentSession, ReplyEnd
from apps.agent.workflows import WORKFLOWS
from apps.calls.models import Call, CallStatus, Channel, Direction, Speaker, TranscriptEntry
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


@dataclass(frozen=True)
class SessionEnd:
    outcome: str  # "hang_up", "hand_off", "closed", "failed"
    call_id: int | None
    summary: str = ""


@transaction.atomic
def relay_session_ended(
    *, call_sid: str, session_status: str, handoff_data: str, error_code: str, error_message: str
) -> SessionEnd:
    """What Twilio reports when the <Connect> ends, and what to do with the live call next."""
    call = Call.objects.select_for_update().filter(twilio_call_sid=call_sid).first()
    call_id = call.pk if call else None
    if session_status == "failed":
        if call:
            call.error = f"ConversationRelay failed: {error_code} {error_message}".strip()[:1000]
            call.save(update_fields=["error", "updated_at"])
        logger.error("ConversationRelay failed on %s: %s %s", call_sid, error_code, error_message)
        return SessionEnd("failed", call_id)
    if session_status == "completed":  # the caller hung up
        call_apply_status(StatusUpdate(call_sid=call_sid, status=CallStatus.COMPLETED))
        return SessionEnd("closed", call_id)
    try:
        data = json.loads(handoff_data or "{}")
    except json.JSONDecodeError:
        data = {}
    if data.get("handoff"):
        if call and not call.handoff_reason:
            call.handoff_reason = str(data.get("reason", "handoff"))[:255]
            call.save(update_fields=["handoff_reason", "updated_at"])
        return SessionEnd("hand_off", call_id, str(data.get("summary", ""))[:500])
    return SessionEnd("hang_up", call_id)


def record_answered_by(*, call_sid: str, answered_by: str) -> None:
    """Answering-machine detection's verdict for an outbound call. A machine gets the voicemail
    (or a hang-up) from a task: the webhook does not wait on Twilio's REST API."""
    call_id = Call.objects.filter(twilio_call_sid=call_sid).values_list("pk", flat=True).first()
    if call_id is None:
        return
    Call.objects.filter(pk=call_id).update(answered_by=answered_by[:20], updated_at=timezone.now())
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
