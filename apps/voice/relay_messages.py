"""The messages Twilio sends on a ConversationRelay socket, checked field by field.

`parse` turns one WebSocket frame into a typed message, or raises Malformed with a short reason
(never the content): a binary frame, more than MAX_MESSAGE_CHARS, not JSON, JSON that is not an
object, a `type` that is not a string, or a field we use of the wrong type (`customParameters`
not an object, `voicePrompt`/`digit`/`callSid` not strings, `last` not a boolean). Strings
that the database could not store (NUL, lone surrogates) are malformed too. Fields we do not use
are not checked; a type we do not know is returned as Unknown (Twilio may add some).
"""

import json
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_CHARS = 64 * 1024  # Twilio's messages are small; a transcript of a long utterance is a few KB


class Malformed(ValueError):
    """A frame that is not a ConversationRelay message we can act on: ignored, with one log line."""


@dataclass(frozen=True)
class Setup:
    call_sid: str
    call_id: str  # customParameters.call_id, as sent
    session_id: str  # Twilio's SessionId


@dataclass(frozen=True)
class Prompt:
    text: str
    last: bool


@dataclass(frozen=True)
class Interrupt:
    heard: str  # utteranceUntilInterrupt


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class RelayError:
    description: str


@dataclass(frozen=True)
class Info:
    content: dict[str, Any]


@dataclass(frozen=True)
class Unknown:
    kind: str


Message = Setup | Prompt | Interrupt | Dtmf | RelayError | Info | Unknown


def _text(data: dict[str, Any], key: str, *, default: str | None = None) -> str:
    """A string field: required unless it has a default."""
    value = data.get(key, default)
    if not isinstance(value, str):
        raise Malformed(f"{key} is {type(value).__name__ if key in data else 'missing'}, not a string")
    if "\x00" in value:
        raise Malformed(f"{key} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Malformed(f"{key} is not valid Unicode") from None
    return value


def parse(text_data: str | None, bytes_data: bytes | None) -> Message:
    if text_data is None:
        raise Malformed("a binary frame (ConversationRelay sends text)")
    if len(text_data) > MAX_MESSAGE_CHARS:
        raise Malformed(f"{len(text_data)} characters, over {MAX_MESSAGE_CHARS}")
    try:
        data = json.loads(text_data)
    except (ValueError, RecursionError):
        raise Malformed("not JSON") from None
    if not isinstance(data, dict):
        raise Malformed(f"JSON {type(data).__name__}, not an object")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise Malformed(f"type is {type(kind).__name__}, not a string")
    if kind == "setup":
        params = data.get("customParameters", {})
        if not isinstance(params, dict):
            raise Malformed(f"customParameters is {type(params).__name__}, not an object")
        return Setup(
            call_sid=_text(data, "callSid"),
            call_id=_text(params, "call_id", default=""),
            session_id=_text(data, "sessionId", default=""),
        )
    if kind == "prompt":
        last = data.get("last", True)
        if not isinstance(last, bool):
            raise Malformed(f"last is {type(last).__name__}, not a boolean")
        return Prompt(text=_text(data, "voicePrompt"), last=last)
    if kind == "interrupt":
        return Interrupt(heard=_text(data, "utteranceUntilInterrupt", default=""))
    if kind == "dtmf":
        return Dtmf(digit=_text(data, "digit"))
    if kind == "error":
        return RelayError(description=_text(data, "description", default=""))
    if kind == "info":
        return Info(content=data)
    return Unknown(kind=kind[:40])
