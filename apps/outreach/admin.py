from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, ReadOnlyInline, status_pill
from apps.outreach.models import FollowUp
from apps.outreach.services import followups_cancel


class CustomerFollowUpInline(ReadOnlyInline):
    model = FollowUp
    fields = ("due_at", "status", "reason", "attempts", "max_attempts", "block_reason")


@admin.register(FollowUp)
class FollowUpAdmin(AuditedModelAdmin):
    list_display = (
        "due_at",
        "customer",
        "status_badge",
        "reason",
        "attempts",
        "max_attempts",
        "business_override",
        "block_reason",
    )
    list_filter = ("status", "business_override", "requested_by_customer")
    search_fields = ("customer__name", "customer__account_number", "reason", "block_reason")
    date_hierarchy = "due_at"
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    raw_id_fields = ("promise", "source_call")
    # The dialer owns the status and the attempt bookkeeping; people schedule and cancel.
    readonly_fields = (
        "status",
        "block_reason",
        "attempts",
        "last_attempt_at",
        "last_error",
        "created_at",
        "updated_at",
    )
    fields = (
        "customer",
        "promise",
        "source_call",
        "reason",
        "due_at",
        "requested_by_customer",
        ("business_override", "override_reason"),
        "status",
        "block_reason",
        ("attempts", "max_attempts", "last_attempt_at"),
        "last_error",
        ("created_at", "updated_at"),
    )
    actions = ("cancel",)

    @admin.display(description="status", ordering="status")
    def status_badge(self, followup: FollowUp) -> str:
        return status_pill(followup.status, followup.get_status_display())

    @admin.action(description="Cancel the selected follow-ups", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset) -> None:
        cancelled, skipped = followups_cancel(actor=request.user, ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Cancelled {cancelled} follow-up(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} already dialing or finished were left as they are.", messages.WARNING
            )
