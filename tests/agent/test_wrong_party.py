"""Outbound, the agent asks for the customer by name before anything else. Whoever answers that
they are someone else ("this is her son", "she's out", "wrong number") is the wrong party: the
agent apologises and leaves, and nothing about the account is said or looked up."""

import pytest

from apps.calls.models import TraceEvent, TraceKind, TranscriptEntry

APOLOGY = "I'm sorry for the trouble. Have a good day, goodbye."


@pytest.mark.parametrize(
    "answer",
    [
        "This is her son, she's out.",
        "No, this is his roommate.",
        "I'm her husband, she's at work.",
        "Yes, this is her daughter.",
        "She's not home right now.",
        "He doesn't live here anymore.",
        "Wrong number.",
        "There's nobody here by that name.",
    ],
)
@pytest.mark.parametrize("channel", ["voice", "web_chat"])
def test_someone_else_on_the_line_is_the_wrong_party(maria, converse, channel, answer):
    c = converse(workflow="collections", channel=channel, direction="outbound", customer_id=maria.pk)

    assert c.say(answer) == APOLOGY

    assert c.ended.reason == "wrong_party"
    assert c.handoff is None
    changes = TraceEvent.objects.filter(call_id=c.session.call_id, kind=TraceKind.STEP_CHANGE)
    assert [change.payload["to"] for change in changes] == ["wrong_party"]
    assert not TraceEvent.objects.filter(call_id=c.session.call_id, kind=TraceKind.TOOL_CALL).exists()
    said = " ".join(TranscriptEntry.objects.filter(speaker="agent").values_list("text", flat=True)).lower()
    for word in ("balance", "1,250", "owe", "overdue", "past due", "debt"):
        assert word not in said


def test_the_customer_who_says_yes_goes_on_to_verification(maria, converse):
    c = converse(workflow="collections", channel="voice", direction="outbound", customer_id=maria.pk)
    assert c.say("Yes, speaking.") == (
        "Thanks, Maria. To verify your identity, what's your ZIP code, or your account's last four digits?"
    )
    assert c.session.state.step == "verify_identity"
