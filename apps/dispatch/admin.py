import copy

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, flat, pretty_json
from apps.dispatch.models import Dispatch, Specialization, Technician


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


class DispatchForm(forms.ModelForm):
    class Meta:
        model = Dispatch
        fields = ("status",)

    def clean(self):
        cleaned = super().clean()
        # The form skips constraints on fields it does not show (the technician); check the whole row.
        changed = copy.copy(self.instance)
        changed.status = cleaned.get("status", changed.status)
        changed.validate_constraints()
        return cleaned


@admin.register(Dispatch)
class DispatchAdmin(AuditedModelAdmin):
    """Dispatches are made by the agent's tool; supervisors only close them (completed or cancelled)."""

    form = DispatchForm
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
    readonly_fields = tuple(name for name in flat(fields) if name != "status")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="why this technician")
    def breakdown_json(self, dispatch: Dispatch) -> str:
        return pretty_json(dispatch.breakdown)
