"""What a live conversation shows on the supervisors' monitor: who, which workflow and step, since
when, and the flags that call for a person's attention.

Built from the conversation's saved state, so that the message sent after each saved turn and the
monitor's catch-up from the database (apps/console) say the same thing.
"""

from typing import Any

from apps.agent.sentiment import sentiment_label, sentiment_score
from apps.agent.state import CALLER_ASKED_FOR_PERSON, REPEATED_MISUNDERSTANDING
from apps.calls.services import MONITOR_GROUP

__all__ = ["FLAG_LABELS", "MONITOR_GROUP", "call_changed", "call_flags", "sentiment_so_far"]

FLAG_LABELS = {
    "guardrail": "Guardrail hit",
    "misunderstood": "Repeated misunderstanding",
    "wants_person": "Asked for a person",
}


def call_flags(state: dict[str, Any]) -> list[str]:
    """The monitor's flags for a conversation in this saved state (keys of FLAG_LABELS)."""
    flags = []
    if state.get("guardrail_hits"):
        flags.append("guardrail")
    reason = (state.get("handoff") or {}).get("reason")
    if state.get("misunderstandings", 0) >= 2 or reason == REPEATED_MISUNDERSTANDING:
        flags.append("misunderstood")
    if reason == CALLER_ASKED_FOR_PERSON:
        flags.append("wants_person")
    return flags


def sentiment_so_far(state: dict[str, Any]) -> str:
    """How the caller sounds so far, from their words (CallFacts.caller_text); "" before they spoke."""
    said = (state.get("facts") or {}).get("caller_text", "")
    return sentiment_label(sentiment_score(said)) if said.strip() else ""


def call_changed(*, call_id: int, state: dict[str, Any], customer: str, started_at: str | None) -> dict[str, Any]:
    """The monitor group's message after a conversation's turn was saved (`live` False once it ended)."""
    return {
        "type": "call.changed",
        "call_id": call_id,
        "customer": customer,
        "workflow": state.get("workflow", ""),
        "step": state.get("step", ""),
        "channel": state.get("channel", ""),
        "direction": state.get("direction", ""),
        "started_at": started_at,
        "flags": call_flags(state),
        "sentiment": sentiment_so_far(state),
        "test": bool(state.get("test")),
        "live": not state.get("ended"),
    }
