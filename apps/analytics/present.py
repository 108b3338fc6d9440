"""The page's charts, as plain data: each is drawn by Chart.js (static/analytics/charts.js) from
its labels and datasets, and shown as a table beside it from the same values, so the figures read
without the picture. A point's link opens the calls behind it (the drill-down)."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from apps.analytics.figures import Summary
from apps.analytics.latency import METRICS
from apps.analytics.models import Outcome
from apps.customers.models import CollectionStage, RiskCategory

OUTCOME_COLOURS = {
    Outcome.COMPLETED: "#2e7d32",
    Outcome.HANDED_OFF: "#1565c0",
    Outcome.ABANDONED: "#ef6c00",
    Outcome.NOT_REACHED: "#757575",
    Outcome.IN_PROGRESS: "#8e24aa",
}


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _link(drill: str, **params: str) -> str:
    return f"{drill}&{urlencode(params)}" if params else drill


WEEKLY_AFTER_DAYS = 92  # a longer range is drawn week by week


def _calls_per_day(figures: Summary, drill: str) -> dict[str, Any]:
    """Calls by outcome, a bar per day (per week, Monday first, over a long range), each linking to
    the calls behind it."""
    filters = figures.filters
    weekly = filters.days > WEEKLY_AFTER_DAYS

    def period(day: date) -> date:
        return max(day - timedelta(days=day.weekday()), filters.start) if weekly else day

    periods = sorted({period(filters.start + timedelta(days=n)) for n in range(filters.days)})
    counts: dict[tuple, int] = defaultdict(int)
    by_direction: dict[tuple, int] = defaultdict(int)
    for day, direction, outcome, n in figures.outcomes["daily"]:
        counts[(period(day), outcome)] += n
        by_direction[(period(day), direction)] += n

    def link(first: date, outcome: str) -> str:
        last = min(first + timedelta(days=6 - first.weekday()), filters.end) if weekly else first
        return _link(drill, day=first.isoformat(), days=str((last - first).days + 1), outcome=outcome)

    datasets = [
        {
            "label": Outcome(outcome).label,
            "colour": OUTCOME_COLOURS[outcome],
            "data": [counts[(first, outcome)] for first in periods],
            "links": [link(first, outcome) for first in periods],
        }
        for outcome in Outcome.values
    ]
    head = ["Week of" if weekly else "Day", "Inbound", "Outbound", *(Outcome(o).label for o in Outcome.values)]
    rows = [
        [
            first.isoformat(),
            by_direction[(first, "inbound")],
            by_direction[(first, "outbound")],
            *(counts[(first, o)] for o in Outcome.values),
        ]
        for first in periods
        if any(counts[(first, o)] for o in Outcome.values)
    ]
    return {
        "id": "calls-per-day",
        "title": f"Calls per {'week' if weekly else 'day'}, by outcome",
        "type": "bar",
        "wide": True,  # its table goes below it
        "weekly": weekly,
        "stacked": True,
        "labels": [first.isoformat() for first in periods],
        "datasets": datasets,
        "table": {"head": head, "rows": rows, "empty": "No calls in this range."},
    }


def _handoff_reasons(figures: Summary, drill: str) -> dict[str, Any]:
    reasons = figures.outcomes["handoff_reasons"]
    return {
        "id": "handoff-reasons",
        "title": "Why calls went to a person",
        "type": "bar",
        "horizontal": True,
        "labels": [reason for reason, _ in reasons],
        "datasets": [
            {
                "label": "Calls",
                "colour": OUTCOME_COLOURS[Outcome.HANDED_OFF],
                "data": [n for _, n in reasons],
                "links": [_link(drill, outcome=Outcome.HANDED_OFF, reason=reason) for reason, _ in reasons],
            }
        ],
        "table": {"head": ["Reason", "Calls"], "rows": [[r, n] for r, n in reasons], "empty": "No hand-offs."},
    }


def _promise_outcomes(figures: Summary) -> dict[str, Any]:
    money = figures.money
    open_count = money["promises"] - money["kept"] - money["partial"] - money["broken"]
    open_amount = money["promised"] - money["kept_amount"] - money["partial_amount"] - money["broken_amount"]
    parts = [
        ("Kept", money["kept"], money["kept_amount"], "#2e7d32"),
        ("Partially kept", money["partial"], money["partial_amount"], "#f9a825"),
        ("Broken", money["broken"], money["broken_amount"], "#c62828"),
        ("Open or cancelled", open_count, open_amount, "#9e9e9e"),
    ]
    return {
        "id": "promise-outcomes",
        "title": "What became of the promises made",
        "type": "doughnut",
        "labels": [label for label, *_ in parts],
        "datasets": [{"label": "Promises", "colours": [c for *_, c in parts], "data": [n for _, n, _, _ in parts]}],
        "table": {
            "head": ["Promises", "Count", "Amount"],
            "rows": [[label, n, f"${amount:,.2f}"] for label, n, amount, _ in parts],
            "empty": "No promises made in this range.",
        },
    }


def _kept_rate(figures: Summary, key: str, labels: dict[str, str], title: str, chart_id: str) -> dict[str, Any]:
    rows = figures.money[key]
    return {
        "id": chart_id,
        "title": title,
        "type": "bar",
        "percent": True,
        "labels": [labels.get(value, value or "unknown") for value, *_ in rows],
        "datasets": [{"label": "Kept (%)", "colour": "#2e7d32", "data": [_number(r) for *_, r in rows]}],
        "table": {
            "head": ["", "Promises", "Kept", "Kept rate"],
            "rows": [[labels.get(v, v or "unknown"), n, k, f"{r}%" if r is not None else "–"] for v, n, k, r in rows],
            "empty": "No promises made in this range.",
        },
    }


def _cohorts(figures: Summary) -> dict[str, Any]:
    rows = figures.money["cohorts"]
    return {
        "id": "promise-cohorts",
        "title": "Promises by week made: the share kept by now",
        "type": "line",
        "percent": True,
        "labels": [week.isoformat() for week, *_ in rows],
        "datasets": [{"label": "Kept by now (%)", "colour": "#2e7d32", "data": [_number(r) for *_, r in rows]}],
        "table": {
            "head": ["Week of", "Promises", "Kept", "Kept rate"],
            "rows": [[w.isoformat(), n, k, f"{r}%" if r is not None else "–"] for w, n, k, r in rows],
            "empty": "No promises made in this range.",
        },
    }


def _blocks(figures: Summary) -> dict[str, Any]:
    return _counts(
        "blocks-by-rule",
        "Follow-up calls held back, by rule",
        figures.compliance["blocks_by_rule"],
        "Times",
        "#6d4c41",
        "The compliance gate held nothing back.",
        what="Rule",
    )


SENTIMENT_COLOURS = {"positive": "#2e7d32", "neutral": "#9e9e9e", "mixed": "#f9a825", "negative": "#c62828"}


def _sentiment_weeks(figures: Summary) -> dict[str, Any]:
    rows = figures.quality["sentiment_weeks"]
    weeks = sorted({week for week, _, _ in rows})
    names = [name for name in SENTIMENT_COLOURS if any(s == name for _, s, _ in rows)]
    names += sorted({s for _, s, _ in rows} - set(names))
    counts = {(week, sentiment): n for week, sentiment, n in rows}
    return {
        "id": "sentiment-weeks",
        "title": "Sentiment of the analysed calls, by week",
        "type": "bar",
        "stacked": True,
        "labels": [week.isoformat() for week in weeks],
        "datasets": [
            {
                "label": name.capitalize(),
                "colour": SENTIMENT_COLOURS.get(name, "#5d6778"),
                "data": [counts.get((week, name), 0) for week in weeks],
            }
            for name in names
        ],
        "table": {
            "head": ["Week of", *(name.capitalize() for name in names)],
            "rows": [[week.isoformat(), *(counts.get((week, name), 0) for name in names)] for week in weeks],
            "empty": "No analysed calls in this range.",
        },
    }


def _counts(
    chart_id: str, title: str, rows: list[tuple[str, int]], label: str, colour: str, empty: str, *, what: str
) -> dict:
    return {
        "id": chart_id,
        "title": title,
        "type": "bar",
        "horizontal": True,
        "labels": [name.replace("_", " ") for name, _ in rows],
        "datasets": [{"label": label, "colour": colour, "data": [n for _, n in rows]}],
        "table": {"head": [what, label], "rows": [[name.replace("_", " "), n] for name, n in rows], "empty": empty},
    }


def _guardrails(figures: Summary) -> dict[str, Any]:
    rows = figures.quality["guardrails_per_100_calls"]
    chart = _counts(
        "guardrails",
        "Guardrail hits per 100 calls, by kind",
        [(name, n) for name, n, _ in rows],
        "Hits",
        "#6a1b9a",
        "No guardrail stepped in.",
        what="Kind",
    )
    chart["datasets"][0]["data"] = [_number(per) for _, _, per in rows]
    chart["datasets"][0]["label"] = "Per 100 calls"
    chart["table"] = {
        "head": ["Kind", "Hits", "Per 100 calls"],
        "rows": [[name.replace("_", " "), n, per] for name, n, per in rows],
        "empty": "No guardrail stepped in.",
    }
    return chart


def _latency(figures: Summary) -> dict[str, Any]:
    latency = figures.speed["latency_ms"]
    labels = [METRICS[metric] for metric in latency]
    cells = {
        metric: [f"{v} ms" if v is not None else "–" for v in (values["p50"], values["p95"])]
        for metric, values in latency.items()
    }
    return {
        "id": "turn-latency",
        "title": "Turn latency (ms), p50 and p95",
        "type": "bar",
        "labels": labels,
        "datasets": [
            {"label": "p50", "colour": "#1565c0", "data": [_number(v["p50"]) for v in latency.values()]},
            {"label": "p95", "colour": "#ef6c00", "data": [_number(v["p95"]) for v in latency.values()]},
        ],
        "table": {
            "head": ["Measure", "p50", "p95"],
            "rows": [[METRICS[metric], *cells[metric]] for metric in latency] if figures.speed["turns"] else [],
            "empty": "No turns in this range.",
        },
    }


def charts(figures: Summary, *, drill: str) -> list[dict[str, Any]]:
    return [
        _calls_per_day(figures, drill),
        _handoff_reasons(figures, drill),
        _promise_outcomes(figures),
        _kept_rate(
            figures,
            "kept_rate_by_stage",
            dict(CollectionStage.choices),
            "Kept rate by collection stage",
            "kept-by-stage",
        ),
        _kept_rate(
            figures, "kept_rate_by_risk", dict(RiskCategory.choices), "Kept rate by risk category", "kept-by-risk"
        ),
        _cohorts(figures),
        _blocks(figures),
        _sentiment_weeks(figures),
        _counts(
            "intents",
            "Top intents",
            figures.quality["intents"],
            "Calls",
            "#1565c0",
            "No analysed calls.",
            what="Intent",
        ),
        _guardrails(figures),
        _latency(figures),
    ]
