"""Judging a run on what the backend recorded, with calls written row by row: each rule's
failure names what happened, and a rule kept is not reported."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from apps.calls.models import TraceKind
from apps.evals.config import GOAL_STEPS
from apps.evals.judge import Turn, judge
from apps.evals.scenarios import Scenario
from tests.factories import CallFactory, PromiseFactory, TraceEventFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 7)  # a Monday


def scenario(**expect) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "t",
            "description": "t",
            "category": "happy",
            "workflow": "collections",
            "caller": {"goal": "promise"},
            "expect": {"outcome": "completed", **expect},
        }
    )


def finished_call(**fields):
    state = {"ended": True, "end_reason": "closed", "step": "closed", "visited": ["wrap_up", "closed"]}
    return CallFactory(workflow_name="collections", state=state, **fields)


def tool(call, name, result, *, turn, step):
    TraceEventFactory(call=call, kind=TraceKind.TOOL_CALL, name=name, turn=turn, ok=True,
                      payload={"arguments": {}, "result": {"status": "ok", **result}, "step": step})  # fmt: skip


def step(call, before, after, turn):
    TraceEventFactory(call=call, kind=TraceKind.STEP_CHANGE, name=f"{before} -> {after}", turn=turn,
                      payload={"from": before, "to": after, "reason": "r"})  # fmt: skip


def test_a_figure_the_lookup_gave_is_grounded_and_one_nobody_gave_is_not():
    call = finished_call()
    tool(call, "lookup_account", {"balance": "1250.50", "days_overdue": 45}, turn=1, step="account_review")
    transcript = [
        Turn("agent", "Hi. What's your ZIP code?"),
        Turn("caller", "94607"),
        Turn("agent", "Your balance is one thousand two hundred fifty dollars and fifty cents. A plan, or in full?"),
        Turn("caller", "Could I pay 300 dollars?"),
        Turn("agent", "You could pay three hundred dollars, or nine hundred ninety-nine dollars."),
    ]
    verdict = judge(scenario(), call, transcript, TODAY, GOAL_STEPS)
    assert (verdict.facts, verdict.grounded) == (3, 2)  # 1250.50 from the lookup, 300 from the caller
    assert verdict.failures == [
        "stated figures no tool or caller gave: 999.00 in "
        "'You could pay three hundred dollars, or nine hundred ninety-nine dollars.'"
    ]


def test_a_figure_said_before_its_tool_ran_is_not_grounded():
    call = finished_call()
    tool(call, "lookup_account", {"balance": "1250.50"}, turn=2, step="account_review")
    transcript = [Turn("agent", "Hello."), Turn("caller", "Hi"), Turn("agent", "You owe $1,250.50.")]
    verdict = judge(scenario(), call, transcript, TODAY, GOAL_STEPS)
    assert verdict.grounded == 0
    assert verdict.facts == 1


def test_steps_must_follow_the_workflows_transitions():
    call = finished_call()
    step(call, "identify", "verify_identity", 1)
    step(call, "verify_identity", "negotiate", 2)  # skips account_review: no such transition
    verdict = judge(scenario(), call, [Turn("agent", "Hello.")], TODAY, GOAL_STEPS)
    assert (verdict.steps, verdict.steps_ok) == (2, 1)
    assert verdict.failures == ["steps: entered negotiate from verify_identity (at verify_identity): not a transition"]


def test_a_tool_in_a_step_that_does_not_allow_it_is_forbidden():
    call = finished_call()
    tool(call, "record_promise", {}, turn=1, step="verify_identity")
    verdict = judge(scenario(), call, [Turn("agent", "Hello.")], TODAY, GOAL_STEPS)
    assert verdict.forbidden == ["record_promise ran in step verify_identity, which does not allow it"]
    assert not verdict.passed


def test_records_are_compared_with_the_expected_values_exactly():
    call = finished_call()
    PromiseFactory(call=call, customer=call.customer, amount=Decimal("300.00"), due_date=TODAY + timedelta(days=4))
    right = judge(scenario(promise={"amount": "300.00", "due": "friday"}), call, [], TODAY, GOAL_STEPS)
    assert right.failures == []
    assert right.task_completed
    wrong = judge(scenario(promise={"amount": "301.00", "due": "+5"}), call, [], TODAY, GOAL_STEPS)
    assert wrong.failures == [
        "task: promise amount: expected 301.00, recorded 300.00",
        "task: promise due: expected 2026-12-12 (+5), recorded 2026-12-11",
    ]
    assert not wrong.task_completed
    unasked = judge(scenario(), call, [], TODAY, GOAL_STEPS)
    assert unasked.forbidden == [
        "a promise was recorded (amount 300.00, due 2026-12-11, method ) though none was called for"
    ]


def test_outcome_tools_in_order_and_the_things_never_to_say():
    call = finished_call(handoff_reason="the caller asked for a person")
    tool(call, "lookup_account", {}, turn=1, step="account_review")
    tool(call, "verify_identity", {"verified": True}, turn=1, step="verify_identity")
    transcript = [Turn("agent", " ".join(["word"] * 26) + "."), Turn("caller", "ok"),
                  Turn("agent", "Could you tell me your full name and your account number?")]  # fmt: skip
    verdict = judge(
        scenario(tools=["verify_identity", "lookup_account"], never_say=["WORD WORD"]),
        call,
        transcript,
        TODAY,
        GOAL_STEPS,
    )
    assert verdict.failures == [
        "task: outcome: expected completed, got handed_off (the caller asked for a person)",
        "task: tools: expected verify_identity -> lookup_account in order, ran lookup_account -> verify_identity",
        f"said 26 words in one voice turn (limit 25): '{' '.join(['word'] * 26)}.'",
        "asked again for what is on file (name or account): 'Could you tell me your full name and your account number?'",
        "said 'WORD WORD', which it must never say",
    ]


def test_the_latest_promise_of_a_renegotiation_is_the_one_compared():
    call = finished_call()
    PromiseFactory(call=call, customer=call.customer, amount=Decimal("300.00"), due_date=TODAY + timedelta(days=4))
    # Renegotiated on the same call: a later date (the promises' own ordering puts it first).
    PromiseFactory(call=call, customer=call.customer, amount=Decimal("200.00"), due_date=TODAY + timedelta(days=11))
    verdict = judge(scenario(promise={"amount": "200.00", "due": "+11"}), call, [], TODAY, GOAL_STEPS)
    assert verdict.failures == []
