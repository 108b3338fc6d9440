from django.contrib import admin
from django.http import HttpRequest

from apps.approvals.models import Approval
from apps.core.admin import AuditedModelAdmin, flat, pretty_json, status_pill


@admin.register(Approval)
class ApprovalAdmin(AuditedModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "customer",
        "status_badge",
        "confidence",
        "expires_at",
        "decided_by_label",
        "decided_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("customer__name", "customer__account_number", "reasoning", "note")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)
    fields = (
        "kind",
        "customer",
        "call",
        "payload_json",
        "reasoning",
        "confidence",
        "status",
        "expires_at",
        ("decided_by_label", "decided_at"),
        "note",
        "result_json",
        ("created_at", "updated_at"),
    )
    readonly_fields = flat(fields)

    # Approvals are created by the agent and decided through the approval service only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, approval: Approval) -> str:
        return status_pill(approval.status, approval.get_status_display())

    @admin.display(description="payload")
    def payload_json(self, approval: Approval) -> str:
        return pretty_json(approval.payload)

    @admin.display(description="result")
    def result_json(self, approval: Approval) -> str:
        return pretty_json(approval.result)
