"""The tools port of a demo call: the agent's real tools, and where their rows come later, the plan.

A demo call runs through the real tool registry (`run_tool`: the step's allow-list, argument
validation, the tools' own rules and refusals, the state they set) against the customer rows the
seeder wrote before planning the calls. Five tools would read or write rows the seeder writes only
once every call is planned, backdated and in their final status: the customer's earlier promises
and payments (`lookup_account`), and the promise, approval, follow-up and dispatch the call itself
made. Those answer from the call's plan, in the shape the real tool returns, after the same
allow-list and argument checks; the ids of rows still to be written are placeholders (`ID`),
replaced by `resolve_ids` once the rows exist.
"""

import json
from datetime import date, timedelta
from typing import Any

from apps.agent.tools import TOOLS, ToolContext, run_tool
from apps.agent.tools.registry import args_key
from apps.demo.model import SimClock

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


class DemoTools:
    """`Ports.run_tool` for one demo call; `ctx` is the call's planned context (apps.demo.context)."""

    def __init__(self, clock: SimClock, ctx: dict[str, Any]) -> None:
        self.clock, self.ctx = clock, ctx

    async def __call__(self, name: str, raw: str | dict, tool: ToolContext, allowed: tuple[str, ...]) -> dict[str, Any]:
        self.clock.advance(self.clock.rng.uniform(*LATENCY_MS.get(name, (2, 12))))
        planned = getattr(self, f"_{name}", None)
        if planned is None or name not in allowed:
            return run_tool(name, raw, tool, allowed)
        arguments = TOOLS[name].arguments.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
        key = args_key(arguments.model_dump())
        if TOOLS[name].side_effect and (previous := tool.state.previous_result(name, key)) is not None:
            return previous
        result = {"status": "ok", **planned(tool, **arguments.model_dump())}
        tool.state.tool_log.append({"name": name, "step": tool.state.step, "args_key": key, "result": result})
        return result

    # What the tools below return on the call as planned (apps.agent.tools: the same keys and facts).

    def _lookup_account(self, tool: ToolContext) -> dict[str, Any]:
        account = tool.state.facts["account"] = dict(self.ctx["account"])
        return account

    def _record_promise(self, tool: ToolContext) -> dict[str, Any]:
        plan = tool.state.facts["plan"]
        tool.state.facts["promise_id"] = ID("promise")
        return {"promise_id": ID("promise"), "amount": plan["amount"], "due_date": plan["due_date"]}

    def _request_approval(self, tool: ToolContext, kind: str, **_: Any) -> dict[str, Any]:
        tool.state.facts["approval_id"], tool.state.facts["approval_kind"] = ID("approval"), kind
        return {"approval_id": ID("approval"), "approval_status": "pending", "decision_within": "two business days"}

    def _schedule_callback(self, tool: ToolContext, day: date | None = None, **_: Any) -> dict[str, Any]:
        when = day or tool.today + timedelta(days=1)
        callback = {"followup_id": ID("followup"), "day": when.isoformat(), "at": "10:00"}
        tool.state.facts["callback"] = callback
        return dict(callback)

    def _dispatch_technician(self, tool: ToolContext) -> dict[str, Any]:
        ctx = self.ctx
        result = {
            "dispatched": True,
            "dispatch_id": ID("dispatch"),
            "technician": ctx["tech"],
            "eta_minutes": ctx["eta"],
            "eta_spoken": ctx["eta_spoken"],
        }
        tool.state.facts["dispatch"] = result
        return dict(result)
