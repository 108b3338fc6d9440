"""Answering calls: the call row, idempotently by CallSid, and the agent's conversation on it."""

import logging
from dataclasses import dataclass, replace

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.urls import reverse

from apps.agent.engine import AgentSession, ReplyEnd
from apps.agent.workflows import WORKFLOWS
from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, Channel, Direction, Speaker, TranscriptEntry
from apps.calls.services import StatusUpdate
from apps.calls.voice import (
    SessionEnd,
    SessionReport,
    UnknownCall,
    call_bind_outbound,
    call_claim_conversation,
    call_inbound,
    call_mark_unresumable,
    call_record_answered_by,
    call_relay_session_ended,
)
from apps.core import telemetry
from apps.core.effects import enqueue
from apps.core.errors import DomainError
from apps.customers.models import Customer
from apps.outreach.services import NOT_A_PERSON
from apps.twilio.calls import NETWORK_ERRORS, call_redirect
from apps.twilio.client import TelephonyNotConfigured
from apps.twilio.signatures import public_url
from apps.voice.lifecycle import call_status_record

logger = logging.getLogger(__name__)

MACHINE_TASK = "apps.telephony.tasks.call_machine_answered_task"


@dataclass(frozen=True)
class Answer:
    """What the call is answered with: the agent's greeting, or a handoff straight away."""

    call_id: int
    greeting: str
    handoff: bool = False
    language: str = ""


def _inbound_call(*, call_sid: str, from_number: str, to_number: str, status: str) -> Call:
    """The Call for this CallSid: created once, whatever Twilio retries."""
    customer_id = Customer.objects.filter(phone=from_number).values_list("pk", flat=True).first()
    return call_inbound(
        call_sid=call_sid, from_number=from_number, to_number=to_number, status=status, customer_id=customer_id
    )


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
    if not await database_sync_to_async(call_claim_conversation)(call.pk):
        return Answer(call_id=call.pk, greeting=await database_sync_to_async(_greeting_already_said)(call.pk))
    return await _start(call=call, workflow=workflow, direction=Direction.INBOUND)


def _outbound_call(*, call_id: int, call_sid: str) -> Call:
    call_bind_outbound(call_id=call_id, call_sid=call_sid)  # raises UnknownCall (apps/calls/voice.py)
    call_status_record(StatusUpdate(call_sid=call_sid, status=CallStatus.IN_PROGRESS))
    return Call.objects.get(pk=call_id)


async def answer_outbound(*, call_id: int, call_sid: str) -> Answer:
    """The customer picked up: the agent confirms who it is speaking to before anything else."""
    call = await database_sync_to_async(_outbound_call)(call_id=call_id, call_sid=call_sid)
    workflow = call.workflow_name or "collections"
    if not await database_sync_to_async(call_claim_conversation)(call.pk):
        return Answer(call_id=call.pk, greeting=await database_sync_to_async(_greeting_already_said)(call.pk))
    return await _start(call=call, workflow=workflow, direction=Direction.OUTBOUND)


async def relay_session_ended(report: SessionReport) -> SessionEnd:
    """What Twilio reports when the <Connect> ends, and what to do with the live call next. A
    failed session of a live conversation (its web process died) is reconnected to the agent."""
    end = await database_sync_to_async(_session_ended)(report)
    if end.outcome != "reconnect":
        return end
    try:
        session = await AgentSession.resume(end.call_id)
        greeting = await session.rejoin(end.attempt)  # recorded once per attempt, whatever Twilio retries
        await session.flush()  # the new socket resumes this conversation from the database
    except Exception:  # a caller still on the line never gets Twilio's error message: a person takes over
        logger.exception("could not resume call %s after its relay session failed", end.call_id)
        await database_sync_to_async(call_mark_unresumable)(end.call_id)
        return replace(end, outcome="hand_off", cut_off=True)
    return replace(end, greeting=greeting, language=session.customer.on_file.get("language", ""))


@transaction.atomic
def _session_ended(report: SessionReport) -> SessionEnd:
    call = Call.objects.select_for_update().filter(twilio_call_sid=report.call_sid).first()
    if report.session_status == "failed":
        logger.error("ConversationRelay failed on %s: %s %s", report.call_sid, report.error_code, report.error_message)
    elif report.session_status == "completed":  # the caller hung up
        call_status_record(StatusUpdate(call_sid=report.call_sid, status=CallStatus.COMPLETED))
        return SessionEnd("closed", call.pk if call else None)
    return call_relay_session_ended(call, report)


def record_answered_by(*, call_sid: str, answered_by: str) -> None:
    """Answering-machine detection's verdict for an outbound call. A machine gets the voicemail
    (or a hang-up) from a task: the webhook does not wait on Twilio's REST API."""
    call_id = call_record_answered_by(call_sid=call_sid, answered_by=answered_by)
    telemetry.bind_call(call_id)  # the webhook's span joins the call's trace
    if call_id is not None and answered_by.startswith(NOT_A_PERSON):
        enqueue(MACHINE_TASK, call_id)


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


# --- a person hands a call back to the agent --------------------------------------------------


class NotSaved(DomainError):
    status_code = 503


async def call_hand_back_to_agent(*, call_id: int, by: str, notes: str) -> bool:
    """A person who took a voice call over hands it back: the conversation goes on from where it
    was (the person's notes kept as guidance for the agent), and Twilio is asked to move the call
    to a new relay session now, which ends the person's leg. True when Twilio did; False when it
    could not be reached: the caller is back with the agent when the person's leg ends (the
    <Dial> action, `after_person`). Raises NotSaved (nothing changed) when the database did not
    take the hand-back."""
    session = await AgentSession.resume(call_id)
    await session.hand_back(by, notes)
    if not await session.stored():
        raise NotSaved("The hand-back could not be saved; the caller stays with the person. Try again.")
    call_sid = await database_sync_to_async(_call_sid)(call_id)
    try:
        await sync_to_async(call_redirect)(call_sid=call_sid, url=after_person_url(call_id))
    except (*NETWORK_ERRORS, TelephonyNotConfigured):
        logger.warning("Call %s: Twilio could not move the call back to the agent", call_id, exc_info=True)
        return False
    return True


def _call_sid(call_id: int) -> str:
    return Call.objects.values_list("twilio_call_sid", flat=True).get(pk=call_id)


def after_person_url(call_id: int) -> str:
    """Where Twilio asks what next when a person's leg of the call ends, or the call is moved back."""
    return public_url(reverse("voice:after-person", kwargs={"call_id": call_id}))


def agent_has_call(*, call_id: int, call_sid: str) -> Answer | None:
    """The person's leg of a call ended, or the call was moved here: when the agent has the call
    again (a person handed it back), what it says first on the new relay session; else None.
    Raises UnknownCall when `call_sid` is not that call."""
    call = Call.objects.select_related("customer").filter(pk=call_id).first()
    if call is None or not call.twilio_call_sid or call.twilio_call_sid != call_sid:
        raise UnknownCall(f"call {call_id} is not {call_sid}")
    state = call.state or {}
    if call.status in TERMINAL_STATUSES or not state or state.get("ended") or state.get("person"):
        return None
    said = (
        TranscriptEntry.objects.filter(call_id=call_id, speaker=Speaker.AGENT)
        .order_by("-sequence")
        .values_list("text", flat=True)
        .first()
    )
    language = call.customer.language if call.customer_id else ""
    return Answer(call_id=call_id, greeting=said or "", language=language)
