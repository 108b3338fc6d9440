"""The turn core: what one conversation says and records, turn by turn, whatever drives it.

A `Conversation` takes the caller's words and the stored state, and gives back, in order, the
events a channel relays (events.py) and, through its `store` callback, what to store: each turn's
`TurnRecord` (utterances, traces, the state to resume from, usage) and corrections of entries
already stored (`EntryRedacted`, `ReplyCut`). What it talks to comes in as `Ports`: the model
chain, the tools, the customer record, the opt-out, and the clock; the defaults are the real ones
(turn_io.py). It knows no socket, channel layer or save queue.

Everything that holds a conversation drives this one core: `AgentSession` (engine.py) serialises
its turns, saves what it stores and publishes it, for the relay consumer, the web chat consumer
and `simulate_call`; the demo seeder runs it with a scripted model on a simulated clock
(apps/demo/talk.py).

Each turn: guard the input, understand it (code), let the step's listener read yes/no answers,
apply the transitions code decides, then answer: through the LLM with the step's tools (a
required tool forced with tool_choice; answer_llm.py), or the offline engine when no model is
configured or every model failed. Replies pass the grounding gate. What is said and stored is
recorded by turn_record.py.
"""

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.agent import llm, offline
from apps.agent.answer_llm import LLMAnswering
from apps.agent.events import Ended, Event, Handoff, ReplyEnd, Token
from apps.agent.grounding import grounded_forms
from apps.agent.guardrails import Budget, guard_input
from apps.agent.nlu import Understanding, understand
from apps.agent.prompts import CustomerContext
from apps.agent.state import CALLER_ASKED_FOR_PERSON, REPEATED_MISUNDERSTANDING, CallFacts, ConversationState
from apps.agent.supervision import Supervision
from apps.agent.tools import ToolContext
from apps.agent.traces import TurnLog
from apps.agent.turn_io import EntryRedacted, Ports, ReplyCut, Stored, TurnRecord
from apps.agent.turn_record import Recording
from apps.agent.workflows import Workflow, get_workflow
from apps.calls.models import TraceKind
from apps.core import telemetry
from apps.core.services import Person

__all__ = [
    "Conversation",
    "EntryRedacted",
    "Ports",
    "ReplyCut",
    "Stored",
    "TurnRecord",
    "local_today",
    "new_state",
]

logger = logging.getLogger(__name__)


async def _always_stored() -> bool:
    return True


def new_state(
    workflow: Workflow,
    *,
    channel: str,
    direction: str,
    customer: CustomerContext,
    test: bool = False,
    started_by: Person | None = None,
) -> ConversationState:
    """A conversation's state before its first word: the workflow's first step, what is on file."""
    state = ConversationState(
        workflow=workflow.name,
        version=workflow.version,
        step=workflow.start[direction],
        channel=channel,
        direction=direction,
        test=test,
        started_by={"id": started_by.user_id, "username": started_by.audit_label} if started_by else {},
    )
    if customer.customer_id:
        CallFacts.of(state).customer_id = customer.customer_id
    if vehicle := customer.on_file.get("vehicle"):
        CallFacts.of(state).vehicle_on_file = vehicle
    state.ground(*grounded_forms(customer.on_file))
    return state


def local_today(customer: CustomerContext, now: datetime) -> date:
    """Today in the customer's time zone: "tomorrow" means their tomorrow."""
    return now.astimezone(ZoneInfo(customer.timezone or settings.TIME_ZONE)).date()


# --- the conversation -----------------------------------------------------------------------------


class Conversation(Recording, Supervision, LLMAnswering):
    def __init__(
        self,
        *,
        call_id: int,
        state: ConversationState,
        customer: CustomerContext,
        ports: Ports | None = None,
        store: Callable[[Stored], None] = lambda _: None,
        stored: Callable[[], Awaitable[bool]] = _always_stored,
    ) -> None:
        """`store` takes what to store, in order, as it is decided; `stored` says whether all of it
        reached the database (a turn is answered only on a stored state)."""
        self.call_id = call_id
        self.state = state
        self.customer = customer
        self.ports = ports or Ports()
        self.store = store
        self.stored = stored
        self.workflow: Workflow = get_workflow(state.workflow, state.version)
        self.today = local_today(customer, self.ports.clock.now())
        self.speech = offline.Speech(state.channel, self.today, customer.on_file.get("currency", "USD"))
        self.budget = Budget.from_settings()
        self._turn_times: deque[float] = deque()
        self._opening: TurnLog | None = None
        self._prompts_seen: set[str] = set()
        self.clock = self.ports.turn_clock()  # this turn's time budget
        self.said: list[str] = []  # what the caller has been sent this turn
        self.trace_parent: telemetry.Span | None = None  # its channel's span (a socket), if traced

    def open(self) -> None:
        """A new conversation: the transitions its state already allows (e.g. a caller known by
        caller ID skips identification), recorded with the greeting."""
        self._opening = self._log(0)
        self._settle(self._opening)

    def _log(self, turn: int, *, timed: bool = True) -> TurnLog:
        return TurnLog(
            turn=turn,
            timed=timed,
            prompts_seen=self._prompts_seen,
            clock=self.ports.clock,
            observed=not math.isinf(self.clock.budget),  # a simulated call is no live turn
            call_id=self.call_id,
            channel=self.state.channel,
            parent=self.trace_parent,
            workflow=self.state.workflow,
        )

    def greeting(self) -> str:
        return self.workflow.greeting(self.state.direction, self.customer, self._offline_reply([]))

    async def greet(self) -> AsyncIterator[Event]:
        self.said = []
        log, self._opening = self._opening or self._log(0), None
        if self.state.handoff:
            async for event in self._close_or_hand_off(log):
                yield event
        else:
            text = self.greeting()
            yield Token(text)
            yield ReplyEnd(text)
            self._agent_said(text, log)
        self._save(log)

    def handoff_summary(self) -> str:
        """What the person taking over needs to know (no card data: the state is redacted)."""
        notes = [f"{self.workflow.name} call, step {self.state.step}"]
        if self.customer.full_name:
            notes.append(f"caller {self.customer.full_name}")
        notes += self.state.summary[-4:]
        return "; ".join(notes)[:500]

    # --- a turn ------------------------------------------------------------------------------

    async def reply(self, caller_text: str) -> AsyncIterator[Event]:
        if self.state.ended:
            # Said again if a turn that closed was cut off (the caller spoke over the goodbye
            # before the channel acted on it): a hand-off stays a hand-off.
            if self.state.handoff:
                yield Handoff(reason=self.state.handoff["reason"], summary=self.handoff_summary())
            else:
                yield Ended(self.state.end_reason or "the conversation is over")
            return
        if self.taken_over:  # a person has the chat: the caller's words are theirs to answer
            self.caller_to_person(caller_text)
            return
        self.clock, self.said = self.ports.turn_clock(), []
        self.state.turn += 1
        self.state.last_reply_sequence = None  # the caller spoke: earlier replies are past interrupting
        log = self._log(self.state.turn)
        try:
            async for event in self._within_budget(self._turn(caller_text, log), log):
                if isinstance(event, Token):
                    log.first_token()
                    self.said.append(event.text)
                yield event
        except asyncio.CancelledError:
            # Interrupted mid-reply: keep what was said; the channel corrects it to what was heard.
            if self.said:
                self._agent_said("".join(self.said), log, interrupted=True)
            self._save(log)
            raise
        except Exception as exc:  # never leave the caller in silence: a person takes over
            logger.exception("turn %s of call %s failed", self.state.turn, self.call_id)
            log.trace(TraceKind.ERROR, "turn_failed", ok=False, payload={"error": repr(exc)[:300]})
            self.state.handoff = {"reason": "internal error"}
            async for event in self._close_or_hand_off(log):
                yield event
        self._save(log)

    async def _within_budget(self, events: AsyncGenerator[Event, None], log: TurnLog) -> AsyncIterator[Event]:
        """Relay the turn's events; if nothing was said when the first-audio budget runs out (a
        slow tool, the database, a model streaming slowly behind the grounding gate), say the
        holding phrase and let the turn go on behind it."""
        if math.isinf(self.clock.budget):  # no budget to race (a simulated call): as they come
            try:
                async for event in events:
                    yield event
            finally:
                await events.aclose()
            return
        pending: asyncio.Future | None = None
        try:
            while not self.clock.spoke:
                pending = asyncio.ensure_future(anext(events))
                done, _ = await asyncio.wait({pending}, timeout=max(self.clock.left(), 0))
                if not done:
                    log.held = True
                    log.trace(TraceKind.GUARDRAIL, "holding_phrase", payload={"why": "first-audio budget"})
                    yield Token(self.clock.hold())
                try:
                    event = await pending
                except StopAsyncIteration:
                    return
                finally:
                    pending = None
                self.clock.spoke = self.clock.spoke or isinstance(event, Token)
                yield event
            async for event in events:  # the caller is hearing the reply: no more racing the clock
                yield event
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                await asyncio.wait({pending})
            await events.aclose()

    async def _turn(self, caller_text: str, log: TurnLog) -> AsyncGenerator[Event, None]:
        guarded = guard_input(caller_text)
        self._join_split_card(guarded)
        u = understand(guarded.text, today=self.today)
        self._caller_said(guarded, u, log)
        if not await self.stored():
            # The state this turn would build on never reached the database: answering on it
            # could lose what the caller agrees next. A person takes over, with what is known.
            log.trace(TraceKind.ERROR, "state_not_stored", ok=False)
            self.state.handoff = {"reason": "the conversation could not be saved"}
            async for event in self._close_or_hand_off(log):
                yield event
            return

        if reason := self._handoff_reason(u):
            self.state.handoff = {"reason": reason}
        elif u.opt_out and self.customer.customer_id:
            effect = await self.ports.opt_out(self._tool_context(), "call_opt_out")
            if effect is not None:
                log.trace(TraceKind.SANDBOXED, "customer_opt_out", payload=effect["sandboxed"])
            log.trace(TraceKind.GUARDRAIL, "opt_out", payload={"text": guarded.text})
            async for event in self._finish(offline.opt_out_reply(), log, ended="the caller opted out"):
                yield event
            return
        else:
            self.workflow.hear(self.state, u)  # the step's listener; a goodbye, in any step
            self._settle(log)

        if not self.state.handoff and not self._is_terminal():
            if self.ports.configured():
                try:
                    async for event in self._llm_answer(u, log):
                        yield event
                    return
                except llm.LLMUnavailable as exc:
                    # Also after a holding phrase: the offline engine completes the turn.
                    log.trace(TraceKind.ERROR, "llm_unavailable", ok=False, payload={"error": str(exc)})
            async for event in self._offline_answer(u, log):
                yield event
            return
        async for event in self._close_or_hand_off(log):
            yield event

    # --- answering ---------------------------------------------------------------------------

    async def _offline_answer(self, u: Understanding, log: TurnLog) -> AsyncIterator[Event]:
        log.mode = "offline"
        results = []
        queue = offline.actions(self.state, u, self.customer, self.today)
        while queue:
            name, arguments = queue.pop(0)
            result = await self._tool(name, arguments, log)
            results.append((name, result))
            queue += offline.after(name, arguments, result, self.state)
            self._settle(log)
        results += await self._run_required(log)
        # A question the reply answers ("how much do I owe?") is understood too.
        self._track_understanding(u, progressed=bool(results) or log.step_changed or u.asks_balance)
        if self.state.handoff or self._is_terminal():
            async for event in self._close_or_hand_off(log, results):
                yield event
            return
        async for event in self._say(self._offline_reply(results, u), log):
            yield event

    async def _say(self, text: str, log: TurnLog) -> AsyncIterator[Event]:
        """Say a template reply (grounded by construction) after whatever was already said this turn."""
        before = "".join(self.said)
        yield Token(text)
        full = f"{before}{text}"
        yield ReplyEnd(full)
        self._agent_said(full, log)

    async def _finish(self, text: str, log: TurnLog, *, ended: str) -> AsyncIterator[Event]:
        async for event in self._say(text, log):
            yield event
        self.state.ended, self.state.end_reason = True, ended
        yield Ended(ended)

    async def _close_or_hand_off(
        self, log: TurnLog, results: list[tuple[str, dict]] | None = None
    ) -> AsyncIterator[Event]:
        """A person takes over, or the call ends in its terminal step, whose wording may tell what
        this turn's tools just did (`results`: e.g. a promise recorded as the caller said goodbye)."""
        if self.state.handoff:
            reason = self.state.handoff["reason"]
            log.trace(TraceKind.GUARDRAIL, "handoff", payload={"reason": reason})
            reply = offline.handoff_reply(self.state.channel, system_down=bool(CallFacts.of(self.state).system_down))
            async for event in self._say(reply, log):
                yield event
            self.state.ended, self.state.end_reason = True, f"handoff: {reason}"
            yield Handoff(reason=reason, summary=self.handoff_summary())
            return
        async for event in self._say(self._offline_reply(results or []), log):
            yield event
        self.state.ended, self.state.end_reason = True, self.state.step
        yield Ended(self.state.step)

    # --- state -------------------------------------------------------------------------------

    def _settle(self, log: TurnLog) -> None:
        """Apply the transitions code decides until none applies."""
        for before, transition in self.workflow.settle(self.state):
            log.trace(
                TraceKind.STEP_CHANGE,
                f"{before} -> {transition.to}",
                payload={"from": before, "to": transition.to, "reason": transition.reason},
            )
            log.step_changed = True

    async def _run_required(self, log: TurnLog) -> list[tuple[str, dict]]:
        """Offline, the engine calls the step's required tools itself (they take no arguments)."""
        results = []
        while (required := self.workflow.pending_required(self.state)) and not CallFacts.of(self.state).system_down:
            result = await self._tool(required, {}, log)
            results.append((required, result))
            self._settle(log)
            if result["status"] != "ok":
                break
        return results

    def _tool_context(self) -> ToolContext:
        return ToolContext(
            call_id=self.call_id,
            customer_id=self.customer.customer_id,
            state=self.state,
            today=self.today,
            now=self.ports.clock.now(),
            actor=self._actor,
            caller_text=CallFacts.of(self.state).caller_text,
            test=self.state.test,
        )

    async def _tool(self, name: str, arguments: str | dict, log: TurnLog) -> dict[str, Any]:
        ctx = self._tool_context()
        allowed = self.workflow.step(self.state.step).tools
        started = self.ports.clock.perf()
        result = await self.ports.run_tool(name, arguments, ctx, allowed)
        latency = (self.ports.clock.perf() - started) * 1000
        log.tool_ms(latency)
        log.trace(
            TraceKind.TOOL_CALL,
            name,
            ok=result["status"] == "ok",
            latency_ms=latency,
            payload={"arguments": arguments, "result": result, "step": self.state.step},
        )
        if result["status"] == "refused" and name not in allowed:
            log.trace(TraceKind.GUARDRAIL, "tool_refused", ok=False, payload={"tool": name, "step": self.state.step})
        if result["status"] == "ok" and (effect := result.get("sandboxed")):
            log.trace(TraceKind.SANDBOXED, effect["action"], payload=effect)
        if result["status"] == "ok":
            self.state.ground(*grounded_forms(result))
            if ctx.customer_id != self.customer.customer_id:  # find_account identified the caller
                self.customer = await self.ports.load_customer(ctx.customer_id)
                self.state.ground(*grounded_forms(self.customer.on_file))
                if vehicle := self.customer.on_file.get("vehicle"):
                    CallFacts.of(self.state).vehicle_on_file = vehicle
        elif result["status"] in ("unavailable", "error"):
            await self._system_down(name, log)
        self.workflow.after_tool(name, result, self.state)  # the workflow's rules, e.g. identity checks run out
        return result

    async def _system_down(self, name: str, log: TurnLog) -> None:
        """A system did not answer: never guess. The workflow says what instead (e.g. a call back),
        or a person takes over."""
        CallFacts.of(self.state).system_down = name
        if instead := self.workflow.on_system_down(name, self.state):
            result = await self._tool(*instead, log)
            if result["status"] == "ok":
                return
        self.state.handoff = {"reason": f"{name} unavailable"}

    def _handoff_reason(self, u: Understanding) -> str | None:
        now = self.ports.clock.perf()
        self._turn_times.append(now)
        while self._turn_times and now - self._turn_times[0] > 60:
            self._turn_times.popleft()
        if len(self._turn_times) > settings.AGENT_TURNS_PER_MINUTE:
            return "turn rate limit reached"
        if u.wants_human:
            return CALLER_ASKED_FOR_PERSON
        if exhausted := self.budget.exhausted(
            self.state.prompt_tokens + self.state.completion_tokens, Decimal(self.state.cost_usd)
        ):
            return exhausted
        return None

    def _track_understanding(self, u: Understanding, *, progressed: bool) -> None:
        if progressed and not u.unclear:
            self.state.misunderstandings = 0
            return
        self.state.misunderstandings += 1
        if self.state.misunderstandings >= settings.AGENT_MAX_MISUNDERSTANDINGS:
            self.state.handoff = {"reason": REPEATED_MISUNDERSTANDING}

    def _is_terminal(self) -> bool:
        return self.workflow.step(self.state.step).terminal

    def _offline_reply(self, results: list[tuple[str, dict]], heard: Understanding | None = None) -> str:
        """The step's offline wording, after this turn's tool `results` and the caller's words (`heard`)."""
        return offline.reply(self.state, self.customer, results, self.speech, heard)

    def _count_usage(self, completion: llm.Completion) -> None:
        for attempt in completion.attempts:
            self.state.prompt_tokens += attempt.prompt_tokens
            self.state.completion_tokens += attempt.completion_tokens
            self.state.cost_usd = str(Decimal(self.state.cost_usd) + attempt.cost)

    @property
    def _actor(self) -> str | Person:
        """Who the audit trail names: the agent, or the person behind a test call."""
        if self.state.test:
            who = self.state.started_by
            return Person(who.get("id"), f"{who.get('username') or 'staff'} (test call {self.call_id})")
        return f"agent:call-{self.call_id}"
