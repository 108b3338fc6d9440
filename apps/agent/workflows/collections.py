"""Collections, inbound and outbound.

Verify identity against the record, look up the account, negotiate within the rules (pay in full,
or a plan), read the terms back and get a yes before recording the promise, then wrap up and wait
for an explicit goodbye. Fee waivers and settlements below the floor go to a person for approval.
"""

from apps.agent.state import ConversationState as S
from apps.agent.workflows.base import Required, Step, Transition, Wording, Workflow

HANDOFF_TOOL = "transfer_to_human"


def identified(s: S) -> bool:
    return bool(s.fact("customer_id"))


def verified(s: S) -> bool:
    return bool(s.fact("identity_verified"))


def account_presented(s: S) -> bool:
    return bool(s.fact("account")) and s.replies_in_step >= 1


def terms_agreed(s: S) -> bool:
    return bool(s.fact("plan"))


def terms_confirmed(s: S) -> bool:
    return s.confirmations.get("promise_terms") is True


def terms_withdrawn(s: S) -> bool:
    return not s.fact("plan")


def promise_recorded(s: S) -> bool:
    return bool(s.fact("promise_id"))


def person_asked(s: S) -> bool:
    return bool(s.fact("approval_id")) or bool(s.fact("callback"))


def caller_done(s: S) -> bool:
    return s.fact("caller_done", False) and s.replies_in_step >= 1


# --- listeners: the caller's answers, read by code -------------------------------------------


def party_answer(s: S, u) -> None:
    if u.affirm is not None:
        s.facts["party_confirmed"] = u.affirm


def terms_answer(s: S, u) -> None:
    new_terms = u.correction or u.amounts or u.dates or u.pay_in_full
    if u.affirm is True and not new_terms:
        s.confirmations["promise_terms"] = True
    elif u.affirm is False and not new_terms:
        s.confirmations["promise_terms"] = False
        s.facts.pop("plan", None)
        s.slots.pop("offer", None)
        s.facts["terms_rejected"] = True


def closing_answer(s: S, u) -> None:
    # "Anything else?" answered with goodbye, or a plain no, ends the call.
    if u.goodbye or (u.affirm is False and not u.wants_callback and not u.wants_human):
        s.facts["caller_done"] = True


# --- offline wording: what the agent says in each step when no model answers ----------------


def say_identify(w: Wording) -> str:
    if w.last.get("find_account", {}).get("found") is False:
        return "I couldn't find that account. Could you give me the account number again, and your full name?"
    return "Could you tell me your full name and your account number, please?"


def say_confirm_party(w: Wording) -> str:
    return f"Sorry, am I speaking with {w.customer.full_name}?"


def say_wrong_party(w: Wording) -> str:
    return "I'm sorry for the trouble. Have a good day, goodbye."


def say_verify_identity(w: Wording) -> str:
    if w.last.get("verify_identity", {}).get("verified") is False:
        return "That doesn't match our records. Could you give me your ZIP code or your date of birth instead?"
    opener = f"Hi {w.first}." if w.state.replies_in_step == 0 and w.state.turn == 0 else f"Thanks, {w.first}."
    return (
        f"{opener} Before we go on, I need to verify your identity. Could you tell me the last "
        "four digits of your account number, or your ZIP code?"
    )


def say_account(w: Wording) -> str:
    account, speech = w.state.fact("account"), w.speech
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
    account = state.fact("account") or {}
    proposal = w.last.get("propose_payment")
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


def say_read_back(w: Wording) -> str:
    plan, speech = w.state.fact("plan"), w.speech
    methods = {"bank_transfer": "bank transfer", "online_portal": "our online portal"}  # the rest as named
    how = f" by {methods.get(plan['method'], plan['method'])}" if plan.get("method") else ""
    full = ", your balance in full," if plan["kind"] == "full" else ""
    return f"So that's {speech.money(plan['amount'])}{full} on {speech.day(plan['due_date'])}{how}. Is that right?"


def say_what_happens_next(w: Wording) -> str:
    state, speech = w.state, w.speech
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
            f"You're all set, {w.first}: {speech.money(promise['amount'])} on {speech.day(promise['due_date'])}. "
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


def say_goodbye(w: Wording) -> str:
    return f"Thank you, {w.first}. Take care, goodbye."


COLLECTIONS = Workflow(
    name="collections",
    description="Collect an overdue balance: verify, review, negotiate within the rules, confirm, record.",
    start={"inbound": "identify", "outbound": "confirm_party"},
    on_system_down="callback",
    greetings={
        "inbound": "Thanks for calling {company}. {disclosure} {known_caller}",
        # Confirms who is on the line before anything about the account is said.
        "outbound": "Hello, this is {agent} calling from {company}. {disclosure} Am I speaking with {full_name}?",
    },
    steps=(
        Step(
            name="identify",
            goal="Know which customer is calling.",
            instructions=(
                "Caller ID did not match an account. Ask for their full name and account number, then use "
                "find_account. Do not discuss any account before it is found and verified."
            ),
            tools=("find_account", HANDOFF_TOOL),
            transitions=(Transition("verify_identity", identified, "the account was found"),),
            say=say_identify,
        ),
        Step(
            name="confirm_party",
            goal="Confirm you are speaking with the customer before saying why you call.",
            instructions=(
                "Ask whether you are speaking with the customer by full name. Say nothing about the account, "
                "the debt or the reason for the call until they confirm."
            ),
            tools=(HANDOFF_TOOL,),
            listen=party_answer,
            transitions=(
                Transition("verify_identity", lambda s: s.fact("party_confirmed") is True, "the customer confirmed"),
                Transition("wrong_party", lambda s: s.fact("party_confirmed") is False, "someone else answered"),
            ),
            say=say_confirm_party,
        ),
        Step(
            name="verify_identity",
            goal="Verify identity against the data on file.",
            instructions=(
                "Before discussing the account, ask for ONE of: the last four digits of the account number, "
                "the ZIP code, or the date of birth, and check it with verify_identity. Never say what is on "
                "file. After a failed check, ask for another of them."
            ),
            tools=("verify_identity", HANDOFF_TOOL),
            transitions=(Transition("account_review", verified, "identity verified"),),
            say=say_verify_identity,
        ),
        Step(
            name="account_review",
            goal="Tell the caller where the account stands.",
            instructions=(
                "Tell the caller the balance and how many days it is overdue, and any active promise, exactly "
                "as the lookup says. Then ask whether they can pay it in full or would like a payment plan."
            ),
            tools=("lookup_account", HANDOFF_TOOL),
            required=(Required("lookup_account", reason="state no account figure before the lookup"),),
            transitions=(Transition("negotiate", account_presented, "the account was presented"),),
            say=say_account,
        ),
        Step(
            name="negotiate",
            goal="Agree terms within the rules.",
            instructions=(
                "Find out how much the caller can pay, by when, and how (card, bank transfer, check, cash, online). "
                "Check the terms with propose_payment; if it refuses, explain the rule and offer what is allowed. "
                "For a fee waiver, or a settlement below the floor, use request_approval and tell the caller a "
                "specialist will confirm within two business days. If they want to be called back, use "
                "schedule_callback."
            ),
            tools=("propose_payment", "request_approval", "schedule_callback", HANDOFF_TOOL),
            transitions=(
                Transition("confirm_promise", terms_agreed, "terms within the rules"),
                Transition("wrap_up", person_asked, "a specialist or a callback will follow up"),
            ),
            say=say_negotiate,
        ),
        Step(
            name="confirm_promise",
            goal="Read the terms back and get a clear yes.",
            instructions=(
                "Read back the amount, the date and the method exactly as agreed, and ask the caller to confirm. "
                "If they change anything, check the new terms with propose_payment and read them back again."
            ),
            tools=("propose_payment", "record_promise", HANDOFF_TOOL),
            confirmations=("promise_terms",),
            listen=terms_answer,
            required=(Required("record_promise", terms_confirmed, "the caller said yes to the terms"),),
            transitions=(
                Transition("wrap_up", promise_recorded, "promise recorded"),
                Transition("negotiate", terms_withdrawn, "the caller did not confirm the terms"),
            ),
            say=say_read_back,
        ),
        Step(
            name="wrap_up",
            goal="Close the call properly.",
            instructions=(
                "Say in one sentence what happens next (the promise and date, or the specialist's decision, or "
                "the callback). Ask if there is anything else. Only when the caller says goodbye, thank them and "
                "say goodbye."
            ),
            tools=("schedule_callback", HANDOFF_TOOL),
            listen=closing_answer,
            transitions=(Transition("closed", caller_done, "the caller said goodbye"),),
            say=say_what_happens_next,
        ),
        Step(
            name="wrong_party",
            goal="Leave without disclosing anything.",
            instructions="Apologise for the mistake and say goodbye. Do not say who you are looking for or why.",
            terminal=True,
            say=say_wrong_party,
        ),
        Step(
            name="closed",
            goal="Goodbye.",
            instructions="Thank the caller and say goodbye.",
            terminal=True,
            say=say_goodbye,
        ),
    ),
)
