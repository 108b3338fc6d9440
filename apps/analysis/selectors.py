"""Reads of calls together with their analysis (the calls app knows nothing of analyses)."""

from apps.calls.models import Call


def call_detail(*, call_id: int) -> Call | None:
    """A call with its transcript and analysis loaded in the same round trips."""
    return Call.objects.select_related("analysis").prefetch_related("transcript").filter(pk=call_id).first()
