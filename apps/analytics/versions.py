"""Versions side by side: for each workflow that ran calls in the range, every version of it that
did, with the page's own figures per version (completion, hand-offs, promises kept, turn latency,
cost per call), so a staged rollout's candidate is read beside the current definition.

The figures are those of figures.py, by the same definitions, read from the same rollups: four
queries however many versions there are (calls, promises, the latency histogram, the rollouts). The
range, direction and channel filters apply; the workflow filter picks the workflow; the version
filter does not apply here (every version is shown, or there would be nothing to compare).
Test calls never count (the rollups leave them out).
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, Sum

from apps.agent.models import Rollout, RolloutStatus
from apps.agent.workflows import get_workflow
from apps.analytics.figures import (
    CONVERSATIONS,
    MICRO,
    Filters,
    grouped,
    rate,
    ratio,
)
from apps.analytics.latency import percentile
from apps.analytics.models import CallDay, LatencyDay, Outcome, PromiseDay

# The outcomes a version's rates count, by name.
OUTCOMES = {
    "completed": (Outcome.COMPLETED,),
    "handed_off": (Outcome.HANDED_OFF,),
    "conversations": CONVERSATIONS,
}
LATENCY_METRIC = "total_ms"  # the whole turn, as the page's latency chart calls it
SHORT = 8  # a version is shown by the first characters of its hash


# --- what a version is called ---------------------------------------------------------------------


def current_version(workflow: str) -> str | None:
    """The version of the workflow's definition in this code (None: a workflow it no longer has)."""
    try:
        return get_workflow(workflow).version
    except KeyError:
        return None


def version_label(workflow: str, version: str, rollouts: dict[str, Rollout] | None = None) -> str:
    """What a version is called beside the others: the current definition's, the candidate a
    rollout names (and where it stands), or another (an earlier one, or a candidate no longer
    shipped). `rollouts`: the Rollout rows by workflow, read once for the page."""
    if version and version == current_version(workflow):
        return "current"
    rollout = (rollouts or {}).get(workflow)
    if rollout is not None and version == rollout.candidate_version:
        if rollout.status == RolloutStatus.TRIAL:
            return f"candidate (trial, {rollout.share}%)"
        return "candidate (promoted)" if rollout.status == RolloutStatus.PROMOTED else "candidate (rolled back)"
    return "other version"


# --- the figures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionFigures:
    """One version of one workflow in the range (rates in percent, None with nothing to divide)."""

    workflow: str
    version: str
    label: str
    current: bool
    calls: int
    conversations: int  # completed, handed off or ended before the end: the rates' whole
    completed: int
    handed_off: int
    completion_rate: Decimal | None
    handoff_rate: Decimal | None
    promises: int
    kept: int
    kept_rate: Decimal | None
    turns: int
    latency_p50_ms: Decimal | None
    latency_p95_ms: Decimal | None
    cost_usd: Decimal
    cost_per_call: Decimal | None

    @property
    def short(self) -> str:
        return self.version[:SHORT] if self.version else "unrecorded"


@dataclass(frozen=True)
class WorkflowVersions:
    workflow: str
    current_version: str | None
    columns: list[VersionFigures]  # the current version first, then by calls, most first


def _latency(every: Filters) -> dict[tuple[str, str], list[tuple[int, int]]]:
    """Each version's whole-turn histogram [(bucket_ms, turns)], in one query."""
    spread = grouped(LatencyDay, every, ("workflow", "version", "bucket_ms"), Q(metric=LATENCY_METRIC), n=Sum("turns"))
    buckets: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for (workflow, version, bucket), figures in spread.items():
        if workflow:
            buckets[(workflow, version)].append((bucket, figures["n"]))
    return buckets


def compare_versions(filters: Filters) -> list[WorkflowVersions]:
    """The workflows that ran calls in the range (only the filter's, when it names one), by name,
    each with every version of it that did."""
    every = replace(filters, version="")
    rollouts = {rollout.workflow: rollout for rollout in Rollout.objects.all()}  # a handful: one per workflow
    by_outcome = grouped(CallDay, every, ("workflow", "version", "outcome"), n=Sum("calls"), cost=Sum("cost_usd"))
    calls: dict[tuple[str, str], dict[str, Any]] = {}
    for (workflow, version, outcome), figures in by_outcome.items():
        if not workflow:
            continue
        totals = calls.setdefault((workflow, version), dict.fromkeys(("n", *OUTCOMES, "cost"), 0))
        totals["n"] += figures["n"]
        totals["cost"] += figures["cost"]
        for name, among in OUTCOMES.items():
            totals[name] += figures["n"] if outcome in among else 0
    promises = {
        key: (figures["n"], figures["k"])
        for key, figures in grouped(
            PromiseDay, every, ("workflow", "version"), n=Sum("promises"), k=Sum("kept")
        ).items()
    }
    latency = _latency(every)
    by_workflow: dict[str, list[VersionFigures]] = defaultdict(list)
    for (workflow, version), totals in calls.items():
        n, completed, handed_off = totals["n"], totals["completed"], totals["handed_off"]
        conversations, cost = totals["conversations"], totals["cost"]
        made, kept = promises.get((workflow, version), (0, 0))
        histogram = latency.get((workflow, version), [])
        spent = Decimal(cost).quantize(MICRO)
        by_workflow[workflow].append(
            VersionFigures(
                workflow=workflow,
                version=version,
                label=version_label(workflow, version, rollouts),
                current=bool(version) and version == current_version(workflow),
                calls=n,
                conversations=conversations,
                completed=completed,
                handed_off=handed_off,
                completion_rate=rate(completed, conversations),
                handoff_rate=rate(handed_off, conversations),
                promises=made,
                kept=kept,
                kept_rate=rate(kept, made),
                turns=sum(turns for _, turns in histogram),
                latency_p50_ms=percentile(histogram, 0.5),
                latency_p95_ms=percentile(histogram, 0.95),
                cost_usd=spent,
                cost_per_call=ratio(spent, n),
            )
        )
    return [
        WorkflowVersions(
            workflow=workflow,
            current_version=current_version(workflow),
            columns=sorted(columns, key=lambda c: (not c.current, -c.calls, c.version)),
        )
        for workflow, columns in sorted(by_workflow.items())
    ]


# --- the page's tables ----------------------------------------------------------------------------


def _percent(value: Decimal | None) -> str:
    return f"{value}%" if value is not None else "–"


def _ms(value: Decimal | None) -> str:
    return f"{value} ms" if value is not None else "–"


def _usd(value: Decimal | None) -> str:
    return f"${value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP)}" if value is not None else "–"


ROWS: tuple[tuple[str, Callable[[VersionFigures], tuple[str, str]]], ...] = (
    ("Calls", lambda c: (str(c.calls), "")),
    ("Workflow completed", lambda c: (_percent(c.completion_rate), f"{c.completed} of {c.conversations}")),
    ("Handed to a person", lambda c: (_percent(c.handoff_rate), f"{c.handed_off} of {c.conversations}")),
    ("Promises kept", lambda c: (_percent(c.kept_rate), f"{c.kept} of {c.promises}")),
    ("Turn latency p50", lambda c: (_ms(c.latency_p50_ms), f"{c.turns} turn{'s' if c.turns != 1 else ''}")),
    ("Turn latency p95", lambda c: (_ms(c.latency_p95_ms), "")),
    ("Cost per call", lambda c: (_usd(c.cost_per_call), "")),
)


def version_tables(comparison: list[WorkflowVersions], *, link: Callable[[str, str], str]) -> list[dict[str, Any]]:
    """A table per workflow: a column per version (its header linking, through `link(workflow,
    version)`, to that version's calls), a row per figure of (value, note) cells."""
    return [
        {
            "workflow": block.workflow,
            "caption": f"{block.workflow}: versions side by side",
            "columns": [
                {
                    "version": column.version,
                    "short": column.short,
                    "label": column.label,
                    "current": column.current,
                    "link": link(block.workflow, column.version) if column.version else "",
                }
                for column in block.columns
            ],
            "rows": [(name, [cell(column) for column in block.columns]) for name, cell in ROWS],
        }
        for block in comparison
    ]
