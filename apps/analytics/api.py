"""`GET /api/v1/analytics/summary?from=&to=` (and the page's filters): the analytics page's figures as
JSON, for other systems. The same numbers as the page and the CSV (apps/analytics/figures.py)."""

from dataclasses import asdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router
from ninja.errors import HttpError

from apps.accounts.api_auth import require
from apps.analytics.figures import summary
from apps.analytics.params import BadFilters, parse_filters
from apps.analytics.versions import compare_versions

router = Router(tags=["analytics"])


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _records(rows: list[tuple], *names: str) -> list[dict[str, Any]]:
    return [dict(zip(names, map(_plain, row), strict=True)) for row in rows]


@router.get("/summary", auth=require("accounts.view_analytics"), operation_id="apps_analytics_api_summary")
def get_summary(request: HttpRequest) -> dict[str, Any]:
    try:
        filters, _ = parse_filters(request.GET, require_range=True)
    except BadFilters as exc:
        raise HttpError(422, str(exc)) from exc
    figures = summary(filters)
    outcomes = {key: value for key, value in figures.outcomes.items() if key not in ("daily", "handoff_reasons")}
    money = {
        key: value
        for key, value in figures.money.items()
        if key not in ("kept_rate_by_stage", "kept_rate_by_risk", "cohorts")
    }
    return {
        "range": {"from": filters.start.isoformat(), "to": filters.end.isoformat(), "days": filters.days},
        "filters": filters.dimensions,
        "outcomes": {
            **_plain(outcomes),
            "handoff_reasons": _records(figures.outcomes["handoff_reasons"], "reason", "calls"),
        },
        "money": {
            **_plain(money),
            "kept_rate_by_stage": _records(
                figures.money["kept_rate_by_stage"], "stage", "promises", "kept", "kept_rate"
            ),
            "kept_rate_by_risk": _records(figures.money["kept_rate_by_risk"], "risk", "promises", "kept", "kept_rate"),
            "cohorts": _records(figures.money["cohorts"], "week", "promises", "kept", "kept_rate"),
        },
        "compliance": {
            **{k: v for k, v in figures.compliance.items() if not isinstance(v, list)},
            "blocks_by_rule": _records(figures.compliance["blocks_by_rule"], "rule", "blocks"),
            "opt_outs_by_source": _records(figures.compliance["opt_outs_by_source"], "source", "opt_outs"),
        },
        "quality": {
            **_plain({k: v for k, v in figures.quality.items() if not isinstance(v, list)}),
            "sentiments": _records(figures.quality["sentiments"], "sentiment", "analyses"),
            "intents": _records(figures.quality["intents"], "intent", "analyses"),
            "guardrails": _records(figures.quality["guardrails_per_100_calls"], "kind", "hits", "per_100_calls"),
        },
        "speed": {
            **_plain({k: v for k, v in figures.speed.items() if k != "breakers"}),
            "breakers": _records(figures.speed["breakers"], "name", "openings"),
        },
        "cost": _plain(figures.cost),
        # Versions side by side (apps/analytics/versions.py): every version of each workflow that
        # ran calls in the range, whatever the version filter.
        "versions": [_plain(asdict(column)) for block in compare_versions(filters) for column in block.columns],
    }
