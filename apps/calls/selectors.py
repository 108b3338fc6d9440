from datetime import datetime
from typing import NamedTuple

from django.db.models import QuerySet

from apps.calls.models import TERMINAL_STATUSES, Call


def calls_list(
    *,
    customer_id: int | None = None,
    status: str = "",
    direction: str = "",
    channel: str = "",
    is_test: bool | None = None,
) -> QuerySet[Call]:
    calls = Call.objects.all()
    if customer_id is not None:
        calls = calls.filter(customer_id=customer_id)
    if status:
        calls = calls.filter(status=status)
    if direction:
        calls = calls.filter(direction=direction)
    if channel:
        calls = calls.filter(channel=channel)
    if is_test is not None:
        calls = calls.filter(is_test=is_test)
    return calls.order_by("-started_at", "-id")


class StoredConversation(NamedTuple):
    state: dict
    started_at: datetime | None


def call_state(*, call_id: int) -> StoredConversation:
    """The conversation state a call was last saved with (to resume it), and when the call began;
    Call.DoesNotExist if none."""
    return StoredConversation(*Call.objects.values_list("state", "started_at").get(pk=call_id))


def calls_live() -> QuerySet[Call]:
    """Calls with a conversation going on now: started, not over by Twilio's word (an inbound call
    is often still "ringing" by it while the agent talks: Twilio reports only its end). Whether the
    conversation itself ended is in each call's state."""
    return Call.objects.exclude(status__in=TERMINAL_STATUSES).filter(started_at__isnull=False).exclude(workflow_name="")
