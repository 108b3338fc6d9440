from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.analysis.models import CallAnalysis, ReviewCorrection
from apps.analysis.services import analysis_request
from apps.calls.admin import CallAdmin, TraceInline, TranscriptInline
from apps.calls.models import Call
from apps.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin, flat, pretty_json, run_each
from apps.promises.admin import CallPromiseInline

_DISPLAY_FIELDS = (
    "status",
    "analyzer",
    ("sentiment", "sentiment_score"),
    "intent",
    "summary",
    "confidence",
    "promise_json",
    "next_action_json",
    "field_confidence_json",
    "rule_overrides_json",
    ("needs_review", "review_fields"),
    ("reviewed_by", "reviewed_at"),
    "meaningful_reason",
    "error",
)


class _JsonDisplays:
    @admin.display(description="promise")
    def promise_json(self, analysis: CallAnalysis) -> str:
        return pretty_json(analysis.promise)

    @admin.display(description="next action")
    def next_action_json(self, analysis: CallAnalysis) -> str:
        return pretty_json(analysis.next_action)

    @admin.display(description="per-field confidence")
    def field_confidence_json(self, analysis: CallAnalysis) -> str:
        return pretty_json(analysis.field_confidence)

    @admin.display(description="business rules applied")
    def rule_overrides_json(self, analysis: CallAnalysis) -> str:
        return pretty_json(analysis.rule_overrides)


class CallAnalysisInline(_JsonDisplays, ReadOnlyAdminMixin, admin.StackedInline):
    model = CallAnalysis
    fields = _DISPLAY_FIELDS
    readonly_fields = flat(_DISPLAY_FIELDS)
    extra = 0


@admin.register(CallAnalysis)
class CallAnalysisAdmin(_JsonDisplays, AuditedModelAdmin):
    list_display = ("call", "status", "sentiment", "intent", "confidence", "needs_review", "analyzer", "updated_at")
    list_filter = ("status", "sentiment", "needs_review", "analyzer")
    search_fields = ("summary", "intent", "call__twilio_call_sid", "call__customer__name")
    date_hierarchy = "created_at"
    list_select_related = ("call__customer",)
    fields = ("call", *_DISPLAY_FIELDS, ("created_at", "updated_at"))
    readonly_fields = ("call", *flat(_DISPLAY_FIELDS), "created_at", "updated_at")
    actions = ("rerun",)

    # Analyses come from the post-call pipeline; reviews are recorded through it too.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.action(description="Re-run the analysis of the selected calls", permissions=["rerun"])
    def rerun(self, request: HttpRequest, queryset: QuerySet[CallAnalysis]) -> None:
        run_each(
            self,
            request,
            queryset.order_by("call_id").values_list("call_id", flat=True),
            lambda call_id: analysis_request(call_id=call_id, actor=request.user),
            done=lambda n: f"Queued {n} analys{'es' if n != 1 else 'is'}; the results update in place.",
            refused_as="queued",
        )

    def has_rerun_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("analysis.rerun_callanalysis")


@admin.register(ReviewCorrection)
class ReviewCorrectionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The labelled examples reviews leave: made only by a review in the console, never by hand."""

    list_display = ("analysis", "field", "ai_shown", "human_shown", "confirmed", "reviewed_by", "created_at")
    list_filter = ("field", "confirmed", "analyzer")
    search_fields = ("field", "analysis__call__customer__name", "reviewed_by__username")
    date_hierarchy = "created_at"
    list_select_related = ("analysis", "reviewed_by")
    fields = (
        "analysis",
        "field",
        ("ai_shown", "confidence", "analyzer"),
        ("human_shown", "confirmed"),
        ("reviewed_by", "created_at"),
    )
    readonly_fields = flat(fields)

    @admin.display(description="AI value")
    def ai_shown(self, correction: ReviewCorrection) -> str:
        return "none" if correction.ai_value is None else str(correction.ai_value)

    @admin.display(description="human value")
    def human_shown(self, correction: ReviewCorrection) -> str:
        return "none" if correction.human_value is None else str(correction.human_value)


# --- the call page ----------------------------------------------------------------------------
# Composed here, above every app it shows (calls, promises, analysis): the call's own admin with
# its analysis and its promises inline.


@admin.register(Call)
class CallPageAdmin(CallAdmin):
    inlines = (TranscriptInline, CallAnalysisInline, CallPromiseInline, TraceInline)
