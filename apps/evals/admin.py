"""The call admin page, with its export as an evaluation scenario (registered here, above the
apps whose pages it extends: apps/analysis/admin.py registered the call page)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from apps.analysis.admin import CallPageAdmin
from apps.calls.models import Call

admin.site.unregister(Call)


@admin.register(Call)
class CallAdmin(CallPageAdmin):
    actions = (*(CallPageAdmin.actions or ()), "export_scenario")

    @admin.action(description="Export the selected call as an evaluation scenario")
    def export_scenario(self, request: HttpRequest, queryset: QuerySet[Call]) -> HttpResponseRedirect | None:
        ids = list(queryset.values_list("pk", flat=True)[:2])
        if len(ids) != 1:
            self.message_user(request, "Select exactly one call to export.", messages.WARNING)
            return None
        # The console's page shows the YAML to edit, checks it and downloads it.
        return HttpResponseRedirect(reverse("console:export_scenario", args=[ids[0]]))
