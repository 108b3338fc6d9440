from django import forms
from django.contrib import admin

from apps.core.admin import AuditedModelAdmin
from apps.dispatch.models import Specialization, Technician


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
