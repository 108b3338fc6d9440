"""Twilio ConversationRelay: the agent on a phone call, over `WS /ws/twilio/relay/`.

The handshake must carry a valid X-Twilio-Signature for our wss:// URL, or it is refused before
accept. Then, per Twilio's protocol:

  setup      → resume the conversation the webhook started (call_id arrives as a <Parameter>)
  prompt     → a caller turn; the reply streams back as {"type": "text", "token", "last": false}
               and closes with last: true. The turn runs in a task, so we keep receiving.
  interrupt  → cancel the turn; keep only what the caller heard (utteranceUntilInterrupt)
  dtmf       → keypad: * asks for a person; digits then # are said as a turn
  error/info → logged and traced
When the conversation ends or hands off we send {"type": "end", "handoffData": "<json>"}; the
call then continues at the <Connect action> URL. Nothing but protocol messages is ever sent.
"""

import asyncio
import json
import logging
from urllib.parse import parse_qsl

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from apps.agent.engine import AgentSession, Event, Handoff, ReplyEnd, Token
from apps.calls.models import TERMINAL_STATUSES, Call, TraceEvent, TraceKind
from apps.telephony.signatures import relay_url, signature_valid

logger = logging.getLogger(__name__)


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


def _record_error(call_id: int, name: str, payload: dict) -> None:
    TraceEvent.objects.create(call_id=call_id, kind=TraceKind.ERROR, name=name, ok=False, payload=payload)


class RelayConsumer(AsyncWebsocketConsumer):
    # Nothing is sent to a call's socket through the channel layer: no per-call Redis listener.
    channel_layer_alias = None

    async def connect(self) -> None:
        if not handshake_signed(self.scope):
            logger.warning("Refused a ConversationRelay socket with an invalid signature")
            await self.close()  # before accept: the handshake is denied
            return
        self.session: AgentSession | None = None
        self.turn: asyncio.Task | None = None
        self.digits = ""
        await self.accept()

    async def disconnect(self, code: int) -> None:
        # Twilio does not reconnect: the <Connect> ends and its action URL is called, which may
        # answer with a new <Connect> for this call (services.relay_session_ended).
        await self._cancel_turn()
        if self.session is not None:
            await self.session.flush()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except json.JSONDecodeError:
            logger.warning("ConversationRelay sent something that is not JSON")
            return
        kind = message.get("type")
        if kind == "setup":
            await self._setup(message)
        elif self.session is None:
            logger.warning("ConversationRelay %s before setup", kind)
        elif kind == "prompt":
            if message.get("last", True) and (text := str(message.get("voicePrompt", "")).strip()):
                await self._start_turn(text)
        elif kind == "interrupt":
            await self._interrupt(str(message.get("utteranceUntilInterrupt", "")))
        elif kind == "dtmf":
            await self._dtmf(str(message.get("digit", "")))
        elif kind == "error":
            logger.error("ConversationRelay error on call %s: %s", self.session.call_id, message.get("description"))
            await database_sync_to_async(_record_error)(
                self.session.call_id, "relay_error", {"description": str(message.get("description", ""))[:500]}
            )
        elif kind == "info":
            logger.debug("ConversationRelay info: %s", message)

    async def _setup(self, message: dict) -> None:
        params = message.get("customParameters") or {}
        call_sid = str(message.get("callSid", ""))
        try:
            call_id = int(params.get("call_id", ""))
        except ValueError:
            call_id = 0
        call = await Call.objects.filter(pk=call_id, twilio_call_sid=call_sid).afirst() if call_id else None
        if call is None or not call.state:
            logger.error("ConversationRelay setup for an unknown call (call_id=%s, CallSid=%s)", call_id, call_sid)
            await self._end({"handoff": True, "reason": "the conversation could not be found"})
            return
        if call.status in TERMINAL_STATUSES:
            # Nobody is on this call any more (a late or replayed socket): nothing to resume or write.
            logger.warning("ConversationRelay setup for call %s, which is %s", call.pk, call.status)
            await self.close()
            return
        self.session = await AgentSession.resume(call.pk)  # also after a reconnect: where it was

    async def _start_turn(self, text: str) -> None:
        await self._cancel_turn()  # the caller spoke again: the older reply is moot
        self.turn = asyncio.create_task(self._speak(self.session.reply(text)))

    async def _speak(self, events) -> None:
        closing: Event | None = None
        async for event in events:
            if isinstance(event, Token):
                await self.send(text_data=json.dumps({"type": "text", "token": event.text, "last": False}))
            elif isinstance(event, ReplyEnd):
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

    async def _end(self, data: dict) -> None:
        await self.send(text_data=json.dumps({"type": "end", "handoffData": json.dumps(data)}))

    async def _cancel_turn(self) -> None:
        if self.turn and not self.turn.done():
            self.turn.cancel()
            # Wait until it has stopped (and saved what was said); our own cancellation still propagates.
            await asyncio.gather(self.turn, return_exceptions=True)

    async def _interrupt(self, heard: str) -> None:
        await self._cancel_turn()
        await self.session.interrupted(heard)

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
