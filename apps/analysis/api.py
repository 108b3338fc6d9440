"""A call's detail through the API: `GET /api/v1/calls/{id}`, the call with its transcript and its
analysis. Mounted at /calls beside the calls app's router (contactcenter/api.py): it lives here,
above the calls app, because it reads the analysis; the calls app never reaches up for it.

Its operation id is the one it had when the calls app served it, so the OpenAPI schema (and any
client generated from it) is unchanged by the move.
"""

from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema

from apps.accounts.api_auth import require
from apps.analysis.selectors import call_detail
from apps.calls.schemas import CallOut, TranscriptEntryOut

router = Router(tags=["calls"])


class CallAnalysisOut(Schema):
    status: str
    analyzer: str
    sentiment: str
    sentiment_score: float | None
    intent: str
    summary: str
    promise: dict[str, Any]
    next_action: dict[str, Any]
    confidence: int | None
    needs_review: bool
    updated_at: datetime


class CallDetailOut(CallOut):
    transcript: list[TranscriptEntryOut]
    analysis: CallAnalysisOut | None

    @staticmethod
    def resolve_transcript(call) -> list:
        return list(call.transcript.all())

    @staticmethod
    def resolve_analysis(call):
        return getattr(call, "analysis", None)


@router.get(
    "/{int:call_id}", response=CallDetailOut, auth=require("calls.view_call"), operation_id="apps_calls_api_get_call"
)
def get_call(request: HttpRequest, call_id: int):
    call = call_detail(call_id=call_id)
    if call is None:
        raise Http404(f"No call with id {call_id}.")
    return call
