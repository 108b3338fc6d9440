"""What the end of a conversation no telephony provider ends starts: its analysis.

A web chat or a simulated call ends when the agent closes it (its last turn's save ends the
call: calls.call_record_turn). That save and the call's analysis row are written in one
transaction, here, above both apps: the row is the analysis' once-only guard, and its task goes
after commit (a crash in between leaves the row pending, and the stalled sweep sends it).
Voice calls are ended by Twilio's status instead (apps/voice/lifecycle.py).
"""

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.agent.turn import Ports
from apps.analysis.services import analysis_queue
from apps.calls.models import Call, CallStatus, Channel
from apps.calls.services import MONITOR_GROUP, call_end_conversation, call_record_turn
from apps.core.effects import broadcast

# A chat nobody wrote in for this long was left (the tab closed, "New test call"): it is ended,
# and analysed, by the sweep. Its person could resume it until then.
IDLE_CHAT = timedelta(minutes=30)


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


def chats_close_idle(*, now: datetime | None = None) -> list[int]:
    """End the web chats left open and idle for IDLE_CHAT (beat, every 5 minutes): each is
    completed and its analysis queued, as if the agent had closed it. Returns their ids."""
    idle_since = (now or timezone.now()) - IDLE_CHAT
    closed = []
    for call_id in Call.objects.filter(
        channel=Channel.WEB_CHAT, status=CallStatus.IN_PROGRESS, updated_at__lt=idle_since
    ).values_list("pk", flat=True):
        with transaction.atomic():
            # Locked and read again: a chat that spoke since the query above is not idle.
            if not Call.objects.select_for_update().filter(pk=call_id, updated_at__lt=idle_since).exists():
                continue
            call_end_conversation(call_id=call_id)
            analysis_queue(call_id=call_id)
            broadcast(MONITOR_GROUP, {"type": "call.ended", "call_id": call_id})
        closed.append(call_id)
    return closed
