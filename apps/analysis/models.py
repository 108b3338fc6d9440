from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.models import TimeStampedModel


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    NOT_MEANINGFUL = "not_meaningful", "Not meaningful (no analysis spent)"
    FAILED = "failed", "Failed"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEUTRAL = "neutral", "Neutral"
    NEGATIVE = "negative", "Negative"
    MIXED = "mixed", "Mixed"


class CallAnalysis(TimeStampedModel):
    """What a finished call meant: one per call, updated in place when re-run."""

    call = models.OneToOneField("calls.Call", on_delete=models.CASCADE, related_name="analysis")
    status = models.CharField(max_length=16, choices=AnalysisStatus, default=AnalysisStatus.PENDING)
    meaningful_reason = models.CharField(max_length=255, blank=True)
    analyzer = models.CharField(max_length=100, blank=True, help_text="Model name, or 'offline'.")
    sentiment = models.CharField(max_length=10, choices=Sentiment, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True, help_text="-1 (negative) to 1 (positive)")
    sentiment_trajectory = models.JSONField(default=list, blank=True)
    intent = models.CharField(max_length=100, blank=True)
    summary = models.TextField(blank=True)
    promise = models.JSONField(default=dict, blank=True, help_text="Extracted promise, with evidence.")
    next_action = models.JSONField(default=dict, blank=True)
    field_confidence = models.JSONField(default=dict, blank=True, help_text="Per field: confidence and evidence.")
    rule_overrides = models.JSONField(default=list, blank=True, help_text="Business rules applied, with reasons.")
    confidence = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(100)])
    needs_review = models.BooleanField(default=False)
    review_fields = models.JSONField(default=list, blank=True, help_text="Fields a person should check.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = "call analysis"
        verbose_name_plural = "call analyses"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(needs_review=True, reviewed_at__isnull=True),
                name="analysis_review_idx",
            ),
            # The analytics' rollups find the analyses changed since their last run (apps/analytics).
            models.Index(fields=["updated_at"], name="analysis_updated_idx"),
        ]
        permissions = [("rerun_callanalysis", "Can re-run the analysis of a call")]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=100), name="analysis_confidence_0_100"
            ),
            models.CheckConstraint(
                condition=Q(sentiment_score__isnull=True) | Q(sentiment_score__gte=-1, sentiment_score__lte=1),
                name="analysis_sentiment_score_range",
            ),
        ]

    def __str__(self) -> str:
        return f"Analysis of call {self.call_id} ({self.get_status_display()})"


class ReviewCorrection(models.Model):
    """A labelled example from a person's review of an analysis: one field, what the AI said and
    what the person says, whether they agreed. Kept for evaluating the analyzers; append-only."""

    analysis = models.ForeignKey(CallAnalysis, on_delete=models.CASCADE, related_name="corrections")
    field = models.CharField(max_length=40, help_text="The field reviewed, e.g. promise.amount.")
    ai_value = models.JSONField(null=True, blank=True, help_text="What the analysis said (null: nothing).")
    human_value = models.JSONField(null=True, blank=True, help_text="What the person says (null: nothing).")
    confirmed = models.BooleanField(help_text="The person agreed with the AI.")
    analyzer = models.CharField(max_length=100, blank=True, help_text="The analyzer that gave the AI value.")
    confidence = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)], help_text="The AI's confidence in the field."
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The review's own time (the analysis's reviewed_at): the examples of one review share it.
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "review correction"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["field", "confirmed"], name="review_correction_field_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | Q(confidence__lte=100), name="review_confidence_0_100"
            ),
        ]

    def __str__(self) -> str:
        verdict = "confirmed" if self.confirmed else "corrected"
        return f"Review of call analysis {self.analysis_id}: {self.field} {verdict}"
