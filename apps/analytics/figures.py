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
    MONTHLY,
    AnalysisDay,
    BreakerDay,
    CallDay,
    ComplianceDay,
    ComplianceEvent,
    GuardrailDay,
    HandoffDay,
    LatencyDay,
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


def _rows(model, filters: Filters) -> QuerySet:
    return model.objects.filter(day__range=(filters.start, filters.end), **filters.dimensions)


COUNT = IntegerField()
AMOUNT = DecimalField(max_digits=16, decimal_places=2)
COST = DecimalField(max_digits=16, decimal_places=6)
AMOUNTS = ("promised", "kept_amount", "partial_amount", "broken_amount", "collected")


def _sum(name: str, **condition: Any) -> Coalesce:
    """The sum of a rollup column (0 when there are no rows), optionally of the rows matching `condition`."""
    output = AMOUNT if name in AMOUNTS else COST if name == "cost_usd" else COUNT
    return Coalesce(Sum(name, filter=Q(**condition) if condition else None), Value(0), output_field=output)


def rollup_parts(model, filters: Filters) -> list[QuerySet]:
    """The range's rows of a daily rollup that has a monthly table (models.MONTHLY): its whole
    months from the monthly table, its other days from the daily one (a year reads 12 months' rows
    instead of 365 days')."""
    first_month = filters.start if filters.start.day == 1 else next_month(filters.start)
    after_months = month_start(filters.end + timedelta(days=1))  # the month after the last whole one
    if first_month < after_months:
        months = MONTHLY[model].objects.filter(day__gte=first_month, day__lt=after_months, **filters.dimensions)
        days = _rows(model, filters).exclude(day__gte=first_month, day__lt=after_months)
        return [months, days]
    return [_rows(model, filters)]


def grouped(
    model, filters: Filters, keys: tuple[str, ...], where: Q | None = None, **sums: Sum
) -> dict[tuple, dict[str, Any]]:
    """Sums of a rollup's columns over the range (and `where`), by `keys`, in one query: the
    database sums each part of `rollup_parts` (a UNION ALL); the groups of the two parts (a
    handful) are added here."""
    parts = [
        part.filter(where or Q()).values(*keys).annotate(**sums).order_by() for part in rollup_parts(model, filters)
    ]
    out: dict[tuple, dict[str, Any]] = {}
    for row in parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]:
        totals = out.setdefault(tuple(row[key] for key in keys), dict.fromkeys(sums, 0))
        for name in sums:
            totals[name] += row[name] or 0
    return out


def _ranked(groups: dict[tuple, dict[str, Any]], name: str = "n") -> list[tuple[Any, int]]:
    """(key, sum) of one-key groups, the largest sum first (ties by key)."""
    return sorted(((key, figures[name]) for (key,), figures in groups.items()), key=lambda item: (-item[1], item[0]))


def _total(groups: dict[tuple, dict[str, Any]], name: str, keep=lambda key: True) -> Any:
    return sum((figures[name] for key, figures in groups.items() if keep(key)), 0)


@dataclass
class Summary:
    filters: Filters
    outcomes: dict[str, Any] = field(default_factory=dict)
    money: dict[str, Any] = field(default_factory=dict)
    compliance: dict[str, Any] = field(default_factory=dict)
    quality: dict[str, Any] = field(default_factory=dict)
    speed: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, Any] = field(default_factory=dict)


CALL_SUMS = ("calls", "meaningful", "analysed", "timed", "handle_seconds", "first_contacts")
CALL_SUMS += ("first_contacts_resolved", "cost_usd", "prompt_tokens", "completion_tokens")


def call_sums(filters: Filters) -> dict[tuple, dict[str, Any]]:
    """CallDay's columns summed over the range, by outcome: the outcomes' and the cost's totals."""
    return grouped(CallDay, filters, ("outcome",), **{name: Sum(name) for name in CALL_SUMS})


def outcomes(filters: Filters, sums: dict[tuple, dict[str, Any]] | None = None) -> dict[str, Any]:
    sums = call_sums(filters) if sums is None else sums

    def conversation(key: tuple) -> bool:
        return key[0] in CONVERSATIONS

    by_outcome = {outcome: 0 for outcome in Outcome.values}
    by_outcome.update({outcome: figures["calls"] for (outcome,), figures in sums.items()})
    conversations = sum(by_outcome[outcome] for outcome in CONVERSATIONS)
    analysed, timed = _total(sums, "analysed"), _total(sums, "timed", conversation)
    first, first_resolved = (
        _total(sums, "first_contacts", conversation),
        _total(sums, "first_contacts_resolved", conversation),
    )
    daily = (
        _rows(CallDay, filters)
        .values("day", "direction", "outcome")
        .annotate(n=Sum("calls"))
        .order_by("day", "direction", "outcome")
    )
    reasons = _ranked(grouped(HandoffDay, filters, ("reason",), n=Sum("calls")))
    return {
        "calls": _total(sums, "calls"),
        "by_outcome": by_outcome,
        "conversations": conversations,
        "meaningful": _total(sums, "meaningful"),
        "analysed": analysed,
        "meaningful_rate": rate(_total(sums, "meaningful"), analysed),
        "completion_rate": rate(by_outcome[Outcome.COMPLETED], conversations),
        "handoff_rate": rate(by_outcome[Outcome.HANDED_OFF], conversations),
        "handle_seconds_avg": ratio(_total(sums, "handle_seconds", conversation), timed, Decimal("0.1")),
        "first_contacts": first,
        "first_contacts_resolved": first_resolved,
        "first_contact_resolution": rate(first_resolved, first),
        "handoff_reasons": reasons[:10],
        "daily": [(row["day"], row["direction"], row["outcome"], row["n"]) for row in daily],
    }


MONEY_SUMS = ("promises", "promised", "kept", "kept_amount", "partial", "partial_amount")
MONEY_SUMS += ("broken", "broken_amount", "collected")


def money(filters: Filters) -> dict[str, Any]:
    by_kind = grouped(PromiseDay, filters, ("stage", "risk"), **{name: Sum(name) for name in MONEY_SUMS})
    totals = {name: _total(by_kind, name) for name in MONEY_SUMS}

    def kept_rates(position: int) -> list[tuple[str, int, int, Decimal | None]]:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for key, figures in by_kind.items():
            counts[key[position]][0] += figures["promises"]
            counts[key[position]][1] += figures["kept"]
        return [(name, n, k, rate(k, n)) for name, (n, k) in sorted(counts.items())]

    weeks = (
        _rows(PromiseDay, filters)
        .annotate(week=TruncWeek("day"))
        .values("week")
        .annotate(n=Sum("promises"), k=Sum("kept"))
        .order_by("week")
    )
    return {
        **{name: Decimal(value).quantize(CENT) if name in AMOUNTS else value for name, value in totals.items()},
        "kept_rate": rate(totals["kept"], totals["promises"]),
        "collected_rate": rate(totals["collected"], totals["promised"]),
        "kept_rate_by_stage": kept_rates(0),
        "kept_rate_by_risk": kept_rates(1),
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
    by_sentiment = grouped(
        AnalysisDay,
        filters,
        ("sentiment",),
        **{name: Sum(name) for name in ("analyses", "to_review", "reviewed", "corrected")},
    )
    totals = {name: _total(by_sentiment, name) for name in ("analyses", "to_review", "reviewed", "corrected")}
    sentiments = sorted((sentiment, figures["analyses"]) for (sentiment,), figures in by_sentiment.items())
    weekly = (
        _rows(AnalysisDay, filters)
        .annotate(week=TruncWeek("day"))
        .values("week", "sentiment")
        .annotate(n=Sum("analyses"))
        .order_by("week", "sentiment")
    )
    intents = _ranked(grouped(AnalysisDay, filters, ("intent",), n=Sum("analyses")))[:10]
    hits = _ranked(grouped(GuardrailDay, filters, ("name",), n=Sum("hits")))
    per_kind = [(name, n, ratio(Decimal(n) * 100, calls, Decimal("0.1"))) for name, n in hits]
    grounding = sum(n for name, n, _ in per_kind if name in GROUNDING)
    return {
        **totals,
        "corrected_rate": rate(totals["corrected"], totals["reviewed"]),
        "sentiments": [(sentiment or "unknown", n) for sentiment, n in sentiments],
        "sentiment_weeks": [(row["week"], row["sentiment"] or "unknown", row["n"]) for row in weekly],
        "intents": [(intent or "unknown", n) for intent, n in intents],
        "guardrails_per_100_calls": per_kind,
        "grounding_interventions": grounding,
        "grounding_per_100_calls": ratio(Decimal(grounding) * 100, calls, Decimal("0.1")),
    }


def _latency_spread(filters: Filters) -> list[tuple[str, int, int]]:
    """(metric, bucket, turns) of the range."""
    spread = grouped(LatencyDay, filters, ("metric", "bucket_ms"), n=Sum("turns"))
    return [(metric, bucket, figures["n"]) for (metric, bucket), figures in spread.items()]


def speed(filters: Filters) -> dict[str, Any]:
    """Turn latency percentiles (from the stored histograms), who answered the turns, breaker openings."""
    buckets: dict[str, list[tuple[int, int]]] = {metric: [] for metric in METRICS}
    for metric, bucket, n in _latency_spread(filters):
        buckets.setdefault(metric, []).append((bucket, n))
    latency = {
        metric: {"p50": percentile(buckets[metric], 0.5), "p95": percentile(buckets[metric], 0.95)}
        for metric in METRICS
    }
    turns = grouped(TurnDay, filters, ("mode",), n=Sum("turns"), held=Sum("held"), fallback=Sum("fallback"))
    by_mode = {mode: figures["n"] for (mode,), figures in turns.items()}
    total = sum(by_mode.values())
    shares = {name: _total(turns, name) for name in ("held", "fallback")}
    openings = _rows(BreakerDay, filters).values("name").annotate(n=Sum("openings")).order_by("-n", "name")
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


def cost(sums: dict[tuple, dict[str, Any]], outcomes_: dict[str, Any], money_: dict[str, Any]) -> dict[str, Any]:
    """What the calls cost (`sums`: `call_sums` of the range)."""
    spent = Decimal(_total(sums, "cost_usd")).quantize(MICRO)
    prompt, completion = _total(sums, "prompt_tokens"), _total(sums, "completion_tokens")
    return {
        "cost_usd": spent,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "tokens_per_call": ratio(prompt + completion, outcomes_["calls"], Decimal("0.1")),
        "cost_per_call": ratio(spent, outcomes_["calls"]),
        "cost_per_kept_promise": ratio(spent, money_["kept"]),
        "cost_per_dollar_collected": ratio(spent, money_["collected"]),
    }


def summary(filters: Filters) -> Summary:
    sums = call_sums(filters)
    result = Summary(filters, outcomes=outcomes(filters, sums), money=money(filters), compliance=compliance(filters))
    result.quality = quality(filters, result.outcomes["calls"])
    result.speed = speed(filters)
    result.cost = cost(sums, result.outcomes, result.money)
    return result


# --- one row per day (the CSV) ------------------------------------------------------------------


def _by_day(rows: QuerySet) -> Iterator[tuple[date, dict[str, Any]]]:
    for row in rows.order_by("day").iterator():
        yield row.pop("day"), row


def daily(filters: Filters) -> Iterator[list[Any]]:
    """Every day of the range in order, the CSV's columns (CSV_COLUMNS), days without anything
    included. Three ordered queries are walked side by side: nothing is held but the current day."""
    calls = _by_day(
        _rows(CallDay, filters)
        .values("day")
        .annotate(
            t_calls=_sum("calls"),
            t_inbound=_sum("calls", direction="inbound"),
            t_outbound=_sum("calls", direction="outbound"),
            t_meaningful=_sum("meaningful"),
            t_completed=_sum("calls", outcome=Outcome.COMPLETED),
            t_handoffs=_sum("calls", outcome=Outcome.HANDED_OFF),
            t_not_reached=_sum("calls", outcome=Outcome.NOT_REACHED),
            t_abandoned=_sum("calls", outcome=Outcome.ABANDONED),
            t_cost=_sum("cost_usd"),
        )
    )
    promises = _by_day(
        _rows(PromiseDay, filters)
        .values("day")
        .annotate(
            **{f"t_{name}": _sum(name) for name in ("promises", "promised", "kept", "kept_amount")},
            **{f"t_{name}": _sum(name) for name in ("partial", "broken", "collected")},
        )
    )
    blocks = _by_day(
        ComplianceDay.objects.filter(day__range=(filters.start, filters.end), event=ComplianceEvent.BLOCKED)
        .values("day")
        .annotate(t_blocks=_sum("count"))
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
