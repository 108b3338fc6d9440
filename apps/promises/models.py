from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q

from apps.core.models import TimeStampedModel
from apps.core.validators import CURRENCY_PATTERN


class PaymentMethod(models.TextChoices):
    CARD = "card", "Card"
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CHECK = "check", "Check"
    CASH = "cash", "Cash"
    ONLINE_PORTAL = "online_portal", "Online portal"
    OTHER = "other", "Other"


class PromiseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    KEPT = "kept", "Kept"
    PARTIALLY_KEPT = "partially_kept", "Partially kept"
    BROKEN = "broken", "Broken"
    CANCELLED = "cancelled", "Cancelled"
    SUPERSEDED = "superseded", "Superseded"


OPEN_PROMISE_STATUSES = (PromiseStatus.PENDING, PromiseStatus.PARTIALLY_KEPT)


class PromiseSource(models.TextChoices):
    AGENT = "agent", "Recorded by the AI agent on the call"
    ANALYSIS = "analysis", "Extracted by post-call analysis"
    STAFF = "staff", "Entered by staff"
    API = "api", "Received through the API"


class Promise(TimeStampedModel):
    """A promise to pay: an amount by a date, made by the customer."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="promises", db_index=False
    )
    call = models.ForeignKey("calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="promises")
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="USD", validators=[RegexValidator(CURRENCY_PATTERN)])
    due_date = models.DateField()
    method = models.CharField(max_length=20, choices=PaymentMethod, blank=True)
    status = models.CharField(max_length=16, choices=PromiseStatus, default=PromiseStatus.PENDING)
    amount_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)], help_text="0–100, how sure the extraction is."
    )
    source = models.CharField(max_length=10, choices=PromiseSource)
    # PROTECT: a superseded promise must keep pointing at the one that replaced it.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supersedes"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    status_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-due_date", "-id"]
        indexes = [
            models.Index(fields=["customer", "status"], name="promise_customer_status_idx"),
            # Broken-promise detection scans open promises by due date.
            models.Index(fields=["status", "due_date"], name="promise_status_due_idx"),
            # The analytics' rollups find the promises changed since their last run (apps/analytics).
            models.Index(fields=["updated_at"], name="promise_updated_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("amount")), name="promise_paid_within_amount"
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=100), name="promise_confidence_0_100"
            ),
            models.CheckConstraint(
                condition=~Q(status=PromiseStatus.SUPERSEDED) | Q(superseded_by__isnull=False),
                name="promise_superseded_has_successor",
            ),
            models.CheckConstraint(
                condition=Q(superseded_by__isnull=True) | ~Q(superseded_by=F("pk")), name="promise_not_own_successor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} by {self.due_date:%Y-%m-%d} ({self.get_status_display()})"


class Payment(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="payments", db_index=False
    )
    promise = models.ForeignKey(
        Promise, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments", help_text="Applied to."
    )
    amount = models.DecimalField(max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="USD", validators=[RegexValidator(CURRENCY_PATTERN)])
    reference = models.CharField(
        max_length=100, unique=True, help_text="The payer system's id; makes posting idempotent."
    )
    method = models.CharField(max_length=20, choices=PaymentMethod, blank=True)
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["customer", "-received_at"], name="payment_customer_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} · {self.reference}"
