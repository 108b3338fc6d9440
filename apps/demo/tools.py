"""The tools port of a demo call: every tool call goes through the real registry (`run_tool`).

So a demo call meets the step's allow-list, argument validation, each tool's own rules and
refusals, the facts and tool log the tools keep, and their idempotency, exactly as a live call.
What differs is only where rows come from: the seeder writes them in bulk once every call is
planned, backdated and in its final status. So, while the calls are planned (`planning`):

- the side-effecting tools (a promise, an approval, a call back, a dispatch) run as on a test call
  (`ToolContext.test`): every check, and their would-be effect recorded instead of the row. The
  effect is kept for the seeder (`DemoTools.effects`: the rows it writes are those), and the result
  and facts take the shape of the real tool's, with a placeholder (`ID`) where the row's id goes,
  which `resolve_ids` replaces once the row exists;
- `lookup_account` reads the customer's promises and payments as they stood when the call began
  (`AccountHistory`, from the earlier calls' plans), put in place for that one lookup;
- whatever the tools write (a test call's audit entry) is rolled back when planning ends.
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from apps.agent.state import ConversationState
from apps.agent.tools import ToolContext, run_tool
from apps.agent.workflows.collections.facts import CollectionsFacts
from apps.agent.workflows.roadside.facts import RoadsideFacts
from apps.demo.model import SimClock
from apps.demo.plans import AccountHistory
from apps.promises.models import Payment, Promise, PromiseSource, PromiseStatus

ID_PREFIX = "@id:"
# How long each tool takes, in milliseconds (database round trips; the dispatch ranks and writes more).
LATENCY_MS = {
    "find_account": (3, 15),
    "verify_identity": (2, 9),
    "lookup_account": (4, 18),
    "propose_payment": (1.5, 7),
    "record_promise": (8, 30),
    "request_approval": (10, 35),
    "schedule_callback": (8, 25),
    "record_vehicle": (0.5, 3),
    "capture_incident": (1.5, 6),
    "dispatch_technician": (12, 45),
    "transfer_to_human": (0.5, 3),
}
# The row each side-effecting tool creates, by the name its id has in the tool's result ("<row>_id").
CREATES = {
    "record_promise": "promise",
    "request_approval": "approval",
    "schedule_callback": "followup",
    "dispatch_technician": "dispatch",
}


def ID(kind: str) -> str:
    return f"{ID_PREFIX}{kind}"


def resolve_ids(value: Any, ids: dict[str, int]) -> Any:
    """Put the created rows' ids in place of the placeholders, also inside JSON strings (tool messages)."""
    if isinstance(value, dict):
        return {key: resolve_ids(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_ids(item, ids) for item in value]
    if isinstance(value, str) and ID_PREFIX in value:
        if value in ids:
            return ids[value]
        for placeholder, pk in ids.items():
            value = value.replace(json.dumps(placeholder), str(pk))
    return value


_planning: ContextVar[bool] = ContextVar("demo_planning", default=False)


@contextmanager
def planning(customer_ids: list[int]) -> Iterator[None]:
    """Where demo calls run: the customers' promises and payments out of sight (each lookup sees
    them as they stood at its call, `DemoTools`), and every row the tools wrote rolled back at the end."""
    with transaction.atomic():
        Payment.objects.filter(customer_id__in=customer_ids).delete()
        # Hidden, not deleted: promises that supersede each other protect one another.
        Promise.objects.filter(customer_id__in=customer_ids).update(status=PromiseStatus.CANCELLED)
        token = _planning.set(True)
        try:
            yield
        finally:
            _planning.reset(token)
            transaction.set_rollback(True)


class DemoTools:
    """`Ports.run_tool` for one demo call, inside `planning`.

    `history` is the customer's account history when the call began; `on_result` hears every result
    (the scripted model says what the tools answered). `effects` keeps, by tool, what each
    side-effecting tool would have done: the rows the seeder writes for this call.
    """

    def __init__(
        self,
        clock: SimClock,
        customer_id: int,
        history: AccountHistory,
        on_result: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        if not _planning.get():
            raise RuntimeError("demo calls run inside tools.planning(): their tools' rows are rolled back")
        self.clock, self.customer_id, self.history, self.on_result = clock, customer_id, history, on_result
        self.effects: dict[str, dict[str, Any]] = {}

    async def __call__(self, name: str, raw: str | dict, tool: ToolContext, allowed: tuple[str, ...]) -> dict[str, Any]:
        self.clock.advance(self.clock.rng.uniform(*LATENCY_MS.get(name, (2, 12))))
        tool.test = True  # side effects recorded, not done: the seeder writes the rows
        if name == "lookup_account":
            with transaction.atomic():
                self._as_it_stood()
                result = run_tool(name, raw, tool, allowed)
                transaction.set_rollback(True)
        else:
            result = run_tool(name, raw, tool, allowed)
        if result["status"] == "ok" and "sandboxed" in result:
            self._as_done(name, result, tool.state)
        if self.on_result is not None:
            self.on_result(name, result)
        return result

    def _as_it_stood(self) -> None:
        """The customer's promises and payments as they stood when the call began."""
        customer_id, history = self.customer_id, self.history
        if history.promises:
            Promise.objects.bulk_create(
                Promise(customer_id=customer_id, source=PromiseSource.AGENT, confidence=95, **held._asdict())
                for held in history.promises
            )
        if history.payments:
            Payment.objects.bulk_create(Payment(customer_id=customer_id, **paid._asdict()) for paid in history.payments)

    def _as_done(self, name: str, result: dict[str, Any], state: ConversationState) -> None:
        """A sandboxed result in the shape the tool returns once it has written its row (in place:
        the registry's tool log holds this same result, for a repeated call)."""
        self.effects[name] = result.pop("sandboxed")
        del result["note"]
        facts = CollectionsFacts.of(state)
        del facts.test_effects
        kind = CREATES[name]
        if f"{kind}_id" not in result:  # nothing created (a dispatch with nobody free)
            return
        result[f"{kind}_id"] = ID(kind)
        if name == "record_promise":
            facts.promise_id = ID(kind)
        elif name == "request_approval":
            facts.approval_id = ID(kind)
        elif name == "schedule_callback" and (callback := facts.callback) is not None:
            callback["followup_id"] = ID(kind)
        elif name == "dispatch_technician" and (dispatch := RoadsideFacts.of(state).dispatch) is not None:
            dispatch["dispatch_id"] = ID(kind)
