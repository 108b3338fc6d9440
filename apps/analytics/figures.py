"""The managers' figures, read from the daily rollups (models.py) by the database: the page, the
CSV and the JSON summary all come from here, so they always agree.

A range is a set of whole business days, both ends included; the filters narrow it to a workflow
(and version), a direction and a channel. Rates are percentages to one decimal place, None when
there is nothing to divide by; money is in the account currency (USD in the rollups' sums).
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import DecimalField, IntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncWeek

from apps.analytics.latency import METRICS, percentile
from apps.analytics.models import (
    AnalysisDay,
    BreakerDay,
    CallDay,
    ComplianceDay,
    ComplianceEvent,
    GuardrailDay,
    HandoffDay,
    LatencyDay,
    LatencyMonth,
    Outcome,
    PromiseDay,
    TurnDay,
)
from apps.analytics.rollups import month_start, next_month

CONVERSATIONS = (Outcome.COMPLETED, Outcome.HANDED_OFF, Outcome.ABANDONED)
CSV_COLUMNS = (
    "date",
    "calls",
    "inbound",
    "outbound",
    "meaningful",
    "completed",
    "handoffs",
    "promises",
    "promised_amount",
    "kept",
    "kept_amount",
    "blocked_followups",
    "cost_usd",
    "not_reached",
    "abandoned",
    "partially_kept",
    "broken",
    "collected",
)
# The guardrail hits that are the grounding gate stopping a reply (apps/agent/grounding.py): it was
# regenerated, or repaired before it was said.
GROUNDING = ("ungrounded_figure", "commitment")
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Filters:
    start: date
    end: date
    workflow: str = ""
    version: str = ""
    direction: str = ""
    channel: str = ""

    @property
    def dimensions(self) -> dict[str, str]:
        chosen = {"workflow": self.workflow, "version": self.version}
        chosen |= {"direction": self.direction, "channel": self.channel}
        return {name: value for name, value in chosen.items() if value}

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def rate(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """`part` of `whole` in percent, to one decimal place (half up); None for a whole of 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def ratio(amount: Decimal, count: int | Decimal, places: Decimal = MICRO) -> Decimal | None:
    if not count:
        return None
    return (Decimal(amount) / Decimal(count)).quantize(places, rounding=ROUND_HALF_UP)


def rollup_rows(model, filters: Filters) -> QuerySet:
    return model.objects.filter(day__range=(filters.start, filters.end), **filters.dimensions)


COUNT = IntegerField()
AMOUNT = DecimalField(max_digits=16, decimal_places=2)
COST = DecimalField(max_digits=16, decimal_places=6)
AMOUNTS = ("promised", "kept_amount", "partial_amount", "broken_amount", "collected")


def rollup_sum(name: str, **condition: Any) -> Coalesce:
    """The sum of a rollup column (0 when there are no rows), optionally of the rows matching `condition`."""
    output = AMOUNT if name in AMOUNTS else COST if name == "cost_usd" else COUNT
    return Coalesce(Sum(name, filter=Q(**condition) if condition else None), Value(0), output_field=output)


@dataclass
class Summary:
    filters: Filters
    outcomes: dict[str, Any] = field(default_factory=dict)
    money: dict[str, Any] = field(default_factory=dict)
    compliance: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    speed: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)


def outcomes(filters: Filters) -> dict[str, Any]:
    calls = rollup_rows(CallDay, filters)
    totals = calls.aggregate(
        calls=rollup_sum("calls"),
        meaningful=rollup_sum("meaningful"),
        analysed=rollup_sum("analysed"),
        timed=rollup_sum("timed", outcome__in=CONVERSATIONS),
        seconds=rollup_sum("handle_seconds", outcome__in=CONVERSATIONS),
        first=rollup_sum("first_contacts", outcome__in=CONVERSATIONS),
        first_resolved=rollup_sum("first_contacts_resolved", outcome__in=CONVERSATIONS),
    )
    by_outcome = {outcome: 0 for outcome in Outcome.values}
    by_outcome.update(calls.values_list("outcome").annotate(n=Sum("calls")).order_by())
    conversations = sum(by_outcome[outcome] for outcome in CONVERSATIONS)
    daily = calls.values("day", "direction", "outcome").annotate(n=Sum("calls")).order_by("day", "direction", "outcome")
    reasons = rollup_rows(HandoffDay, filters).values("reason").annotate(n=Sum("calls")).order_by("-n", "reason")[:10]
    return {
        "calls": totals["calls"],
        "by_outcome": by_outcome,
        "conversations": conversations,
        "meaningful": totals["meaningful"],
        "analysed": totals["analysed"],
        "meaningful_rate": rate(totals["meaningful"], totals["analysed"]),
        "completion_rate": rate(by_outcome[Outcome.COMPLETED], conversations),
        "handoff_rate": rate(by_outcome[Outcome.HANDED_OFF], conversations),
        "handle_seconds_avg": ratio(totals["seconds"], totals["timed"], Decimal("0.1")),
        "first_contacts": totals["first"],
        "first_contacts_resolved": totals["first_resolved"],
        "first_contact_resolution": rate(totals["first_resolved"], totals["first"]),
        "handoff_reasons": [(row["reason"], row["n"]) for row in reasons],
        "daily": [(row["day"], row["direction"], row["outcome"], row["n"]) for row in daily],
    }


MONEY_SUMS = ("promises", "promised", "kept", "kept_amount", "partial", "partial_amount")
MONEY_SUMS += ("broken", "broken_amount", "collected")


def money(filters: Filters) -> dict[str, Any]:
    promises = rollup_rows(PromiseDay, filters)
    totals = promises.aggregate(**{name: rollup_sum(name) for name in MONEY_SUMS})

    def kept_rates(dimension: str) -> list[tuple[str, int, int, Decimal | None]]:
        rows = promises.values(dimension).annotate(n=Sum("promises"), k=Sum("kept")).order_by(dimension)
        return [(row[dimension], row["n"], row["k"], rate(row["k"], row["n"])) for row in rows]

    weeks = (
        promises.annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(n=Sum("promises"), k=Sum("kept"))
        .order_by("week")
    )
    return {
        **{name: Decimal(value).quantize(CENT) if name in AMOUNTS else value for name, value in totals.items()},
        "kept_rate": rate(totals["kept"], totals["promises"]),
        "collected_rate": rate(totals["collected"], totals["promised"]),
        "kept_rate_by_stage": kept_rates("stage"),
        "kept_rate_by_risk": kept_rates("risk"),
        "cohorts": [(row["week"], row["n"], row["k"], rate(row["k"], row["n"])) for row in weeks],
    }


def compliance(filters: Filters) -> dict[str, Any]:
    """The calling rules at work (not narrowed by workflow, direction or channel: the gate decides
    on a follow-up before there is a call, and an opt-out holds for every call)."""
    events = ComplianceDay.objects.filter(day__range=(filters.start, filters.end))
    counts = {
        (event, kind): n for event, kind, n in events.values_list("event", "kind").annotate(n=Sum("count")).order_by()
    }

    def kinds(event: str) -> list[tuple[str, int]]:
        found = [(kind, n) for (each, kind), n in counts.items() if each == event]
        return sorted(found, key=lambda item: (-item[1], item[0]))

    dialed = dict(kinds(ComplianceEvent.DIALED))
    return {
        "followups_done": counts.get((ComplianceEvent.FOLLOWUP, "done"), 0),
        "followups_failed": counts.get((ComplianceEvent.FOLLOWUP, "failed"), 0),
        "blocked": sum(n for _, n in kinds(ComplianceEvent.BLOCKED)),
        "blocks_by_rule": kinds(ComplianceEvent.BLOCKED),
        "opt_outs": sum(n for _, n in kinds(ComplianceEvent.OPT_OUT)),
        "opt_outs_by_source": kinds(ComplianceEvent.OPT_OUT),
        "dials": sum(dialed.values()),
        "dials_outside_window": dialed.get("outside_window", 0),
        "dials_window_unknown": dialed.get("unknown", 0),
    }


def quality(filters: Filters, calls: int) -> dict[str, Any]:
    """What the analyses found and how often the guardrails stepped in (per 100 calls of the range)."""
    analyses = rollup_rows(AnalysisDay, filters)
    totals = analyses.aggregate(
        **{name: rollup_sum(name) for name in ("analyses", "to_review", "reviewed", "corrected")}
    )
    sentiments = analyses.values_list("sentiment").annotate(n=Sum("analyses")).order_by("sentiment")
    weekly = (
        analyses.annotate(week=TruncWeek("day"))
        .values("week", "sentiment")
        .annotate(n=Sum("analyses"))
        .order_by("week", "sentiment")
    )
    intents = analyses.values("intent").annotate(n=Sum("analyses")).order_by("-n", "intent")[:10]
    hits = rollup_rows(GuardrailDay, filters).values("name").annotate(n=Sum("hits")).order_by("-n", "name")
    per_kind = [(row["name"], row["n"], ratio(Decimal(row["n"]) * 100, calls, Decimal("0.1"))) for row in hits]
    grounding = sum(n for name, n, _ in per_kind if name in GROUNDING)
    return {
        **totals,
        "corrected_rate": rate(totals["corrected"], totals["reviewed"]),
        "sentiments": [(sentiment or "unknown", n) for sentiment, n in sentiments],
        "sentiment_weeks": [(row["week"], row["sentiment"] or "unknown", row["n"]) for row in weekly],
        "intents": [(row["intent"] or "unknown", row["n"]) for row in intents],
        "guardrails_per_100_calls": per_kind,
        "grounding_interventions": grounding,
        "grounding_per_100_calls": ratio(Decimal(grounding) * 100, calls, Decimal("0.1")),
    }


def latency_parts(filters: Filters) -> list[QuerySet]:
    """The latency histograms' rows of the range: its whole months from LatencyMonth, its other
    days from LatencyDay (a year reads 12 months' rows instead of 365 days')."""
    first_month = filters.start if filters.start.day == 1 else next_month(filters.start)
    after_months = month_start(filters.end + timedelta(days=1))  # the month after the last whole one
    if first_month < after_months:
        months = LatencyMonth.objects.filter(day__gte=first_month, day__lt=after_months, **filters.dimensions)
        days = rollup_rows(LatencyDay, filters).exclude(day__gte=first_month, day__lt=after_months)
        return [months, days]
    return [rollup_rows(LatencyDay, filters)]


def _latency_spread(filters: Filters) -> list[tuple[str, int, int]]:
    """(metric, bucket, turns) of the range."""
    totals: dict[tuple[str, int], int] = defaultdict(int)
    for part in latency_parts(filters):
        for metric, bucket, n in part.values_list("metric", "bucket_ms").annotate(n=Sum("turns")).order_by():
            totals[(metric, bucket)] += n
    return [(metric, bucket, n) for (metric, bucket), n in totals.items()]


def speed(filters: Filters) -> dict[str, Any]:
    """Turn latency percentiles (from the stored histograms), who answered the turns, breaker openings."""
    buckets: dict[str, list[tuple[int, int]]] = {metric: [] for metric in METRICS}
    for metric, bucket, n in _latency_spread(filters):
        buckets.setdefault(metric, []).append((bucket, n))
    latency = {
        metric: {"p50": percentile(buckets[metric], 0.5), "p95": percentile(buckets[metric], 0.95)}
        for metric in METRICS
    }
    turns = rollup_rows(TurnDay, filters)
    by_mode = dict(turns.values_list("mode").annotate(n=Sum("turns")).order_by())
    total = sum(by_mode.values())
    shares = turns.aggregate(held=rollup_sum("held"), fallback=rollup_sum("fallback"))
    openings = rollup_rows(BreakerDay, filters).values("name").annotate(n=Sum("openings")).order_by("-n", "name")
    return {
        "latency_ms": latency,
        "turns": total,
        "turns_by_mode": by_mode,
        "offline_share": rate(by_mode.get("offline", 0), total),
        "fallback_share": rate(shares["fallback"], total),
        "holding_phrase_share": rate(shares["held"], total),
        "breaker_openings": sum(row["n"] for row in openings),
        "breakers": [(row["name"], row["n"]) for row in openings],
    }


def cost(filters: Filters, outcomes_: dict[str, Any], money_: dict[str, Any]) -> dict[str, Any]:
    totals = rollup_rows(CallDay, filters).aggregate(
        cost=rollup_sum("cost_usd"), prompt=rollup_sum("prompt_tokens"), completion=rollup_sum("completion_tokens")
    )
    spent = Decimal(totals["cost"]).quantize(MICRO)
    return {
        "cost_usd": spent,
        "prompt_tokens": totals["prompt"],
        "completion_tokens": totals["completion"],
        "tokens_per_call": ratio(totals["prompt"] + totals["completion"], outcomes_["calls"], Decimal("0.1")),
        "cost_per_call": ratio(spent, outcomes_["calls"]),
        "cost_per_kept_promise": ratio(spent, money_["kept"]),
        "cost_per_dollar_collected": ratio(spent, money_["collected"]),
    }


def summary(filters: Filters) -> Summary:
    result = Summary(filters, outcomes=outcomes(filters), money=money(filters), compliance=compliance(filters))
    result.quality = quality(filters, result.outcomes["calls"])
    result.speed = speed(filters)
    result.cost = cost(filters, result.outcomes, result.money)
    return result


# --- one row per day (the CSV) ------------------------------------------------------------------


def _by_day(rows: QuerySet) -> Iterator[tuple[date, dict[str, Any]]]:
    for row in rows.order_by("day").iterator():
        yield row.pop("day"), row


def daily(filters: Filters) -> Iterator[list[Any]]:
    """Every day of the range in order, the CSV's columns (CSV_COLUMNS), days without anything
    included. Three ordered queries are walked side by side: nothing is held but the current day."""
    calls = _by_day(
        rollup_rows(CallDay, filters)
        .values("day")
        .annotate(
            t_calls=rollup_sum("calls"),
            t_inbound=rollup_sum("calls", direction="inbound"),
            t_outbound=rollup_sum("calls", direction="outbound"),
            t_meaningful=rollup_sum("meaningful"),
            t_completed=rollup_sum("calls", outcome=Outcome.COMPLETED),
            t_handoffs=rollup_sum("calls", outcome=Outcome.HANDED_OFF),
            t_not_reached=rollup_sum("calls", outcome=Outcome.NOT_REACHED),
            t_abandoned=rollup_sum("calls", outcome=Outcome.ABANDONED),
            t_cost=rollup_sum("cost_usd"),
        )
    )
    promises = _by_day(
        rollup_rows(PromiseDay, filters)
        .values("day")
        .annotate(
            **{f"t_{name}": rollup_sum(name) for name in ("promises", "promised", "kept", "kept_amount")},
            **{f"t_{name}": rollup_sum(name) for name in ("partial", "broken", "collected")},
        )
    )
    blocks = _by_day(
        ComplianceDay.objects.filter(day__range=(filters.start, filters.end), event=ComplianceEvent.BLOCKED)
        .values("day")
        .annotate(t_blocks=rollup_sum("count"))
    )
    next_call, next_promise, next_block = next(calls, None), next(promises, None), next(blocks, None)
    day = filters.start
    while day <= filters.end:
        c: dict[str, Any] = {}
        p: dict[str, Any] = {}
        b: dict[str, Any] = {}
        if next_call and next_call[0] == day:
            c, next_call = next_call[1], next(calls, None)
        if next_promise and next_promise[0] == day:
            p, next_promise = next_promise[1], next(promises, None)
        if next_block and next_block[0] == day:
            b, next_block = next_block[1], next(blocks, None)
        yield [
            day.isoformat(),
            c.get("t_calls", 0),
            c.get("t_inbound", 0),
            c.get("t_outbound", 0),
            c.get("t_meaningful", 0),
            c.get("t_completed", 0),
            c.get("t_handoffs", 0),
            p.get("t_promises", 0),
            Decimal(p.get("t_promised", 0)).quantize(CENT),
            p.get("t_kept", 0),
            Decimal(p.get("t_kept_amount", 0)).quantize(CENT),
            b.get("t_blocks", 0),
            Decimal(c.get("t_cost", 0)).quantize(MICRO),
            c.get("t_not_reached", 0),
            c.get("t_abandoned", 0),
            p.get("t_partial", 0),
            p.get("t_broken", 0),
            Decimal(p.get("t_collected", 0)).quantize(CENT),
        ]
        day += timedelta(days=1)
