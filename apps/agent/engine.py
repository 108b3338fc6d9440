"""The agent session: one conversation on a channel, its turns serialised, saved and published.

Channel adapters (the Twilio relay consumer, the web chat consumer, the simulator) create an
`AgentSession`, feed it the caller's words, and relay its events:

    Token(text)       part of the agent's reply, as soon as it may be said
    ReplyEnd(text)    the reply is complete (what was said, in full)
    Handoff(reason)   transfer the caller to a person (the channel performs it)
    Ended(reason)     the conversation is over

What is said and decided is the turn core's (`Conversation`, apps/agent/turn.py). The session
adds what a live channel needs around it: one turn at a time; the call's row; every record the
core hands over saved in order, retried, off the caller's path, and every turn stored before the
next prompt is answered (so a restarted process resumes from the database); and each saved turn
published to the call's live monitors.
"""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.db import IntegrityError

from apps.agent import rollouts
from apps.agent.context import load_customer
from apps.agent.events import Ended, Event, Handoff, ReplyEnd, Token
from apps.agent.guardrails import too_many_conversations
from apps.agent.monitor import MONITOR_GROUP, call_changed
from apps.agent.prompts import CustomerContext
from apps.agent.state import CallFacts, ConversationState
from apps.agent.turn import Conversation, EntryRedacted, Ports, ReplyCut, Stored, TurnRecord, new_state
from apps.agent.workflows import Workflow
from apps.calls.selectors import call_state
from apps.calls.services import (
    call_group,
    call_redact_entry,
    call_start_conversation,
    call_truncate_reply,
)
from apps.core import telemetry
from apps.core.effects import publish
from apps.core.services import Person

__all__ = ["AgentSession", "Ended", "Event", "Handoff", "ReplyEnd", "Token"]

logger = logging.getLogger(__name__)


class AgentSession:
    def __init__(
        self,
        *,
        call_id: int,
        state: ConversationState,
        customer: CustomerContext,
        ports: Ports | None = None,
        started_at: datetime | None = None,
    ) -> None:
        self.core = Conversation(
            call_id=call_id, state=state, customer=customer, ports=ports, store=self._store, stored=self.stored
        )
        self.call_id = call_id
        self.started_at = started_at.isoformat() if started_at else None
        self._lock = asyncio.Lock()  # one turn at a time; saves stay in order
        self._saving: asyncio.Task | None = None  # the latest queued save; each waits for the one before
        # Writes the database did not take yet, in order; and whether one was refused for good.
        self._unsaved: list[tuple[Callable[..., Any], dict[str, Any]]] = []
        self._refused = False

    @property
    def state(self) -> ConversationState:
        return self.core.state

    @property
    def customer(self) -> CustomerContext:
        return self.core.customer

    @property
    def workflow(self) -> Workflow:
        return self.core.workflow

    # --- lifecycle ---------------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        *,
        workflow: str,
        channel: str,
        direction: str,
        customer_id: int | None,
        call_id: int | None = None,
        from_number: str = "",
        to_number: str = "",
        reason: str = "",
        caller: str = "",
        started_by: Person | None = None,
        test: bool = False,
        ports: Ports | None = None,
    ) -> "AgentSession":
        """Begin a conversation. `caller` identifies who is calling for rate limits (a user, a number).
        A test conversation (`test`, started by staff: the user `started_by`, if any) records what
        it would do to real records instead of doing it, and acts in that person's name."""
        customer = await database_sync_to_async(load_customer)(customer_id)
        who = f"customer:{customer.customer_id}" if customer.customer_id else from_number
        # The current definition, or a candidate on trial for this customer (apps/agent/rollouts.py).
        definition = await database_sync_to_async(rollouts.choose)(workflow, who)
        caller = caller or who
        state = new_state(
            definition, channel=channel, direction=direction, customer=customer, test=test, started_by=started_by
        )
        call = await database_sync_to_async(call_start_conversation)(
            customer_id=customer.customer_id,
            channel=channel,
            direction=direction,
            workflow=definition.name,
            version=definition.version,
            step=state.step,
            state=state.to_dict(),
            call_id=call_id,
            from_number=from_number,
            to_number=to_number,
            reason=reason,
            test=test,
            started_by_id=started_by.user_id if started_by else None,
        )
        session = cls(call_id=call.pk, state=state, customer=customer, ports=ports, started_at=call.started_at)
        session.core.open()  # e.g. a caller known by caller ID skips identification
        if caller and await too_many_conversations(caller):
            state.handoff = {"reason": "conversation rate limit reached"}
        return session

    @classmethod
    async def resume(cls, call_id: int, *, ports: Ports | None = None) -> "AgentSession":
        """Pick a conversation up from the database, e.g. after a process restart."""
        stored = await database_sync_to_async(call_state)(call_id=call_id)
        state = ConversationState.from_dict(stored.state)
        customer = await database_sync_to_async(load_customer)(CallFacts.of(state).customer_id)
        return cls(call_id=call_id, state=state, customer=customer, ports=ports, started_at=stored.started_at)

    def traced_under(self, span: telemetry.Span | None) -> None:
        """The channel's span (its socket's) that this conversation's turns are traced under."""
        self.core.trace_parent = span

    def greeting(self) -> str:
        return self.core.greeting()

    def handoff_summary(self) -> str:
        return self.core.handoff_summary()

    # --- turns, one at a time ------------------------------------------------------------------

    async def greet(self) -> AsyncIterator[Event]:
        async with self._lock:
            async for event in self.core.greet():
                yield event

    async def reply(self, caller_text: str) -> AsyncIterator[Event]:
        async with self._lock:
            async for event in self.core.reply(caller_text):
                yield event

    async def rejoin(self, attempt: int) -> str:
        """Back on the line after the channel lost the caller: see `Conversation.rejoin`."""
        async with self._lock:
            return self.core.rejoin(attempt)

    # --- a person in the loop (supervision.py): each waits for the turn in progress ---------

    async def guide(self, text: str, by: str) -> str:
        async with self._lock:
            return self.core.guide(text, by)

    async def take_over(self, by: str) -> None:
        async with self._lock:
            self.core.take_over(by)

    async def person_said(self, text: str, by: str) -> str:
        async with self._lock:
            return self.core.person_said(text, by)

    async def hand_back(self, by: str, notes: str = "") -> str:
        async with self._lock:
            return self.core.hand_back(by, notes)

    async def interrupted(self, heard: str) -> None:
        """The caller cut the last reply off: keep only what they heard, in transcript and history."""
        async with self._lock:
            self.core.interrupted(heard)

    # --- saving: after every turn, in order, off the caller's path --------------------------

    def _store(self, record: Stored) -> None:
        """Queue what the core hands over: a turn's record (the state to resume from, what was said,
        what happened), or a correction of a line stored before. The next turn need not wait for
        it; saves of one conversation commit in order."""
        if isinstance(record, TurnRecord):
            fields = {name: getattr(record, name) for name in TurnRecord.__dataclass_fields__}
            self._after_saves(self.core.ports.record_turn, call_id=self.call_id, **fields)
        elif isinstance(record, EntryRedacted):
            self._after_saves(call_redact_entry, call_id=self.call_id, sequence=record.sequence, text=record.text)
        elif isinstance(record, ReplyCut):
            self._after_saves(call_truncate_reply, call_id=self.call_id, sequence=record.sequence, heard=record.heard)

    def _after_saves(self, write: Callable[..., Any] | None = None, **arguments: Any) -> asyncio.Task:
        """Queue a write behind the ones before it (None: only retry what the database refused)."""
        previous = self._saving if self._saving is not None and not self._saving.done() else None
        item = (write, arguments) if write is not None else None
        self._saving = asyncio.create_task(self._write_after(previous, item))
        return self._saving

    async def _write_after(self, previous: asyncio.Task | None, item: tuple[Callable[..., Any], dict] | None) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if item is not None:
            self._unsaved.append(item)
        while self._unsaved:
            write, arguments = self._unsaved[0]
            try:
                message = await self._write_retrying(write, arguments)
            except IntegrityError:
                # Refused for good (its rows clash with rows another writer stored): it can never be
                # stored, so it must not hold up the writes behind it; the next prompt is not answered.
                logger.exception("call %s: a save was refused by the database's constraints", self.call_id)
                self._unsaved.pop(0)
                self._refused = True
                continue
            except Exception:
                # Kept, in order, for the next save; the next prompt is not answered on it.
                logger.exception("could not save call %s; %s writes pending", self.call_id, len(self._unsaved))
                return
            self._unsaved.pop(0)
            await self._publish(message, arguments.get("state"))

    async def _write_retrying(self, write: Callable[..., Any], arguments: dict[str, Any]) -> Any:
        """A write that fails (a stalled or unreachable database) is tried again with backoff for
        AGENT_SAVE_RETRY_S. Each try is one transaction: a failed one left nothing behind."""
        give_up = time.monotonic() + settings.AGENT_SAVE_RETRY_S
        delay, retried = 0.05, False
        while True:
            try:
                return await database_sync_to_async(write)(**arguments)
            except IntegrityError:
                if not retried:
                    raise
                # The try before failed after its commit (the connection broke on the answer):
                # the rows are there, and writing them again is what the constraint refuses.
                logger.warning("call %s: a retried save was already stored", self.call_id)
                return None
            except Exception as exc:
                if time.monotonic() + delay > give_up:
                    raise
                logger.warning("call %s: save failed (%s); retrying in %.2f s", self.call_id, exc, delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 (jitter)
                delay, retried = min(delay * 2, 1.0), True

    async def stored(self) -> bool:
        """Whether every turn so far is in the database (waiting for its saves): the next prompt is
        answered only then."""
        await self.flush()
        return not (self._unsaved or self._refused)

    async def flush(self) -> None:
        """Wait until everything said so far is saved (a channel calls this before it lets go).
        When the database refused a save, it gets one more bounded try first."""
        if self._saving is not None and not self._saving.done():
            await asyncio.wait([self._saving])
        if self._unsaved:
            await asyncio.wait([self._after_saves()])

    async def _publish(self, message: dict | None, state: dict | None) -> None:
        """Send what was saved to the call's watchers (its new lines) and, after a turn, to the live
        monitor (the call's step and flags): from the event loop, after the reply went out and the
        save committed, never holding the database thread."""
        saved_at = time.time()  # when it was committed: watchers' delay is measured from here (bench/monitor.py)
        if message:
            await publish(call_group(self.call_id), {**message, "saved_at": saved_at})
        if state is not None:
            name = self.customer.full_name
            summary = call_changed(call_id=self.call_id, state=state, customer=name, started_at=self.started_at)
            await publish(MONITOR_GROUP, {**summary, "saved_at": saved_at})
