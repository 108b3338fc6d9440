"""The offline engine: the agent's turn without an LLM.

It takes over when no model is configured or every model failed, so the product degrades instead
of going silent. Understanding is deterministic (apps.agent.nlu); actions are the same tools the
LLM calls, through the same checks; replies are templates filled only with grounded figures, worded
by the workflow the call runs (each step's `say`, in apps.agent.workflows).
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any

from apps.agent.nlu import Understanding
from apps.agent.numbers import (
    find_dates,
    find_numbers,
    spoken_date,
    spoken_money,
    spoken_number,
    written_date,
    written_money,
)
from apps.agent.prompts import CustomerContext
from apps.agent.state import ConversationState
from apps.agent.workflows import Wording, get_workflow

Action = tuple[str, dict[str, Any]]

VEHICLE_MAKES = [
    "acura",
    "audi",
    "bmw",
    "buick",
    "cadillac",
    "chevrolet",
    "chevy",
    "chrysler",
    "dodge",
    "fiat",
    "ford",
    "genesis",
    "gmc",
    "honda",
    "hyundai",
    "infiniti",
    "jaguar",
    "jeep",
    "kia",
    "lexus",
    "lincoln",
    "mazda",
    "mercedes",
    "mini",
    "mitsubishi",
    "nissan",
    "porsche",
    "ram",
    "rivian",
    "subaru",
    "tesla",
    "toyota",
    "volkswagen",
    "vw",
    "volvo",
]
_MAKE = re.compile(rf"\b({'|'.join(VEHICLE_MAKES)})\b(\s+[a-z0-9-]+)?", re.IGNORECASE)


class Speech:
    """Figures as this channel says them: spoken words on the phone, written forms in chat."""

    def __init__(self, channel: str, today: date, currency: str = "USD") -> None:
        self.voice = channel == "voice"
        self.today = today
        self.currency = currency

    def money(self, amount: str | Decimal) -> str:
        value = Decimal(str(amount))
        return spoken_money(value, self.currency) if self.voice else written_money(value, self.currency)

    def count(self, n: int) -> str:
        return spoken_number(n) if self.voice else str(n)

    def day(self, iso: str | date) -> str:
        value = date.fromisoformat(iso) if isinstance(iso, str) else iso
        return spoken_date(value, self.today) if self.voice else written_date(value, self.today)


# --- actions ---------------------------------------------------------------------------------

MONEY_STEPS = ("account_review", "negotiate", "confirm_promise")


def caller_amounts(u: Understanding, step: str, today: date) -> list[Decimal]:
    """Amounts the caller said. While money is the subject, a bare number is an amount too ("300 on Friday")."""
    if u.amounts or step not in MONEY_STEPS:
        return list(u.amounts)
    in_dates = [(d.start, d.end) for d in find_dates(u.text, today)]
    return [
        n.value
        for n in find_numbers(u.text)
        if n.kind in ("number", "money") and not any(start <= n.start < end for start, end in in_dates)
    ]


def actions(state: ConversationState, u: Understanding, customer: CustomerContext, today: date) -> list[Action]:
    """The tool calls this caller turn asks for, in the current step."""
    step = state.step
    if step == "identify":
        if u.digits and (u.name or customer.full_name):
            return [("find_account", {"account_number": u.digits[0], "name": u.name or customer.full_name})]
    elif step == "verify_identity":
        if u.date_of_birth:
            return [("verify_identity", {"method": "date_of_birth", "value": u.date_of_birth.isoformat()})]
        for digits in u.digits:
            if len(digits) == 4:
                return [("verify_identity", {"method": "account_last4", "value": digits})]
            if len(digits) == 5:
                return [("verify_identity", {"method": "zip", "value": digits})]
    elif step in ("negotiate", "confirm_promise"):
        return _negotiation(state, u, caller_amounts(u, step, today))
    elif step == "wrap_up" and u.wants_callback and _offers(state, "schedule_callback"):
        return [_callback(u)]
    elif step == "confirm_vehicle" and u.affirm is not True:
        if match := _MAKE.search(u.text):
            return [("record_vehicle", {"description": match.group(0).strip()})]
    elif step == "collect_incident":
        return _incident(state, u)
    return []


def _offers(state: ConversationState, tool: str) -> bool:
    """Whether the call's current step allows this tool (roadside's wrap-up offers no callback)."""
    return tool in get_workflow(state.workflow).step(state.step).tools


def _callback(u: Understanding) -> Action:
    args: dict[str, Any] = {"reason": "The caller asked to be called back."}
    if u.dates:
        args["day"] = u.dates[0].isoformat()
    return ("schedule_callback", args)


def after(name: str, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
    """What follows a tool result: a settlement below the floor goes to a person."""
    if name == "propose_payment" and arguments.get("kind") == "settlement" and result["status"] == "refused":
        return [
            (
                "request_approval",
                {
                    "kind": "settlement",
                    "amount": arguments["amount"],
                    "reason": f"The caller offered to settle for {arguments['amount']}.",
                },
            )
        ]
    return []


def _negotiation(state: ConversationState, u: Understanding, amounts: list[Decimal]) -> list[Action]:
    account = state.fact("account") or {}
    balance = Decimal(account.get("balance", "0"))
    if u.wants_waiver:
        return [("request_approval", {"kind": "fee_waiver", "reason": "The caller asked to waive the late fee."})]
    if u.wants_callback and not amounts:
        return [_callback(u)]
    plan = state.fact("plan") or {}
    offer = dict(state.slots.get("offer", {}))
    if u.pay_in_full:
        offer["amount"] = str(balance)
    if amounts:
        offer["amount"] = str(amounts[0])
    if u.dates:
        offer["due_date"] = u.dates[0].isoformat()
    if u.method:
        offer["method"] = u.method
    if u.wants_settlement:
        offer["settlement"] = True
    if state.step == "confirm_promise" and not (amounts or u.dates or u.method or u.pay_in_full):
        return []  # a yes or no to the read-back, handled by the step's listener
    state.slots["offer"] = offer
    amount = offer.get("amount") or (plan.get("amount") if state.step == "confirm_promise" else None)
    due = offer.get("due_date") or (plan.get("due_date") if state.step == "confirm_promise" else None)
    if not amount or not due:
        return []
    value = Decimal(amount)
    kind = "full" if value >= balance else ("settlement" if offer.get("settlement") else "plan")
    args: dict[str, Any] = {"kind": kind, "amount": str(min(value, balance)), "due_date": due}
    if offer.get("method") or plan.get("method"):
        args["method"] = offer.get("method") or plan.get("method")
    return [("propose_payment", args)]


def _incident(state: ConversationState, u: Understanding) -> list[Action]:
    slots = state.slots
    if u.location:
        slots["location"] = u.location
    elif state.fact("asked") == "location" and len(u.text.split()) >= 2:
        slots["location"] = u.text.strip(" .!?")  # the answer to "where are you?" is the place
    if u.issue:
        slots["issue"] = u.issue
    if u.severity:
        slots["severity"] = u.severity
    elif state.fact("asked") == "safety" and u.affirm is not None:
        slots["severity"] = "urgent" if u.affirm else "emergency"
    if all(slots.get(name) for name in ("location", "issue", "severity")):
        return [("capture_incident", {name: slots[name] for name in ("location", "issue", "severity")})]
    return []


# --- replies ---------------------------------------------------------------------------------


def reply(
    state: ConversationState,
    customer: CustomerContext,
    results: list[tuple[str, dict[str, Any]]],
    speech: Speech,
) -> str:
    """What the agent says now, in the step the turn ended in: that step's wording, from its workflow."""
    step = get_workflow(state.workflow).step(state.step)
    if step.say is None:
        return "Sorry, could you say that again?"
    return step.say(Wording(state=state, customer=customer, last=dict(results), speech=speech))


def handoff_reply(channel: str, system_down: bool = False) -> str:
    if system_down:
        return (
            "I'm sorry, I can't reach our systems right now. Let me connect you with a specialist who can help."
            if channel == "voice"
            else "I'm sorry, I can't reach our systems right now. I'm handing this conversation to a specialist."
        )
    if channel == "voice":
        return "I'll connect you with a specialist now. One moment, please."
    return "I'm handing this conversation to a specialist, who will continue with you here."


def opt_out_reply() -> str:
    return "Understood. I've added your number to our do-not-call list, and we won't call you again. Goodbye."
