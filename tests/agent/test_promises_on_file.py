"""lookup_account tells a current promise (due today or later, in the customer's time zone) from a
missed one (still open, its date past), and the agent never presents a missed one as current."""

from datetime import date
from decimal import Decimal

from apps.agent.workflows.collections.facts import CollectionsFacts
from apps.calls.models import TraceEvent, TraceKind
from tests.factories import CustomerFactory, PromiseFactory

# The conftest's clock: Saturday, November 21, 2026, 9:00 in Oakland (17:00 UTC).
TODAY = date(2026, 11, 21)


def looked_up(c) -> dict:
    return TraceEvent.objects.get(kind=TraceKind.TOOL_CALL, name="lookup_account").payload["result"]


def test_a_promise_whose_date_passed_is_missed_not_active(maria, converse):
    PromiseFactory(customer=maria, amount=Decimal("1025.00"), due_date=date(2026, 11, 5), status="pending")
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert c.say("My zip code is 94607") == (
        "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. We haven't received the $1,025 "
        "promised for Thursday, November 5. Can you pay that in full, or would you like a payment plan?"
    )
    result = looked_up(c)
    assert (result["active_promise"], result["missed_promise"]) == (
        None,
        {"amount": "1025.00", "due_date": "2026-11-05", "status": "pending"},
    )
    assert CollectionsFacts.of(c.session.state).account["missed_promise"] == result["missed_promise"]


def test_on_the_phone_the_missed_promise_is_said_within_the_words_of_a_reply(maria, converse):
    PromiseFactory(customer=maria, amount=Decimal("1025.00"), due_date=date(2026, 11, 5), status="pending")
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    reply = c.say("My zip code is 94607")
    assert reply == (
        "Your balance is one thousand two hundred fifty dollars and fifty cents. We haven't received the one "
        "thousand twenty-five dollars promised for Thursday, November fifth."
    )
    assert len(reply.split()) == 25
    # No room for the question there: negotiating asks it next, whatever the caller answers.
    assert c.say("Oh, I forgot about that.") == (
        "A plan's first payment must be at least one hundred twenty-five dollars and five cents. How much can you "
        "pay, and when?"
    )


def test_a_promise_due_today_is_still_current(maria, converse):
    PromiseFactory(customer=maria, amount=Decimal("300.00"), due_date=TODAY)
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert c.say("My zip code is 94607") == (
        "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. You have $300 promised for Saturday, "
        "November 21. Can you pay that in full, or would you like a payment plan?"
    )
    result = looked_up(c)
    assert (result["active_promise"], result["missed_promise"]) == (
        {"amount": "300.00", "due_date": "2026-11-21", "status": "pending"},
        None,
    )


def test_today_is_the_customers_today(converse, live_db):
    """At 17:00 UTC on November 21 it is already November 22 on Kiritimati (UTC+14): a promise due
    on the 21st was missed there."""
    customer = CustomerFactory(
        name="Tia Kaufusi", timezone="Pacific/Kiritimati", balance=Decimal("400.00"), days_overdue=10,
        profile={"zip": "96970"},
    )  # fmt: skip
    PromiseFactory(customer=customer, amount=Decimal("100.00"), due_date=TODAY)
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=customer.pk)
    assert c.say("My zip is 96970") == (
        "Thanks, Tia. Your balance is $400, and it's 10 days past due. We haven't received the $100 promised for "
        "Saturday, November 21. Can you pay that in full, or would you like a payment plan?"
    )
    assert looked_up(c)["missed_promise"] == {"amount": "100.00", "due_date": "2026-11-21", "status": "pending"}


def test_a_partly_paid_missed_promise_and_a_current_one_are_both_told_as_they_are(maria, converse):
    PromiseFactory(customer=maria, amount=Decimal("200.00"), due_date=date(2026, 11, 10), status="partially_kept")
    PromiseFactory(customer=maria, amount=Decimal("150.00"), due_date=date(2026, 11, 27))
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    assert c.say("My zip code is 94607") == (
        "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. The $200 promised for Tuesday, "
        "November 10 was only partly paid. You have $150 promised for Friday, November 27. Can you pay that in "
        "full, or would you like a payment plan?"
    )
    result = looked_up(c)
    assert (result["active_promise"]["due_date"], result["missed_promise"]["due_date"]) == (
        "2026-11-27",
        "2026-11-10",
    )
