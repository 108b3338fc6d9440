"""The TwiML we answer Twilio with: what is said and where the call goes, built from plain values.

Where Twilio goes next (a socket, an action, a whisper) is an absolute URL the caller passes in:
the routes are the voice channel's (apps/voice/urls.py), and this module knows none of them.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

APOLOGY = "We're sorry, something went wrong on our side. Please call us back later. Goodbye."
CUT_OFF = "We're sorry, we were cut off."
CONNECTING = "Connecting you with a specialist now. Please hold."
QUEUED = "All our specialists are helping other callers. Please stay on the line; you're next in the queue."
NOBODY_FREE = "We're sorry, no specialist could take your call right now. Please call us back later. Goodbye."
GOODBYE = "Thank you for calling. Goodbye."


def twiml(response: VoiceResponse | MessagingResponse) -> HttpResponse:
    return HttpResponse(str(response), content_type="text/xml")


def conversation_relay(
    *,
    call_id: int,
    socket_url: str,
    action_url: str,
    query: dict[str, str],
    greeting: str,
    language: str = "",
) -> VoiceResponse:
    """Connect the call to the agent over ConversationRelay at `socket_url`; Twilio posts to
    `action_url` when the session ends. The greeting is spoken first, and every attribute is
    pinned. `query` is all the socket URL carries (the relay session's one-time token, which
    Twilio's signature of the handshake then covers); data travels as <Parameter>s."""
    response = VoiceResponse()
    connect = response.connect(action=action_url, method="POST")
    relay = connect.conversation_relay(
        url=f"{socket_url}?{urlencode(query)}",
        welcome_greeting=greeting,
        welcome_greeting_interruptible="any",
        language=language or settings.RELAY_LANGUAGE,
        tts_provider=settings.RELAY_TTS_PROVIDER,
        voice=settings.RELAY_VOICE,
        transcription_provider=settings.RELAY_TRANSCRIPTION_PROVIDER,
        speech_model=settings.RELAY_SPEECH_MODEL,
        interruptible=settings.RELAY_INTERRUPTIBLE,
        dtmf_detection="true" if settings.RELAY_DTMF_DETECTION else "false",
        report_input_during_agent_speech=settings.RELAY_REPORT_INPUT_DURING_AGENT_SPEECH,
    )
    relay.parameter(name="call_id", value=str(call_id))
    return response


def hand_off(*, whisper_url: str, after_url: str, say_first: str = "") -> VoiceResponse:
    """Put the caller through to a person: the configured number (who first hears the context,
    asked of `whisper_url`; Twilio asks `after_url` what next when that leg ends, answered or not),
    or, when none is configured, the specialists' queue."""
    response = VoiceResponse()
    if say_first:
        response.say(say_first)
    if settings.HUMAN_AGENT_NUMBER:
        response.say(CONNECTING)
        dial = response.dial(action=after_url, method="POST", caller_id=settings.TWILIO_FROM_NUMBER or None, timeout=30)
        dial.number(settings.HUMAN_AGENT_NUMBER, url=whisper_url, method="POST")
    else:
        response.say(QUEUED)
        response.enqueue(settings.HANDOFF_QUEUE)
    return response


def whisper(summary: str) -> VoiceResponse:
    """What the person taking over hears before the caller is connected."""
    response = VoiceResponse()
    response.say(f"Transfer from the AI assistant. {summary}")
    return response


def say_and_hang_up(text: str) -> VoiceResponse:
    response = VoiceResponse()
    response.say(text)
    response.hangup()
    return response


def apology_and_hang_up() -> VoiceResponse:
    return say_and_hang_up(APOLOGY)


def hang_up() -> VoiceResponse:
    response = VoiceResponse()
    response.hangup()
    return response


def empty() -> VoiceResponse:
    return VoiceResponse()


def sms_reply(text: str) -> MessagingResponse:
    """The answer to an inbound text: a message, or nothing (an empty <Response/>)."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return response


def voicemail(text: str) -> VoiceResponse:
    """Said after the answering machine's beep, then the call ends."""
    return say_and_hang_up(text)
