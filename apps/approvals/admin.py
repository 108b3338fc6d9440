from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from apps.approvals.models import Approval
from apps.approvals.services import NOTE_MAX_LENGTH, approval_decide
from apps.core.admin import AuditedModelAdmin, flat, pretty_json, status_pill
from apps.core.errors import DomainError


class DecisionForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=NOTE_MAX_LENGTH,
        help_text="Why: it stays with the approval and in the audit trail.",
    )


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
    actions = ("approve_selected", "reject_selected")

    # Approvals are created by the agent and decided through the approval service only.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    # Agents decide without being able to change the record: the actions are their only way in.
    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.decide_approval")

    @admin.display(description="status", ordering="status")
    def status_badge(self, approval: Approval) -> str:
        return status_pill(approval.status, approval.get_status_display())

    @admin.display(description="payload")
    def payload_json(self, approval: Approval) -> str:
        return pretty_json(approval.payload)

    @admin.display(description="result")
    def result_json(self, approval: Approval) -> str:
        return pretty_json(approval.result)

    @admin.action(description="Approve the selected approvals…", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[Approval]):
        return self._decide(request, queryset, "approve")

    @admin.action(description="Reject the selected approvals…", permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet[Approval]):
        return self._decide(request, queryset, "reject")

    def _decide(self, request: HttpRequest, queryset: QuerySet[Approval], decision: str):
        """A confirmation page with a note; on `post`, decide each approval through the service."""
        form = DecisionForm(request.POST if request.POST.get("post") else None)
        if form.is_valid():
            decided, refused = 0, []
            for approval_id in queryset.order_by("pk").values_list("pk", flat=True):
                try:
                    approval_decide(
                        approval_id=approval_id, decision=decision, note=form.cleaned_data["note"], actor=request.user
                    )
                except DomainError as exc:
                    refused.append(f"approval {approval_id}: {exc.message}")
                else:
                    decided += 1
            if decided:
                verb = "Approved" if decision == "approve" else "Rejected"
                noun = "approval" if decided == 1 else "approvals"
                self.message_user(request, f"{verb} {decided} {noun}.", messages.SUCCESS)
            if refused:
                self.message_user(
                    request, f"{len(refused)} could not be decided: {'; '.join(refused)}", messages.WARNING
                )
            return None  # back to the changelist
        verb = "Approve" if decision == "approve" else "Reject"
        context = {
            **self.admin_site.each_context(request),
            "title": f"{verb} approvals",
            "subtitle": None,
            "opts": self.opts,
            "verb": verb,
            "action": f"{decision}_selected",
            "approvals": queryset.select_related("customer").order_by("pk"),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/approvals/approval/decide.html", context)
