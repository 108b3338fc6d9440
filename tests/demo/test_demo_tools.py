"""The demo's tools port runs the real tools: their rules and refusals reach a demo call, their
results and facts take the real tools' shape (with placeholders for the rows the seeder writes
later), and planning leaves no row behind."""

import random
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from apps.agent.state import CallFacts, ConversationState
from apps.agent.tools import ToolContext
from apps.agent.workflows.collections.facts import CollectionsFacts
from apps.core.models import AuditEvent
from apps.demo.model import SimClock, run
from apps.demo.plans import AccountHistory, HeldPromise, ReceivedPayment
from apps.demo.tools import DemoTools, planning
from apps.outreach.models import FollowUp
from apps.promises.models import Payment, Promise, PromiseStatus
from tests.factories import CustomerFactory, PaymentFactory, PromiseFactory

pytestmark = pytest.mark.django_db

TODAY = date(2030, 1, 7)
NOW = datetime(2030, 1, 7, 17, 0, tzinfo=UTC)
NO_HISTORY = AccountHistory([], [])


def new_state() -> ConversationState:
    return ConversationState(
        workflow="collections", version="1", step="negotiate", channel="voice", direction="inbound"
    )


def call(tools: DemoTools, name: str, arguments: dict, customer_id: int, state: ConversationState, said: str = ""):
    ctx = ToolContext(
        call_id=0, customer_id=customer_id, state=state, today=TODAY, now=NOW, actor="agent:call-0", caller_text=said
    )
    return run(tools(name, arguments, ctx, (name,)))


def demo_tools(customer_id: int, history: AccountHistory = NO_HISTORY) -> DemoTools:
    return DemoTools(SimClock(NOW, random.Random(7)), customer_id, history)


def test_a_promise_needs_the_callers_yes_and_then_has_the_real_tools_shape():
    customer = CustomerFactory()
    state = new_state()
    CollectionsFacts.of(state).plan = {
        "kind": "plan",
        "amount": "300.00",
        "due_date": "2030-01-15",
        "method": "card",
        "remaining_balance": "950.00",
    }
    with planning([customer.pk]):
        tools = demo_tools(customer.pk)
        refused = call(tools, "record_promise", {}, customer.pk, state)
        state.confirmations["promise_terms"] = True
        recorded = call(tools, "record_promise", {}, customer.pk, state)
        again = call(tools, "record_promise", {}, customer.pk, state)

    assert refused == {"status": "refused", "reason": "read the amount and date back and get a clear yes first"}
    assert recorded == {"status": "ok", "promise_id": "@id:promise", "amount": "300.00", "due_date": "2030-01-15"}
    assert again is recorded  # the registry's idempotency: one effect
    assert state.tool_log == [{"name": "record_promise", "step": "negotiate", "args_key": "{}", "result": recorded}]
    assert CollectionsFacts.of(state).promise_id == "@id:promise"
    assert "test_effects" not in state.facts
    assert tools.effects == {
        "record_promise": {"action": "promise_record", "amount": "300.00", "due_date": "2030-01-15", "method": "card"}
    }
    # The seeder writes the rows; planning wrote nothing (not even a test call's audit entry).
    assert not Promise.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_callback_keeps_to_the_calling_window_and_the_time_asked(settings):
    settings.CALLING_WINDOW_END = "20:00"
    customer = CustomerFactory(timezone="America/Los_Angeles")
    state = new_state()
    with planning([customer.pk]):
        tools = demo_tools(customer.pk)
        late = call(
            tools, "schedule_callback", {"reason": "At work", "day": "2030-01-08", "at": "20:30"}, customer.pk, state
        )
        booked = call(
            tools, "schedule_callback", {"reason": "At work", "day": "2030-01-08", "at": "14:30"}, customer.pk, state
        )

    assert late == {
        "status": "validation_error",
        "errors": [{"loc": ["at"], "msg": "a callback must be from 08:00 to before 20:00 the caller's time (the calling window)"}],
    }  # fmt: skip
    assert booked == {"status": "ok", "followup_id": "@id:followup", "day": "2030-01-08", "at": "14:30"}
    assert CallFacts.of(state).callback == {"followup_id": "@id:followup", "day": "2030-01-08", "at": "14:30"}
    assert tools.effects["schedule_callback"] == {
        "action": "followup_schedule",
        "due_at": "2030-01-08T14:30:00-08:00",
        "reason": "At work",
    }
    assert not FollowUp.objects.exists()


def test_the_tools_own_refusals_reach_a_demo_call():
    customer = CustomerFactory(days_overdue=0)
    state = new_state()
    CollectionsFacts.of(state).account = {
        "balance": "1250.00",
        "currency": "USD",
        "days_overdue": 0,
        "account_ending": "0042",
        "late_fee": "0.00",
        "minimum_first_payment": "125.00",
        "latest_payment_date": "2030-02-06",
        "active_promise": None,
    }
    with planning([customer.pk]):
        tools = demo_tools(customer.pk)
        waiver = call(tools, "request_approval", {"kind": "fee_waiver", "reason": "Lost a job"}, customer.pk, state)
        settlement = call(
            tools, "request_approval", {"kind": "settlement", "reason": "Lump sum", "amount": "500"}, customer.pk, state
        )
        dispatch = call(tools, "dispatch_technician", {}, customer.pk, state)

    assert waiver == {"status": "refused", "reason": "there is no fee to waive on this account"}
    assert settlement == {
        "status": "validation_error",
        "errors": [{"loc": ["amount"], "msg": "the caller has not offered this amount; ask what they can pay"}],
    }
    assert dispatch == {
        "status": "refused",
        "reason": "record the location and the problem with capture_incident first",
    }
    assert tools.effects == {}
    assert state.tool_log == []


def test_lookup_account_reads_the_account_as_it_stood_when_the_call_began():
    customer = CustomerFactory(balance=Decimal("1250.00"), days_overdue=45)
    later_promise = PromiseFactory(customer=customer, amount=Decimal("700.00"))  # made on a later call
    later_payment = PaymentFactory(customer=customer, amount=Decimal("90.00"))
    history = AccountHistory(
        promises=[
            HeldPromise(Decimal("200.00"), "USD", date(2030, 1, 20), "card", "pending", Decimal("0.00")),
            HeldPromise(Decimal("150.00"), "USD", date(2029, 12, 20), "check", "kept", Decimal("150.00")),
        ],
        payments=[ReceivedPayment(Decimal("150.00"), "USD", "check", datetime(2029, 12, 19, 18, tzinfo=UTC), "P-1")],
    )
    state = new_state()
    CallFacts.of(state).identity_verified = "zip"
    with planning([customer.pk]):
        account = call(demo_tools(customer.pk, history), "lookup_account", {}, customer.pk, state)

    assert account["active_promise"] == {"amount": "200.00", "due_date": "2030-01-20", "status": "pending"}
    assert account["last_payment"] == {"amount": "150.00", "received_on": "2029-12-19"}
    assert (account["status"], account["balance"], account["late_fee"]) == ("ok", "1250.00", "35.00")
    # The rows of the customer's later calls are as they were, and the rows as they stood are gone.
    assert list(Promise.objects.values_list("pk", "status")) == [(later_promise.pk, PromiseStatus.PENDING)]
    assert list(Payment.objects.values_list("pk", flat=True)) == [later_payment.pk]


def test_demo_tools_run_only_while_calls_are_planned():
    customer = CustomerFactory()
    with pytest.raises(RuntimeError, match="planning"):
        demo_tools(customer.pk)
