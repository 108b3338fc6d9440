"""Collections, inbound and outbound.

Verify identity against the record, look up the account, negotiate within the rules (pay in full,
or a plan), read the terms back and get a yes before recording the promise, then wrap up and wait
for an explicit goodbye. Fee waivers and settlements below the floor go to a person for approval.
"""

from apps.agent.workflows import shared
from apps.agent.workflows.base import Required, Step, Transition, Workflow
from apps.agent.workflows.collections import acts, rules, wording
from apps.agent.workflows.collections.listeners import (
    account_presented,
    party_answer,
    party_confirmed,
    party_denied,
    person_asked,
    promise_recorded,
    terms_agreed,
    terms_answer,
    terms_confirmed,
    terms_withdrawn,
)
from apps.agent.workflows.shared import CALLBACK_TOOL, HANDOFF_TOOL, identified

COLLECTIONS = Workflow(
    name="collections",
    description="Collect an overdue balance: verify, review, negotiate within the rules, confirm, record.",
    start={"inbound": "identify", "outbound": "confirm_party"},
    greetings={
        "inbound": "Thanks for calling {company}. {disclosure} {known_caller}",
        # Confirms who is on the line before anything about the account is said.
        "outbound": "Hello, this is {agent} calling from {company}. {disclosure} Am I speaking with {full_name}?",
    },
    rules=rules.RULES,
    shows_record=rules.shows_record,
    after_tool=rules.after_tool,
    on_system_down=rules.call_back_instead,
    follow_up=acts.settlement_to_a_person,
    steps=(
        shared.identify(
            goal="Know which customer is calling.",
            instructions=(
                "Caller ID did not match an account. Ask for their full name and account number, then use "
                "find_account. Do not discuss any account before it is found and verified."
            ),
            then=Transition("verify_identity", identified, "the account was found"),
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
                Transition("verify_identity", party_confirmed, "the customer confirmed"),
                Transition("wrong_party", party_denied, "someone else answered"),
            ),
            say=wording.say_confirm_party,
        ),
        shared.verify_identity(then="account_review"),
        Step(
            name="account_review",
            goal="Tell the caller where the account stands.",
            instructions=(
                "Tell the caller the balance and how many days it is overdue, and any promise, exactly as the "
                "lookup says: the active promise as current, a missed promise as not received. Then ask whether "
                "they can pay it in full or would like a payment plan."
            ),
            tools=("lookup_account", HANDOFF_TOOL),
            required=(Required("lookup_account", reason="state no account figure before the lookup"),),
            transitions=(Transition("negotiate", account_presented, "the account was presented"),),
            say=wording.say_account,
            money=True,
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
            tools=("propose_payment", "request_approval", CALLBACK_TOOL, HANDOFF_TOOL),
            transitions=(
                Transition("confirm_promise", terms_agreed, "terms within the rules"),
                Transition("wrap_up", person_asked, "a specialist or a callback will follow up"),
            ),
            say=wording.say_negotiate,
            act=acts.terms_heard,
            money=True,
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
            say=wording.say_read_back,
            act=acts.changed_terms_heard,
            money=True,
        ),
        shared.wrap_up(
            instructions=(
                "Say in one sentence what happens next (the promise and date, or the specialist's decision, or "
                "the callback). Ask if there is anything else. Only when the caller says goodbye, thank them and "
                "say goodbye."
            ),
            tools=(CALLBACK_TOOL, HANDOFF_TOOL),
            say=wording.say_what_happens_next,
            act=shared.callback_if_asked,
        ),
        Step(
            name="wrong_party",
            goal="Leave without disclosing anything.",
            instructions="Apologise for the mistake and say goodbye. Do not say who you are looking for or why.",
            terminal=True,
            say=wording.say_wrong_party,
        ),
        shared.closed(say=wording.say_goodbye),
    ),
)
