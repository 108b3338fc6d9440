from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from apps.calls.models import Call, TraceEvent, TranscriptEntry
from apps.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin, ReadOnlyInline, pretty_json, status_pill


class CustomerCallInline(ReadOnlyInline):
    model = Call
    fields = ("started_at", "direction", "channel", "status", "duration_seconds", "workflow_name", "handoff_reason")
    ordering = ("-started_at",)
    verbose_name_plural = "calls"


class TranscriptInline(ReadOnlyInline):
    model = TranscriptEntry
    fields = ("sequence", "speaker", "text", "spoken_at", "interrupted", "redacted")
    show_change_link = False


class TraceInline(ReadOnlyInline):
    model = TraceEvent
    fields = ("at", "turn", "kind", "name", "ok", "latency_ms", "prompt_tokens", "completion_tokens", "cost_usd")


# Registered, with the inlines of the apps above this one (a call's analysis and promises), by
# apps/analysis/admin.py: the page is composed where every app it shows may be imported.
class CallAdmin(AuditedModelAdmin):
    list_display = (
        "started_at",
        "customer",
        "direction",
        "channel",
        "status_badge",
        "duration_seconds",
        "answered_by",
        "workflow_name",
        "current_step",
        "handoff_reason",
        "is_test",
    )
    list_filter = ("direction", "channel", "status", "answered_by", "workflow_name", "is_test")
    search_fields = ("twilio_call_sid", "from_number", "to_number", "customer__name", "customer__account_number")
    date_hierarchy = "started_at"
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    # Supervisors may link a call to its customer and note why it was placed; everything
    # else belongs to Twilio or the agent.
    readonly_fields = (
        "twilio_call_sid",
        "channel",
        "direction",
        "status",
        "from_number",
        "to_number",
        "started_at",
        "answered_at",
        "ended_at",
        "duration_seconds",
        "answered_by",
        "workflow_name",
        "workflow_version",
        "current_step",
        "state_json",
        "handoff_reason",
        "error",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "is_test",
        "started_by",
        "test_effects",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("customer", "reason", ("is_test", "started_by"), "test_effects")}),
        (
            "Twilio",
            {
                "fields": (
                    "twilio_call_sid",
                    ("direction", "channel", "status"),
                    ("from_number", "to_number"),
                    ("started_at", "answered_at", "ended_at"),
                    ("duration_seconds", "answered_by"),
                    "error",
                )
            },
        ),
        (
            "Agent",
            {
                "fields": (
                    ("workflow_name", "workflow_version"),
                    "current_step",
                    "handoff_reason",
                    ("prompt_tokens", "completion_tokens", "cost_usd"),
                    "state_json",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines: tuple[type[admin.options.InlineModelAdmin], ...] = (TranscriptInline, TraceInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # calls come from Twilio and the web chat, never from a form

    @admin.display(description="status", ordering="status")
    def status_badge(self, call: Call) -> str:
        return status_pill(call.status, call.get_status_display())

    @admin.display(description="not done (test call)")
    def test_effects(self, call: Call) -> str:
        """What a test call would have done to real records, one line each."""
        effects = call.state.get("facts", {}).get("test_effects", []) if call.is_test else []
        lines = [
            ", ".join([effect.get("action", "?")] + [f"{k}: {v}" for k, v in effect.items() if k != "action"])
            for effect in effects
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines)) or "—"

    @admin.display(description="conversation state")
    def state_json(self, call: Call) -> str:
        return pretty_json(call.state)


@admin.register(TranscriptEntry)
class TranscriptEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("spoken_at", "call", "sequence", "speaker", "text", "interrupted", "redacted")
    list_filter = ("speaker", "interrupted", "redacted")
    search_fields = ("text", "call__twilio_call_sid", "call__customer__name")
    date_hierarchy = "spoken_at"
    list_select_related = ("call__customer",)
    show_full_result_count = False
    fields = ("call", "sequence", "speaker", "text", "spoken_at", "interrupted", "redacted")


@admin.register(TraceEvent)
class TraceEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "at",
        "call",
        "turn",
        "kind",
        "name",
        "ok",
        "latency_ms",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
    )
    list_filter = ("kind", "ok")
    search_fields = ("name", "call__twilio_call_sid")
    date_hierarchy = "at"
    list_select_related = ("call__customer",)
    show_full_result_count = False
    fields = (
        "call",
        "turn",
        "at",
        "kind",
        "name",
        "ok",
        "latency_ms",
        ("prompt_tokens", "completion_tokens", "cost_usd"),
        "payload_json",
    )
    readonly_fields = ("payload_json",)

    @admin.display(description="payload")
    def payload_json(self, event: TraceEvent) -> str:
        return pretty_json(event.payload)
