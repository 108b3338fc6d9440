"""Twilio's webhooks. Each checks the signature first, then calls one service and answers (TwiML, or
204 for callbacks that need no answer)."""

import logging

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse

from apps.calls.services import StatusUpdate, call_apply_status
from apps.telephony import twiml
from apps.telephony.services import (
    UnknownCall,
    answer_inbound,
    answer_outbound,
    handoff_summary,
    record_answered_by,
    relay_session_ended,
)
from apps.telephony.signatures import twilio_webhook
from apps.telephony.sms import sms_receive

logger = logging.getLogger(__name__)


def _connect(answer) -> HttpResponse:
    if answer.handoff:
        return twiml.twiml(twiml.hand_off(call_id=answer.call_id, say_first=answer.greeting))
    return twiml.twiml(
        twiml.conversation_relay(call_id=answer.call_id, greeting=answer.greeting, language=answer.language)
    )


@twilio_webhook
def inbound(request: HttpRequest) -> HttpResponse:
    post = request.POST
    answer = async_to_sync(answer_inbound)(
        call_sid=post.get("CallSid", ""),
        from_number=post.get("From", ""),
        to_number=post.get("To", ""),
        status=post.get("CallStatus", ""),
    )
    return _connect(answer)


@twilio_webhook
def outbound(request: HttpRequest, call_id: int) -> HttpResponse:
    try:
        answer = async_to_sync(answer_outbound)(call_id=call_id, call_sid=request.POST.get("CallSid", ""))
    except UnknownCall:
        logger.warning("Outbound TwiML asked for an unknown call %s", call_id)
        return twiml.twiml(twiml.hang_up())
    return _connect(answer)


@twilio_webhook
def relay_action(request: HttpRequest) -> HttpResponse:
    post = request.POST
    end = async_to_sync(relay_session_ended)(
        call_sid=post.get("CallSid", ""),
        # One failure, however often Twilio retries it: the session's id, else the retry token.
        session_id=post.get("SessionId", "") or request.headers.get("I-Twilio-Idempotency-Token", ""),
        session_status=post.get("SessionStatus", ""),
        call_status=post.get("CallStatus", ""),
        handoff_data=post.get("HandoffData", ""),
        error_code=post.get("ErrorCode", ""),
        error_message=post.get("ErrorMessage", ""),
    )
    if end.outcome == "reconnect" and end.call_id:
        return twiml.twiml(twiml.conversation_relay(call_id=end.call_id, greeting=end.greeting, language=end.language))
    if end.outcome == "failed":
        return twiml.twiml(twiml.apology_and_hang_up())
    if end.outcome == "hand_off" and end.call_id:
        return twiml.twiml(twiml.hand_off(call_id=end.call_id, say_first=twiml.CUT_OFF if end.cut_off else ""))
    if end.outcome == "hang_up":
        return twiml.twiml(twiml.hang_up())
    return twiml.twiml(twiml.empty())


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@twilio_webhook
def status(request: HttpRequest) -> HttpResponse:
    # Retries and duplicates are harmless: the sequence number and the status order decide.
    post = request.POST
    call_apply_status(
        StatusUpdate(
            call_sid=post.get("CallSid", ""),
            status=post.get("CallStatus", ""),
            sequence=_int(post.get("SequenceNumber")),
            duration_seconds=_int(post.get("CallDuration")),
            answered_by=post.get("AnsweredBy", ""),
        )
    )
    return HttpResponse(status=204)


@twilio_webhook
def amd(request: HttpRequest) -> HttpResponse:
    record_answered_by(call_sid=request.POST.get("CallSid", ""), answered_by=request.POST.get("AnsweredBy", ""))
    return HttpResponse(status=204)


@twilio_webhook
def whisper(request: HttpRequest, call_id: int) -> HttpResponse:
    return twiml.twiml(twiml.whisper(handoff_summary(call_id)))


@twilio_webhook
def sms_inbound(request: HttpRequest) -> HttpResponse:
    post = request.POST
    reply = sms_receive(
        message_sid=post.get("MessageSid", ""),
        from_number=post.get("From", ""),
        to_number=post.get("To", ""),
        body=post.get("Body", ""),
    )
    return twiml.twiml(twiml.sms_reply(reply))
