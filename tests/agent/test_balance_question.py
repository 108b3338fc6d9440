"""A caller who asks what they owe hears the balance as lookup_account returned it, then the step's
question; before they are verified (and the account looked up) they hear no figure at all."""

import re

from apps.calls.models import TraceEvent, TraceKind
from apps.promises.models import Promise

BALANCE = "Your balance is one thousand two hundred fifty dollars and fifty cents."


def test_asked_while_negotiating_the_balance_is_said_then_the_question(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    assert c.session.state.step == "account_review"
    for question in ("how much do I owe exactly?", "what's my balance", "how much is it", "what do I owe"):
        assert c.say(question) == f"{BALANCE} How much can you pay, and on what date?"
    assert c.session.state.step == "negotiate"
    assert (c.handoff, c.ended) == (None, None)


def test_in_chat_the_balance_is_written(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    assert c.say("the exact amount") == "Your balance is $1,250.50. How much can you pay, and on what date?"


def test_asked_during_the_read_back_it_is_no_yes_and_the_terms_are_read_again(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("I can pay 300 dollars on Friday")
    assert c.say("how much do I owe exactly?") == (
        f"{BALANCE} So that's three hundred dollars on Friday, November twenty-seventh. Is that right?"
    )
    assert (c.session.state.step, Promise.objects.count()) == ("confirm_promise", 0)
    c.say("Yes")
    assert Promise.objects.count() == 1


def test_a_full_payment_read_back_keeps_within_the_words_of_a_phone_reply(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    assert c.say("I'll pay it in full on Friday") == (
        "So that's one thousand two hundred fifty dollars and fifty cents, your balance in full, on Friday, "
        "November twenty-seventh. Is that right?"
    )
    # The balance and the amount again would be 30 words: the amount is said once.
    assert (
        c.say("what's my balance?")
        == f"{BALANCE} You'll pay it in full on Friday, November twenty-seventh. Is that right?"
    )


def test_asked_after_the_promise_is_recorded(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("My zip code is 94607")
    c.say("I can pay 300 dollars on Friday")
    c.say("Yes")
    assert c.session.state.step == "wrap_up"
    assert c.say("And what do I owe?") == f"{BALANCE} Is there anything else I can help with?"
    assert c.say("No, thanks. Bye") == "Thank you, Maria. Take care, goodbye."


def test_before_verification_no_figure_is_said(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    reply = c.say("how much do I owe exactly?")
    assert reply == "I can tell you once you're verified. What's your ZIP code, or your account's last four digits?"
    assert not re.search(r"\d|dollar|hundred|thousand", reply)
    assert not TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL).exists()  # nothing was looked up
    assert c.session.state.step == "verify_identity"


def test_an_unknown_caller_hears_no_figure_either(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=None)
    assert c.say("What's my balance?") == (
        "I can tell you once I've found your account. What's your full name and account number, please?"
    )
