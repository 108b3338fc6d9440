"""The managers' pages (managers and supervisors): the figures for a range, their CSV, and the
calls behind a chart's point. Everything is read from the rollups (figures.py), except the list of
calls a drill-down opens, which is the raw calls of that day and outcome, a page at a time."""

import csv
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.urls import reverse

from apps.analytics.figures import CSV_COLUMNS, Filters, daily, summary
from apps.analytics.models import CallMonth, Outcome
from apps.analytics.params import PRESETS, BadFilters, parse_filters
from apps.analytics.present import charts
from apps.analytics.rollups import call_outcome, day_start, real_calls_between
from apps.analytics.versions import compare_versions, version_tables
from apps.calls.models import Channel, Direction
from apps.console.access import console_page as page
from apps.console.views import render_page

CALLS_PER_PAGE = 50


def _query(filters: Filters, **extra: str) -> str:
    chosen = {"from": filters.start.isoformat(), "to": filters.end.isoformat(), **filters.dimensions, **extra}
    return urlencode({name: value for name, value in chosen.items() if value})


def _choices(filters: Filters) -> dict[str, Any]:
    """What the filter form offers: the workflows and versions the rollups know."""
    known = CallMonth.objects.values_list("workflow", "version").distinct().order_by("workflow", "version")
    return {
        "workflows": sorted({workflow for workflow, _ in known if workflow}),
        "versions": sorted({version for _, version in known if version}),
        "directions": Direction.choices,
        "channels": Channel.choices,
        "presets": PRESETS,
    }


@page("analytics")
def analytics(request: HttpRequest) -> HttpResponse:
    try:
        filters, preset = parse_filters(request.GET)
    except BadFilters as exc:
        filters, preset = parse_filters({})
        error = str(exc)
    else:
        error = ""
    figures = summary(filters)
    drill = reverse("analytics:calls") + "?" + _query(filters)

    def version_drill(workflow: str, version: str) -> str:
        return reverse("analytics:calls") + "?" + _query(replace(filters, workflow=workflow, version=version))

    context = {
        "filters": filters,
        "preset": preset,
        "error": error,
        "figures": figures,
        "charts": charts(figures, drill=drill),
        "version_tables": version_tables(compare_versions(filters), link=version_drill),
        "export": reverse("analytics:export") + "?" + _query(filters),
        "drill": drill,
        "zone": settings.BUSINESS_TIME_ZONE,
        **_choices(filters),
    }
    return render_page(request, "analytics/page.html", context, current="analytics")


class _Line:
    """csv.writer's file: hands back each line instead of keeping it."""

    def write(self, value: str) -> str:
        return value


@page("analytics")
def export_csv(request: HttpRequest) -> HttpResponse:
    """One row per day of the range, streamed."""
    try:
        filters, _ = parse_filters(request.GET, require_range=True)
    except BadFilters as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Line(), lineterminator="\n")

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for row in daily(filters):
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"analytics-{filters.start}-{filters.end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@page("analytics")
def calls(request: HttpRequest) -> HttpResponse:
    """The calls behind a chart's point: the range (or one day of it), the filters, an outcome."""
    try:
        filters, _ = parse_filters(request.GET)
    except BadFilters as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    if day := request.GET.get("day", ""):  # a chart's point: a day (or `days` from it) of the range
        try:
            first, span = date.fromisoformat(day), int(request.GET.get("days") or 1)
        except ValueError:
            return HttpResponseBadRequest(
                f"'day' must be a date as YYYY-MM-DD and 'days' a number (got {day[:20]!r}).",
                content_type="text/plain",
            )
        filters = replace(filters, start=first, end=first + timedelta(days=min(max(span, 1), 31) - 1))
    outcome = request.GET.get("outcome", "")
    if outcome and outcome not in Outcome.values:
        return HttpResponseBadRequest(
            f"'outcome' must be one of {', '.join(Outcome.values)}.", content_type="text/plain"
        )
    reason = request.GET.get("reason", "")[:255]
    found = real_calls_between(day_start(filters.start), day_start(filters.end + timedelta(days=1)))
    found = found.filter(
        **{
            field: value
            for field, value in (
                ("workflow_name", filters.workflow),
                ("workflow_version", filters.version),
                ("direction", filters.direction),
                ("channel", filters.channel),
                ("handoff_reason", reason),
            )
            if value
        }
    )
    if outcome:
        found = found.annotate(rollup_outcome=call_outcome()).filter(rollup_outcome=outcome)
    found = found.select_related("customer").order_by("-started_at", "-id")
    listing = Paginator(found, CALLS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "filters": filters,
        "outcome": Outcome(outcome).label if outcome else "",
        "reason": reason,
        "listing": listing,
        "back": reverse("analytics:page") + "?" + _query(filters),
        "query": _query(filters, outcome=outcome, reason=reason),
    }
    return render_page(request, "analytics/calls.html", context, current="analytics")
