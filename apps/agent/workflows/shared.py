"""The steps every workflow shares: identify the caller, verify their identity, wrap up, goodbye.

Each is a function that builds the step with what differs per workflow (its goal and wording,
where it goes next); what does not differ (the listener, the offline act, the wording, the
identity rule) is written once, here. A workflow package composes them with its own steps.
"""

from typing import Any

from apps.agent.nlu import Understanding
from apps.agent.state import CallFacts
from apps.agent.state import ConversationState as S
from apps.agent.workflows.base import Act, Action, Heard, Say, Step, Transition, Wording

HANDOFF_TOOL = "transfer_to_human"
CALLBACK_TOOL = "schedule_callback"


# --- conditions ------------------------------------------------------------------------------


def identified(s: S) -> bool:
    return bool(CallFacts.of(s).customer_id)


def verified(s: S) -> bool:
    return bool(CallFacts.of(s).identity_verified)


def caller_done(s: S) -> bool:
    return CallFacts.of(s).caller_done and s.replies_in_step >= 1


# --- listeners -------------------------------------------------------------------------------


def closing_answer(s: S, u: Understanding) -> None:
    # "Anything else?" answered with goodbye, or a plain no, ends the call.
    if u.goodbye or (u.affirm is False and not u.wants_callback and not u.wants_human):
        CallFacts.of(s).caller_done = True


# --- offline acts: the tool calls a caller's words ask for -----------------------------------


def find_account_heard(h: Heard) -> list[Action]:
    name = h.u.name or h.customer.full_name
    if h.u.digits and name:
        return [("find_account", {"account_number": h.u.digits[0], "name": name})]
    return []


def verify_identity_heard(h: Heard) -> list[Action]:
    if h.u.date_of_birth:
        return [("verify_identity", {"method": "date_of_birth", "value": h.u.date_of_birth.isoformat()})]
    for digits in h.u.digits:
        if len(digits) == 4:
            return [("verify_identity", {"method": "account_last4", "value": digits})]
        if len(digits) == 5:
            return [("verify_identity", {"method": "zip", "value": digits})]
    return []


def callback_asked(u: Understanding) -> Action:
    """The call back the caller asked for: on the day they said, if they said one."""
    args: dict[str, Any] = {"reason": "The caller asked to be called back."}
    if u.dates:
        args["day"] = u.dates[0].isoformat()
    return (CALLBACK_TOOL, args)


def callback_if_asked(h: Heard) -> list[Action]:
    return [callback_asked(h.u)] if h.u.wants_callback else []


# --- offline wording -------------------------------------------------------------------------


def say_identify(w: Wording) -> str:
    if w.last.get("find_account", {}).get("found") is False:
        return "I couldn't find that account. Could you give me the account number again, and your full name?"
    ask = "What's your full name and account number, please?"
    # Nothing about an account before it is found and verified: not even whether there is one.
    return f"I can tell you once I've found your account. {ask}" if w.asks_balance else ask


def say_verify_identity(w: Wording) -> str:
    if w.last.get("verify_identity", {}).get("verified") is False:
        return "That doesn't match our records. Could you give me your ZIP code or your date of birth instead?"
    ask = "What's your ZIP code, or your account's last four digits?"
    if w.asks_balance:  # no figure before the caller is verified and the account looked up
        return f"I can tell you once you're verified. {ask}"
    if w.state.replies_in_step == 0 and w.state.turn == 0:  # in the greeting, after the disclosure
        return f"Hi {w.first}. To verify your identity, what's your ZIP code?"
    return f"Thanks, {w.first}. To verify your identity, what's your ZIP code, or your account's last four digits?"


def say_goodbye(w: Wording) -> str:
    return f"Thank you, {w.first}. Take care, goodbye."


# --- rules -----------------------------------------------------------------------------------


def hand_off_when_identity_fails(name: str, result: dict[str, Any], state: S) -> None:
    """The last identity check failed: a person takes over (the account is never discussed)."""
    if name == "verify_identity" and result.get("attempts_left") == 0 and not result.get("verified"):
        state.handoff = {"reason": "identity could not be verified"}


# --- the steps -------------------------------------------------------------------------------


def identify(*, goal: str, instructions: str, then: Transition) -> Step:
    """Caller ID did not match: find the account by number and name."""
    return Step(
        name="identify",
        goal=goal,
        instructions=instructions,
        tools=("find_account", HANDOFF_TOOL),
        transitions=(then,),
        say=say_identify,
        act=find_account_heard,
    )


def verify_identity(*, then: str) -> Step:
    """One check against the record (pair with `hand_off_when_identity_fails`)."""
    return Step(
        name="verify_identity",
        goal="Verify identity against the data on file.",
        instructions=(
            "Before discussing the account, ask for ONE of: the last four digits of the account number, "
            "the ZIP code, or the date of birth, and check it with verify_identity. Never say what is on "
            "file. After a failed check, ask for another of them."
        ),
        tools=("verify_identity", HANDOFF_TOOL),
        transitions=(Transition(then, verified, "identity verified"),),
        say=say_verify_identity,
        act=verify_identity_heard,
    )


def wrap_up(*, instructions: str, say: Say, tools: tuple[str, ...] = (HANDOFF_TOOL,), act: Act | None = None) -> Step:
    """Say what happens next, then wait for an explicit goodbye."""
    return Step(
        name="wrap_up",
        goal="Close the call properly.",
        instructions=instructions,
        tools=tools,
        listen=closing_answer,
        transitions=(Transition("closed", caller_done, "the caller said goodbye"),),
        say=say,
        act=act,
    )


def closed(*, say: Say = say_goodbye) -> Step:
    """The end of a completed call; where an explicit goodbye leads from any step (`Workflow.hear`).
    A workflow's `say` may first tell what this turn's tools just did (the caller said goodbye
    with their yes: they have not heard it yet)."""
    return Step(
        name="closed",
        goal="Goodbye.",
        instructions="Thank the caller and say goodbye.",
        terminal=True,
        say=say,
    )
