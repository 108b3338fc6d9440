from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel
from apps.core.validators import (
    CURRENCY_PATTERN,
    E164_PATTERN,
    LANGUAGE_PATTERN,
    timezone_choices,
    validate_e164,
)


class CollectionStage(models.TextChoices):
    CURRENT = "current", "Current"
    EARLY = "early", "Early (1–30 days)"
    MIDDLE = "middle", "Middle (31–60 days)"
    LATE = "late", "Late (61–90 days)"
    SEVERE = "severe", "Severe (91–180 days)"
    CHARGED_OFF = "charged_off", "Charged off"


class RiskCategory(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ConsentSource(models.TextChoices):
    WEB_FORM = "web_form", "Web form"
    RECORDED_CALL = "recorded_call", "Recorded call"
    SIGNED_AGREEMENT = "signed_agreement", "Signed agreement"
    SMS = "sms", "SMS opt-in"


class Customer(TimeStampedModel):
    name = models.CharField(max_length=200)
    phone = models.CharField(
        max_length=16, unique=True, validators=[validate_e164], help_text="E.164, e.g. +14155550123"
    )
    email = models.EmailField(blank=True)
    timezone = models.CharField(
        max_length=64,
        blank=True,
        choices=timezone_choices,
        help_text="IANA name. Empty: derived from the phone number when calling.",
    )
    language = models.CharField(
        max_length=10, default="en-US", validators=[RegexValidator(LANGUAGE_PATTERN)], help_text="BCP 47, e.g. en-US"
    )
    account_number = models.CharField(max_length=32, unique=True)
    balance = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00"))
    currency = models.CharField(max_length=3, default="USD", validators=[RegexValidator(CURRENCY_PATTERN)])
    days_overdue = models.PositiveIntegerField(default=0)
    risk_category = models.CharField(max_length=10, choices=RiskCategory, default=RiskCategory.LOW)
    risk_score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="0–100, recomputed daily from payments, broken promises and days overdue.",
    )
    risk_scored_at = models.DateTimeField(null=True, blank=True)
    collection_stage = models.CharField(max_length=20, choices=CollectionStage, default=CollectionStage.CURRENT)
    profile = models.JSONField(
        default=dict, blank=True, help_text="Data on file: vehicle, address, date_of_birth, zip, …"
    )
    consent_automated_calls = models.BooleanField(default=False, help_text="Prior express consent to AI-voiced calls.")
    consent_given_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=20, choices=ConsentSource, blank=True)
    do_not_call = models.BooleanField(default=False)
    consent_sms = models.BooleanField(
        default=False, help_text="Agreed to text messages (promise confirmations). SMS STOP withdraws it."
    )

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["collection_stage", "-days_overdue"], name="customer_stage_idx"),
            models.Index(fields=["risk_category"], name="customer_risk_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=E164_PATTERN), name="customer_phone_e164"),
            models.CheckConstraint(
                condition=Q(risk_score__isnull=True) | Q(risk_score__gte=0, risk_score__lte=100),
                name="customer_risk_score_0_100",
            ),
            models.CheckConstraint(
                condition=Q(consent_automated_calls=False)
                | (Q(consent_given_at__isnull=False) & ~Q(consent_source="")),
                name="customer_consent_has_when_and_how",
                violation_error_message="Consent to automated calls needs when and how it was given.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_number})"


class DoNotCallSource(models.TextChoices):
    CUSTOMER_REQUEST = "customer_request", "Customer request"
    CALL_OPT_OUT = "call_opt_out", "Opt-out heard on a call"
    SMS_STOP = "sms_stop", "SMS STOP"
    MANUAL = "manual", "Added by staff"
    IMPORTED = "imported", "Imported list"


class DoNotCallEntry(models.Model):
    """A number that must not be called, whether or not it belongs to a customer."""

    phone = models.CharField(max_length=16, unique=True, validators=[validate_e164])
    source = models.CharField(max_length=20, choices=DoNotCallSource)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "do-not-call entry"
        verbose_name_plural = "do-not-call list"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=E164_PATTERN), name="dnc_phone_e164"),
        ]

    def __str__(self) -> str:
        return self.phone
