"""The offline engine: the agent's turn without an LLM.

It takes over when no model is configured or every model failed, so the product degrades instead
of going silent. Understanding is deterministic (apps.agent.nlu); actions are the same tools the
LLM calls, through the same checks; replies are templates filled only with grounded figures.
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
    elif step == "wrap_up" and u.wants_callback:
        return [_callback(u)]
    elif step == "confirm_vehicle" and u.affirm is not True:
        if match := _MAKE.search(u.text):
            return [("record_vehicle", {"description": match.group(0).strip()})]
    elif step == "collect_incident":
        return _incident(state, u)
    return []


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
    """What the agent says now, in the step the turn ended in."""
    first = customer.first_name or "there"
    last = dict(results)
    step = state.step

    if step == "identify":
        if last.get("find_account", {}).get("found") is False:
            return "I couldn't find that account. Could you give me the account number again, and your full name?"
        return "Could you tell me your full name and your account number, please?"
    if step == "confirm_party":
        return f"Sorry, am I speaking with {customer.full_name}?"
    if step == "wrong_party":
        return "I'm sorry for the trouble. Have a good day, goodbye."
    if step == "verify_identity":
        check = last.get("verify_identity", {})
        if check.get("verified") is False:
            return "That doesn't match our records. Could you give me your ZIP code or your date of birth instead?"
        opener = f"Hi {first}." if state.replies_in_step == 0 and state.turn == 0 else f"Thanks, {first}."
        return (
            f"{opener} Before we go on, I need to verify your identity. Could you tell me the last "
            "four digits of your account number, or your ZIP code?"
        )
    if step == "account_review":
        return _account_summary(state, first, speech)
    if step == "negotiate":
        return _negotiation_reply(state, last, speech)
    if step == "confirm_promise":
        plan = state.fact("plan")
        how = f" by {_METHODS.get(plan['method'], plan['method'])}" if plan.get("method") else ""
        full = ", your balance in full," if plan["kind"] == "full" else ""
        return f"So that's {speech.money(plan['amount'])}{full} on {speech.day(plan['due_date'])}{how}. Is that right?"
    if step == "wrap_up":
        return _wrap_up(state, first, speech)
    if step == "closed":
        return f"Thank you, {first}. Take care, goodbye."
    if step == "confirm_vehicle":
        vehicle = customer.on_file.get("vehicle")
        if vehicle and state.fact("vehicle") is None and "vehicle_rejected" not in state.facts:
            return f"Is this about your {vehicle}?"
        return "What vehicle are you driving today?"
    if step == "collect_incident":
        return _incident_question(state, last)
    if step == "inform_eta":
        return _eta(state)
    return "Sorry, could you say that again?"


_METHODS = {
    "card": "card",
    "bank_transfer": "bank transfer",
    "check": "check",
    "cash": "cash",
    "online_portal": "our online portal",
}


def _account_summary(state: ConversationState, first: str, speech: Speech) -> str:
    account = state.fact("account")
    if not account:
        return f"Thanks, {first}. One moment while I pull up your account."
    days = account["days_overdue"]
    overdue = f"it's {speech.count(days)} days past due" if days else "it isn't past due yet"
    text = f"Thanks, {first}. Your balance is {speech.money(account['balance'])}, and {overdue}."
    if promise := account.get("active_promise"):
        text += f" You have {speech.money(promise['amount'])} promised for {speech.day(promise['due_date'])}."
    return text + " Can you pay that in full, or would you like a payment plan?"


def _negotiation_reply(state: ConversationState, last: dict[str, dict], speech: Speech) -> str:
    account = state.fact("account") or {}
    proposal = last.get("propose_payment")
    if proposal and proposal["status"] != "ok":
        errors = {e["loc"][0] if e["loc"] else "": e["msg"] for e in proposal.get("errors", [])}
        if "due_date" in errors:
            return f"We'd need that payment by {speech.day(account['latest_payment_date'])}. What date works for you?"
        if "amount" in errors or "kind" in errors:
            return (
                f"For a payment plan, the first payment needs to be at least "
                f"{speech.money(account['minimum_first_payment'])}. How much could you pay, and when?"
            )
    offer = state.slots.get("offer", {})
    if offer.get("amount") and not offer.get("due_date"):
        return f"And what date can you pay {speech.money(offer['amount'])}?"
    if offer.get("due_date") and not offer.get("amount"):
        return f"How much can you pay on {speech.day(offer['due_date'])}?"
    if state.fact("terms_rejected"):
        return "No problem. What amount and date would work better for you?"
    return (
        f"A plan starts with a first payment of at least {speech.money(account.get('minimum_first_payment', '25'))}. "
        "How much can you pay, and on what date?"
    )


def _wrap_up(state: ConversationState, first: str, speech: Speech) -> str:
    if state.replies_in_step >= 1:
        return "I can help with your account, or connect you with a specialist. Is there anything else?"
    if state.fact("system_down") and (callback := state.fact("callback")):
        return (
            f"I'm sorry, I can't reach our account system right now, so I've scheduled a call back for "
            f"{speech.day(callback['day'])}. Is there anything else I can help with?"
        )
    promise = state.fact("plan") if state.fact("promise_id") else None
    if promise:
        return (
            f"You're all set, {first}: {speech.money(promise['amount'])} on {speech.day(promise['due_date'])}. "
            "Is there anything else I can help with?"
        )
    if state.fact("approval_id"):
        what = "waiving the late fee" if state.fact("approval_kind") == "fee_waiver" else "your settlement offer"
        return (
            f"I've asked a specialist to review {what}; they'll confirm within two business days. "
            "Is there anything else I can help with?"
        )
    if callback := state.fact("callback"):
        return f"I've scheduled a call back for {speech.day(callback['day'])}. Is there anything else I can help with?"
    return "Is there anything else I can help with?"


def _incident_question(state: ConversationState, last: dict[str, dict]) -> str:
    if last.get("capture_incident", {}).get("status") == "validation_error":
        return "I couldn't find that on the map. Which city are you in, or what's the nearest exit?"
    slots = state.slots
    if not slots.get("location") and not slots.get("issue"):
        return "Thanks. Where are you right now, and what's going on with the car?"
    if not slots.get("location"):
        state.facts["asked"] = "location"
        return "Where are you right now? The road, the nearest exit or cross street, and the city, please."
    if not slots.get("issue"):
        state.facts["asked"] = "issue"
        return "What's happening with the car?"
    state.facts["asked"] = "safety"
    return "Are you in a safe place, away from traffic?"


def _eta(state: ConversationState) -> str:
    dispatch = state.fact("dispatch") or {}
    incident = state.fact("incident") or {}
    text = f"{dispatch['technician']} is on the way and should arrive in {dispatch['eta_spoken']}."
    if incident.get("severity") == "emergency":
        text += " Please stay somewhere safe, away from traffic."
    return text + " Is there anything else I can help with?"


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
