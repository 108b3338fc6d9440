"""Staged rollout of workflow changes (apps/agent/rollouts.py writes these): which candidate version
of a workflow gets which share of calls, and the evaluation reports that let it have any."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator
from django.db import models


class RolloutStatus(models.TextChoices):
    TRIAL = "trial", "Trial: its share of calls"
    PROMOTED = "promoted", "Promoted: every call"
    ROLLED_BACK = "rolled_back", "Rolled back: no calls"


class Rollout(models.Model):
    """One workflow's candidate version and the share of calls it gets (by a stable hash of the
    customer). It gets none unless the evaluation suite passed for that exact version."""

    workflow = models.CharField(max_length=40, unique=True)
    candidate_version = models.CharField(max_length=64, help_text="The candidate definition's version hash.")
    share = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Percent of calls (0-100) while on trial."
    )
    status = models.CharField(max_length=16, choices=RolloutStatus.choices, default=RolloutStatus.TRIAL)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["workflow"]

    def __str__(self) -> str:
        return f"{self.workflow} {self.candidate_version[:8]} ({self.get_status_display()}, {self.share}%)"


class VersionEvaluation(models.Model):
    """The evaluation suite's verdict on one version of a workflow (`eval_agent --candidate`), its
    report's figures kept. Append-only: the latest passing one is what lets a candidate have calls."""

    workflow = models.CharField(max_length=40)
    version = models.CharField(max_length=64)
    passed = models.BooleanField()
    # report.json's figures (total, passed, adherence, forbidden_actions, task_completion, ...), the
    # thresholds it was held to, and the failed scenarios with their reasons.
    report = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    run_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workflow", "version", "passed"], name="agent_eval_version_idx")]

    def __str__(self) -> str:
        return f"{self.workflow} {self.version[:8]}: {'passed' if self.passed else 'failed'}"
