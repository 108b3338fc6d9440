"""Twilio's webhook parameters, checked once at the boundary, after the signature.

Each route declares the parameters it uses as a frozen dataclass (below); `twilio_params` parses
request.POST into it before the view runs, so views and services only see values Twilio can send.
Parameters a route does not use are not looked at. A bad value is one of two kinds:

- refused: an identifier that is not Twilio's (CallSid not CA + 32 hex digits, ...), a number out
  of range, a value outside Twilio's documented set where nobody waits on the answer. The answer
  is 400 and nothing is written. Twilio never sends these: the request is broken or forged with a
  leaked key, and a row keyed by a garbage identifier is garbage (an empty CallSid matches every
  outbound call not yet given one).
- ignored: a value that is merely odd where a caller is on the line waiting for TwiML (a caller
  ID too long to keep, HandoffData that is not a JSON object). The value is dropped, its default
  used, and the call goes on: a 400 would leave the caller with Twilio's "application error".

Either way one warning line (no traceback), and nothing is ever cut to fit a column.
"""

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.utils.log import log_response

from apps.calls.models import AnsweredBy, Call, CallStatus
from apps.core.validators import E164_PATTERN

logger = logging.getLogger(__name__)

Parser = Callable[[str], Any]
Params = TypeVar("Params")

# Twilio numbers a call's status callbacks from 0: a handful per call, never thousands.
MAX_SEQUENCE = 10_000
# Twilio ends every call within 24 hours (the longest time limit); twice that is a safe ceiling.
MAX_CALL_SECONDS = 2 * 24 * 60 * 60
# What Twilio reports when a <Connect><ConversationRelay> ends.
SESSION_STATUSES = ("in-progress", "ended", "completed", "failed")
# How a <Dial> ended, as its action request says.
DIAL_STATUSES = ("completed", "answered", "busy", "no-answer", "failed", "canceled")
# Twilio's limit for one (concatenated) text message.
MAX_SMS_BODY = 1600
CALLER_ID_LENGTH = Call._meta.get_field("from_number").max_length
SESSION_ID_LENGTH = Call._meta.get_field("relay_failed_session").max_length


# --- values ------------------------------------------------------------------------------------


def sid(*prefixes: str) -> Parser:
    """A Twilio SID: its two-letter prefix and 32 hex digits (34 characters, what the columns hold)."""
    pattern = re.compile(f"(?:{'|'.join(prefixes)})[0-9a-fA-F]{{32}}")
    reason = f"is not {' or '.join(prefixes)} and 32 hex digits"

    def parse(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(reason)
        return value

    return parse


def one_of(values: Iterable[str]) -> Parser:
    allowed = frozenset(values)

    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError("is not one of Twilio's values")
        return value

    return parse


def whole_number(maximum: int) -> Parser:
    """Digits only: no sign, exponent, spaces or underscores that int() would take."""
    reason = f"is not a whole number from 0 to {maximum}"

    def parse(value: str) -> int:
        if not re.fullmatch(r"[0-9]{1,12}", value) or int(value) > maximum:
            raise ValueError(reason)
        return int(value)

    return parse


def text(max_length: int | None = None) -> Parser:
    """Free text: anything but NUL (PostgreSQL refuses it), within max_length when given."""

    def parse(value: str) -> str:
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value

    return parse


def token(max_length: int) -> Parser:
    pattern = re.compile(rf"[A-Za-z0-9_-]{{1,{max_length}}}")

    def parse(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"is not up to {max_length} letters, digits, - or _")
        return value

    return parse


def caller_id(value: str) -> str:
    """A voice From/To as the call row keeps it: +E.164, but also client:…, sip:…, anonymous."""
    if len(value) > CALLER_ID_LENGTH:
        raise ValueError(f"is longer than {CALLER_ID_LENGTH} characters")
    if not value.isprintable():
        raise ValueError("is not printable")
    return value


def e164(value: str) -> str:
    """A phone number as the text and do-not-call tables require it."""
    if not re.fullmatch(E164_PATTERN, value):
        raise ValueError("is not an E.164 phone number")
    return value


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(key) or _contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_contains_nul(item) for item in value)
    return False


def json_object(value: str) -> dict[str, Any]:
    """HandoffData: what our relay consumer sent as the session's `end` (a JSON object, whose
    strings may be stored: no NUL, which PostgreSQL refuses)."""
    try:
        data = json.loads(value)
        usable = isinstance(data, dict) and not _contains_nul(data)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        usable = False
    if not usable:
        raise ValueError("is not a JSON object")
    return data


# --- declarations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str  # Twilio's name for it
    parse: Parser  # raises ValueError (why) for a value Twilio would not send
    required: bool
    default: Any
    lenient: bool  # a bad value is dropped (the default used) instead of refusing the request


def param(name: str, parse: Parser, *, required: bool = True, default: Any = "", lenient: bool = False) -> Any:
    return field(metadata={"twilio": Param(name, parse, required, default, lenient)})


@dataclass(frozen=True)
class TwilioRequest:
    account_sid: str = param("AccountSid", sid("AC"), required=False)


@dataclass(frozen=True)
class CallRequest(TwilioRequest):
    call_sid: str = param("CallSid", sid("CA"))


@dataclass(frozen=True)
class InboundCall(CallRequest):
    """A call to one of our numbers: the caller waits for TwiML, so odd values are dropped."""

    from_number: str = param("From", caller_id, required=False, lenient=True)
    to_number: str = param("To", caller_id, required=False, lenient=True)
    status: str = param("CallStatus", one_of(CallStatus.values), required=False, lenient=True)


@dataclass(frozen=True)
class StatusCallback(CallRequest):
    """Nobody waits on it: anything malformed is refused."""

    status: str = param("CallStatus", one_of(CallStatus.values))
    sequence: int | None = param("SequenceNumber", whole_number(MAX_SEQUENCE), required=False, default=None)
    duration_seconds: int | None = param("CallDuration", whole_number(MAX_CALL_SECONDS), required=False, default=None)
    answered_by: str = param("AnsweredBy", one_of(AnsweredBy.values), required=False)


@dataclass(frozen=True)
class MachineDetection(CallRequest):
    answered_by: str = param("AnsweredBy", one_of(AnsweredBy.values))


@dataclass(frozen=True)
class RelayAction(CallRequest):
    """The <Connect> ended, the call may still be live: odd values are dropped, the caller served."""

    session_id: str = param("SessionId", token(SESSION_ID_LENGTH), required=False)
    session_status: str = param("SessionStatus", one_of(SESSION_STATUSES), required=False, lenient=True)
    call_status: str = param("CallStatus", one_of(CallStatus.values), required=False, lenient=True)
    handoff_data: Mapping[str, Any] | None = param(
        "HandoffData", json_object, required=False, default=None, lenient=True
    )
    error_code: str = param("ErrorCode", text(32), required=False, lenient=True)
    error_message: str = param("ErrorMessage", text(1000), required=False, lenient=True)


@dataclass(frozen=True)
class AfterPerson(CallRequest):
    """The <Dial> to a person ended, or the call was moved here (a hand-back to the agent): the
    caller may be waiting, so odd values are dropped."""

    call_status: str = param("CallStatus", one_of(CallStatus.values), required=False, lenient=True)
    dial_status: str = param("DialCallStatus", one_of(DIAL_STATUSES), required=False, lenient=True)


@dataclass(frozen=True)
class InboundSms(TwilioRequest):
    """A text to our number. Nobody waits on the line: anything malformed is refused."""

    message_sid: str = param("MessageSid", sid("SM", "MM"))
    from_number: str = param("From", e164)
    to_number: str = param("To", e164, required=False)
    body: str = param("Body", text(MAX_SMS_BODY), required=False)


# --- parsing -----------------------------------------------------------------------------------


class Malformed(ValueError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def twilio_params_parse(schema: type[Params], post: QueryDict) -> tuple[Params, list[str]]:
    """The request's parameters as `schema`, and why any lenient ones were dropped. Raises
    Malformed with every reason to refuse it."""
    values: dict[str, Any] = {}
    refused: list[str] = []
    ignored: list[str] = []
    for spec in fields(schema):
        rule: Param = spec.metadata["twilio"]
        raw = post.get(rule.name, "")
        values[spec.name] = rule.default
        if raw == "":
            if rule.required:
                refused.append(f"{rule.name} is missing")
            continue
        try:
            values[spec.name] = rule.parse(raw)
        except ValueError as exc:
            (ignored if rule.lenient else refused).append(f"{rule.name} {exc}")
    if refused:
        raise Malformed(refused)
    return schema(**values), ignored


def twilio_params(schema: type) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Parse the request into `schema` and pass it to the view after the request; a request that
    is refused gets 400 and the view never runs. Goes under @twilio_webhook: signature first."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def parsed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                params, ignored = twilio_params_parse(schema, request.POST)
            except Malformed as exc:
                response = HttpResponseBadRequest(f"Malformed Twilio request: {exc}.", content_type="text/plain")
                # One line, ours (Django's request logger would add a second "Bad Request").
                log_response(
                    "Refused a malformed Twilio request to %s: %s",
                    request.path,
                    str(exc),
                    response=response,
                    request=request,
                    logger=logger,
                )
                return response
            if ignored:
                logger.warning("Ignored malformed Twilio parameters on %s: %s", request.path, "; ".join(ignored))
            return view(request, params, *args, **kwargs)

        return parsed

    return decorate
