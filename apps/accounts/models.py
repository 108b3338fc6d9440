from django.conf import settings
from django.db import models


class Access(models.Model):
    """Holds the permissions for pages that belong to no model (no table)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("use_console", "Can use the agent console"),
            ("view_analytics", "Can view the analytics pages"),
        ]

    def __str__(self) -> str:
        return "access"


class ApiKey(models.Model):
    """A key another system sends as `X-API-Key`. Only its SHA-256 is stored."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def audit_label(self) -> str:
        return f"api-key:{self.name}"
