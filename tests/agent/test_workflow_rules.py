"""Each workflow's own rules, as the hooks the turn calls: identity checks run out, a system down,
what follows a tool result offline, when the record may be shown, the business rules; the offline
acts each step owns; and the typed facts, which leave the stored state as it was."""

import json
from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

import pytest

from apps.agent import offline
from apps.agent.nlu import understand
from apps.agent.prompts import CustomerContext, system_prompt
from apps.agent.state import CallFacts, ConversationState
from apps.agent.workflows import Step, Workflow, get_workflow
from apps.agent.workflows.collections import CollectionsFacts
from apps.agent.workflows.roadside import RoadsideFacts
from apps.promises.policy import POLICY

TODAY = date(2026, 11, 21)  # a Saturday: "Friday" is November 27
MARIA = CustomerContext(
    customer_id=7,
    full_name="Maria Lopez",
    first_name="Maria",
    on_file={"phone": "+14155550123", "vehicle": "Honda Civic"},
)


def state_in(workflow: str, step: str, **facts) -> ConversationState:
    definition = get_workflow(workflow)
    return ConversationState(
        workflow=workflow, version=definition.version, step=step, channel="web_chat", direction="inbound", facts=facts
    )


def acts(state: ConversationState, text: str, customer: CustomerContext = MARIA) -> list:
    return offline.actions(state, understand(text, today=TODAY), customer, TODAY)


# --- identity checks run out (after_tool) ---------------------------------------------------


def test_the_last_failed_identity_check_hands_collections_to_a_person():
    collections = get_workflow("collections")
    state = state_in("collections", "verify_identity", customer_id=7)
    collections.after_tool("verify_identity", {"status": "ok", "verified": False, "attempts_left": 1}, state)
    assert state.handoff is None
    collections.after_tool("verify_identity", {"status": "ok", "verified": True, "attempts_left": 0}, state)
    assert state.handoff is None
    collections.after_tool("verify_identity", {"status": "ok", "verified": False, "attempts_left": 0}, state)
    assert state.handoff == {"reason": "identity could not be verified"}


def test_roadside_has_no_identity_rule():
    state = state_in("roadside", "confirm_vehicle", customer_id=7)
    get_workflow("roadside").after_tool("verify_identity", {"verified": False, "attempts_left": 0}, state)
    assert state.handoff is None


# --- a system down (on_system_down) ---------------------------------------------------------


def test_collections_calls_back_and_wraps_up_when_a_system_is_down():
    state = state_in("collections", "account_review", customer_id=7)
    state.replies_in_step = 2
    instead = get_workflow("collections").on_system_down("lookup_account", state)
    assert instead == ("schedule_callback", {"reason": "Call back: lookup_account was unavailable during the call."})
    assert (state.step, state.replies_in_step) == ("wrap_up", 0)


@pytest.mark.parametrize(
    ("tool", "facts"),
    [("schedule_callback", {"customer_id": 7}), ("lookup_account", {})],
    ids=["the call-back system is the one down", "nobody to call back"],
)
def test_collections_hands_off_when_it_cannot_call_back(tool, facts):
    state = state_in("collections", "negotiate", **facts)
    assert get_workflow("collections").on_system_down(tool, state) is None
    assert state.step == "negotiate"


def test_roadside_hands_a_stranded_driver_to_a_person_at_once():
    state = state_in("roadside", "dispatch", customer_id=7)
    assert get_workflow("roadside").on_system_down("dispatch_technician", state) is None
    assert state.step == "dispatch"


# --- what follows a tool result, offline (follow_up) ----------------------------------------


def test_a_refused_settlement_goes_to_a_specialist():
    refused = {"status": "refused", "reason": "below the settlement floor"}
    settlement = {"kind": "settlement", "amount": "600.00", "due_date": "2026-11-27"}
    expected = [
        (
            "request_approval",
            {"kind": "settlement", "amount": "600.00", "reason": "The caller offered to settle for 600.00."},
        )
    ]
    assert offline.after("propose_payment", settlement, refused, state_in("collections", "negotiate")) == expected
    negotiating = state_in("collections", "negotiate")
    assert offline.after("propose_payment", {**settlement, "kind": "plan"}, refused, negotiating) == []
    assert offline.after("propose_payment", settlement, {"status": "ok"}, negotiating) == []
    assert offline.after("propose_payment", settlement, refused, state_in("roadside", "dispatch")) == []


# --- the record and the business rules in the prompt (shows_record, rules) ------------------


def test_collections_shows_the_record_only_after_verification():
    collections = get_workflow("collections")
    state = state_in("collections", "verify_identity", customer_id=7)
    assert MARIA.visible(state, collections) == {"name": "Maria Lopez"}
    CallFacts.of(state).identity_verified = "zip"
    assert MARIA.visible(state, collections) == {
        "name": "Maria Lopez",
        "phone": "+14155550123",
        "vehicle": "Honda Civic",
    }
    assert CustomerContext(customer_id=None).visible(state, collections) == {}


def test_roadside_shows_the_record_at_once():
    state = state_in("roadside", "confirm_vehicle", customer_id=7)
    assert MARIA.visible(state, get_workflow("roadside")) == {
        "name": "Maria Lopez",
        "phone": "+14155550123",
        "vehicle": "Honda Civic",
    }


def test_the_prompt_states_the_workflows_own_business_rules():
    def rules_in(workflow: str, step: str) -> list[str]:
        definition = get_workflow(workflow)
        prompt = system_prompt(
            state=state_in(workflow, step), workflow=definition, customer=MARIA, forced_tool=None, today=TODAY
        )
        lines = prompt.splitlines()
        start = lines.index("BUSINESS RULES:") + 1
        return lines[start : lines.index("", start)]

    assert rules_in("collections", "negotiate") == [
        *(f"- {rule}" for rule in POLICY.describe()),
        "- If the caller asks what they owe, say the balance exactly as lookup_account returned it, then go on "
        "with the step; before the lookup, say you can tell them once they are verified.",
        "- A missed promise (its date has passed) is not current: say it was not received, never that it is due.",
        "- Waiving or forgiving the whole balance is beyond anyone's authority here: never request approval for it; "
        "say you can't, and go on with the step.",
    ]
    assert rules_in("roadside", "collect_incident") == [
        "- Dispatch only with the location, the problem and the severity recorded, read back, and confirmed by "
        "the caller.",
        "- An emergency is anyone unsafe: on a highway shoulder, after an accident, smoke, children in the car.",
    ]


# --- each step's offline act ----------------------------------------------------------------


def test_the_shared_steps_act_alike_in_every_workflow():
    for workflow in ("collections", "roadside"):
        assert acts(state_in(workflow, "identify"), "My account number is ACC0040042") == [
            ("find_account", {"account_number": "0040042", "name": "Maria Lopez"})
        ]
        assert acts(state_in(workflow, "closed"), "My account number is ACC0040042") == []
    assert acts(state_in("collections", "verify_identity"), "my zip is 94607") == [
        ("verify_identity", {"method": "zip", "value": "94607"})
    ]
    assert acts(state_in("collections", "verify_identity"), "I was born on March 5, 1985") == [
        ("verify_identity", {"method": "date_of_birth", "value": "1985-03-05"})
    ]


def test_only_collections_wrap_up_schedules_the_call_back_the_caller_asks_for():
    asked = "Can you call me back on Friday?"
    assert acts(state_in("collections", "wrap_up", customer_id=7), asked) == [
        ("schedule_callback", {"reason": "The caller asked to be called back.", "day": "2026-11-27"})
    ]
    assert acts(state_in("roadside", "wrap_up", customer_id=7), asked) == []


def test_negotiating_a_bare_number_is_an_amount_and_the_read_back_keeps_the_agreed_terms():
    account = {"balance": "1250.50"}
    negotiate = state_in("collections", "negotiate", account=account)
    assert acts(negotiate, "300 on Friday") == [
        ("propose_payment", {"kind": "plan", "amount": "300", "due_date": "2026-11-27"})
    ]
    plan = {"kind": "plan", "amount": "300.00", "due_date": "2026-11-27", "method": ""}
    read_back = state_in("collections", "confirm_promise", account=account, plan=plan)
    assert acts(read_back, "yes") == []  # the listener's
    assert acts(read_back, "make it 250") == [
        ("propose_payment", {"kind": "plan", "amount": "250", "due_date": "2026-11-27"})
    ]


def test_roadside_acts_on_another_vehicle_and_a_complete_incident():
    assert acts(state_in("roadside", "confirm_vehicle"), "No, it's my wife's Toyota Camry") == [
        ("record_vehicle", {"description": "Toyota Camry"})
    ]
    assert acts(state_in("roadside", "confirm_vehicle"), "Yes, the Honda") == []
    incident = state_in("roadside", "collect_incident", asked="safety")
    incident.slots.update(location="Broadway in Oakland", issue="battery")
    assert acts(incident, "Yes") == [
        ("capture_incident", {"location": "Broadway in Oakland", "issue": "battery", "severity": "urgent"})
    ]


def test_a_step_without_an_act_asks_for_no_tool():
    assert get_workflow("roadside").step("inform_eta").act is None
    assert acts(state_in("roadside", "inform_eta"), "My battery is dead on Broadway in Oakland") == []


def test_roadside_records_a_corrected_incident_again_and_leaves_yes_or_no_to_the_listener():
    incident = {
        "location": "I-880 near the Coliseum exit in Oakland", "place": "Oakland Coliseum", "latitude": 37.75,
        "longitude": -122.2, "issue": "battery", "severity": "emergency",
    }  # fmt: skip
    read_back = state_in("roadside", "confirm_incident", incident=incident)
    assert acts(read_back, "Yes") == []
    assert acts(read_back, "No") == []
    assert acts(read_back, "Yes, I'm on I-880 near the Coliseum exit in Oakland") == []  # the same place
    assert acts(read_back, "No, I'm at the Safeway parking lot on Broadway in Oakland") == [
        (
            "capture_incident",
            {"location": "the Safeway parking lot on Broadway in Oakland", "issue": "battery", "severity": "standard"},
        )
    ]
    assert acts(state_in("roadside", "confirm_incident", incident=incident), "No, it's a flat tire") == [
        ("capture_incident", {"location": incident["location"], "issue": "tire", "severity": "emergency"})
    ]


def test_money_steps_read_a_bare_number_as_an_amount():
    u = understand("300 on Friday", today=TODAY)
    money = {s.name for s in get_workflow("collections").steps if s.money}
    assert money == {"account_review", "negotiate", "confirm_promise"}
    assert not any(s.money for s in get_workflow("roadside").steps)
    assert offline.caller_amounts(u, state_in("collections", "negotiate"), TODAY) == [Decimal("300")]
    assert offline.caller_amounts(u, state_in("collections", "verify_identity"), TODAY) == []
    assert offline.caller_amounts(u, state_in("roadside", "collect_incident"), TODAY) == []


# --- the version covers the whole definition ------------------------------------------------


def test_the_version_covers_every_field_of_a_workflow_and_its_steps():
    canonical = get_workflow("collections").canonical()
    assert {f.name for f in fields(Workflow)} <= set(canonical)
    assert {f.name for f in fields(Step)} == set(canonical["steps"][0])


def test_the_version_covers_the_acts_and_the_hooks():
    collections = get_workflow("collections")
    steps = tuple(replace(step, act=None) if step.name == "negotiate" else step for step in collections.steps)
    assert replace(collections, steps=steps).version != collections.version
    money = tuple(replace(step, money=False) if step.name == "negotiate" else step for step in collections.steps)
    assert replace(collections, steps=money).version != collections.version
    roadside = get_workflow("roadside")
    for hook in ("after_tool", "on_system_down", "shows_record", "follow_up"):
        assert replace(roadside, **{hook: getattr(collections, hook)}).version != roadside.version, hook
    assert replace(roadside, rules=()).version != roadside.version


def test_the_version_covers_the_helpers_an_act_calls():
    """The module an act comes from is part of the hash: a change to a helper it calls counts."""
    modules = get_workflow("collections").canonical()["modules"]
    assert "apps.agent.workflows.collections.acts" in modules
    assert "apps.agent.workflows.shared" in modules
    assert len(modules["apps.agent.workflows.collections.acts"]) == 64  # a sha256


# --- typed facts ----------------------------------------------------------------------------


def test_typed_facts_read_and_write_the_stored_keys():
    state = state_in("collections", "negotiate")
    facts = CollectionsFacts.of(state)
    assert (facts.customer_id, facts.identity_attempts, facts.caller_amounts, facts.plan) == (None, 0, [], None)
    assert state.facts == {}  # reading never writes
    facts.customer_id, facts.identity_attempts = 7, 1
    facts.plan = {"kind": "full", "amount": "1250.50", "due_date": "2026-11-27", "method": ""}
    facts.test_effects = [*facts.test_effects, {"action": "promise_record"}]
    assert state.facts == {
        "customer_id": 7,
        "identity_attempts": 1,
        "plan": {"kind": "full", "amount": "1250.50", "due_date": "2026-11-27", "method": ""},
        "test_effects": [{"action": "promise_record"}],
    }
    del facts.plan
    assert "plan" not in state.facts
    assert facts.plan is None
    assert CallFacts.of(state).customer_id == 7  # one dict, many views


def test_a_fact_set_to_its_default_is_still_told_from_one_never_set():
    state = state_in("roadside", "confirm_vehicle")
    facts = RoadsideFacts.of(state)
    assert not facts.has(RoadsideFacts.vehicle_rejected)
    facts.vehicle_rejected = False
    assert facts.has(RoadsideFacts.vehicle_rejected)
    assert state.facts == {"vehicle_rejected": False}


def test_the_stored_state_is_unchanged_by_the_typed_views():
    stored = {
        "workflow": "collections",
        "version": "0123456789abcdef",
        "step": "confirm_promise",
        "channel": "voice",
        "direction": "inbound",
        "facts": {
            "customer_id": 7,
            "caller_text": " 300 on Friday",
            "caller_amounts": ["300.00"],
            "caller_dates": ["2026-11-27"],
            "identity_attempts": 1,
            "identity_verified": "zip",
            "account": {"balance": "1250.50", "days_overdue": 45},
            "plan": {"kind": "plan", "amount": "300.00", "due_date": "2026-11-27", "method": ""},
        },
        "slots": {"offer": {"amount": "300", "due_date": "2026-11-27"}},
        "confirmations": {"promise_terms": False},
        "grounded": ["300.00"],
        "tool_log": [],
        "history": [],
        "summary": [],
        "turn": 2,
        "replies_in_step": 1,
        "transcript_sequence": 5,
        "last_reply_sequence": 4,
        "misunderstandings": 0,
        "guardrail_hits": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": "0",
        "handoff": None,
        "ended": False,
        "end_reason": "",
        "test": False,
        "started_by": {},
        "guidance": [],
        "person": None,
    }
    state = ConversationState.from_dict(json.loads(json.dumps(stored)))
    facts = CollectionsFacts.of(state)
    assert (facts.plan or {}).get("amount") == "300.00"
    assert facts.identity_verified == "zip"
    assert json.dumps(state.to_dict()) == json.dumps(stored)
