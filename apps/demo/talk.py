"""One demo conversation, held by the agent's own turn core (apps/agent/turn.py).

`DemoCall` runs the live agent's `Conversation` with the demo's ports: the scripted model and the
simulated clock (`model`), the real tools over the seeded customers (`tools`), the planned
customer record. What the core hands over to be stored is kept here the way `call_record_turn`
and its corrections would store it, for the seeder to write in bulk: transcript entries, trace
events, the state; and what the call's tools would have written (`effects`), for the rows.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from apps.agent import offline
from apps.agent.events import Event, ReplyEnd
from apps.agent.prompts import CustomerContext
from apps.agent.turn import Conversation, EntryRedacted, Ports, ReplyCut, Stored, TurnRecord, new_state
from apps.agent.workflows import get_workflow
from apps.calls.models import TraceKind
from apps.demo.context import account_words
from apps.demo.model import ScriptedModel, SimClock, run_turn, unbudgeted
from apps.demo.tools import DemoTools

TRACE_FIELDS = ("turn", "kind", "name", "ok", "latency_ms", "payload", "prompt_tokens", "completion_tokens", "at")


class DemoCall:
    def __init__(
        self,
        *,
        workflow: str,
        channel: str,
        direction: str,
        customer: CustomerContext,
        known: bool,
        ctx: dict[str, Any],
        speech: offline.Speech,
        rng: random.Random,
        at: datetime,
    ) -> None:
        self.clock = SimClock(at, rng)
        self.rng = rng
        # Who the caller is; the agent knows once caller ID or find_account says so.
        heard = customer if known else CustomerContext(customer_id=None)

        async def load_customer(customer_id: int | None) -> CustomerContext:
            return customer if customer_id == customer.customer_id else CustomerContext(customer_id=None)

        def answered(name: str, result: dict[str, Any]) -> None:  # the model says what the tools answered
            if name == "lookup_account" and result["status"] == "ok":
                ctx.update(account_words(result, speech))

        assert customer.customer_id is not None  # the planned customer, seeded before the calls are planned
        tools = DemoTools(self.clock, customer.customer_id, ctx["history"], on_result=answered)
        self.effects = tools.effects
        self.model = ScriptedModel(self.clock, rng, ctx, today=self.clock.at.date())
        ports = Ports(
            stream=self.model,
            configured=lambda: True,
            run_tool=tools,
            load_customer=load_customer,
            clock=self.clock,
            turn_clock=unbudgeted,
        )
        definition = get_workflow(workflow)
        state = new_state(definition, channel=channel, direction=direction, customer=heard)
        self.entries: list[dict[str, Any]] = []
        self.traces: list[dict[str, Any]] = []
        self.core = Conversation(call_id=0, state=state, customer=heard, ports=ports, store=self._store)
        self.model.today = self.core.today  # the customer's date, as the core counts it
        self.core.open()  # e.g. a caller known by caller ID skips identification
        self.last_reply = ""
        self.first_token: datetime | None = None

    @property
    def state(self) -> Any:
        return self.core.state

    @property
    def now(self) -> datetime:
        return self.clock.at

    def wait(self, seconds: float) -> None:
        self.clock.wait(seconds)

    def greet(self) -> None:
        self.clock.advance(self.rng.uniform(150, 400))
        self.first_token = self.clock.at
        self._heard(run_turn(self.core.greet()))

    def turn(self, caller: str, *, calls: list[str], reply: str, draft: str = "", down: bool = False) -> None:
        """The caller speaks; the model does what the script says, the core the rest. `reply` and
        `draft` are templates over the call's context, said as the tools have answered by then."""
        self.model.expect(calls=calls, reply=reply, draft=draft, down=down)
        self._heard(run_turn(self.core.reply(caller)))
        turn = self.traces[-1]  # the turn's timings, traced last
        timings = turn["payload"]
        self.first_token = turn["at"] - timedelta(milliseconds=timings["total_ms"] - timings["first_token_ms"])
        self.clock.advance(self.rng.uniform(0.4, 3.0))  # saving the turn

    def interrupt(self, heard: str) -> None:
        """The caller cut the last reply off: the channel tells the core what they heard."""
        self.core.interrupted(heard)
        self.last_reply = heard

    def note(self, speaker: str, text: str) -> None:
        """A line the channel records after the agent is gone: the transfer, the person who took over."""
        self.entries.append(self._entry(speaker, text, self.clock.at))

    def _heard(self, events: list[Event]) -> None:
        if said := [event.text for event in events if isinstance(event, ReplyEnd)]:
            self.last_reply = said[-1]

    def _store(self, record: Stored) -> None:
        if isinstance(record, TurnRecord):
            for u in record.utterances:
                self.entries.append(self._entry(u.speaker, u.text, u.spoken_at, u.interrupted, u.redacted))
            for event in record.traces:
                trace = {name: getattr(event, name) for name in TRACE_FIELDS}
                trace["cost_usd"] = Decimal(event.cost_usd).quantize(Decimal("0.000001"))
                if trace["kind"] == TraceKind.TURN:
                    trace["payload"].pop("held")  # a simulated call never holds (no first-audio budget)
                self.traces.append(trace)
        elif isinstance(record, ReplyCut):
            self.entries[record.sequence].update(text=record.heard, interrupted=True)
        elif isinstance(record, EntryRedacted):
            self.entries[record.sequence].update(text=record.text, redacted=True)

    @staticmethod
    def _entry(
        speaker: str, text: str, at: datetime, interrupted: bool = False, redacted: bool = False
    ) -> dict[str, Any]:
        return {"speaker": speaker, "text": text, "spoken_at": at, "interrupted": interrupted, "redacted": redacted}
