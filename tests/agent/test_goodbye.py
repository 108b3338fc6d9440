"""An explicit goodbye closes the call from any step of any workflow, like any completed call: the
agent says goodbye, the session ends, nobody is handed the call. What the step must still do
first (a yes to the terms read back records them) is done first; before verification nothing
about the account is said."""

from decimal import Decimal

import pytest

from apps.agent.state import CallFacts, ConversationState
from apps.agent.workflows import get_workflow
from apps.calls.models import Call, TraceEvent, TraceKind, TranscriptEntry
from apps.dispatch.models import Dispatch
from apps.promises.models import Promise

GOODBYE = "Thank you, Maria. Take care, goodbye."


def tools_called(call_id: int) -> list[str]:
    return list(TraceEvent.objects.filter(call_id=call_id, kind=TraceKind.TOOL_CALL).values_list("name", flat=True))


def assert_closed(c, step_before: str) -> None:
    assert c.ended.reason == "closed"
    assert c.handoff is None
    call = Call.objects.get(pk=c.session.call_id)
    assert (call.status, call.current_step, call.handoff_reason) == ("completed", "closed", "")
    change = TraceEvent.objects.filter(call=call, kind=TraceKind.STEP_CHANGE).order_by("id").last()
    assert change.payload == {"from": step_before, "to": "closed", "reason": "the caller said goodbye"}


def test_an_unverified_caller_who_says_goodbye_is_let_go(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    assert c.say("No, that's all. Goodbye") == GOODBYE
    assert_closed(c, "verify_identity")
    assert tools_called(c.session.call_id) == []  # nothing verified, nothing looked up
    said = " ".join(TranscriptEntry.objects.filter(speaker="agent").values_list("text", flat=True)).lower()
    assert not any(word in said for word in ("balance", "owe", "dollar", "past due"))
    assert c.say("Hello?") == ""  # the conversation is over
    assert c.events[-1].reason == "closed"


def test_goodbye_while_negotiating_closes(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("how much do I owe exactly?")
    assert c.say("No, that's all. Goodbye") == GOODBYE
    assert_closed(c, "negotiate")
    assert not Promise.objects.exists()


def test_yes_and_goodbye_to_the_read_back_records_the_promise_then_closes(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("I can pay 300 dollars on Friday")
    assert c.say("Yes, that's right, bye") == (
        "You're all set: three hundred dollars on Friday, November twenty-seventh. Thank you, Maria. Take care, "
        "goodbye."
    )
    promise = Promise.objects.get()
    assert (promise.amount, promise.call_id) == (Decimal("300.00"), c.session.call_id)
    assert_closed(c, "wrap_up")
    assert tools_called(c.session.call_id) == ["verify_identity", "lookup_account", "propose_payment", "record_promise"]


def test_no_and_goodbye_to_the_read_back_records_nothing(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("I can pay 300 dollars on Friday")
    assert c.say("No. Bye") == GOODBYE
    assert not Promise.objects.exists()
    assert_closed(c, "negotiate")


def test_a_call_back_asked_with_a_goodbye_is_booked_and_told_first(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    assert c.say("Can you call me back on Monday? Bye") == (
        "I've scheduled a call back for Monday, November twenty-third. Is there anything else I can help with?"
    )
    assert c.ended is None
    assert c.say("No, bye") == GOODBYE
    assert c.ended.reason == "closed"
    assert tools_called(c.session.call_id) == ["verify_identity", "lookup_account", "schedule_callback"]


def test_outbound_goodbye_before_the_party_is_confirmed_says_nothing_of_the_account(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk)
    assert c.say("Bye") == GOODBYE
    assert_closed(c, "confirm_party")
    assert tools_called(c.session.call_id) == []


def test_in_wrap_up_goodbye_works_as_before(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("I can pay 300 dollars on Friday")
    c.say("Yes")
    assert c.say("No") == GOODBYE  # a plain no to "anything else?"
    assert c.ended.reason == "closed"


def test_a_yes_that_sounds_like_the_end_is_no_goodbye(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    assert c.say("Yes, that's it") == "Thanks. Where are you right now, and what's going on with the car?"
    assert c.ended is None


def test_roadside_goodbye_before_anything_is_sent(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    assert c.say("Never mind, I got it started. Bye") == GOODBYE
    assert_closed(c, "collect_incident")
    assert not Dispatch.objects.exists()


def test_roadside_yes_and_goodbye_to_the_read_back_sends_the_technician_and_says_so(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    c.say("I'm on I-880 near the Coliseum exit in Oakland and my battery is dead")
    assert c.say("Yes, that's right. Thanks, bye") == (
        "Sam is on the way, arriving in about twenty-seven minutes. Thank you, Maria. Take care, goodbye."
    )
    assert Dispatch.objects.get().technician.name == "Sam Ortiz"
    assert_closed(c, "inform_eta")


def test_the_llm_is_not_asked_once_the_caller_said_goodbye(maria, converse, fake_llm):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    assert c.say("No, that's all. Goodbye") == GOODBYE
    assert fake_llm.requests == []
    assert_closed(c, "verify_identity")


@pytest.mark.parametrize("workflow", ["collections", "roadside"])
def test_every_step_but_a_terminal_one_closes_on_goodbye_after_its_own_transitions_and_required_tools(workflow):
    definition = get_workflow(workflow)
    closing = []
    for step in definition.steps:
        state = ConversationState(
            workflow=workflow, version=definition.version, step=step.name, channel="voice", direction="inbound"
        )
        own = definition.next_step(state)
        CallFacts.of(state).said_goodbye = True
        transition = definition.next_step(state)
        if step.terminal:
            assert transition is None, step.name
        elif own is not None:
            assert transition == own, step.name  # the step's own transitions first
        elif definition.pending_required(state):
            assert transition is None, step.name  # e.g. the account is looked up first
        else:
            assert (transition.to, transition.reason) == ("closed", "the caller said goodbye"), step.name
            closing.append(step.name)
    expected = {
        "collections": ["identify", "confirm_party", "verify_identity", "negotiate", "wrap_up"],
        "roadside": ["identify", "confirm_vehicle", "collect_incident", "inform_eta", "wrap_up"],
    }
    assert closing == expected[workflow]
