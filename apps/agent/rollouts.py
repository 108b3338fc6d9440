"""Staged rollout: which version of a workflow a new call runs, and the writes that steer it.

A candidate definition (apps/agent/workflows: AGENT_CANDIDATES) gets calls only when
- a Rollout row names its exact version hash, on trial with a share or promoted, and
- the evaluation suite passed for that exact version (a VersionEvaluation, `eval_agent --candidate`).
On trial, a call goes to it when a stable hash of (workflow, customer) falls in the share: a
customer hears one version on every call, and raising the share only adds customers. Promoted, it
gets every call (until a deploy makes it the current definition); rolled back, none, from the
next call on. A call in progress keeps the version it started on (it is in its state).
"""

import hashlib
from typing import Any

from django.conf import settings
from django.db import transaction

from apps.agent.models import Rollout, RolloutStatus, VersionEvaluation
from apps.agent.workflows import WORKFLOWS, Workflow, candidate_of, get_workflow
from apps.core.errors import Conflict
from apps.core.services import Actor, audit_record, field_changes

BUCKETS = 10_000  # a share is a whole percent: 100 buckets each


def bucket(workflow: str, key: str) -> int:
    """Where `key` (a customer, or a caller's number) falls for `workflow`: 0 to BUCKETS - 1, the
    same on every call and in every process."""
    digest = hashlib.sha256(f"{workflow}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose(workflow: str, key: str) -> Workflow:
    """The definition a new call of `workflow` runs; `key` identifies its customer ("" when nobody
    is known: the current definition)."""
    current, candidate = get_workflow(workflow), candidate_of(workflow)
    if candidate is None:
        return current
    if workflow in settings.AGENT_RUN_CANDIDATES:  # an evaluation worker trying the candidate
        return candidate
    rollout = Rollout.objects.filter(workflow=workflow, candidate_version=candidate.version).first()
    if rollout is None or not evaluated(workflow, candidate.version):
        return current
    if rollout.status == RolloutStatus.PROMOTED:
        return candidate
    if rollout.status == RolloutStatus.TRIAL and key and bucket(workflow, key) < rollout.share * (BUCKETS // 100):
        return candidate
    return current


def evaluated(workflow: str, version: str) -> VersionEvaluation | None:
    """The latest passing evaluation of that exact version, if any."""
    return VersionEvaluation.objects.filter(workflow=workflow, version=version, passed=True).first()


def evaluation_record(
    *, workflow: str, version: str, passed: bool, report: dict[str, Any], run_by: str
) -> VersionEvaluation:
    """Keep the suite's verdict on a version (`eval_agent --candidate`)."""
    return VersionEvaluation.objects.create(
        workflow=workflow, version=version, passed=passed, report=report, run_by=run_by[:150]
    )


def rollout_problems(*, workflow: str, version: str, share: int) -> list[str]:
    """Why a rollout of `version` to `share` percent cannot be set (empty: it can)."""
    if workflow not in WORKFLOWS:
        return [f"No workflow {workflow!r}."]
    candidate = candidate_of(workflow)
    if candidate is None or candidate.version != version:
        shipped = f" (this release ships {candidate.version})" if candidate else " (this release ships none)"
        return [f"{version or 'That version'} is not a candidate of {workflow} in this release{shipped}."]
    if not 0 <= share <= 100:
        return ["The share is a percent, 0 to 100."]
    if share and not evaluated(workflow, version):
        return [
            f"The evaluation suite has not passed for {workflow} {version}: run "
            f"`manage.py eval_agent --candidate {workflow}` first; until then it gets no calls."
        ]
    return []


@transaction.atomic
def rollout_set(*, workflow: str, version: str, share: int, actor: Actor) -> Rollout:
    """Put a candidate on trial with `share` percent of calls (audited)."""
    if problems := rollout_problems(workflow=workflow, version=version, share=share):
        raise Conflict(" ".join(problems))
    rollout = Rollout.objects.select_for_update().filter(workflow=workflow).first()
    before = _fields(rollout) if rollout else {}
    rollout = rollout or Rollout(workflow=workflow)
    rollout.candidate_version, rollout.share, rollout.status = version, share, RolloutStatus.TRIAL
    rollout.updated_by = actor if getattr(actor, "pk", None) else None
    rollout.save()
    audit_record(
        actor=actor, action="rollout.set", obj=rollout, details={"changes": field_changes(before, _fields(rollout))}
    )
    return rollout


@transaction.atomic
def rollout_promote(*, workflow: str, actor: Actor) -> Rollout:
    """Every new call runs the candidate (audited). Refused unless its evaluation passed."""
    rollout = Rollout.objects.select_for_update().get(workflow=workflow)
    if not evaluated(workflow, rollout.candidate_version):
        raise Conflict(f"The evaluation suite has not passed for {workflow} {rollout.candidate_version}.")
    return _move(rollout, RolloutStatus.PROMOTED, "rollout.promote", actor)


@transaction.atomic
def rollout_roll_back(*, workflow: str, actor: Actor) -> Rollout:
    """No new call runs the candidate (audited); calls in progress finish on the version they have."""
    rollout = Rollout.objects.select_for_update().get(workflow=workflow)
    return _move(rollout, RolloutStatus.ROLLED_BACK, "rollout.roll_back", actor)


def _move(rollout: Rollout, status: str, action: str, actor: Actor) -> Rollout:
    before = _fields(rollout)
    rollout.status = status
    rollout.updated_by = actor if getattr(actor, "pk", None) else None
    rollout.save(update_fields=["status", "updated_by", "updated_at"])
    audit_record(actor=actor, action=action, obj=rollout, details={"changes": field_changes(before, _fields(rollout))})
    return rollout


def _fields(rollout: Rollout) -> dict[str, Any]:
    return {"candidate_version": rollout.candidate_version, "share": rollout.share, "status": rollout.status}
