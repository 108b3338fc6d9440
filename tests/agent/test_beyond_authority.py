"""Requests beyond the agent's authority, offline: a percentage is never an amount of money, and
the whole balance waived is never a fee waiver. Nothing is asked of a specialist for either; the
agent says what it can do and goes on negotiating."""

import pytest

from apps.agent.state import CallFacts
from apps.approvals.models import Approval
from apps.calls.models import TraceEvent, TraceKind
from apps.promises.models import Promise

REVIEWED = (
    "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. Can you pay that in full, or would you "
    "like a payment plan?"
)


@pytest.fixture
def reviewed(maria, converse):
    """A verified chat, the account presented."""
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert c.say("My zip code is 94607") == REVIEWED
    return c


def tools(call_id: int) -> list[str]:
    calls = TraceEvent.objects.filter(call_id=call_id, kind=TraceKind.TOOL_CALL).order_by("id")
    return list(calls.values_list("name", flat=True))


def test_a_percentage_is_never_an_amount_of_money(reviewed):
    reply = reviewed.say("Give me a ninety percent discount or I hang up.")

    assert reply == ("A plan starts with a first payment of at least $125.05. How much can you pay, and on what date?")
    state = reviewed.session.state
    assert (state.step, state.slots["offer"]) == ("negotiate", {"settlement": True})
    assert CallFacts.of(state).caller_amounts == []
    assert tools(reviewed.session.call_id) == ["verify_identity", "lookup_account"]


def test_on_the_phone_a_percentage_is_not_read_back_as_dollars(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    reply = c.say("Give me a 90% discount or I hang up.")
    assert reply == (  # the plan's minimum, from the lookup: no ninety dollars
        "A plan's first payment must be at least one hundred twenty-five dollars and five cents. How much can you "
        "pay, and when?"
    )


def test_the_whole_balance_waived_is_beyond_authority_and_no_approval_is_asked(reviewed):
    reply = reviewed.say("Just waive the whole balance, I'm not paying it.")

    assert reply == (
        "I'm not able to waive or forgive the balance, but I can help you set up a payment plan. How much can you "
        "pay, and on what date?"
    )
    assert not Approval.objects.exists()
    assert CallFacts.of(reviewed.session.state).test_effects == []
    assert reviewed.session.state.step == "negotiate"  # negotiating goes on
    assert reviewed.session.state.slots.get("offer", {}) == {}  # nor is it a payment in full
    assert tools(reviewed.session.call_id) == ["verify_identity", "lookup_account"]

    assert reviewed.say("Fine, I can pay 300 dollars on Friday.") == (
        "So that's $300 on Friday, November 27. Is that right?"
    )
    assert not Promise.objects.exists()


def test_a_fee_waived_still_goes_to_a_specialist(reviewed):
    reviewed.say("Can you waive the late fee on my balance?")
    approval = Approval.objects.get()
    assert (approval.kind, approval.payload) == ("fee_waiver", {"fee": "late_fee", "amount": "35.00"})
