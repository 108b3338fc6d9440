"""What the live monitor shows of a conversation, from its saved state (apps/agent/monitor.py)."""

from apps.agent.monitor import call_changed


def test_flags_and_sentiment_come_from_the_saved_state():
    state = {
        "workflow": "collections",
        "step": "negotiate",
        "channel": "voice",
        "direction": "inbound",
        "guardrail_hits": 1,
        "misunderstandings": 2,
        "handoff": {"reason": "the caller asked for a person"},
        "facts": {"caller_text": "This is ridiculous, I can't pay, stop calling"},
        "ended": False,
    }
    summary = call_changed(call_id=7, state=state, customer="Maria Lopez", started_at="2026-12-07T10:00:00+00:00")
    assert summary == {
        "type": "call.changed",
        "call_id": 7,
        "customer": "Maria Lopez",
        "workflow": "collections",
        "step": "negotiate",
        "channel": "voice",
        "direction": "inbound",
        "started_at": "2026-12-07T10:00:00+00:00",
        "flags": ["guardrail", "misunderstood", "wants_person"],
        "sentiment": "negative",
        "test": False,
        "live": True,
    }


def test_a_quiet_conversation_has_no_flags_and_no_sentiment_yet():
    summary = call_changed(call_id=8, state={"ended": True}, customer="", started_at=None)
    assert (summary["flags"], summary["sentiment"], summary["live"]) == ([], "", False)
