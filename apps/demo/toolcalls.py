"""The agent's tools as a demo call used them: the arguments the model passed and what each tool returned.

Each result has the shape the real tool returns (apps.agent.tools) and sets the same facts in the
conversation state; the values come from the call's planned context instead of the database. Rows a
tool would create (a promise, an approval, a follow-up, a dispatch) are created later by the seeder,
so their ids are placeholders here (`ID`), replaced by `replay.resolve_ids`.
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apps.promises.policy import CENT, POLICY

if TYPE_CHECKING:
    from apps.demo.replay import DemoSession

ID_PREFIX = "@id:"
SETTLEMENT_REFUSED = (
    "below the settlement floor: only a specialist can approve it; use request_approval with kind 'settlement'"
)
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


def listen(session: "DemoSession", do: tuple[str, ...]) -> None:
    """What the step's listener reads from the caller's answer (apps.agent.workflows), as the script says."""
    state = session.state
    for effect in do:
        if effect == "yes" and state.step == "confirm_party":
            state.facts["party_confirmed"] = True
        elif effect == "no" and state.step == "confirm_party":
            state.facts["party_confirmed"] = False
        elif effect == "yes" and state.step == "confirm_promise":
            state.confirmations["promise_terms"] = True
        elif effect == "yes" and state.step == "confirm_vehicle":
            state.facts["vehicle"] = {"description": state.fact("vehicle_on_file"), "confirmed": True}
        elif effect == "no" and state.step == "confirm_vehicle":
            state.facts["vehicle_rejected"] = True
        elif effect == "bye":
            state.facts["caller_done"] = True


def arguments(spec: str, session: "DemoSession") -> tuple[str, dict[str, Any]]:
    """The tool a script step names ("tool" or "tool:variant") and the arguments the model passed."""
    name, _, variant = spec.partition(":")
    ctx = session.ctx
    if name == "find_account":
        return name, {"account_number": ctx["account_number"], "name": ctx["name"]}
    if name == "verify_identity":
        method, value, _ = ctx["verify"][session.state.fact("identity_attempts", 0)]
        return name, {"method": method, "value": value}
    if name == "propose_payment":
        if variant == "settlement":
            return name, {"kind": "settlement", "amount": ctx["settle_value"], "due_date": ctx["date_iso"]}
        today = variant == "today"
        return name, {
            "kind": ctx["kind"],
            "amount": str(ctx["amount_value"]),
            "due_date": session.today.isoformat() if today else ctx["date_iso"],
            "method": "card" if today else ctx["method_key"],
        }
    if name == "request_approval":
        args: dict[str, Any] = {"kind": variant, "reason": ctx[f"{variant}_reason"]}
        if variant == "settlement":
            args["amount"] = ctx["settle_value"]
        return name, {**args, "confidence": ctx["approval_confidence"]}
    if name == "schedule_callback":
        return name, {"reason": ctx["callback_reason"], "day": ctx["callback_day"].isoformat()}
    if name == "record_vehicle":
        return name, {"description": ctx["alt_vehicle"]}
    if name == "capture_incident":
        return name, {"location": ctx["location"], "issue": ctx["specialization"], "severity": ctx["severity"]}
    if name == "transfer_to_human":
        return name, {"reason": ctx["transfer_reason"]}
    return name, {}


def run(session: "DemoSession", name: str, args: dict[str, Any]) -> dict[str, Any]:
    """What the tool returned, with the status run_tool adds; the facts it sets are set."""
    state, ctx = session.state, session.ctx
    facts = state.facts
    result: dict[str, Any]
    if name == "find_account":
        facts["customer_id"] = session.full.customer_id
        result = {"found": True, "first_name": session.full.first_name}
    elif name == "verify_identity":
        attempts = state.fact("identity_attempts", 0) + 1
        facts["identity_attempts"] = attempts
        matches = ctx["verify"][attempts - 1][2]
        if matches:
            facts["identity_verified"] = args["method"]
        result = {"verified": matches, "attempts_left": 3 - attempts}
    elif name == "lookup_account":
        result = facts["account"] = dict(ctx["account"])
    elif name == "propose_payment":
        balance = Decimal(facts["account"]["balance"])
        amount = Decimal(args["amount"]).quantize(CENT)
        if args["kind"] == "settlement" and amount < POLICY.settlement_floor(balance):
            return {"status": "refused", "reason": SETTLEMENT_REFUSED}
        result = facts["plan"] = {
            "kind": args["kind"],
            "amount": str(amount),
            "due_date": args["due_date"],
            "method": args.get("method") or "",
            "remaining_balance": str(balance - amount) if args["kind"] == "plan" else "0.00",
        }
        state.confirmations["promise_terms"] = False
    elif name == "record_promise":
        plan = facts["plan"]
        facts["promise_id"] = ID("promise")
        result = {"promise_id": ID("promise"), "amount": plan["amount"], "due_date": plan["due_date"]}
    elif name == "request_approval":
        facts["approval_id"], facts["approval_kind"] = ID("approval"), args["kind"]
        result = {"approval_id": ID("approval"), "decision_within": "two business days"}
    elif name == "schedule_callback":
        result = facts["callback"] = {"followup_id": ID("followup"), "day": args["day"]}
    elif name == "record_vehicle":
        facts["vehicle"] = {"description": args["description"], "confirmed": True}
        result = {"vehicle": args["description"]}
    elif name == "capture_incident":
        place = ctx["place"]
        facts["incident"] = {
            "location": args["location"],
            "place": place.name,
            "latitude": place.latitude,
            "longitude": place.longitude,
            "issue": args["issue"],
            "severity": args["severity"],
        }
        result = {
            "location": args["location"],
            "near": place.name,
            "issue": args["issue"],
            "severity": args["severity"],
        }
    elif name == "dispatch_technician":
        result = facts["dispatch"] = {
            "dispatched": True,
            "dispatch_id": ID("dispatch"),
            "technician": ctx["tech"],
            "eta_minutes": ctx["eta"],
            "eta_spoken": ctx["eta_spoken"],
        }
    elif name == "transfer_to_human":
        state.handoff = {"reason": args["reason"]}
        result = {"transferring": True}
    else:
        raise ValueError(f"the demo has no result for tool {name!r}")
    return {"status": "ok", **result}
