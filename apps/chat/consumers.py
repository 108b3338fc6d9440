"""The web chat channel: the same agent engine over a browser WebSocket (the console's test call).

Protocol (JSON messages over `WS /ws/chat/`, for signed-in users with the console permission):

  client -> server
    {"type": "start", "workflow": "collections", "customer_id": 12, "direction": "inbound"}
    {"type": "resume", "call_id": 345}
    {"type": "message", "text": "I can pay 300 on Friday"}
  server -> client
    {"type": "started", "call_id": 345, "workflow": "collections", "version": "…", "step": "verify_identity"}
    {"type": "token", "text": "…"}            the reply as it streams
    {"type": "reply", "text": "…", "step": "…"}  the whole reply, once complete
    {"type": "handoff", "reason": "…", "summary": "…"}
    {"type": "ended", "reason": "…"}
    {"type": "test_effect", "action": "promise_record", …}  what would have happened, had it not been a test
    {"type": "taken_over", "by": "sup"}      a person took the chat over: the AI is silent
    {"type": "reply", "text": "…", "by": "sup", "step": "…"}  that person's words
    {"type": "handed_back", "by": "sup"}     the AI answers again, from where the chat is
    {"type": "error", "detail": "…"}

Every chat is a test call (Call.is_test): staff trying the agent. Nothing it does touches real
records (promises, approvals, follow-ups, do-not-call, dispatches, texts); the would-be effects
are recorded on the call, sent as `test_effect`, and audited in the name of the person. A chat
belongs to the person who started it: only they may resume it.
"""

import asyncio
from collections.abc import AsyncIterator

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.agent.engine import AgentSession, Ended, Event, Handoff, ReplyEnd
from apps.agent.events import spoken
from apps.agent.state import CallFacts
from apps.agent.workflows import WORKFLOWS
from apps.calls.models import TERMINAL_STATUSES, Call, Channel
from apps.calls.services import session_group
from apps.chat.lifecycle import conversation_ports
from apps.core import metrics, telemetry
from apps.core.services import Person
from apps.core.sockets import GroupInbox, Metered, SweptPerQuery
from apps.customers.models import Customer

MAX_MESSAGE_CHARS = 2000
UNAUTHENTICATED, FORBIDDEN = 4401, 4403


def _customer_exists(customer_id: int) -> bool:
    return Customer.objects.filter(pk=customer_id).exists()


def _chat_of(call_id: int) -> Call | None:
    return Call.objects.filter(pk=call_id, channel=Channel.WEB_CHAT).first()


class ChatConsumer(Metered, SweptPerQuery, GroupInbox, AsyncJsonWebsocketConsumer):
    # A chat hears what supervisors do to it on its own listener (GroupInbox), so that a
    # channel layer that fails never ends the chat.
    channel_layer_alias = None
    metrics_route = "chat"
    span: telemetry.Span | None = None  # the chat's span in its call's trace (its turns' parent)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        if not await database_sync_to_async(user.has_perm)("accounts.use_console"):
            await self.close(code=FORBIDDEN)
            return
        self.session: AgentSession | None = None
        self.turn: asyncio.Task | None = None
        await self.accept()

    async def disconnect(self, code: int) -> None:
        # A socket refused in connect() never had a session or a turn.
        turn: asyncio.Task | None = getattr(self, "turn", None)
        if turn is not None and not turn.done():
            turn.cancel()
            await asyncio.gather(turn, return_exceptions=True)
        session: AgentSession | None = getattr(self, "session", None)
        if session is not None:
            await session.flush()
            metrics.LIVE_CALLS.labels("web_chat").dec()
        await self.stop_listening()
        telemetry.finish(self.span, **{"cc.close_code": code})

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "start":
            await self._start(content)
        elif kind == "resume":
            await self._resume(content)
        elif kind == "message":
            await self._message(content)
        else:
            await self._error("Unknown message type; expected start, resume or message.")

    async def _start(self, content: dict) -> None:
        if self.session is not None:
            return await self._error("This chat already has a conversation.")
        workflow = content.get("workflow")
        direction = content.get("direction", "inbound")
        customer_id = content.get("customer_id")
        if workflow not in WORKFLOWS:
            return await self._error(f"workflow must be one of: {', '.join(WORKFLOWS)}.")
        if direction not in ("inbound", "outbound"):
            return await self._error("direction must be inbound or outbound.")
        if customer_id is not None and not (
            isinstance(customer_id, int) and await database_sync_to_async(_customer_exists)(customer_id)
        ):
            return await self._error(f"No customer with id {customer_id}.")
        if direction == "outbound" and customer_id is None:
            return await self._error("An outbound conversation needs a customer_id.")
        self.session = await AgentSession.start(
            workflow=workflow,
            channel=Channel.WEB_CHAT,
            direction=direction,
            customer_id=customer_id,
            reason=f"Web chat test by {self.scope['user'].get_username()}",
            caller=f"user:{self.scope['user'].pk}",
            started_by=Person(self.scope["user"].pk, self.scope["user"].get_username()),
            test=True,  # staff are trying the agent: nothing real is touched
            ports=conversation_ports(),
        )
        await self._started(self.session)
        await self._relay(self.session, self.session.greet())

    async def _resume(self, content: dict) -> None:
        if self.session is not None:
            return await self._error("This chat already has a conversation.")
        call_id = content.get("call_id")
        call = await database_sync_to_async(_chat_of)(call_id) if isinstance(call_id, int) else None
        if call is None or not call.state:
            return await self._error(f"No web chat with id {call_id}.")
        if call.started_by_id != self.scope["user"].pk:
            # A chat belongs to the person who started it: others may watch it, not type into it.
            return await self._error("That chat was started by someone else; only they can continue it.")
        if call.status in TERMINAL_STATUSES:
            return await self._error("That conversation has ended.")
        self.session = await AgentSession.resume(call.pk, ports=conversation_ports())
        await self._started(self.session)

    async def _message(self, content: dict) -> None:
        text = content.get("text")
        if self.session is None:
            return await self._error("Start a conversation first.")
        if not isinstance(text, str) or not text.strip():
            return await self._error("text must be a non-empty string.")
        if len(text) > MAX_MESSAGE_CHARS:
            return await self._error(f"text is longer than {MAX_MESSAGE_CHARS} characters.")
        if self.turn and not self.turn.done():
            return await self._error("Wait for the reply before sending another message.")
        # The turn runs in a task so this consumer keeps receiving while it streams.
        self.turn = asyncio.create_task(self._relay(self.session, self.session.reply(text)))

    async def _started(self, session: AgentSession) -> None:
        metrics.LIVE_CALLS.labels("web_chat").inc()
        self.span = telemetry.start("chat session", kind="server", call_id=session.call_id)
        session.traced_under(self.span)
        # What supervisors do to this chat (guidance, take-over, a person's words) comes this way.
        self.listen(session_group(session.call_id))
        state = session.state
        await self.send_json(
            {
                "type": "started",
                "call_id": session.call_id,
                "workflow": state.workflow,
                "version": state.version,
                "step": state.step,
                "test": state.test,
            }
        )

    async def _relay(self, session: AgentSession, events: AsyncIterator[Event]) -> None:
        """Send the client what `session` says, as it says it."""
        self._effects_shown = len(CallFacts.of(session.state).test_effects)

        async def say(text: str) -> None:
            await self._show_effects(session)
            await self.send_json({"type": "token", "text": text})

        async for event in spoken(events, say=say):
            await self._show_effects(session)
            if isinstance(event, ReplyEnd):
                await self.send_json({"type": "reply", "text": event.text, "step": session.state.step})
            elif isinstance(event, Handoff):
                await self.send_json({"type": "handoff", "reason": event.reason, "summary": event.summary})
            elif isinstance(event, Ended):
                await self.send_json({"type": "ended", "reason": event.reason})
        await self._show_effects(session)
        if session.state.ended:
            await session.flush()

    async def _show_effects(self, session: AgentSession) -> None:
        """What the turn would have done to real records, as soon as it is known."""
        effects = CallFacts.of(session.state).test_effects
        for effect in effects[self._effects_shown :]:
            await self.send_json({"type": "test_effect", **effect})
        self._effects_shown = len(effects)

    async def _error(self, detail: str) -> None:
        await self.send_json({"type": "error", "detail": detail})

    # --- a person in the loop (sent by apps/console/services.py to the session's group) -------

    def _ours(self, message: dict) -> AgentSession | None:
        session = getattr(self, "session", None)
        return session if session is not None and session.call_id == message.get("call_id") else None

    async def session_guidance(self, message: dict) -> None:
        if session := self._ours(message):
            await session.guide(message["text"], message["by"])

    async def session_take_over(self, message: dict) -> None:
        if session := self._ours(message):
            if self.turn and not self.turn.done():
                self.turn.cancel()  # the agent stops mid-reply; what it said is kept
                await asyncio.gather(self.turn, return_exceptions=True)
            await session.take_over(message["by"])
            await session.flush()  # the console reads who has the chat from the saved state
            await self.send_json({"type": "taken_over", "by": message["by"]})

    async def session_person_says(self, message: dict) -> None:
        if (session := self._ours(message)) and session.core.taken_over:
            said = await session.person_said(message["text"], message["by"])
            await self.send_json({"type": "reply", "text": said, "by": message["by"], "step": session.state.step})

    async def session_hand_back(self, message: dict) -> None:
        if (session := self._ours(message)) and session.core.taken_over:
            await session.hand_back(message["by"], message.get("notes", ""))
            await session.flush()
            await self.send_json({"type": "handed_back", "by": message["by"]})
