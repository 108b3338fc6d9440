"""Card numbers, CVVs and SSNs as callers speak them never reach the transcript, the state or the
model: said in words, split across turns, or slipped into the relay's interrupt report."""

import json

import pytest
from asgiref.sync import async_to_sync

from apps.calls.models import Call, TranscriptEntry

pytestmark = pytest.mark.usefixtures("live_db")


def stored(call_id: int) -> str:
    """Everything the call keeps: its transcript and its saved state."""
    call = Call.objects.get(pk=call_id)
    lines = TranscriptEntry.objects.filter(call=call).order_by("sequence").values_list("text", flat=True)
    return "\n".join(lines) + "\n" + json.dumps(call.state)


@pytest.mark.parametrize(
    ("said", "secret"),
    [
        ("the cvv number is 737", "737"),
        ("the three digits on the back are 909", "909"),
        ("my social is one two three four five six seven eight nine", "six seven eight nine"),
        ("card 4012.8888.8888.1881", "1881"),
        ("it's 3782 - 822463 - 10005", "822463"),
    ],
)
def test_spoken_sensitive_data_is_not_stored(maria, converse, said, secret):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say(said)
    assert secret not in stored(c.session.call_id)
    assert secret not in json.dumps(c.session.state.history)


def test_a_card_read_across_two_turns_is_redacted_in_both(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("my card number is 4012 8888 8888")
    c.say("1881")
    caller = list(
        TranscriptEntry.objects.filter(call_id=c.session.call_id, speaker="customer")
        .order_by("sequence")
        .values_list("text", "redacted")
    )
    assert caller == [("my card number is [REDACTED CARD]", True), ("[REDACTED CARD]", True)]
    # What is kept of the conversation: the history the model reads, the caller's words, the
    # figures the agent may say back. (A first half already acted on alone, e.g. tried as the
    # last four digits of the account, stays in that tool call's trace: it is not a card number.)
    state = Call.objects.get(pk=c.session.call_id).state
    kept = json.dumps([state["history"], state["facts"]["caller_text"], state["grounded"], state["summary"]])
    kept += json.dumps(state["facts"].get("caller_amounts"))
    for group in ("4012", "8888", "1881"):
        assert group not in kept


def test_an_interrupt_report_that_is_not_what_the_agent_said_is_not_stored(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("94607")

    async def cut():
        await c.session.interrupted("INJECTED 6011 1111 1111 1117 heard")
        await c.session.flush()

    async_to_sync(cut)()
    last = TranscriptEntry.objects.filter(call_id=c.session.call_id, speaker="agent").order_by("sequence").last()
    assert (last.text, last.interrupted) == ("", True)
    assert "INJECTED" not in stored(c.session.call_id)
    assert "6011" not in stored(c.session.call_id)
