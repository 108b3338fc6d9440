"""Collections, offline: what the agent says in each step when no model answers. Templates filled
only with grounded figures: the account as looked up, the terms the tool accepted."""

from apps.agent.workflows.base import Wording
from apps.agent.workflows.collections.facts import CollectionsFacts as F

METHODS = {"bank_transfer": "bank transfer", "online_portal": "our online portal"}  # the rest as named


def say_confirm_party(w: Wording) -> str:
    return f"Sorry, am I speaking with {w.customer.full_name}?"


def say_wrong_party(w: Wording) -> str:
    return "I'm sorry for the trouble. Have a good day, goodbye."


def say_account(w: Wording) -> str:
    account, speech = F.of(w.state).account, w.speech
    if not account:
        return f"Thanks, {w.first}. One moment while I pull up your account."
    days = account["days_overdue"]
    overdue = f"it's {speech.count(days)} days past due" if days else "it isn't past due yet"
    text = f"Thanks, {w.first}. Your balance is {speech.money(account['balance'])}, and {overdue}."
    if promise := account.get("active_promise"):
        text += f" You have {speech.money(promise['amount'])} promised for {speech.day(promise['due_date'])}."
    return text + " Can you pay that in full, or would you like a payment plan?"


def say_negotiate(w: Wording) -> str:
    state, speech = w.state, w.speech
    facts = F.of(state)
    account = facts.account
    proposal = w.last.get("propose_payment")
    if account and proposal and proposal["status"] != "ok":
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
    if facts.terms_rejected:
        return "No problem. What amount and date would work better for you?"
    minimum = account.get("minimum_first_payment", "25") if account else "25"
    return (
        f"A plan starts with a first payment of at least {speech.money(minimum)}. "
        "How much can you pay, and on what date?"
    )


def say_read_back(w: Wording) -> str:
    plan, speech = F.of(w.state).plan, w.speech
    assert plan is not None  # the step is entered only with terms agreed (terms_agreed)
    how = f" by {METHODS.get(plan['method'], plan['method'])}" if plan.get("method") else ""
    full = ", your balance in full," if plan["kind"] == "full" else ""
    return f"So that's {speech.money(plan['amount'])}{full} on {speech.day(plan['due_date'])}{how}. Is that right?"


def say_what_happens_next(w: Wording) -> str:
    state, speech = w.state, w.speech
    facts = F.of(state)
    if state.replies_in_step >= 1:
        return "I can help with your account, or connect you with a specialist. Is there anything else?"
    if facts.system_down and (callback := facts.callback):
        return (
            f"I'm sorry, I can't reach our account system right now, so I've scheduled a call back for "
            f"{speech.day(callback['day'])}. Is there anything else I can help with?"
        )
    promise = facts.plan if facts.promise_id else None
    if promise:
        return (
            f"You're all set, {w.first}: {speech.money(promise['amount'])} on {speech.day(promise['due_date'])}. "
            "Is there anything else I can help with?"
        )
    if facts.approval_id:
        what = "waiving the late fee" if facts.approval_kind == "fee_waiver" else "your settlement offer"
        return (
            f"I've asked a specialist to review {what}; they'll confirm within two business days. "
            "Is there anything else I can help with?"
        )
    if callback := facts.callback:
        return f"I've scheduled a call back for {speech.day(callback['day'])}. Is there anything else I can help with?"
    return "Is there anything else I can help with?"
