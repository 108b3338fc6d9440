from django.contrib import admin, messages
from django.http import HttpRequest

from apps.accounts.models import ApiKey
from apps.accounts.services import api_key_revoke
from apps.core.admin import ReadOnlyAdminMixin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Keys are made with `manage.py create_api_key` (the raw key is shown once, there)."""

    list_display = ("name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    date_hierarchy = "created_at"
    fields = ("name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_apikey")

    @admin.action(description="Revoke the selected API keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        revoked = sum(api_key_revoke(key=key, actor=request.user) for key in queryset)
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)
