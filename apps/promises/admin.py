from django.contrib import admin

from apps.core.admin import AuditedModelAdmin, ReadOnlyInline, status_pill
from apps.promises.models import Payment, Promise, PromiseSource


class CustomerPromiseInline(ReadOnlyInline):
    model = Promise
    fk_name = "customer"
    fields = ("due_date", "amount", "currency", "amount_paid", "status", "method", "source", "confidence")


class CallPromiseInline(CustomerPromiseInline):
    fk_name = "call"


@admin.register(Promise)
class PromiseAdmin(AuditedModelAdmin):
    list_display = (
        "customer",
        "amount",
        "currency",
        "due_date",
        "status_badge",
        "amount_paid",
        "method",
        "confidence",
        "source",
        "created_at",
    )
    list_filter = ("status", "source", "method", "due_date")
    search_fields = ("customer__name", "customer__account_number", "status_reason")
    date_hierarchy = "due_date"
    list_select_related = ("customer",)
    autocomplete_fields = ("customer",)
    raw_id_fields = ("call", "superseded_by")
    readonly_fields = ("amount_paid", "status_changed_at", "created_at", "updated_at")
    fields = (
        "customer",
        "call",
        ("amount", "currency"),
        "due_date",
        "method",
        "status",
        "status_reason",
        "amount_paid",
        "status_changed_at",
        "superseded_by",
        ("confidence", "source"),
        ("created_at", "updated_at"),
    )

    def get_changeform_initial_data(self, request):
        return {"source": PromiseSource.STAFF, **super().get_changeform_initial_data(request)}

    @admin.display(description="status", ordering="status")
    def status_badge(self, promise: Promise) -> str:
        return status_pill(promise.status, promise.get_status_display())


@admin.register(Payment)
class PaymentAdmin(AuditedModelAdmin):
    list_display = ("received_at", "customer", "amount", "currency", "reference", "method", "promise")
    list_filter = ("method", "received_at")
    search_fields = ("reference", "customer__name", "customer__account_number")
    date_hierarchy = "received_at"
    list_select_related = ("customer", "promise")
    autocomplete_fields = ("customer",)
    raw_id_fields = ("promise",)
    readonly_fields = ("created_at",)
    fields = ("customer", ("amount", "currency"), "reference", "method", "received_at", "promise", "created_at")
