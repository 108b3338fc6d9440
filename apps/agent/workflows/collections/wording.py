"""Collections, offline: what the agent says in each step when no model answers. Templates filled
only with grounded figures: the account as looked up, the terms the tool accepted.

Each reply is given fullest first (`Wording.fit`): chat gets that; the phone gets the first variant
within VOICE_WORD_LIMIT words as spoken, where a figure is many words ("one thousand two hundred
fifty dollars and fifty cents" is nine). Once the account is looked up, "how much do I owe?" is
answered with the balance as lookup_account returned it, before the step's question."""

from apps.agent.workflows import shared
from apps.agent.workflows.base import Wording
from apps.agent.workflows.collections.facts import Account
from apps.agent.workflows.collections.facts import CollectionsFacts as F

METHODS = {"bank_transfer": "bank transfer", "online_portal": "our online portal"}  # the rest as named
ANYTHING_ELSE = "Is there anything else I can help with?"


def _balance(w: Wording) -> str:
    """The balance, when the caller asked for it this turn and the lookup has run; else nothing."""
    account = F.of(w.state).account
    return f"Your balance is {w.speech.money(account['balance'])}." if w.asks_balance and account else ""


def _join(*parts: str) -> str:
    return " ".join(part for part in parts if part)


def say_confirm_party(w: Wording) -> str:
    return f"Sorry, am I speaking with {w.customer.full_name}?"


def say_wrong_party(w: Wording) -> str:
    return "I'm sorry for the trouble. Have a good day, goodbye."


def _promise_news(w: Wording, account: Account) -> list[str]:
    """What the account says of promises: one missed (its date has passed) first, then the current one."""
    speech, news = w.speech, []
    if missed := account.get("missed_promise"):
        amount, day = speech.money(missed["amount"]), speech.day(missed["due_date"])
        if missed["status"] == "partially_kept":
            news.append(f"The {amount} promised for {day} was only partly paid.")
        else:
            news.append(f"We haven't received the {amount} promised for {day}.")
    if active := account.get("active_promise"):
        news.append(f"You have {speech.money(active['amount'])} promised for {speech.day(active['due_date'])}.")
    return news


def say_account(w: Wording) -> str:
    account, speech = F.of(w.state).account, w.speech
    if not account:
        return f"Thanks, {w.first}. One moment while I pull up your account."
    days, balance = account["days_overdue"], speech.money(account["balance"])
    overdue = f"it's {speech.count(days)} days past due" if days else "it isn't past due yet"
    late = f"{speech.count(days)} days past due" if days else "not yet past due"
    ask, short_ask = (
        "Can you pay that in full, or would you like a payment plan?",
        "Can you pay in full, or prefer a plan?",
    )
    news = _promise_news(w, account)
    if not news:
        return w.fit(
            f"Thanks, {w.first}. Your balance is {balance}, and {overdue}. {ask}",
            f"Your balance is {balance}, {late}. {short_ask}",
            f"Your balance is {balance}. {short_ask}",
        )
    told = " ".join(news)
    return w.fit(
        f"Thanks, {w.first}. Your balance is {balance}, and {overdue}. {told} {ask}",
        f"Your balance is {balance}, {late}. {told} {short_ask}",
        f"Your balance is {balance}. {told} {short_ask}",
        f"Your balance is {balance}. {news[0]} {short_ask}",
        # No room left for the question: negotiating (the next step) asks what they can pay.
        f"Your balance is {balance}. {news[0]}",
        f"Your balance is {balance}. {short_ask}",
    )


def _answer(w: Wording, statements: tuple[str, ...], ask: str) -> str:
    """A reply: what to tell (fullest wording first) and the step's question, after the balance when
    the caller asked for it; on the phone, the balance and the question are kept before the rest."""
    balance = _balance(w)
    variants = [_join(balance, statement, ask) for statement in statements or ("",)]
    return w.fit(*variants, _join(balance, ask))


def say_negotiate(w: Wording) -> str:
    state, speech = w.state, w.speech
    facts = F.of(state)
    account = facts.account
    minimum = speech.money(account.get("minimum_first_payment", "25") if account else "25")
    proposal = w.last.get("propose_payment")
    if account and proposal and proposal["status"] != "ok":
        errors = {e["loc"][0] if e["loc"] else "": e["msg"] for e in proposal.get("errors", [])}
        if "due_date" in errors:
            latest = f"We'd need that payment by {speech.day(account['latest_payment_date'])}."
            return _answer(w, (latest,), "What date works for you?")
        if "amount" in errors or "kind" in errors:
            return _answer(
                w,
                (
                    f"For a payment plan, the first payment needs to be at least {minimum}.",
                    f"A plan's first payment must be at least {minimum}.",
                ),
                "How much could you pay, and when?",
            )
    if w.heard and w.heard.wants_forgiveness:
        return _answer(
            w,
            (
                "I'm not able to waive or forgive the balance, but I can help you set up a payment plan.",
                "I can't waive the balance, but I can help with a payment plan.",
            ),
            "How much can you pay, and on what date?",
        )
    offer = state.slots.get("offer", {})
    if offer.get("amount") and not offer.get("due_date"):
        return _answer(w, (), f"And what date can you pay {speech.money(offer['amount'])}?")
    if offer.get("due_date") and not offer.get("amount"):
        return _answer(w, (), f"How much can you pay on {speech.day(offer['due_date'])}?")
    if w.asks_balance and account:  # answered: the plan's terms can wait for the caller's offer
        return _answer(w, (), "How much can you pay, and on what date?")
    if facts.terms_rejected:
        return "No problem. What amount and date would work better for you?"
    return w.fit(
        f"A plan starts with a first payment of at least {minimum}. How much can you pay, and on what date?",
        f"A plan's first payment must be at least {minimum}. How much can you pay, and when?",
    )


def say_read_back(w: Wording) -> str:
    plan, speech = F.of(w.state).plan, w.speech
    assert plan is not None  # the step is entered only with terms agreed (terms_agreed)
    how = f" by {METHODS.get(plan['method'], plan['method'])}" if plan.get("method") else ""
    amount, day, full = speech.money(plan["amount"]), speech.day(plan["due_date"]), plan["kind"] == "full"
    balance = _balance(w)
    in_full = ", your balance in full," if full else ""
    return w.fit(
        _join(balance, f"So that's {amount}{in_full} on {day}{how}. Is that right?"),
        _join(balance, f"So that's {amount} on {day}{how}. Is that right?"),
        _join(balance, f"So that's {amount} on {day}. Is that right?"),
        _join(balance, f"You'll pay it in full on {day}. Is that right?" if full else f"Is {amount} on {day} right?"),
    )


def say_what_happens_next(w: Wording) -> str:
    state, speech = w.state, w.speech
    facts = F.of(state)
    balance = _balance(w)
    if state.replies_in_step >= 1:
        if balance:
            return w.fit(f"{balance} {ANYTHING_ELSE}", f"{balance} Anything else?")
        return "I can help with your account, or connect you with a specialist. Is there anything else?"
    news: tuple[str, ...] = ()  # what happens next, fullest first
    promise = facts.plan if facts.promise_id else None
    if facts.system_down and (callback := facts.callback):
        day = speech.day(callback["day"])
        news = (
            f"I'm sorry, I can't reach our account system right now, so I've scheduled a call back for {day}.",
            f"Sorry, our account system is down, so I've scheduled a call back for {day}.",
        )
    elif promise:
        amount, day = speech.money(promise["amount"]), speech.day(promise["due_date"])
        news = (f"You're all set, {w.first}: {amount} on {day}.", f"You're all set: {amount} on {day}.")
    elif facts.approval_id:
        what = "waiving the late fee" if facts.approval_kind == "fee_waiver" else "your settlement offer"
        news = (
            f"I've asked a specialist to review {what}; they'll confirm within two business days.",
            f"A specialist will review {what} within two business days.",
        )
    elif callback := facts.callback:
        news = (f"I've scheduled a call back for {speech.day(callback['day'])}.",)
    if not news:
        return _join(balance, ANYTHING_ELSE)
    return w.fit(
        *(_join(told, balance, ANYTHING_ELSE) for told in news),
        _join(news[-1], balance, "Anything else?"),
        _join(balance or news[-1], "Anything else?"),
    )


def say_goodbye(w: Wording) -> str:
    """Goodbye; first the promise this very turn recorded, which the caller has not heard yet (they
    said yes to the terms and goodbye in one breath)."""
    plan, speech, bye = F.of(w.state).plan, w.speech, shared.say_goodbye(w)
    if w.last.get("record_promise", {}).get("status") != "ok" or not plan:
        return bye
    told = f"You're all set: {speech.money(plan['amount'])} on {speech.day(plan['due_date'])}."
    return w.fit(f"{told} {bye}", f"{told} Goodbye.")
