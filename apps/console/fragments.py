"""The HTML pieces the console's pages and its live socket share: a page renders them in place,
the socket sends them as they change (static/console/console.js puts each where its id says)."""

import json
from functools import lru_cache
from typing import Any

from django.template.loader import render_to_string

from apps.approvals.models import Approval
from apps.calls.models import Speaker, TraceEvent, TranscriptEntry

SPEAKERS = dict(Speaker.choices)


def line(entry: TranscriptEntry) -> dict[str, Any]:
    """A stored transcript line in the shape the live messages carry (calls.transcript_message)."""
    return {
        "sequence": entry.sequence,
        "speaker": entry.speaker,
        "text": entry.text,
        "interrupted": entry.interrupted,
        "spoken_at": entry.spoken_at.isoformat(),
    }


def event(trace: TraceEvent) -> dict[str, Any]:
    return {"id": trace.pk, "kind": trace.kind, "name": trace.name, "ok": trace.ok, "at": trace.at.isoformat()}


def lines_html(call_id: int, lines: list[dict[str, Any]]) -> str:
    return render_to_string("console/_lines.html", {"call_id": call_id, "lines": lines, "speakers": SPEAKERS})


def events_html(call_id: int, events: list[dict[str, Any]]) -> str:
    return render_to_string("console/_events.html", {"call_id": call_id, "events": events})


def step_html(call_id: int, step: str) -> str:
    return render_to_string("console/_step.html", {"call_id": call_id, "step": step})


def monitor_rows_html(calls: list[dict[str, Any]]) -> str:
    return render_to_string("console/_monitor_rows.html", {"calls": calls})


def monitor_row_html(summary: dict[str, Any]) -> str:
    """One live call's row, drawn once per saved turn for every monitor on this process."""
    return _monitor_row(json.dumps(summary, sort_keys=True))


@lru_cache(maxsize=256)
def _monitor_row(summary: str) -> str:
    return monitor_rows_html([json.loads(summary)])


def approval_html(approval: Approval, *, can_decide: bool, error: str = "") -> str:
    context = {"approval": approval, "can_decide": can_decide, "error": error}
    return render_to_string("console/_approval.html", context)


def approvals_html(approvals: list[Approval], *, can_decide: bool) -> str:
    return render_to_string("console/_approvals.html", {"approvals": approvals, "can_decide": can_decide})
