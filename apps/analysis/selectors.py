"""Reads of calls together with their analysis (the calls app knows nothing of analyses)."""

from django.db.models import QuerySet

from apps.analysis.models import CallAnalysis
from apps.calls.models import Call

REVIEWS_SHOWN = 50


def call_detail(*, call_id: int) -> Call | None:
    """A call with its transcript and analysis loaded in the same round trips."""
    return Call.objects.select_related("analysis").prefetch_related("transcript").filter(pk=call_id).first()


def _for_review() -> QuerySet[CallAnalysis]:
    # The call's customer and transcript, and the labelled examples of a finished review.
    return CallAnalysis.objects.select_related("call__customer", "reviewed_by").prefetch_related(
        "call__transcript", "corrections"
    )


def analyses_to_review(*, limit: int = REVIEWS_SHOWN) -> list[CallAnalysis]:
    """The analyses waiting for a person's review, oldest first (at most `limit`)."""
    waiting = _for_review().filter(needs_review=True, reviewed_at__isnull=True).order_by("created_at", "id")
    return list(waiting[:limit])


def analysis_for_review(analysis_id: int) -> CallAnalysis | None:
    """One analysis as the review queue shows it, reviewed or not."""
    return _for_review().filter(pk=analysis_id).first()
