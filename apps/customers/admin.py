from django.contrib import admin

from apps.core.admin import AuditedModelAdmin
from apps.customers.models import DoNotCallEntry


# Registered, with the inlines of the apps above this one (the customer's calls, promises and
# follow-ups), by apps/collections/admin.py: the page is composed above every app it shows.
class CustomerAdmin(AuditedModelAdmin):
    list_display = (
        "name",
        "phone",
        "account_number",
        "balance",
        "days_overdue",
        "collection_stage",
        "risk_category",
        "timezone",
        "consent_automated_calls",
        "do_not_call",
    )
    list_filter = ("collection_stage", "risk_category", "consent_automated_calls", "do_not_call", "language")
    search_fields = ("name", "phone", "account_number", "email")
    date_hierarchy = "created_at"
    readonly_fields = ("risk_score", "risk_scored_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "phone", "email", "timezone", "language")}),
        (
            "Account",
            {
                "fields": (
                    "account_number",
                    ("balance", "currency"),
                    "days_overdue",
                    "collection_stage",
                    "risk_category",
                    ("risk_score", "risk_scored_at"),
                )
            },
        ),
        ("On file", {"fields": ("profile",)}),
        (
            "Consent",
            {"fields": ("consent_automated_calls", "consent_given_at", "consent_source", "do_not_call", "consent_sms")},
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )


@admin.register(DoNotCallEntry)
class DoNotCallEntryAdmin(AuditedModelAdmin):
    list_display = ("phone", "source", "reason", "created_at", "created_by")
    list_filter = ("source",)
    search_fields = ("phone", "reason")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "created_by")
    fields = ("phone", "source", "reason", "created_at", "created_by")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
