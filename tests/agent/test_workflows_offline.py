"""The three workflows end to end in the offline engine (no LLM configured), from scripted callers."""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from asgiref.sync import async_to_sync

from apps.agent.engine import AgentSession
from apps.agent.workflows import get_workflow
from apps.agent.workflows.collections.facts import CollectionsFacts
from apps.approvals.models import Approval
from apps.calls.models import Call, TraceEvent, TraceKind, TranscriptEntry
from apps.customers.models import Customer, DoNotCallEntry
from apps.dispatch.models import Dispatch
from apps.promises.models import Promise
from tests.factories import CustomerFactory, PromiseFactory

FRIDAY = date(2026, 11, 27)


def steps(call_id: int) -> list[str]:
    changes = TraceEvent.objects.filter(call_id=call_id, kind=TraceKind.STEP_CHANGE).order_by("at", "id")
    return [event.payload["to"] for event in changes]


def test_collections_inbound_records_a_confirmed_promise(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    assert c.greeting == (
        "Thanks for calling Northwind Auto Finance. I'm an AI assistant, and this call is recorded. Hi Maria. "
        "To verify your identity, what's your ZIP code?"
    )
    assert c.say("My zip code is 94607") == (
        "Your balance is one thousand two hundred fifty dollars and fifty cents, forty-five days past due. "
        "Can you pay in full, or prefer a plan?"
    )
    assert c.say("I can pay 300 dollars on Friday") == (
        "So that's three hundred dollars on Friday, November twenty-seventh. Is that right?"
    )
    assert not Promise.objects.exists()  # nothing is recorded before the caller says yes
    assert c.say("Yes") == (
        "You're all set, Maria: three hundred dollars on Friday, November twenty-seventh. "
        "Is there anything else I can help with?"
    )
    assert c.ended is None  # never ends before the caller says goodbye
    assert c.say("No, that's all, thanks. Bye!") == "Thank you, Maria. Take care, goodbye."
    assert c.ended.reason == "closed"

    promise = Promise.objects.get()
    assert (promise.customer, promise.call_id, promise.amount, promise.due_date, promise.source, promise.status) == (
        maria,
        c.session.call_id,
        Decimal("300.00"),
        FRIDAY,
        "agent",
        "pending",
    )
    call = Call.objects.get(pk=c.session.call_id)
    assert (call.workflow_name, call.workflow_version) == ("collections", get_workflow("collections").version)
    assert (call.current_step, call.status, call.channel) == ("closed", "completed", "voice")
    assert steps(call.pk) == ["verify_identity", "account_review", "negotiate", "confirm_promise", "wrap_up", "closed"]
    assert TranscriptEntry.objects.filter(call=call).count() == 9
    assert list(TranscriptEntry.objects.filter(call=call).values_list("speaker", flat=True)[:3]) == [
        "agent",
        "customer",
        "agent",
    ]
    tools = TraceEvent.objects.filter(call=call, kind=TraceKind.TOOL_CALL).values_list("name", flat=True)
    assert list(tools) == ["verify_identity", "lookup_account", "propose_payment", "record_promise"]


def test_a_correction_during_the_read_back_changes_the_terms(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("The last four digits are 0042")
    c.say("I can pay 300 on Friday")
    assert c.say("Actually, make it 250") == "So that's $250 on Friday, November 27. Is that right?"
    c.say("Yes")
    assert Promise.objects.get().amount == Decimal("250.00")


def test_a_no_to_the_read_back_records_nothing_and_asks_again(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("zip 94607")
    c.say("300 on Friday")
    assert c.say("No") == "No problem. What amount and date would work better for you?"
    assert not Promise.objects.exists()
    assert c.session.state.step == "negotiate"


def test_a_new_promise_supersedes_the_open_one(maria, converse):
    old = PromiseFactory(customer=maria, amount=Decimal("100.00"))
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert "You have $100 promised for" in c.say("zip 94607")
    c.say("I'll pay the full amount on Friday")
    c.say("yes")
    old.refresh_from_db()
    new = Promise.objects.exclude(pk=old.pk).get()
    assert (new.amount, old.status, old.superseded_by) == (Decimal("1250.50"), "superseded", new)


def test_plan_rules_are_enforced_by_the_tool(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("0042")
    assert c.say("I can do 20 dollars on Friday") == (
        "For a payment plan, the first payment needs to be at least $125.05. How much could you pay, and when?"
    )
    assert c.say("I can pay 200 on January 30") == (
        "We'd need that payment by Monday, December 21. What date works for you?"
    )
    assert c.session.state.step == "negotiate"
    assert not Promise.objects.exists()


def test_outbound_confirms_the_person_before_naming_the_debt(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk)
    assert c.greeting == (
        "Hello, this is Ava calling from Northwind Auto Finance. I'm an AI assistant, and this call is recorded. "
        "Am I speaking with Maria Lopez?"
    )
    assert c.say("No, wrong number") == "I'm sorry for the trouble. Have a good day, goodbye."
    assert c.ended.reason == "wrong_party"
    spoken = " ".join(TranscriptEntry.objects.filter(speaker="agent").values_list("text", flat=True))
    for word in ("balance", "1250", "owe", "overdue"):
        assert word not in spoken


def test_workflow_3_a_fee_waiver_goes_to_a_person_and_nothing_is_waived(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="outbound", customer_id=maria.pk)
    c.say("Yes, speaking")
    c.say("The last four are 0042")
    assert c.say("Can you waive the late fee?") == (
        "I've asked a specialist to review waiving the late fee; they'll confirm within two business days. "
        "Is there anything else I can help with?"
    )
    c.say("No. Bye")
    approval = Approval.objects.get()
    assert (approval.kind, approval.status, approval.payload, approval.confidence) == (
        "fee_waiver",
        "pending",
        {"fee": "late_fee", "amount": "35.00"},
        70,
    )
    assert approval.call_id == c.session.call_id
    assert approval.reasoning.startswith("The caller asked to waive the late fee.")
    assert Customer.objects.get(pk=maria.pk).balance == Decimal("1250.50")  # nothing executed


def test_a_settlement_below_the_floor_needs_approval(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("0042")
    reply = c.say("Could I settle for 600 dollars on Friday?")
    assert reply.startswith("I've asked a specialist to review your settlement offer")
    approval = Approval.objects.get()
    assert approval.payload == {"settlement_amount": "600.00", "balance": "1250.50", "due_date": "2026-11-27"}
    assert not Promise.objects.exists()


def test_roadside_confirms_the_vehicle_on_file_and_dispatches(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    assert c.greeting == (
        "You've reached Northwind Auto Finance roadside assistance. I'm an AI assistant, and this call is "
        "recorded. Hi Maria, is this about your Honda Civic?"
    )
    assert c.say("Yes") == "Thanks. Where are you right now, and what's going on with the car?"
    assert c.say("My battery is dead") == (
        "Where are you right now? The road, the nearest exit or cross street, and the city, please."
    )
    # Not an emergency: the battery specialist across the bay still outscores the tow truck next door.
    assert c.say("In the Safeway parking lot on Broadway in Oakland") == (
        "Let me confirm: in the Safeway parking lot on Broadway in Oakland, with a battery problem. Is that right?"
    )
    assert not Dispatch.objects.exists()  # nobody is sent before the caller says yes
    assert c.say("Yes") == (
        "Sam is on the way and should arrive in about twenty-seven minutes. Is there anything else I can help with?"
    )
    assert c.say("No, bye") == "Thank you, Maria. Take care, goodbye."
    dispatch = Dispatch.objects.get()
    assert (dispatch.call_id, dispatch.technician.name, dispatch.issue, dispatch.severity, dispatch.eta_minutes) == (
        c.session.call_id,
        "Sam Ortiz",
        "battery",
        "standard",
        27,
    )
    asked = " ".join(TranscriptEntry.objects.filter(speaker="agent").values_list("text", flat=True)).lower()
    assert "what vehicle" not in asked  # never asks for what is on file


def test_roadside_wrap_up_speaks_of_the_dispatch_not_an_account(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    c.say("I'm on I-880 near the Coliseum exit in Oakland and my battery is dead")
    c.say("Yes, that's right")
    assert c.say("Thanks") == "Is there anything else I can help with?"
    assert c.session.state.step == "wrap_up"
    reply = c.say("Can I ask you something?")
    assert reply == (
        "Sam is on the way. I can also connect you with a specialist. Is there anything else I can help with?"
    )
    assert "account" not in reply
    # Roadside's wrap-up offers no callback: the offline engine asks for none, so nothing is refused.
    assert c.say("Can you call me back tomorrow?") == reply
    assert not TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, name="schedule_callback").exists()
    assert not TraceEvent.objects.filter(kind=TraceKind.GUARDRAIL, name="tool_refused").exists()
    assert c.say("No, bye") == "Thank you, Maria. Take care, goodbye."
    assert c.ended.reason == "closed"


def test_no_offline_line_of_a_roadside_call_speaks_of_an_account(maria, technicians, converse):
    """The roadside closing is its own: "wrap_up" is a step name both workflows have, and each words it."""
    c = converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=maria.pk)
    for text in ("Yes", "I'm on I-880 near the Coliseum exit in Oakland and my battery is dead", "Yes", "Thanks"):
        c.say(text)
    assert c.session.state.step == "wrap_up"
    closing = [c.say("Can I ask you something?"), c.say("And one more thing?"), c.say("No, bye")]
    assert closing == [
        "Sam is on the way. I can also connect you with a specialist. Is there anything else I can help with?",
        "Sam is on the way. I can also connect you with a specialist. Is there anything else I can help with?",
        "Thank you, Maria. Take care, goodbye.",
    ]
    said = TranscriptEntry.objects.filter(call_id=c.session.call_id, speaker="agent").values_list("text", flat=True)
    assert len(said) == 8  # the greeting and seven replies
    assert [line for line in said if "account" in line.lower()] == []


def test_collections_wrap_up_still_offers_help_with_the_account(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("I can pay 300 dollars on Friday")
    c.say("Yes")
    assert c.say("Can I ask you something?") == (
        "I can help with your account, or connect you with a specialist. Is there anything else?"
    )
    assert c.session.state.step == "wrap_up"


def test_roadside_emergency_prefers_the_specialist(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    c.say("I'm on I-880 near the Coliseum exit in Oakland and my battery is dead")
    assert c.say("Yes") == (
        "Sam is on the way, arriving in about twenty-seven minutes. Please stay somewhere safe, away from traffic. "
        "Anything else I can help with?"
    )
    assert Dispatch.objects.get().severity == "emergency"


def test_roadside_records_another_vehicle(maria, technicians, converse):
    c = converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert c.say("No, it's my wife's Toyota Camry") == (
        "Thanks. Where are you right now, and what's going on with the car?"
    )
    assert c.session.state.facts["vehicle"] == {"description": "Toyota Camry", "confirmed": True}


def test_an_unknown_caller_is_identified_by_account_number_and_name(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=None)
    assert c.greeting.endswith("What's your full name and account number, please?")
    assert c.say("My name is Maria Lopez, account 0040043") == (
        "I couldn't find that account. Could you give me the account number again, and your full name?"
    )
    reply = c.say("My name is Maria Lopez and my account number is ACC0040042")
    assert reply.startswith("Thanks, Maria. To verify your identity,")
    assert Call.objects.get(pk=c.session.call_id).customer == maria


def test_three_failed_verifications_hand_off(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("my zip is 10001")
    c.say("my zip is 10002")
    assert c.say("my zip is 10003") == (
        "I'm handing this conversation to a specialist, who will continue with you here."
    )
    assert c.handoff.reason == "identity could not be verified"
    assert Call.objects.get(pk=c.session.call_id).handoff_reason == "identity could not be verified"
    assert "balance" not in c.tokens


def test_asking_for_a_person_hands_off_with_a_summary(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("94607")
    assert c.say("Can I talk to a real person?") == "I'll connect you with a specialist now. One moment, please."
    assert c.handoff.reason == "the caller asked for a person"
    assert c.handoff.summary == (
        "collections call, step account_review; caller Maria Lopez; the account was found, now verify_identity; "
        "identity verified, now account_review"
    )


def test_repeated_misunderstanding_hands_off(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("what?")
    c.say("huh?")
    c.say("sorry?")
    assert c.handoff.reason == "repeated misunderstanding"


def test_stop_calling_me_adds_the_customer_to_do_not_call(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk)
    assert c.say("Stop calling me.") == (
        "Understood. I've added your number to our do-not-call list, and we won't call you again. Goodbye."
    )
    assert Customer.objects.get(pk=maria.pk).do_not_call is True
    assert DoNotCallEntry.objects.get().phone == maria.phone
    assert c.ended.reason == "the caller opted out"


def test_a_conversation_resumes_from_the_database(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("0042")
    c.say("I can pay 300 on Friday")
    # A new process: nothing but the call id survives.
    resumed = async_to_sync(AgentSession.resume)(c.session.call_id)
    assert (resumed.state.step, CollectionsFacts.of(resumed.state).plan["amount"]) == ("confirm_promise", "300.00")

    async def say(text):
        events = [event async for event in resumed.reply(text)]
        await resumed.flush()
        return events

    async_to_sync(say)("yes")
    assert Promise.objects.get().amount == Decimal("300.00")
    assert TranscriptEntry.objects.filter(call_id=c.session.call_id).count() == 7


def test_the_version_changes_when_the_definition_does():
    collections = get_workflow("collections")
    assert len(collections.version) == 16
    assert collections.version == get_workflow("collections").version
    assert collections.version != get_workflow("roadside").version


def test_the_version_covers_the_offline_wording():
    roadside = get_workflow("roadside")
    steps = tuple(replace(step, say=None) if step.name == "wrap_up" else step for step in roadside.steps)
    assert replace(roadside, steps=steps).version != roadside.version


def test_customers_of_other_currencies_hear_their_currency(converse, live_db):
    customer = CustomerFactory(
        name="Oliver Bennett", currency="GBP", timezone="Europe/London", balance=Decimal("800.00"),
        profile={"zip": "SW1A 2AA"},
    )  # fmt: skip
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=customer.pk)
    c.say(f"The last four are {customer.account_number[-4:]}")
    assert "eight hundred pounds" in c.session.state.history[-1]["content"]


def test_a_caller_opening_conversation_after_conversation_is_handed_to_a_person(maria, converse, settings):
    settings.AGENT_CONVERSATIONS_PER_HOUR = 2
    for _ in range(2):
        assert (
            converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=maria.pk).handoff is None
        )
    third = converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert third.handoff.reason == "conversation rate limit reached"
    assert third.greeting == "I'm handing this conversation to a specialist, who will continue with you here."


def test_too_many_turns_in_a_minute_hand_off(maria, converse, settings):
    settings.AGENT_TURNS_PER_MINUTE = 3
    settings.AGENT_MAX_MISUNDERSTANDINGS = 10
    c = converse(workflow="roadside", channel="web_chat", direction="inbound", customer_id=maria.pk)
    for text in ("hello", "hello", "hello"):
        c.say(text)
    assert c.handoff is None
    c.say("hello")
    assert c.handoff.reason == "turn rate limit reached"


def test_the_approval_tool_reports_success(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("0042")
    c.say("Please waive the late fee")
    trace = TraceEvent.objects.get(kind=TraceKind.TOOL_CALL, name="request_approval")
    assert trace.ok is True
    assert trace.payload["result"]["status"] == "ok"
    assert trace.payload["result"]["approval_status"] == "pending"


def test_no_technician_within_reach_hands_off_to_a_person(maria, converse):
    from tests.factories import TechnicianFactory

    TechnicianFactory(name="Far Away", latitude=Decimal("40.7128"), longitude=Decimal("-74.0060"))  # New York
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("yes")
    c.say("I'm on I-880 near the Coliseum exit in Oakland and my battery is dead")
    assert c.say("Yes, that's right") == "I'll connect you with a specialist now. One moment, please."
    assert c.handoff.reason == "no technician is free nearby"
    assert Dispatch.objects.get().status == "no_technician"


def test_an_interruption_keeps_what_was_heard_without_a_second_turn_record(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("94607")

    async def cut():
        await c.session.interrupted("Your balance is one thousand")
        await c.session.flush()

    async_to_sync(cut)()
    last = TranscriptEntry.objects.filter(speaker="agent").order_by("sequence").last()
    assert (last.text, last.interrupted) == ("Your balance is one thousand", True)
    assert c.session.state.history[-1]["content"] == "Your balance is one thousand"
    assert TraceEvent.objects.filter(kind=TraceKind.TURN).count() == 1


def test_an_account_that_is_not_overdue_is_said_so(converse, live_db):
    customer = CustomerFactory(name="Brandon Scott", balance=Decimal("69.29"), days_overdue=0, profile={"zip": "89101"})
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=customer.pk)
    assert c.say("My zip is 89101") == (
        "Your balance is sixty-nine dollars and twenty-nine cents, not yet past due. Can you pay in full, or "
        "prefer a plan?"
    )
    assert c.say("I can pay 200 dollars on Friday") == (
        "So that's sixty-nine dollars and twenty-nine cents, your balance in full, on Friday, November "
        "twenty-seventh. Is that right?"
    )


def test_every_transcript_line_reaches_the_calls_live_monitors(maria):
    from tests.layers import GroupListener

    session = async_to_sync(AgentSession.start)(
        workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk
    )
    listener = GroupListener(f"call-{session.call_id}")

    async def conversation():
        async for _ in session.greet():
            pass
        async for _ in session.reply("My zip code is 94607"):
            pass
        await session.flush()

    async_to_sync(conversation)()
    try:
        received = listener.received()
    finally:
        listener.close()
    # One message per saved turn: the greeting, then the caller's line with the agent's answer.
    assert [(m["type"], m["call_id"], [(e["sequence"], e["speaker"]) for e in m["entries"]]) for m in received] == [
        ("transcript.appended", session.call_id, [(0, "agent")]),
        ("transcript.appended", session.call_id, [(1, "customer"), (2, "agent")]),
    ]
    assert received[1]["entries"][0]["text"] == "My zip code is 94607"
