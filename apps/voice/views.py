"""Twilio's webhooks. Each checks the signature first, then its parameters (apps/telephony/params.py:
400 for a malformed request), then calls one service and answers (TwiML, or 204 for callbacks that
need no answer).

The TwiML sends Twilio on to our other routes: their URLs are built here, from the routes' names
(apps/voice/urls.py) and PUBLIC_BASE_URL, and handed to the TwiML builders (apps/twilio/twiml.py
knows no route of ours).
"""

import logging

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from apps.calls.models import TERMINAL_STATUSES
from apps.calls.services import StatusUpdate
from apps.calls.voice import SessionReport, UnknownCall
from apps.core import telemetry
from apps.telephony.params import (
    AfterPerson,
    CallRequest,
    InboundCall,
    InboundSms,
    MachineDetection,
    RelayAction,
    StatusCallback,
    twilio_params,
)
from apps.telephony.relay_sessions import QUERY_PARAM, relay_session_issue
from apps.telephony.sms import sms_receive
from apps.twilio import twiml
from apps.twilio.signatures import public_url, relay_url, twilio_webhook
from apps.voice.lifecycle import call_status_record
from apps.voice.routing import RELAY_PATH
from apps.voice.services import (
    after_person_url,
    agent_has_call,
    answer_inbound,
    answer_outbound,
    handoff_summary,
    record_answered_by,
    relay_session_ended,
)

logger = logging.getLogger(__name__)


def _url(name: str, **kwargs: int) -> str:
    """The absolute URL Twilio uses for one of this app's routes."""
    return public_url(reverse(f"voice:{name}", kwargs=kwargs or None))


def _relay(*, call_id: int, greeting: str, language: str) -> HttpResponse:
    """Connect the call to the agent. Each answer opens a new relay session of the call: its
    one-time token is the only thing in the socket URL (apps/telephony/relay_sessions.py)."""
    query = {QUERY_PARAM: relay_session_issue(call_id=call_id)}
    relay = twiml.conversation_relay(
        call_id=call_id,
        socket_url=relay_url(f"/{RELAY_PATH}"),
        action_url=_url("relay-action"),
        query=query,
        greeting=greeting,
        language=language,
    )
    return twiml.twiml(relay)


def _hand_off(*, call_id: int, say_first: str) -> HttpResponse:
    response = twiml.hand_off(
        whisper_url=_url("whisper", call_id=call_id), after_url=after_person_url(call_id), say_first=say_first
    )
    return twiml.twiml(response)


def _connect(answer) -> HttpResponse:
    if answer.handoff:
        return _hand_off(call_id=answer.call_id, say_first=answer.greeting)
    return _relay(call_id=answer.call_id, greeting=answer.greeting, language=answer.language)


@twilio_webhook
@twilio_params(InboundCall)
def inbound(request: HttpRequest, params: InboundCall) -> HttpResponse:
    answer = async_to_sync(answer_inbound)(
        call_sid=params.call_sid,
        from_number=params.from_number,
        to_number=params.to_number,
        status=params.status,
    )
    telemetry.bind_call(answer.call_id)  # this webhook's span joins the call's trace
    return _connect(answer)


@twilio_webhook
@twilio_params(CallRequest)
def outbound(request: HttpRequest, params: CallRequest, call_id: int) -> HttpResponse:
    try:
        answer = async_to_sync(answer_outbound)(call_id=call_id, call_sid=params.call_sid)
    except UnknownCall:
        logger.warning("Outbound TwiML asked for an unknown call %s", call_id)
        return twiml.twiml(twiml.hang_up())
    return _connect(answer)


@twilio_webhook
@twilio_params(RelayAction)
def relay_action(request: HttpRequest, params: RelayAction) -> HttpResponse:
    report = SessionReport(
        call_sid=params.call_sid,
        # One failure, however often Twilio retries it: the session's id, else the retry token.
        session_id=params.session_id or request.headers.get("I-Twilio-Idempotency-Token", ""),
        session_status=params.session_status,
        call_status=params.call_status,
        handoff_data=params.handoff_data,
        error_code=params.error_code,
        error_message=params.error_message,
    )
    end = async_to_sync(relay_session_ended)(report)
    telemetry.bind_call(end.call_id)
    if end.outcome == "reconnect" and end.call_id:
        return _relay(call_id=end.call_id, greeting=end.greeting, language=end.language)
    if end.outcome == "failed":
        return twiml.twiml(twiml.apology_and_hang_up())
    if end.outcome == "hand_off" and end.call_id:
        return _hand_off(call_id=end.call_id, say_first=twiml.CUT_OFF if end.cut_off else "")
    if end.outcome == "hang_up":
        return twiml.twiml(twiml.hang_up())
    return twiml.twiml(twiml.empty())


@twilio_webhook
@twilio_params(AfterPerson)
def after_person(request: HttpRequest, params: AfterPerson, call_id: int) -> HttpResponse:
    """The <Dial> to a person ended (its action), or a supervisor handed the call back to the agent
    (Twilio moved the call here): the agent on a new relay session when it has the call again;
    else a goodbye after the person spoke with the caller, an apology when nobody answered."""
    if params.call_status in TERMINAL_STATUSES:
        return twiml.twiml(twiml.empty())  # the caller hung up: nothing runs any more
    try:
        back = agent_has_call(call_id=call_id, call_sid=params.call_sid)
    except UnknownCall:
        logger.warning("After-person request for call %s names another call", call_id)
        return twiml.twiml(twiml.hang_up())
    if back is not None:
        return _relay(call_id=call_id, greeting=back.greeting, language=back.language)
    if params.dial_status in ("completed", "answered"):
        return twiml.twiml(twiml.say_and_hang_up(twiml.GOODBYE))
    if params.dial_status:
        return twiml.twiml(twiml.say_and_hang_up(twiml.NOBODY_FREE))
    return _hand_off(call_id=call_id, say_first="")  # moved here while a person still has it


@twilio_webhook
@twilio_params(StatusCallback)
def status(request: HttpRequest, params: StatusCallback) -> HttpResponse:
    # Retries and duplicates are harmless: the sequence number and the status order decide.
    call = call_status_record(
        StatusUpdate(
            call_sid=params.call_sid,
            status=params.status,
            sequence=params.sequence,
            duration_seconds=params.duration_seconds,
            answered_by=params.answered_by,
        )
    )
    telemetry.bind_call(call.pk if call is not None else None)
    return HttpResponse(status=204)


@twilio_webhook
@twilio_params(MachineDetection)
def amd(request: HttpRequest, params: MachineDetection) -> HttpResponse:
    record_answered_by(call_sid=params.call_sid, answered_by=params.answered_by)
    return HttpResponse(status=204)


@twilio_webhook
@twilio_params(CallRequest)
def whisper(request: HttpRequest, params: CallRequest, call_id: int) -> HttpResponse:
    return twiml.twiml(twiml.whisper(handoff_summary(call_id)))


@twilio_webhook
@twilio_params(InboundSms)
def sms_inbound(request: HttpRequest, params: InboundSms) -> HttpResponse:
    reply = sms_receive(
        message_sid=params.message_sid,
        from_number=params.from_number,
        to_number=params.to_number,
        body=params.body,
    )
    return twiml.twiml(twiml.sms_reply(reply))
