"""Collections, offline: the tool calls a caller's words ask for while terms are agreed and read
back, and what follows a tool's result (a settlement below the floor goes to a person)."""

from decimal import Decimal
from typing import Any

from apps.agent.workflows.base import Action, Heard
from apps.agent.workflows.collections.facts import CollectionsFacts
from apps.agent.workflows.shared import callback_asked


def terms_heard(h: Heard) -> list[Action]:
    """Negotiating: the caller's amount, date and method, gathered across turns into an offer."""
    return _terms(h, reading_back=False)


def changed_terms_heard(h: Heard) -> list[Action]:
    """During the read-back: a yes or no is the listener's; new figures are checked again."""
    return _terms(h, reading_back=True)


def _terms(h: Heard, *, reading_back: bool) -> list[Action]:
    state, u, amounts = h.state, h.u, h.amounts
    facts = CollectionsFacts.of(state)
    account = facts.account
    balance = Decimal(account["balance"] if account else "0")
    if u.wants_waiver:
        return [("request_approval", {"kind": "fee_waiver", "reason": "The caller asked to waive the late fee."})]
    if u.wants_forgiveness:
        return []  # the whole balance waived: no one here may grant it, so no one is asked (the reply says so)
    if u.wants_callback and not amounts:
        return [callback_asked(u)]
    plan: dict[str, Any] = dict(facts.plan or {})
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
    if reading_back and not (amounts or u.dates or u.method or u.pay_in_full):
        return []  # a yes or no to the read-back, handled by the step's listener
    state.slots["offer"] = offer
    amount = offer.get("amount") or (plan.get("amount") if reading_back else None)
    due = offer.get("due_date") or (plan.get("due_date") if reading_back else None)
    if not amount or not due:
        return []
    value = Decimal(amount)
    kind = "full" if value >= balance else ("settlement" if offer.get("settlement") else "plan")
    args: dict[str, Any] = {"kind": kind, "amount": str(min(value, balance)), "due_date": due}
    if offer.get("method") or plan.get("method"):
        args["method"] = offer.get("method") or plan.get("method")
    return [("propose_payment", args)]


def settlement_to_a_person(name: str, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
    """A settlement below the floor is refused by the tool: a specialist is asked to approve it."""
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
