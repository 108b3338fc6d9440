from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import linebreaksbr, pluralize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.approvals.models import FLAG_LABELS, Approval
from apps.approvals.services import NOTE_MAX_LENGTH, approval_decide
from apps.core.admin import AuditedModelAdmin, ConfirmRow, confirm_action, flat, pretty_json, run_each, status_pill


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
        "flags_shown",
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
        "flags_shown",
        "caller_words",
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

    @admin.display(description="warnings")
    def flags_shown(self, approval: Approval) -> str:
        return ", ".join(FLAG_LABELS.get(flag, flag) for flag in approval.flags) or "none"

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
            note = form.cleaned_data["note"]
            run_each(
                self,
                request,
                queryset.order_by("pk").values_list("pk", flat=True),
                lambda pk: approval_decide(approval_id=pk, decision=decision, note=note, actor=request.user),
                done=lambda n: f"{'Approved' if decision == 'approve' else 'Rejected'} {n} approval{pluralize(n)}.",
                refused_as="decided",
            )
            return None  # back to the changelist
        verb = "Approve" if decision == "approve" else "Reject"
        outcome = (
            "Approved actions run right away and cannot be undone here."
            if decision == "approve"
            else "Rejected actions never run."
        )
        return confirm_action(
            self,
            request,
            action=f"{decision}_selected",
            verb=verb,
            intro=f"{verb} the selected approvals? {outcome} Approvals no longer pending are skipped and reported.",
            columns=("Customer", "Kind", "Payload", "Reasoning", "Warnings", "Confidence", "Expires", "Status"),
            rows=(
                ConfirmRow(
                    approval.pk,
                    (
                        format_html(
                            "{}<br>balance {} {}",
                            approval.customer,
                            approval.customer.balance,
                            approval.customer.currency,
                        ),
                        approval.get_kind_display(),
                        format_html_join(mark_safe("<br>"), "{}: {}", approval.payload.items()),
                        linebreaksbr(approval.reasoning),
                        format_html(
                            "{}<br>{}",
                            ", ".join(FLAG_LABELS.get(flag, flag) for flag in approval.flags) or "none",
                            f"The caller said: “{approval.caller_words}”" if approval.caller_words else "",
                        ),
                        f"{approval.confidence}%",
                        approval.expires_at,
                        approval.get_status_display(),
                    ),
                )
                for approval in queryset.select_related("customer").order_by("pk")
            ),
            form=form,
        )
