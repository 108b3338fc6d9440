"""What the end of a conversation no telephony provider ends starts: its analysis.

A web chat or a simulated call ends when the agent closes it (its last turn's save ends the
call: calls.call_record_turn). That save and the call's analysis row are written in one
transaction, here, above both apps: the row is the analysis' once-only guard, and its task goes
after commit (a crash in between leaves the row pending, and the stalled sweep sends it).
Voice calls are ended by Twilio's status instead (apps/voice/lifecycle.py).
"""

from typing import Any

from django.db import transaction

from apps.agent.turn import Ports
from apps.analysis.services import analysis_queue
from apps.calls.services import call_record_turn


@transaction.atomic
def conversation_record_turn(**record: Any) -> dict[str, Any] | None:
    """`call_record_turn`, and when the turn ended the conversation, its analysis queued."""
    message = call_record_turn(**record)
    if record.get("ended"):
        analysis_queue(call_id=record["call_id"])
    return message


def conversation_ports() -> Ports:
    """The real ports, with this module's turn write: what a chat or a simulation runs on."""
    return Ports(record_turn=conversation_record_turn)
