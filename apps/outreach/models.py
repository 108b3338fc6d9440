from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from apps.core.models import TimeStampedModel


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CLAIMED = "claimed", "Claimed"
    DIALING = "dialing", "Dialing"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    BLOCKED = "blocked", "Blocked"


class FollowUp(TimeStampedModel):
    """An outbound call to make at or after `due_at`, if the compliance gate allows it then."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="followups", db_index=False
    )
    promise = models.ForeignKey(
        "promises.Promise", null=True, blank=True, on_delete=models.SET_NULL, related_name="followups"
    )
    source_call = models.ForeignKey(
        "calls.Call",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups",
        help_text="The call whose outcome asked for this follow-up.",
    )
    reason = models.CharField(max_length=255)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=FollowUpStatus, default=FollowUpStatus.SCHEDULED)
    block_reason = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)])
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    requested_by_customer = models.BooleanField(
        default=False, help_text="The customer asked for this callback (allowed within 7 days of a conversation)."
    )
    business_override = models.BooleanField(default=False, help_text="A business rule moved the date.")
    override_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = "follow-up"
        ordering = ["due_at", "id"]
        indexes = [
            # The sweep claims due rows: status = scheduled and due_at <= now.
            models.Index(fields=["status", "due_at"], name="followup_due_idx"),
            models.Index(fields=["customer", "status"], name="followup_customer_idx"),
            # The analytics' rollups find the follow-ups changed since their last run (apps/analytics).
            models.Index(fields=["updated_at"], name="followup_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(max_attempts__gte=1), name="followup_max_attempts_positive"),
            models.CheckConstraint(condition=Q(attempts__lte=F("max_attempts")), name="followup_attempts_within_max"),
            models.CheckConstraint(
                condition=Q(business_override=False) | ~Q(override_reason=""),
                name="followup_override_has_reason",
                violation_error_message="A business override needs its reason.",
            ),
            models.CheckConstraint(
                condition=~Q(status=FollowUpStatus.BLOCKED) | ~Q(block_reason=""),
                name="followup_blocked_has_reason",
                violation_error_message="A blocked follow-up needs the reason it was blocked.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer.name} · {self.due_at:%Y-%m-%d %H:%M} · {self.get_status_display()}"
