"""Test calls: a conversation staff start (web chat, simulate_call) touches no real record.

Signed in as `agent` (read-only for customers), a chat once put a customer on the do-not-call
list, recorded a real promise and created an approval, audited as "agent:call-N". Now every such
effect is recorded on the test call, shown to the person, and audited in their name.
"""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from apps.agent.state import ConversationState
from apps.agent.tools import TOOLS, ToolContext, run_tool
from apps.agent.tools.registry import tool
from apps.analysis.models import CallAnalysis
from apps.analysis.services import analysis_run
from apps.approvals.models import Approval
from apps.calls.models import Call, TraceEvent, TraceKind
from apps.core.models import AuditEvent
from apps.core.services import Person
from apps.customers.models import Customer, DoNotCallEntry
from apps.outreach.compliance import compliance_check
from apps.outreach.models import FollowUp
from apps.promises.models import Promise
from apps.telephony.models import SmsMessage
from tests.agent.chat import consumer_for, run, until, verified_chat
from tests.factories import CallFactory, PromiseFactory, TranscriptEntryFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

VERIFY = ("verify_identity", {"method": "zip", "value": "94607"})
LOOKUP = ("lookup_account", {})


def real_records() -> dict:
    """Everything a conversation could change for real."""
    return {
        "promises": sorted(Promise.objects.values_list("pk", "status", "amount")),
        "approvals": Approval.objects.count(),
        "followups": FollowUp.objects.count(),
        "do_not_call": DoNotCallEntry.objects.count(),
        "texts": SmsMessage.objects.count(),
        "customers": sorted(Customer.objects.values_list("pk", "balance", "do_not_call")),
    }


def test_an_agents_chat_leaves_a_real_promise_and_the_balance_alone(agent, maria):
    real = PromiseFactory(customer=maria, amount=Decimal("500.00"), due_date=timezone.localdate() + timedelta(days=3))
    before = real_records()

    async def scenario():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        started = (await until(chat, "reply"))[0]
        for text in ("My zip code is 94607", "300 on Friday", "yes"):
            await chat.send_json_to({"type": "message", "text": text})
            last = await until(chat, "reply")
        await chat.disconnect()
        return started, last

    started, confirmed = run(scenario)
    assert started["test"] is True
    assert [m for m in confirmed if m["type"] == "test_effect"] == [
        {
            "type": "test_effect",
            "action": "promise_record",
            "amount": "300.00",
            "due_date": "2026-11-27",
            "method": None,
        }
    ]
    assert real_records() == before  # the real promise is not superseded; no text was sent
    real.refresh_from_db()
    assert real.status == "pending"
    call = Call.objects.get(pk=started["call_id"])
    trace = TraceEvent.objects.get(call=call, kind=TraceKind.SANDBOXED)
    assert (trace.name, trace.payload["amount"]) == ("promise_record", "300.00")
    audit = AuditEvent.objects.get(action="test_call.promise_record")
    assert (audit.actor, audit.actor_label) == (agent, f"agt (test call {call.pk})")
    assert audit.details["call_id"] == call.pk
    assert not AuditEvent.objects.filter(actor_label__startswith="agent:call").exists()


def test_stop_calling_me_in_a_test_chat_puts_nobody_on_the_do_not_call_list(agent, maria):
    before = real_records()

    async def scenario():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "stop calling me"})
        messages = await until(chat, "ended")
        await chat.disconnect()
        return messages

    messages = run(scenario)
    effects = [m for m in messages if m["type"] == "test_effect"]
    assert effects == [
        {"type": "test_effect", "action": "customer_opt_out", "customer_id": str(maria.pk), "source": "call_opt_out"}
    ]
    assert real_records() == before
    maria.refresh_from_db()
    assert maria.do_not_call is False
    assert AuditEvent.objects.get(action="test_call.customer_opt_out").actor == agent


def verified_collections_chat(converse, fake_llm, customer, started_by: Person | None):
    """A collections web chat (a test call when someone started it) past identity and the lookup."""
    chat = converse(
        workflow="collections",
        channel="web_chat",
        direction="inbound",
        customer_id=customer.pk,
        test=started_by is not None,
        started_by=started_by,
    )
    fake_llm.script("primary", tool_call=VERIFY)
    fake_llm.script("primary", tool_call=LOOKUP)
    fake_llm.script("primary", text="Thanks, Maria. Your balance is $1,250.50. How would you like to pay?")
    chat.say("94607")
    return chat


def test_a_test_call_books_no_callback_and_asks_no_approval(converse, fake_llm, maria, agent):
    before = real_records()
    chat = verified_collections_chat(converse, fake_llm, maria, started_by=Person(agent.pk, "agt"))
    waiver = ("request_approval", {"kind": "fee_waiver", "reason": "Caller asked to waive the late fee."})
    fake_llm.script("primary", tool_call=waiver)
    fake_llm.script("primary", text="I've asked a specialist; they will confirm within two business days.")
    chat.say("Can you waive the late fee?")
    callback = ("schedule_callback", {"reason": "Caller asked", "day": "2026-11-24", "at": "17:30"})
    fake_llm.script("primary", tool_call=callback)
    fake_llm.script("primary", text="I'll call you back on Tuesday at five thirty.")
    chat.say("Can you call me back Tuesday after five?")

    assert real_records() == before
    sandboxed = TraceEvent.objects.filter(call_id=chat.session.call_id, kind=TraceKind.SANDBOXED).order_by("id")
    assert [(t.name, t.payload.get("kind") or t.payload.get("due_at")) for t in sandboxed] == [
        ("approval_request", "fee_waiver"),
        ("followup_schedule", "2026-11-24T17:30:00-08:00"),
    ]
    # The model was told nothing was recorded (it must not promise what did not happen).
    tool_result = json.loads(fake_llm.requests[4].body["messages"][-1]["content"])
    assert tool_result["note"] == "test call: nothing was recorded or sent"


@pytest.mark.parametrize("test", [True, False], ids=["test-call", "real-call"])
def test_a_settlement_a_real_call_could_not_request_is_refused_on_a_test_call_too(
    converse, fake_llm, maria, agent, test
):
    chat = verified_collections_chat(converse, fake_llm, maria, started_by=Person(agent.pk, "agt") if test else None)
    settle = {"kind": "settlement", "reason": "Caller offered to settle.", "amount": "1300"}
    fake_llm.script("primary", tool_call=("request_approval", settle))
    fake_llm.script("primary", text="That is more than you owe; would you like to pay the balance instead?")
    before = real_records()

    chat.say("Can I settle for 1300 dollars?")

    # The agent hears the refusal a real request gets, whichever call this is; nothing is recorded.
    tool_result = json.loads(fake_llm.requests[4].body["messages"][-1]["content"])
    assert tool_result == {
        "status": "validation_error",
        "errors": [{"loc": ["kind"], "msg": "A settlement must be more than 0 and less than the balance (1250.50)."}],
    }
    assert real_records() == before
    assert not TraceEvent.objects.filter(call_id=chat.session.call_id, kind=TraceKind.SANDBOXED).exists()


def test_a_chat_belongs_to_the_person_who_started_it(supervisor, agent, maria):
    call_id = async_to_sync(verified_chat)(supervisor, maria.pk)
    turns = Call.objects.get(pk=call_id).state["turn"]

    async def take_over():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "resume", "call_id": call_id})
        refused = await chat.receive_json_from(timeout=5)
        await chat.send_json_to({"type": "message", "text": "I can pay it all on Friday"})
        after = await chat.receive_json_from(timeout=5)
        await chat.disconnect()
        return refused, after

    refused, after = run(take_over)
    assert refused == {"type": "error", "detail": "That chat was started by someone else; only they can continue it."}
    assert after == {"type": "error", "detail": "Start a conversation first."}
    assert Call.objects.get(pk=call_id).state["turn"] == turns


def test_the_analysis_of_a_test_call_acts_on_nothing_and_asks_no_review(maria, supervisor):
    call = CallFactory(customer=maria, workflow_name="collections", duration_seconds=95, is_test=True)
    call.started_by = supervisor
    call.save()
    lines = [
        ("agent", "Your balance is 1,250 dollars, 45 days overdue. Can you make a payment?"),
        ("customer", "I can pay 400 dollars on Friday by card."),
        ("agent", "So 400 dollars on Friday by card. Is that right?"),
        ("customer", "Yes. And stop calling me after that."),
        ("agent", "You're set. We won't call you again."),
    ]
    for sequence, (speaker, text) in enumerate(lines):
        TranscriptEntryFactory(call=call, sequence=sequence, speaker=speaker, text=text)
    CallAnalysis.objects.create(call=call)
    before = real_records()

    analysis = analysis_run(call_id=call.pk)

    assert real_records() == before
    assert (analysis.status, analysis.needs_review) == ("completed", False)
    assert analysis.promise["promise_id"] is None
    names = list(TraceEvent.objects.filter(call=call, kind=TraceKind.SANDBOXED).values_list("name", flat=True))
    assert "analysis: promise_record" in names


def test_a_test_call_counts_in_no_compliance_limit(maria):
    maria.consent_automated_calls, maria.consent_source, maria.consent_given_at = True, "web_form", timezone.now()
    maria.save()
    now = timezone.now()
    assert compliance_check(maria, now=now).allowed is True
    CallFactory(customer=maria, direction="outbound", channel="voice", status="in-progress", is_test=True)
    assert compliance_check(maria, now=now).allowed is True  # "one call at a time" ignores the test call
    CallFactory(
        customer=maria, direction="outbound", channel="voice", status="in-progress", twilio_call_sid="CA" + "1" * 32
    )
    assert compliance_check(maria, now=now).rule == "call_open"


def test_every_side_effecting_tool_has_a_test_call_path():
    # A new one must take its test path (`sandboxed`); the guard below refuses it otherwise.
    assert sorted(name for name, spec in TOOLS.items() if spec.side_effect) == [
        "dispatch_technician",
        "record_promise",
        "request_approval",
        "schedule_callback",
    ]


def test_a_side_effecting_tool_without_a_test_path_is_refused_and_writes_nothing(maria, agent):
    @tool(description="Writes for real.", side_effect=True)
    def writes_for_real(ctx: ToolContext) -> dict:
        DoNotCallEntry.objects.create(phone=maria.phone, source="customer_request")
        return {"written": True}

    state = ConversationState(
        workflow="collections", version="v", step="negotiate", channel="web_chat", direction="inbound", test=True
    )
    ctx = ToolContext(
        call_id=0,
        customer_id=maria.pk,
        state=state,
        today=timezone.localdate(),
        now=timezone.now(),
        actor=Person(agent.pk, "agt"),
        test=True,
    )
    try:
        result = run_tool("writes_for_real", {}, ctx, allowed=("writes_for_real",))
    finally:
        TOOLS.pop("writes_for_real")
    assert result == {"status": "refused", "reason": "writes_for_real is not available in a test call"}
    assert not DoNotCallEntry.objects.exists()
