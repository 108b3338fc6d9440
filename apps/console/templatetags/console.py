"""Filters for the console's templates: stored values as a person reads them (apps/console/present.py)."""

from django import template
from django.utils.dateparse import parse_datetime

from apps.console import present

register = template.Library()

register.filter("labelled", present.labelled)
register.filter("money", present.money)
register.filter("time_left", present.time_left)
register.filter("policy", present.policy)
register.filter("approval_flags", present.approval_flags)
register.filter("monitor_flags", present.monitor_flags)
register.filter("step_label", present.step_label)
register.filter("decision", present.decision)
register.filter("event_kind", present.event_kind)
register.filter("event_name", present.event_name)
register.filter("since", present.since)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def as_datetime(value):
    """An ISO timestamp from a live message, as a datetime for the `date` and `time` filters."""
    return parse_datetime(value) if isinstance(value, str) else value
