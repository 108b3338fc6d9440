from datetime import date

import pytest

from apps.agent.grounding import ReplyGate, grounded_forms, make_checker, ungrounded

TODAY = date(2026, 11, 21)  # a Saturday
GROUNDED = set(
    grounded_forms({"balance": "1250.50", "days_overdue": 45, "due": "2026-11-27", "account_ending": "0042"})
)


@pytest.mark.parametrize(
    "text",
    [
        "Your balance is $1,250.50 and it's 45 days past due.",
        "Your balance is one thousand two hundred fifty dollars and fifty cents.",
        "That's due Friday, November 27.",
        "That's due Friday, November twenty-seventh.",
        "Your account ending 0042.",
        "I can set that up for today or tomorrow.",
        "There are two options.",
    ],
)
def test_grounded_figures_pass(text):
    assert ungrounded(text, GROUNDED, TODAY) == []


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("Your balance is $2,000.", "$2,000"),
        ("That will be twelve hundred dollars.", "twelve hundred dollars"),
        ("Your account ending 9999.", "9999"),
        ("It's 60 days overdue.", "60"),
    ],
)
def test_invented_figures_are_caught(text, raw):
    assert [f.raw for f in ungrounded(text, GROUNDED, TODAY)] == [raw]


def test_invented_dates_are_caught():
    assert [f.value for f in ungrounded("Pay by December 5.", GROUNDED, TODAY)] == ["2026-12-05"]


def feed_all(gate: ReplyGate, pieces: list[str]) -> str:
    out = "".join(gate.feed(piece) for piece in pieces)
    return out + gate.flush()


def test_the_gate_streams_plain_text_at_once():
    gate = ReplyGate(make_checker(GROUNDED, TODAY))
    assert gate.feed("Thanks, Maria. ") == "Thanks, Maria. "
    assert gate.feed("How can I ") == "How can I "
    assert gate.feed("help?") == ""  # a partial word may still grow into a figure
    assert gate.flush() == "help?"


def test_the_gate_holds_a_figure_until_its_sentence_is_checked():
    gate = ReplyGate(make_checker(GROUNDED, TODAY))
    assert gate.feed("Your balance is ") == "Your balance is "
    assert gate.feed("$1,250") == ""
    assert gate.feed(".50. Would you") == "$1,250.50. Would "
    assert gate.violation is None


def test_the_gate_drops_an_ungrounded_sentence_and_everything_after_it():
    gate = ReplyGate(make_checker(GROUNDED, TODAY))
    out = feed_all(gate, ["Thanks. ", "Your balance is ", "$2,000", ". Want ", "to pay?"])
    assert out == "Thanks. Your balance is "
    assert "2,000" not in out
    assert (gate.violation.kind, gate.violation.detail) == ("ungrounded_figure", "$2,000")


def test_the_gate_catches_a_commitment_split_across_chunks():
    gate = ReplyGate(make_checker(GROUNDED, TODAY))
    out = feed_all(gate, ["Good news, I've ", "wai", "ved your late fee. ", "Anything else?"])
    assert "waived" not in out
    assert gate.violation.kind == "commitment"


def test_the_gate_lets_an_honest_refusal_through():
    gate = ReplyGate(make_checker(GROUNDED, TODAY))
    text = "I can't waive it myself, but a specialist can review it. Anything else?"
    assert feed_all(gate, [text[:20], text[20:]]) == text


def test_emergency_numbers_may_always_be_said():
    assert ungrounded("If anyone is hurt, call 911 now.", set(), TODAY) == []
