"""What a supervisor does to a live conversation from the console: watch it, guide the agent,
take it over, write to the caller as a person, hand it back.

Each is timestamped in the audit trail and, except watching, sent (after commit) to the group of
the socket that holds the conversation (calls.session_group), whichever web process it is on; the
conversation records it as part of the call (apps/agent/supervision.py).
"""

from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import cache

from apps.calls.models import TERMINAL_STATUSES, Call, Channel
from apps.calls.services import session_group
from apps.core.effects import broadcast
from apps.core.errors import Conflict, DomainError, InvalidReference
from apps.core.redaction import redact_text
from apps.core.services import audit_record
from apps.voice.services import call_hand_back_to_agent

GUIDANCE_MAX_CHARS = 500
MESSAGE_MAX_CHARS = 2000
HAND_BACK_CLAIM_S = 60 * 60


def _live(call_id: int) -> Call:
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        raise InvalidReference("call", f"No call {call_id}.")
    if call.status in TERMINAL_STATUSES or not call.state or call.state.get("ended"):
        raise Conflict("This conversation is over.")
    return call


def _words(text: str, *, limit: int, what: str) -> str:
    words = " ".join((text or "").split())
    if not words:
        raise InvalidReference("text", f"Write the {what} first.")
    if len(words) > limit:
        raise InvalidReference("text", f"The {what} has at most {limit} characters.")
    return words


def _send(call: Call, kind: str, user: AbstractBaseUser, **fields: Any) -> None:
    message = {"type": f"session.{kind}", "call_id": call.pk, "by": user.get_username(), **fields}
    broadcast(session_group(call.pk), message)


def call_watch(*, call_id: int, user: AbstractBaseUser) -> None:
    """Someone opened the call's live view."""
    call = Call.objects.filter(pk=call_id).first()
    audit_record(actor=user, action="call.watch", obj=call, details={"call_id": call_id})


def call_guide(*, call_id: int, text: str, user: AbstractBaseUser) -> str:
    """Guidance for the agent's next turns ("offer the 3-month plan"). Returns it as sent (redacted)."""
    call = _live(call_id)
    note = redact_text(_words(text, limit=GUIDANCE_MAX_CHARS, what="guidance"))
    audit_record(actor=user, action="call.guide", obj=call, details={"text": note})
    _send(call, "guidance", user, text=note)
    return note


def call_take_over(*, call_id: int, user: AbstractBaseUser) -> None:
    """A person takes the conversation now: a voice call is transferred to a person, a web chat
    goes on in the console with the AI silent."""
    call = _live(call_id)
    if person := (call.state or {}).get("person"):
        raise Conflict(f"{person['username']} has already taken this conversation over.")
    audit_record(actor=user, action="call.take_over", obj=call, details={"channel": call.channel})
    _send(call, "take_over", user)


def _taken_over_by(call: Call, user: AbstractBaseUser) -> None:
    if call.channel != Channel.WEB_CHAT:
        raise Conflict("Only a web chat is continued here; a voice call taken over goes to a person's phone.")
    person = (call.state or {}).get("person")
    if person is None:
        raise Conflict("Take the chat over first.")
    if person["username"] != user.get_username():
        raise Conflict(f"{person['username']} has this chat; only they can write in it or hand it back.")


def call_say(*, call_id: int, text: str, user: AbstractBaseUser) -> None:
    """The person who took a chat over writes to the caller."""
    call = _live(call_id)
    _taken_over_by(call, user)
    _send(call, "person_says", user, text=_words(text, limit=MESSAGE_MAX_CHARS, what="message"))


def call_hand_back(*, call_id: int, notes: str, user: AbstractBaseUser) -> bool:
    """The conversation goes back to the AI, which goes on from the transcript and these notes.
    A chat's socket is told; a voice call taken over (on a person's phone or in the queue) is moved
    back to the agent through Twilio. True when the caller is with the AI now; False when Twilio
    could not be reached: then they are once the person's leg of the call ends."""
    call = Call.objects.filter(pk=call_id).first()
    if call is not None and call.channel == Channel.VOICE and call.status not in TERMINAL_STATUSES:
        return _voice_hand_back(call, notes, user)
    call = _live(call_id)
    _taken_over_by(call, user)
    notes = _notes(notes)
    audit_record(actor=user, action="call.hand_back", obj=call, details={"notes": notes})
    _send(call, "hand_back", user, notes=notes)
    return True


def _notes(notes: str) -> str:
    return redact_text(" ".join((notes or "").split()))[:GUIDANCE_MAX_CHARS]


def _voice_hand_back(call: Call, notes: str, user: AbstractBaseUser) -> bool:
    person = (call.state or {}).get("person")
    if person is None and (call.state or {}).get("ended"):
        raise Conflict("Nobody took this call over here; there is nothing to hand back.")
    if person is None:
        raise Conflict("The AI has this call; there is nothing to hand back.")
    if person["username"] != user.get_username():
        raise Conflict(f"{person['username']} has this call; only they can hand it back.")
    # Once per take-over, however often it is clicked or by how many tabs.
    if not cache.add(f"console:hand-back:{call.pk}:{person['since']}", user.get_username(), HAND_BACK_CLAIM_S):
        raise Conflict("This call is being handed back already.")
    notes = _notes(notes)
    try:
        moved = async_to_sync(call_hand_back_to_agent)(call_id=call.pk, by=user.get_username(), notes=notes)
    except DomainError:
        cache.delete(f"console:hand-back:{call.pk}:{person['since']}")
        raise
    audit_record(actor=user, action="call.hand_back", obj=call, details={"notes": notes, "moved": moved})
    return moved
