"""Staged rollout in the admin: supervisors put a workflow's candidate on trial with a share of
calls, promote it to every call or roll it back (each one audited action, apps/agent/rollouts.py);
the evaluations behind them are read-only."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.agent import rollouts
from apps.agent.models import Rollout, VersionEvaluation
from apps.agent.workflows import WORKFLOWS, candidate_of
from apps.core.admin import ReadOnlyAdminMixin, run_each


def shipped_candidates() -> str:
    found = [f"{name}: {c.version}" for name in WORKFLOWS if (c := candidate_of(name))]
    return "Candidates in this release: " + ("; ".join(found) if found else "none (AGENT_CANDIDATES is empty)") + "."


class RolloutForm(forms.ModelForm):
    workflow = forms.ChoiceField(choices=[(name, name) for name in WORKFLOWS])

    class Meta:
        model = Rollout
        fields = ("workflow", "candidate_version", "share")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["candidate_version"].help_text = shipped_candidates()
        if self.instance.pk:  # one row per workflow: its candidate and share change, not its workflow
            self.fields["workflow"].disabled = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if {"workflow", "candidate_version", "share"} <= data.keys():
            for problem in rollouts.rollout_problems(
                workflow=data["workflow"], version=data["candidate_version"], share=data["share"]
            ):
                self.add_error(None, problem)
        return data


@admin.register(Rollout)
class RolloutAdmin(admin.ModelAdmin):
    form = RolloutForm
    list_display = ("workflow", "short_version", "status", "share", "evaluation", "updated_at", "updated_by")
    readonly_fields = ("status", "evaluation", "updated_at", "updated_by")
    actions = ("promote", "roll_back")

    def get_fields(self, request: HttpRequest, obj: Rollout | None = None) -> tuple[str, ...]:
        return ("workflow", "candidate_version", "share", *(self.readonly_fields if obj else ()))

    @admin.display(description="candidate")
    def short_version(self, rollout: Rollout) -> str:
        return rollout.candidate_version[:8]

    @admin.display(description="passing evaluation")
    def evaluation(self, rollout: Rollout) -> str:
        passed = rollouts.evaluated(rollout.workflow, rollout.candidate_version)
        if passed is None:
            return "none: it gets no calls"
        figures = passed.report
        return (
            f"{passed.created_at:%Y-%m-%d %H:%M} by {passed.run_by or 'unknown'}: {figures.get('passed')}/"
            f"{figures.get('total')} scenarios, adherence {figures.get('adherence')}%, "
            f"forbidden actions {figures.get('forbidden_actions')}, task completion {figures.get('task_completion')}%"
        )

    def save_model(self, request: HttpRequest, obj: Rollout, form, change: bool) -> None:
        """Through the service: validated again under a lock, audited as one action."""
        saved = rollouts.rollout_set(
            workflow=obj.workflow, version=obj.candidate_version, share=obj.share, actor=request.user
        )
        obj.pk, obj.status = saved.pk, saved.status

    @admin.action(description="Promote the selected candidates to every call", permissions=["change"])
    def promote(self, request: HttpRequest, queryset: QuerySet[Rollout]) -> None:
        self._each(
            request,
            queryset,
            rollouts.rollout_promote,
            "Promoted {n} candidate(s): every new call runs them.",
            "promoted",
        )

    @admin.action(description="Roll the selected candidates back (no new call runs them)", permissions=["change"])
    def roll_back(self, request: HttpRequest, queryset: QuerySet[Rollout]) -> None:
        done = "Rolled back {n} candidate(s): the next call runs the current version."
        self._each(request, queryset, rollouts.rollout_roll_back, done, "rolled back")

    def _each(self, request: HttpRequest, queryset: QuerySet[Rollout], service, done: str, refused_as: str) -> None:
        """One audited service call per selected rollout, by its workflow, in the supervisor's name."""
        workflows = dict(queryset.values_list("pk", "workflow"))
        run_each(
            self,
            request,
            workflows,
            lambda pk: service(workflow=workflows[pk], actor=request.user),
            done=lambda n: done.format(n=n),
            refused_as=refused_as,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Rollout | None = None) -> bool:
        return False  # rolled back, not deleted: the trail of what ran stays


@admin.register(VersionEvaluation)
class VersionEvaluationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "workflow", "short_version", "passed", "figures", "run_by")
    list_filter = ("workflow", "passed")
    search_fields = ("version", "run_by")
    fields = ("created_at", "workflow", "version", "passed", "run_by", "report")
    readonly_fields = fields

    @admin.display(description="version")
    def short_version(self, evaluation: VersionEvaluation) -> str:
        return evaluation.version[:8]

    @admin.display(description="figures")
    def figures(self, evaluation: VersionEvaluation) -> str:
        r = evaluation.report
        return (
            f"{r.get('passed')}/{r.get('total')} passed, adherence {r.get('adherence')}%, "
            f"forbidden {r.get('forbidden_actions')}, completion {r.get('task_completion')}%"
        )
