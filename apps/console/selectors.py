"""What the console's pages and live updates read. Reads only: every change goes through the
services of the app that owns the rows."""

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.agent.monitor import call_changed
from apps.analysis.models import CallAnalysis
from apps.approvals.models import Approval, ApprovalStatus
from apps.calls.models import Call, TraceEvent, TranscriptEntry
from apps.calls.selectors import calls_live
from apps.calls.services import WATCHED_TRACES

EXCERPT_LINES = 6
PENDING_SHOWN = 100


def nav_counts() -> dict[str, int]:
    """The counts beside the navigation: approvals waiting, calls live now, analyses to review."""
    return {
        "approvals": Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__gt=timezone.now()).count(),
        "live": calls_live().filter(Q(state__ended=False) | Q(state__ended__isnull=True)).count(),
        "reviews": CallAnalysis.objects.filter(needs_review=True, reviewed_at__isnull=True).count(),
    }


# --- live monitor ------------------------------------------------------------------------------


def _summary(call: Call) -> dict[str, Any]:
    # A voice call whose conversation has not begun has no state yet: what the call row knows.
    state = {
        "workflow": call.workflow_name,
        "step": call.current_step,
        "channel": call.channel,
        "direction": call.direction,
        "test": call.is_test,
        **(call.state or {}),
    }
    customer = call.customer.name if call.customer_id else ""
    started = call.started_at.isoformat() if call.started_at else None
    return call_changed(call_id=call.pk, state=state, customer=customer, started_at=started)


def monitor_calls() -> list[dict[str, Any]]:
    """The conversations live now, oldest first, as the monitor shows them (the same shape as the
    `call.changed` message each saved turn sends)."""
    calls = calls_live().select_related("customer").order_by("started_at", "id")
    return [summary for summary in map(_summary, calls) if summary["live"]]


# --- calls -------------------------------------------------------------------------------------


def calls_recent(*, limit: int = 50) -> QuerySet[Call]:
    return Call.objects.select_related("customer").order_by("-started_at", "-id")[:limit]


def call_detail(call_id: int) -> Call | None:
    return Call.objects.select_related("customer").filter(pk=call_id).first()


def call_lines(call_id: int, *, after: int = -1) -> list[TranscriptEntry]:
    """A call's transcript after sequence `after`, and any earlier line corrected since it was
    first sent (an interrupted reply cut to what was heard, a card number redacted)."""
    entries = TranscriptEntry.objects.filter(call_id=call_id)
    if after >= 0:
        entries = entries.filter(Q(sequence__gt=after) | Q(interrupted=True) | Q(redacted=True))
    return list(entries.order_by("sequence"))


def call_events(call_id: int, *, after: int = 0) -> list[TraceEvent]:
    """What a call's watchers see besides its lines: tool calls, guardrail hits, step changes and
    would-be effects of a test call, after the trace event `after`."""
    return list(
        TraceEvent.objects.filter(call_id=call_id, kind__in=WATCHED_TRACES, pk__gt=after)
        .only("id", "kind", "name", "ok", "at")
        .order_by("at", "id")
    )


# --- approvals ---------------------------------------------------------------------------------


def _with_excerpts(approvals: list[Approval]) -> list[Approval]:
    """Give each approval `excerpt`: the last lines of its call before it was requested."""
    call_ids = {approval.call_id for approval in approvals if approval.call_id}
    lines: dict[int, list[TranscriptEntry]] = defaultdict(list)
    for entry in TranscriptEntry.objects.filter(call_id__in=call_ids).order_by("call_id", "sequence"):
        lines[entry.call_id].append(entry)
    for approval in approvals:
        before = [entry for entry in lines.get(approval.call_id, []) if entry.spoken_at <= approval.created_at]
        approval.excerpt = before[-EXCERPT_LINES:]
    return approvals


def approvals_pending(*, now: datetime | None = None) -> list[Approval]:
    """Approvals waiting for a person, oldest first (expired ones are no longer decidable)."""
    now = now or timezone.now()
    pending = (
        Approval.objects.filter(status=ApprovalStatus.PENDING, expires_at__gt=now)
        .select_related("customer", "call")
        .order_by("created_at", "id")[:PENDING_SHOWN]
    )
    return _with_excerpts(list(pending))


def approval_card(approval_id: int) -> Approval | None:
    approval = Approval.objects.select_related("customer", "call").filter(pk=approval_id).first()
    return _with_excerpts([approval])[0] if approval else None
