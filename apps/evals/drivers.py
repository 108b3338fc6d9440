"""The channels a scenario is played over, driven as their clients drive them, in process.

- Voice: Twilio's side of a call. The signed inbound webhook (or, outbound, the call row the
  dialer writes and the signed webhook Twilio asks when the customer answers), the
  ConversationRelay socket (signed handshake, `setup`, `prompt`, `dtmf`, `interrupt`), then the
  signed `<Connect action>` and status callbacks when the session ends or the caller hangs up.
- Chat: the browser's web chat socket, as the signed-in staff user it belongs to.

Both run the project's own consumers. Each is subclassed only to tell the driver when a turn
is over (a marker message after the consumer's turn task finished): the protocols do not say
whether more is coming after a reply, and waiting on a timer would be slow and flaky.
"""

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import AsyncClient
from django.urls import path
from twilio.request_validator import RequestValidator

from apps.calls.attempts import call_create_outbound
from apps.chat.consumers import ChatConsumer
from apps.core.services import Person
from apps.customers.models import Customer
from apps.evals.callers import Say
from apps.voice.consumers import RelayConsumer
from apps.voice.routing import RELAY_PATH

TURN_DONE = "eval.turn_done"
# The number each workflow's inbound calls dial (the workers' INBOUND_WORKFLOWS).
LINES = {"collections": "+14155550100", "roadside": "+14155550111"}
TURN_TIMEOUT_S = 60.0  # a turn that takes longer is a failure of the run, not a wait


class EvalRelayConsumer(RelayConsumer):
    async def _speak(self, events) -> None:
        try:
            await super()._speak(events)
        finally:
            await self.send(text_data=json.dumps({"type": TURN_DONE}))


class EvalChatConsumer(ChatConsumer):
    async def _relay(self, session, events) -> None:
        try:
            await super()._relay(session, events)
        finally:
            await self.send_json({"type": TURN_DONE})


@dataclass
class Reply:
    text: str
    ended: bool = False
    handoff: bool = False
    reason: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)


class DriverError(Exception):
    """The channel did not behave as its protocol says (the run fails with this message)."""


def _sid(call_id_hint: int | str, prefix: str = "CA") -> str:
    return prefix + f"{abs(hash(str(call_id_hint))):032x}"[-32:]


class VoiceDriver:
    """One phone call, as Twilio would place it on the relay."""

    def __init__(self, *, customer: Customer, workflow: str, direction: str, from_number: str) -> None:
        self.customer, self.workflow, self.direction, self.from_number = customer, workflow, direction, from_number
        self.token = settings.TWILIO_AUTH_TOKEN
        self.base = settings.PUBLIC_BASE_URL
        self.http = AsyncClient()
        self.call_sid = _sid(f"{customer.pk}-{id(self)}")
        self.session_id = _sid(f"session-{customer.pk}-{id(self)}", "VX")
        self.call_id = 0
        self.ws: WebsocketCommunicator | None = None
        self.over = False

    async def _post(self, route: str, params: dict[str, str]):
        signature = RequestValidator(self.token).compute_signature(f"{self.base}{route}", params)
        response = await self.http.post(route, params, headers={"X-Twilio-Signature": signature})
        if not 200 <= response.status_code < 300:
            raise DriverError(f"{route} answered {response.status_code}: {response.content[:200]!r}")
        return response

    async def open(self) -> str:
        """The call is answered: the TwiML's relay, its greeting, and the socket set up."""
        if self.direction == "outbound":
            call = await database_sync_to_async(call_create_outbound)(
                customer=self.customer, workflow=self.workflow, reason="Evaluation", actor=Person(None, "eval_agent")
            )
            params = {"CallSid": self.call_sid, "From": settings.TWILIO_FROM_NUMBER, "To": self.customer.phone,
                      "CallStatus": "in-progress", "Direction": "outbound-api"}  # fmt: skip
            response = await self._post(f"/twilio/voice/outbound/{call.pk}/", params)
        else:
            params = {"CallSid": self.call_sid, "From": self.from_number, "To": LINES[self.workflow],
                      "CallStatus": "ringing", "Direction": "inbound"}  # fmt: skip
            response = await self._post("/twilio/voice/inbound/", params)
        relay = ET.fromstring(response.content).find("Connect/ConversationRelay")  # noqa: S314 (our own TwiML)
        if relay is None:
            raise DriverError(f"the call was not connected to the agent: {response.content[:300]!r}")
        self.call_id = int(relay.find("Parameter[@name='call_id']").attrib["value"])  # type: ignore[union-attr]
        url = relay.attrib["url"]
        signature = RequestValidator(self.token).compute_signature(url, {})
        local = url.split("://", 1)[1].split("/", 1)[1]
        self.ws = WebsocketCommunicator(
            URLRouter([path(RELAY_PATH, EvalRelayConsumer.as_asgi())]),
            "/" + local,
            headers=[(b"x-twilio-signature", signature.encode())],
        )
        connected, _ = await self.ws.connect(timeout=TURN_TIMEOUT_S)
        if not connected:
            raise DriverError("the relay socket was refused")
        setup = {"type": "setup", "sessionId": self.session_id, "accountSid": settings.TWILIO_ACCOUNT_SID,
                 "callSid": self.call_sid, "from": self.from_number, "to": LINES[self.workflow],
                 "direction": self.direction, "callType": "PSTN", "callStatus": "IN-PROGRESS",
                 "customParameters": {"call_id": str(self.call_id)}}  # fmt: skip
        await self.ws.send_to(text_data=json.dumps(setup))
        return relay.attrib.get("welcomeGreeting", "")

    async def say(self, turn: Say) -> Reply:
        assert self.ws is not None
        if turn.dtmf:
            for digit in turn.text:
                await self.ws.send_to(text_data=json.dumps({"type": "dtmf", "digit": digit}))
            return await self._reply() if turn.text.endswith(("#", "*")) else Reply("")
        if turn.interrupt:
            message = {"type": "interrupt", "utteranceUntilInterrupt": "", "durationUntilInterruptMs": 400}
            await self.ws.send_to(text_data=json.dumps(message))
        prompt = {"type": "prompt", "voicePrompt": turn.text, "lang": "en-US", "last": True}
        await self.ws.send_to(text_data=json.dumps(prompt))
        return await self._reply()

    async def _reply(self) -> Reply:
        assert self.ws is not None
        reply = Reply("")
        while True:
            message = json.loads(await self.ws.receive_from(timeout=TURN_TIMEOUT_S))
            if message["type"] == TURN_DONE:
                break
            reply.messages.append(message)
            if message["type"] == "text":
                reply.text += message["token"]
            elif message["type"] == "end":
                data = json.loads(message.get("handoffData") or "{}")
                reply.ended, reply.handoff, reply.reason = True, bool(data.get("handoff")), str(data.get("reason", ""))
        if reply.ended:
            await self._session_ended(reply)
        return reply

    async def _session_ended(self, reply: Reply) -> None:
        """The agent ended the <Connect>: Twilio asks its action, then the call completes."""
        assert self.ws is not None
        await self.ws.disconnect()
        handoff = {"handoff": reply.handoff, "reason": reply.reason, "call_id": self.call_id}
        await self._post(
            "/twilio/voice/relay-action/",
            {
                "CallSid": self.call_sid,
                "SessionId": self.session_id,
                "SessionStatus": "ended",
                "CallStatus": "in-progress",
                "HandoffData": json.dumps(handoff),
            },
        )
        await self._completed()

    async def _completed(self) -> None:
        if not self.over:
            self.over = True
            await self._post("/twilio/voice/status/", {"CallSid": self.call_sid, "CallStatus": "completed",
                                                       "CallDuration": "60", "SequenceNumber": "9"})  # fmt: skip

    async def hang_up(self) -> None:
        """The caller hangs up: the socket closes, the <Connect action> and the status say so."""
        if self.over:
            return
        if self.ws is not None:
            await self.ws.disconnect()
        await self._post(
            "/twilio/voice/relay-action/",
            {
                "CallSid": self.call_sid,
                "SessionId": self.session_id,
                "SessionStatus": "completed",
                "CallStatus": "completed",
            },
        )
        await self._completed()


class ChatDriver:
    """One web chat, as the console's test-call page drives it."""

    def __init__(self, *, customer: Customer, workflow: str, direction: str, user: Any) -> None:
        self.customer, self.workflow, self.direction, self.user = customer, workflow, direction, user
        self.call_id = 0
        self.ws = WebsocketCommunicator(EvalChatConsumer.as_asgi(), "/ws/chat/")
        self.ws.scope["user"] = user
        self.over = False

    async def open(self) -> str:
        connected, _ = await self.ws.connect(timeout=TURN_TIMEOUT_S)
        if not connected:
            raise DriverError("the chat socket was refused")
        start = {"type": "start", "workflow": self.workflow, "direction": self.direction}
        if self.customer is not None:
            start["customer_id"] = self.customer.pk
        await self.ws.send_json_to(start)
        started = await self.ws.receive_json_from(timeout=TURN_TIMEOUT_S)
        if started.get("type") != "started":
            raise DriverError(f"the chat did not start: {started}")
        self.call_id = started["call_id"]
        return (await self._reply()).text

    async def say(self, turn: Say) -> Reply:
        await self.ws.send_json_to({"type": "message", "text": turn.text})
        return await self._reply()

    async def _reply(self) -> Reply:
        reply = Reply("")
        while True:
            message = await self.ws.receive_json_from(timeout=TURN_TIMEOUT_S)
            if message["type"] == TURN_DONE:
                break
            reply.messages.append(message)
            if message["type"] == "reply":
                reply.text = message["text"]
            elif message["type"] in ("ended", "handoff"):
                reply.ended, reply.handoff = True, message["type"] == "handoff"
                reply.reason = message["reason"]
            elif message["type"] == "error":
                raise DriverError(f"the chat answered an error: {message['detail']}")
        if reply.ended:
            await self.hang_up()
        return reply

    async def hang_up(self) -> None:
        if not self.over:
            self.over = True
            await self.ws.disconnect()
