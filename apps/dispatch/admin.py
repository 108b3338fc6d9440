from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, flat, pretty_json
from apps.dispatch.models import Dispatch, DispatchStatus, Specialization, Technician
from apps.dispatch.services import dispatch_close


class TechnicianForm(forms.ModelForm):
    specializations = forms.MultipleChoiceField(
        choices=Specialization.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Technician
        fields = ("name", "phone", "base_location", "latitude", "longitude", "specializations", "availability")


@admin.register(Technician)
class TechnicianAdmin(AuditedModelAdmin):
    form = TechnicianForm
    list_display = ("name", "base_location", "availability", "specialization_list", "phone")
    list_filter = ("availability",)
    search_fields = ("name", "base_location", "phone")
    date_hierarchy = "created_at"
    fields = ("name", "phone", "base_location", ("latitude", "longitude"), "specializations", "availability")

    @admin.display(description="specializations")
    def specialization_list(self, technician: Technician) -> str:
        labels = dict(Specialization.choices)
        return ", ".join(labels.get(name, name) for name in technician.specializations)


@admin.register(Dispatch)
class DispatchAdmin(AuditedModelAdmin):
    """Dispatches are made by the agent's tool; supervisors close them (completed or cancelled)."""

    list_display = ("created_at", "customer", "issue", "severity", "technician", "eta_minutes", "status")
    list_filter = ("status", "severity", "issue")
    search_fields = ("customer__name", "location_text", "technician__name")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "technician")
    fields = (
        "created_at",
        "call",
        "customer",
        "location_text",
        ("place_name", "latitude", "longitude"),
        ("issue", "severity"),
        "technician",
        ("eta_minutes", "distance_km", "score"),
        "status",
        "breakdown_json",
    )
    readonly_fields = (*flat(fields),)
    actions = ("mark_completed", "cancel")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Closing is an action on the list; a dispatch's own page is a record, not a form.
        return obj is None and super().has_change_permission(request)

    def _close(self, request: HttpRequest, queryset, status: str) -> None:
        closed = sum(
            dispatch_close(dispatch_id=pk, status=status, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request, f"{closed} dispatch(es) marked {status}; their technicians are free again.", messages.SUCCESS
        )
        if skipped := queryset.count() - closed:
            self.message_user(request, f"{skipped} were already closed and were left as they are.", messages.WARNING)

    @admin.action(description="Mark the selected dispatches completed", permissions=["change"])
    def mark_completed(self, request: HttpRequest, queryset) -> None:
        self._close(request, queryset, DispatchStatus.COMPLETED)

    @admin.action(description="Cancel the selected dispatches", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset) -> None:
        self._close(request, queryset, DispatchStatus.CANCELLED)

    @admin.display(description="why this technician")
    def breakdown_json(self, dispatch: Dispatch) -> str:
        return pretty_json(dispatch.breakdown)
