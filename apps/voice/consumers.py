"""Twilio ConversationRelay: the agent on a phone call, over `WS /ws/twilio/relay/?token=…`.

A socket is bound to one call before it is accepted. The handshake must carry a valid
X-Twilio-Signature for our wss:// URL, token included, and the token must open a session of a
call that is not over: unexpired, never used before, not older than a session of the call that
already connected (relay_sessions). Anything else is refused before accept, with one log line.
Then, per Twilio's protocol (each frame checked by relay_messages; a malformed one is ignored,
with one log line, and the socket stays open):

  setup      → resume the conversation the webhook started. Its callSid and call_id (a
               <Parameter>) must be the token's call, or the socket is closed.
  prompt     → a caller turn; the reply streams back as {"type": "text", "token", "last": false}
               and closes with last: true. The turn runs in a task, so we keep receiving.
  interrupt  → cancel the turn; keep only what the caller heard (utteranceUntilInterrupt)
  dtmf       → keypad: * asks for a person; digits then # are said as a turn
  error/info → logged and traced
When the conversation ends or hands off we send {"type": "end", "handoffData": "<json>"}; the
call then continues at the <Connect action> URL. Nothing but protocol messages is ever sent.

One call, one voice: when a newer session of the call connects (the reconnect after a failed
session), the older socket stops. On this process at once (its turn is cancelled, what was said is
saved, then it is closed, all before the new socket is accepted); on another process before its
next turn or interruption, which first read whether the session is still the call's current one.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import DatabaseError

from apps.agent.engine import AgentSession, Event, Handoff, ReplyEnd
from apps.agent.events import spoken
from apps.calls.models import TERMINAL_STATUSES, Call
from apps.calls.services import session_group
from apps.calls.voice import call_trace_error
from apps.core import metrics, telemetry
from apps.core.sockets import GroupInbox, Metered, SweptPerQuery
from apps.telephony.relay_sessions import (
    QUERY_PARAM,
    RelayClaim,
    RelayRefused,
    relay_session_claim,
    relay_session_current,
    relay_session_end,
)
from apps.twilio.signatures import relay_url, signature_valid
from apps.voice import relay_messages

logger = logging.getLogger(__name__)

# The per-turn check that a socket is still its call's session waits this long on the database at
# most; the engine has its own answers to a database that is down.
CURRENT_CHECK_TIMEOUT_S = 0.25


def _conversation_of(call_id: int) -> Call | None:
    return Call.objects.filter(pk=call_id).only("status", "state").first()


def handshake_signed(scope: dict) -> bool:
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}
    signature = headers.get("x-twilio-signature", "")
    settings_header = headers.get("x-twilio-webhooks-signature-settings", "")
    query = scope.get("query_string", b"").decode("latin-1")
    base = relay_url(scope["path"])
    # Twilio's SDKs sign the wss:// URL; a query string is signed as part of it, or as parameters.
    return signature_valid(
        url=f"{base}?{query}" if query else base, params={}, signature=signature, settings_header=settings_header
    ) or (
        bool(query)
        and signature_valid(
            url=base, params=dict(parse_qsl(query)), signature=signature, settings_header=settings_header
        )
    )


def handshake_token(scope: dict) -> str:
    """The session token in the socket URL's query ("" when missing or given twice)."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(QUERY_PARAM, [])
    return values[0] if len(values) == 1 else ""


def _record_error(call_id: int, name: str, payload: dict) -> None:
    call_trace_error(call_id=call_id, name=name, payload=payload)


# This process's sockets by call: a newer session's socket replaces the older one here at once.
_sockets: dict[int, "RelayConsumer"] = {}


class RelayConsumer(Metered, SweptPerQuery, GroupInbox, AsyncWebsocketConsumer):
    # Nothing reaches a call's socket through Channels' own channel-layer reading (an error there
    # would end the call): what supervisors do to it comes on its own listener (GroupInbox).
    channel_layer_alias = None
    metrics_route = "relay"

    # Defaults, so that disconnect() works for a socket refused before any of them was set.
    span: telemetry.Span | None = None  # the socket's span in its call's trace (its turns' parent)
    claim: RelayClaim | None = None
    session: AgentSession | None = None
    turn: asyncio.Task | None = None
    digits = ""
    set_up = False
    twilio_session_id = ""
    retired = False  # superseded by a newer session of the call, or the call is over: silent for good

    async def connect(self) -> None:
        if not handshake_signed(self.scope):
            return await self._refuse("an invalid signature")
        token = handshake_token(self.scope)
        if not token:
            return await self._refuse("no session token")
        try:
            self.claim = await database_sync_to_async(relay_session_claim)(token=token)
        except RelayRefused as refused:
            return await self._refuse(str(refused))
        except DatabaseError as exc:
            logger.error("Refused a ConversationRelay socket: could not check its session token (%s)", exc)
            await self.close()
            return
        self.span = telemetry.start(
            "relay session",
            kind="server",
            call_id=self.claim.call_id,
            **{"twilio.call_sid": self.claim.call_sid, "cc.relay_session": self.claim.session_id},
        )
        previous = _sockets.get(self.claim.call_id)
        _sockets[self.claim.call_id] = self
        if previous is not None:
            # Stopped, and what it said saved, before this socket's setup reads the conversation back.
            try:
                await previous._retire(f"replaced by session {self.claim.session_id}")
            except Exception as exc:  # its socket was already gone: it is silent either way
                logger.warning("Could not close the replaced %s: %s", previous._name, type(exc).__name__)
        await self.accept()

    async def _refuse(self, reason: str) -> None:
        logger.warning("Refused a ConversationRelay socket: %s", reason)
        await self.close()  # before accept: the handshake is denied

    async def disconnect(self, code: int) -> None:
        # Twilio does not reconnect: the <Connect> ends and its action URL is called, which may
        # answer with a new <Connect> for this call (services.relay_session_ended).
        await self._cancel_turn()
        if self.session is not None:
            await self.session.flush()
            metrics.LIVE_CALLS.labels("voice").dec()
        await self.stop_listening()
        telemetry.finish(self.span, **{"cc.close_code": code})
        if self.claim is None:
            return
        if _sockets.get(self.claim.call_id) is self:
            del _sockets[self.claim.call_id]
        try:
            await database_sync_to_async(relay_session_end)(
                session_id=self.claim.session_id, twilio_session_id=self.twilio_session_id
            )
        except DatabaseError as exc:
            logger.warning("Could not record the end of %s: %s", self._name, exc)

    @property
    def _name(self) -> str:
        return f"relay session {self.claim.session_id} of call {self.claim.call_id}" if self.claim else "relay socket"

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = relay_messages.parse(text_data, bytes_data)
        except relay_messages.Malformed as malformed:
            logger.warning("Ignored a malformed ConversationRelay message on %s: %s", self._name, malformed)
            return
        if self.retired:
            return
        if isinstance(message, relay_messages.Setup):
            await self._setup(message)
        elif isinstance(message, relay_messages.Unknown):
            logger.info("Ignored a ConversationRelay message of an unknown type on %s: %s", self._name, message.kind)
        elif self.session is None:
            logger.warning("ConversationRelay %s before setup on %s", type(message).__name__.lower(), self._name)
        elif isinstance(message, relay_messages.Prompt):
            if message.last and (text := message.text.strip()):
                await self._start_turn(text)
        elif isinstance(message, relay_messages.Interrupt):
            await self._interrupt(message.heard)
        elif isinstance(message, relay_messages.Dtmf):
            await self._dtmf(message.digit)
        elif isinstance(message, relay_messages.RelayError):
            logger.error("ConversationRelay error on call %s: %s", self.session.call_id, message.description[:500])
            await database_sync_to_async(_record_error)(
                self.session.call_id, "relay_error", {"description": message.description[:500]}
            )
        elif isinstance(message, relay_messages.Info):
            logger.debug("ConversationRelay info: %s", message.content)

    async def _setup(self, message: relay_messages.Setup) -> None:
        if self.set_up:
            logger.warning("Ignored a second ConversationRelay setup on %s", self._name)
            return
        self.set_up = True
        self.twilio_session_id = message.session_id
        claim = self.claim
        if message.call_sid != claim.call_sid or message.call_id != str(claim.call_id) or not claim.call_sid:
            logger.warning(
                "Closed %s: its setup is for another call (call_id=%.20s, CallSid=%.40s)",
                self._name,
                message.call_id,
                message.call_sid,
            )
            self.retired = True
            await self.close()
            return
        call = await database_sync_to_async(_conversation_of)(claim.call_id)
        if call is None or not call.state:
            logger.warning("Ended %s: the call has no conversation to resume", self._name)
            await self._end({"handoff": True, "reason": "the conversation could not be found"})
            return
        if call.status in TERMINAL_STATUSES:
            # Nobody is on this call any more (it ended since the handshake): nothing to resume or write.
            logger.warning("Closed %s: the call is %s", self._name, call.status)
            self.retired = True
            await self.close()
            return
        self.session = await AgentSession.resume(call.pk)  # also after a reconnect: where it was
        self.session.traced_under(self.span)
        metrics.LIVE_CALLS.labels("voice").inc()
        # What supervisors do to this call (guidance, a take-over) comes this way.
        self.listen(session_group(call.pk))

    async def _still_current(self) -> bool:
        """Before anything is said or saved: is this still the call's session? One indexed read;
        a socket on another process learns here that a newer one took the call, or that it ended."""
        if self.retired:
            return False
        try:
            current = await asyncio.wait_for(
                database_sync_to_async(relay_session_current)(self.claim.session_id), CURRENT_CHECK_TIMEOUT_S
            )
        except (TimeoutError, DatabaseError) as exc:
            # The database is slow or down: the engine copes with that (a holding phrase, a hand-off);
            # the caller is not left in silence over this check.
            logger.warning("Could not check that %s is current (%s); going on", self._name, type(exc).__name__)
            current = True
        if current or self.retired:
            return not self.retired  # retired while we were reading: by a newer socket on this process
        await self._retire("no longer the call's session (a newer one connected, or the call is over)")
        return False

    async def _retire(self, reason: str) -> None:
        """Say nothing more, keep what was said, and close."""
        self.retired = True
        logger.warning("Closing %s: %s", self._name, reason)
        await self._cancel_turn()
        if self.session is not None:
            await self.session.flush()
        await self.close()

    async def _start_turn(self, text: str) -> None:
        await self._cancel_turn()  # the caller spoke again: the older reply is moot
        if await self._still_current():
            self.turn = asyncio.create_task(self._speak(self.session.reply(text)))

    async def _speak(self, events: AsyncIterator[Event]) -> None:
        closing: Event | None = None
        async for event in spoken(events, say=self._say):
            if isinstance(event, ReplyEnd):
                await self.send(text_data=json.dumps({"type": "text", "token": "", "last": True}))
            else:
                closing = event
        if closing is not None:
            # The <Connect action> webhook reads what this turn saved (the handoff): save, then end.
            await self.session.flush()
            data = {"handoff": isinstance(closing, Handoff), "reason": closing.reason, "call_id": self.session.call_id}
            if isinstance(closing, Handoff):
                data["summary"] = closing.summary
            await self._end(data)

    async def _say(self, text: str) -> None:
        await self.send(text_data=json.dumps({"type": "text", "token": text, "last": False}))

    async def _end(self, data: dict) -> None:
        await self.send(text_data=json.dumps({"type": "end", "handoffData": json.dumps(data)}))

    async def _cancel_turn(self) -> None:
        if self.turn and not self.turn.done():
            self.turn.cancel()
            # Wait until it has stopped (and saved what was said); our own cancellation still propagates.
            await asyncio.gather(self.turn, return_exceptions=True)

    async def _interrupt(self, heard: str) -> None:
        await self._cancel_turn()
        if await self._still_current():
            await self.session.interrupted(heard)

    # --- a person in the loop (sent by apps/console/services.py to the session's group) -------

    async def session_guidance(self, message: dict) -> None:
        if self.session is not None and not self.retired and message.get("call_id") == self.session.call_id:
            await self.session.guide(message["text"], message["by"])

    async def session_take_over(self, message: dict) -> None:
        """A person takes the call now: the agent stops mid-word, and the call is handed over
        (the relay's `end` with the handoff; the <Connect action> then dials the person)."""
        session = self.session
        if session is None or self.retired or message.get("call_id") != session.call_id:
            return
        await self._cancel_turn()
        await session.take_over(message["by"])
        await session.flush()
        self.retired = True  # nothing more from the agent on this call
        reason = session.state.handoff["reason"]
        await self._end(
            {"handoff": True, "reason": reason, "call_id": session.call_id, "summary": session.handoff_summary()}
        )

    async def _dtmf(self, digit: str) -> None:
        if digit == "*":
            self.digits = ""
            await self._start_turn("I want to speak to a person")
        elif digit == "#":
            digits, self.digits = self.digits, ""
            if digits:
                await self._start_turn(digits)
        elif digit.isdigit():
            self.digits = (self.digits + digit)[-20:]
