from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin, ReadOnlyInline, flat, status_pill
from apps.telephony.models import SmsMessage


class PromiseSmsInline(ReadOnlyInline):
    model = SmsMessage
    fk_name = "promise"
    fields = ("created_at", "to_number", "status", "status_reason", "sent_at")


@admin.register(SmsMessage)
class SmsMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Texts are written by the services that send them; here they are read."""

    list_display = ("created_at", "direction", "customer", "purpose", "from_number", "to_number", "status_badge")
    list_filter = ("direction", "status", "purpose")
    search_fields = ("from_number", "to_number", "body", "customer__name", "customer__account_number", "twilio_sid")
    date_hierarchy = "created_at"
    list_select_related = ("customer",)
    fields = (
        "customer",
        "promise",
        ("direction", "purpose"),
        ("from_number", "to_number"),
        "body",
        ("status", "status_reason"),
        ("twilio_sid", "sent_at"),
        ("created_at", "updated_at"),
    )
    readonly_fields = flat(fields)

    @admin.display(description="status", ordering="status")
    def status_badge(self, message: SmsMessage) -> str:
        return status_pill(message.status, message.get_status_display())
