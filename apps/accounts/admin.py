from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from apps.accounts.models import ApiKey
from apps.accounts.roles import ROLES
from apps.accounts.services import api_key_revoke
from apps.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin


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


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(AuditedModelAdmin, UserAdmin):
    """Supervisors manage staff accounts and their role; only superusers grant more than a role."""

    list_display = ("username", "first_name", "last_name", "email", "role", "is_active", "last_login")
    list_filter = ("groups", "is_active", "is_staff", "is_superuser")
    date_hierarchy = "date_joined"

    def get_queryset(self, request: HttpRequest):
        users = super().get_queryset(request).prefetch_related("groups")
        return users if request.user.is_superuser else users.filter(is_superuser=False)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if request.user.is_superuser or obj is None:
            return super().get_fieldsets(request, obj)
        return (
            (None, {"fields": ("username", "password")}),
            ("Person", {"fields": ("first_name", "last_name", "email")}),
            ("Access", {"fields": ("is_active", "is_staff", "groups")}),
            ("Dates", {"fields": ("last_login", "date_joined")}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return () if request.user.is_superuser else ("last_login", "date_joined")

    def formfield_for_manytomany(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = Group.objects.filter(name__in=ROLES)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @admin.display(description="role")
    def role(self, user) -> str:
        return ", ".join(group.name for group in user.groups.all()) or "—"
