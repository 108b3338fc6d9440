"""Relay sessions: what binds a ConversationRelay socket to its call.

Each <ConversationRelay> we answer Twilio with gets a RelaySession row and a token in its socket
URL (`wss://<host>/ws/twilio/relay/?token=<session id>.<expiry>.<mac>`). The MAC is an HMAC-SHA256
keyed by SECRET_KEY (salted for this use) over the session id, the call id, the call's CallSid and
the expiry (unix seconds, RELAY_TOKEN_TTL_S after issue). Twilio signs the whole socket URL, so
a captured X-Twilio-Signature is good for that one token only, and the token is good for one
socket: claiming it is a conditional UPDATE, so a replay finds it used, on any web process and
after a restart. The newest session of a call to connect wins: claiming supersedes the call's
older sessions, and a superseded socket says nothing more (the consumer asks before each turn).
"""

import base64
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from apps.calls.models import TERMINAL_STATUSES, Call
from apps.telephony.models import RelaySession

QUERY_PARAM = "token"  # the socket URL's query parameter
_SALT = "apps.telephony.relay_sessions"
_TOKEN = re.compile(r"(\d{1,18})\.(\d{1,12})\.([A-Za-z0-9_-]{43})", re.ASCII)  # session.expiry.mac


@dataclass(frozen=True)
class RelayClaim:
    """The session a socket claimed, and the call it is bound to."""

    session_id: int
    call_id: int
    call_sid: str


class RelayRefused(Exception):
    """Why a socket may not have this session; said in one log line."""


def relay_token_ttl_s() -> int:
    return settings.RELAY_TOKEN_TTL_S


def _mac(*, session_id: int, call_id: int, call_sid: str, expires: int) -> str:
    digest = salted_hmac(_SALT, f"{session_id}:{call_id}:{call_sid}:{expires}", algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def relay_session_issue(*, call_id: int) -> str:
    """A new session of this call, for the TwiML about to be sent: returns its token."""
    call_sid = Call.objects.filter(pk=call_id).values_list("twilio_call_sid", flat=True).get()
    now = timezone.now()
    expires_at = (now + timedelta(seconds=relay_token_ttl_s())).replace(microsecond=0)
    session = RelaySession.objects.create(call_id=call_id, issued_at=now, expires_at=expires_at)
    expires = int(expires_at.timestamp())
    mac = _mac(session_id=session.pk, call_id=call_id, call_sid=call_sid, expires=expires)
    return f"{session.pk}.{expires}.{mac}"


def _parse(token: str) -> tuple[int, int, str]:
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise RelayRefused("a malformed session token")
    return int(match[1]), int(match[2]), match[3]


@transaction.atomic
def relay_session_claim(*, token: str) -> RelayClaim:
    """Open the session this token names, once; raises RelayRefused with the reason otherwise:
    a token that is malformed, forged or for another call, expired, already used, or older than
    a session of the call that already connected, and any token of a call that is over."""
    session_id, expires, mac = _parse(token)
    now = timezone.now()
    if expires <= now.timestamp():
        raise RelayRefused(f"an expired session token (session {session_id})")
    session = RelaySession.objects.select_related("call").filter(pk=session_id).first()
    if session is None:
        raise RelayRefused(f"an unknown session token (session {session_id})")
    call = session.call
    expected = _mac(session_id=session.pk, call_id=call.pk, call_sid=call.twilio_call_sid, expires=expires)
    if not constant_time_compare(mac, expected) or expires != int(session.expires_at.timestamp()):
        raise RelayRefused(f"a session token that does not match its call (session {session_id})")
    if call.status in TERMINAL_STATUSES:
        raise RelayRefused(f"call {call.pk} is {call.status} (session {session_id})")
    # Concurrent claims of one call's sessions take turns (row locks on PostgreSQL): the newest
    # wins. A session is only ever superseded by a newer one that connected: this refuses both.
    locked = RelaySession.objects.select_for_update().filter(call_id=call.pk).values_list("pk", "connected_at")
    if any(pk > session_id and connected_at is not None for pk, connected_at in locked):
        raise RelayRefused(f"a newer session of call {call.pk} is connected (session {session_id})")
    # The claim itself: one conditional UPDATE, so a token opens one socket whatever races it.
    unclaimed = RelaySession.objects.filter(pk=session_id, connected_at__isnull=True, superseded_at__isnull=True)
    if not unclaimed.update(connected_at=now):
        raise RelayRefused(f"a session token already used (session {session_id} of call {call.pk})")
    older = RelaySession.objects.filter(call_id=call.pk, pk__lt=session_id, superseded_at__isnull=True)
    older.update(superseded_at=now)
    return RelayClaim(session_id=session_id, call_id=call.pk, call_sid=call.twilio_call_sid)


def relay_session_current(session_id: int) -> bool:
    """Whether a socket may still speak and save: its session is the call's newest to connect, and
    the call is not over. One indexed read, before each turn."""
    current = RelaySession.objects.filter(pk=session_id, superseded_at__isnull=True)
    return current.exclude(call__status__in=TERMINAL_STATUSES).exists()


def relay_session_end(*, session_id: int, twilio_session_id: str = "") -> None:
    """The socket closed: when, and Twilio's id for the session (its <Connect action> names it)."""
    RelaySession.objects.filter(pk=session_id, ended_at__isnull=True).update(
        ended_at=timezone.now(), twilio_session_id=twilio_session_id[:64]
    )
