"""How the console shows stored values to a person: labelled fields, never raw JSON."""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.agent.monitor import FLAG_LABELS
from apps.approvals.models import FLAG_LABELS as APPROVAL_FLAG_LABELS
from apps.approvals.models import POLICIES

# Labels for the keys of approval payloads and execution results.
FIELD_LABELS = {
    "fee": "Fee",
    "amount": "Amount",
    "settlement_amount": "Settlement amount",
    "balance": "Balance",
    "due_date": "Due date",
    "balance_before": "Balance before",
    "balance_after": "Balance after",
    "waived": "Waived",
    "promise_id": "Promise",
    "superseded_promise_ids": "Promises it replaced",
    "error": "Error",
}
MONEY_KEYS = {"amount", "settlement_amount", "balance", "balance_before", "balance_after", "waived"}


def humanize(key: str) -> str:
    return FIELD_LABELS.get(key) or key.replace("_", " ").capitalize()


def money(value: Any, currency: str = "USD") -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    symbol = "$" if currency == "USD" else f"{currency} "
    return f"{symbol}{amount:,.2f}"


def _shown(key: str, value: Any, currency: str) -> str:
    if value in (None, "", []):
        return "none"
    if key in MONEY_KEYS:
        return money(value, currency)
    if key == "fee" and isinstance(value, str):
        return value.replace("_", " ")
    if key.endswith("_date") and isinstance(value, str) and (day := parse_date(value)):
        return f"{day:%A, %B} {day.day}, {day.year}"
    if isinstance(value, list):
        return ", ".join(f"#{item}" if key.endswith("_ids") else str(item) for item in value)
    if key.endswith("_id"):
        return f"#{value}"
    if isinstance(value, dict):
        return "; ".join(f"{humanize(k)}: {_shown(k, v, currency)}" for k, v in value.items())
    return str(value)


def labelled(values: dict[str, Any], currency: str = "USD") -> list[tuple[str, str]]:
    """A stored JSON object as (label, text) pairs, in its own order."""
    return [(humanize(key), _shown(key, value, currency)) for key, value in (values or {}).items()]


def time_left(expires_at: datetime, now: datetime | None = None) -> str:
    left = expires_at - (now or timezone.now())
    if left <= timedelta(0):
        return "expired"
    minutes = int(left.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return f"{hours // 24} days left"
    return f"{hours} h {minutes} min left" if hours else f"{max(minutes, 1)} min left"


def policy(kind: str) -> str:
    return POLICIES.get(kind, "Actions of this kind need a person's approval.")


def approval_flags(flags: list[str]) -> list[str]:
    return [APPROVAL_FLAG_LABELS.get(flag, flag.replace("_", " ")) for flag in flags]


def monitor_flags(flags: list[str]) -> list[tuple[str, str]]:
    return [(flag, FLAG_LABELS.get(flag, flag)) for flag in flags]


def step_label(step: str) -> str:
    return step.replace("_", " ") if step else "starting"


def decision(status: str) -> str:
    """What a person decided, whatever the execution made of it since."""
    return "Rejected" if status == "rejected" else "Approved"


EVENT_KINDS = {
    "tool_call": "Tool",
    "guardrail": "Guardrail",
    "step_change": "Step",
    "sandboxed": "Not done (test call)",
    "supervisor": "Supervisor",
}


def event_kind(kind: str) -> str:
    return EVENT_KINDS.get(kind, kind.replace("_", " "))


def event_name(name: str) -> str:
    """A trace's name as read: "identify->verify_identity" is "identify → verify identity"."""
    return " → ".join(part.strip().replace("_", " ") for part in name.split("->"))


def since(started_at: str | None, now: datetime | None = None) -> str:
    """How long a live call has been going, as the monitor's clock shows it (console.js ticks it on)."""
    started = parse_datetime(started_at) if isinstance(started_at, str) else started_at
    if started is None:
        return "–"
    seconds = max(0, round(((now or timezone.now()) - started).total_seconds()))
    minutes = seconds // 60
    return f"{minutes} min {seconds % 60} s" if minutes else f"{seconds} s"
