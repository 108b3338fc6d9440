"""The range and filters of an analytics request (page, CSV or JSON), checked once: a bad value is
a clear error naming it, never a silently different range."""

from collections.abc import Mapping
from datetime import date, timedelta

from django.utils import timezone

from apps.analytics.figures import Filters
from apps.analytics.rollups import business_zone
from apps.calls.models import Channel, Direction

PRESETS = {"today": "Today", "7d": "7 days", "30d": "30 days", "quarter": "This quarter"}
DEFAULT_PRESET = "30d"
MAX_DAYS = 3 * 366 + 1  # three years in one request


class BadFilters(ValueError):
    pass


def business_today() -> date:
    return timezone.localtime(timezone.now(), business_zone()).date()


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "today":
        return today, today
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    return today - timedelta(days=29), today


def _day(query: Mapping[str, str], name: str) -> date | None:
    value = (query.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadFilters(f"'{name}' must be a date as YYYY-MM-DD (got {value[:20]!r}).") from exc


def _choice(query: Mapping[str, str], name: str, allowed: list[str] | None, max_length: int) -> str:
    value = (query.get(name) or "").strip()
    if allowed is not None and value and value not in allowed:
        raise BadFilters(f"'{name}' must be one of {', '.join(allowed)} (got {value[:20]!r}).")
    if len(value) > max_length:
        raise BadFilters(f"'{name}' is at most {max_length} characters.")
    return value


def parse_filters(query: Mapping[str, str], *, require_range: bool = False) -> tuple[Filters, str]:
    """The filters a request asks for, and the preset it used ("" for its own dates). Raises
    BadFilters. Without dates, the preset (default: 30 days) ends today."""
    start, end = _day(query, "from"), _day(query, "to")
    preset = ""
    if start is None and end is None:
        if require_range:
            raise BadFilters("Give the range: 'from' and 'to' as YYYY-MM-DD.")
        preset = query.get("preset") if query.get("preset") in PRESETS else DEFAULT_PRESET
        start, end = preset_range(preset, business_today())
    elif start is None or end is None:
        raise BadFilters("Give both 'from' and 'to' (YYYY-MM-DD), or neither.")
    if start > end:
        raise BadFilters(f"'from' ({start}) is after 'to' ({end}).")
    if (end - start).days + 1 > MAX_DAYS:
        raise BadFilters(f"A range is at most {MAX_DAYS} days.")
    filters = Filters(
        start=start,
        end=end,
        workflow=_choice(query, "workflow", None, 50),
        version=_choice(query, "version", None, 64),
        direction=_choice(query, "direction", list(Direction.values), 10),
        channel=_choice(query, "channel", list(Channel.values), 10),
    )
    return filters, preset
