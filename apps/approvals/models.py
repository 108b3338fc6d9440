from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel


class ApprovalKind(models.TextChoices):
    FEE_WAIVER = "fee_waiver", "Fee waiver"
    SETTLEMENT = "settlement", "Settlement below the policy floor"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXECUTING = "executing", "Executing"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


DECIDED_STATUSES = (
    ApprovalStatus.APPROVED,
    ApprovalStatus.REJECTED,
    ApprovalStatus.EXECUTING,
    ApprovalStatus.EXECUTED,
    ApprovalStatus.FAILED,
)


# The warnings an approval can carry from its call, as a person reads them.
FLAG_LABELS = {"prompt_injection": "the caller tried to instruct the AI"}

# Why each kind waits for a person, as the person deciding reads it.
POLICIES = {
    "fee_waiver": "Waiving a fee lowers what the customer owes: the AI may only suggest it, and a person decides.",
    "settlement": "A settlement below the balance forgives part of the debt: only a person may accept one.",
}


class Approval(TimeStampedModel):
    """A high-impact action the AI suggested; it runs only after a person approves it."""

    kind = models.CharField(max_length=20, choices=ApprovalKind)
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="approvals", db_index=False
    )
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="approvals")
    payload = models.JSONField(default=dict, blank=True, help_text="What would be done, e.g. the amount to waive.")
    reasoning = models.TextField(help_text="Why the AI suggested it.")
    confidence = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)], help_text="0–100")
    # Where the suggestion came from: warnings raised in the call (e.g. "prompt_injection": the
    # caller tried to instruct the agent), and the caller's own (redacted) words that raised them,
    # shown beside the model's reasoning. A flagged suggestion's confidence is capped.
    flags = models.JSONField(default=list, blank=True, help_text="Warnings from the call, e.g. prompt_injection.")
    caller_words = models.TextField(blank=True, help_text="What the caller said that raised the flags (redacted).")
    status = models.CharField(max_length=10, choices=ApprovalStatus, default=ApprovalStatus.PENDING)
    expires_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_label = models.CharField(max_length=150, blank=True, help_text="The person or system that decided.")
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="What the execution did.")

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("decide_approval", "Can approve or reject approvals")]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="approval_status_idx"),
            models.Index(fields=["customer", "-created_at"], name="approval_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(confidence__lte=100), name="approval_confidence_0_100"),
            models.CheckConstraint(
                condition=~Q(status__in=DECIDED_STATUSES) | Q(decided_at__isnull=False),
                name="approval_decision_has_time",
            ),
            # The agent asking twice on one call must not make two requests for a person to decide.
            models.UniqueConstraint(
                fields=["call", "kind"],
                condition=Q(status=ApprovalStatus.PENDING),
                name="approval_one_pending_per_call_and_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.customer.name} ({self.get_status_display()})"
