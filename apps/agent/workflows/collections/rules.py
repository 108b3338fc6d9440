"""Collections' own rules: the business rules the prompt states, who may hear the record, what
happens when identity checks run out, and where a call goes when a system is down."""

from apps.agent.state import CallFacts
from apps.agent.state import ConversationState as S
from apps.agent.workflows.base import Action
from apps.agent.workflows.shared import CALLBACK_TOOL, hand_off_when_identity_fails, verified
from apps.promises.policy import POLICY

RULES = (
    *POLICY.describe(),
    "If the caller asks what they owe, say the balance exactly as lookup_account returned it, then go on with "
    "the step; before the lookup, say you can tell them once they are verified.",
    "A missed promise (its date has passed) is not current: say it was not received, never that it is due.",
    "Waiving or forgiving the whole balance is beyond anyone's authority here: never request approval for it; "
    "say you can't, and go on with the step.",
)

# Before the caller is verified, only their name is known to the conversation.
shows_record = verified

# The last identity check failed: a person takes over.
after_tool = hand_off_when_identity_fails


def call_back_instead(name: str, state: S) -> Action | None:
    """A system did not answer: never guess. Schedule a call back and wrap up; a person takes over
    when the caller is unknown or the call-back system is the one down."""
    if not CallFacts.of(state).customer_id or name == CALLBACK_TOOL:
        return None
    state.step, state.replies_in_step = "wrap_up", 0
    return (CALLBACK_TOOL, {"reason": f"Call back: {name} was unavailable during the call."})
