"""A recorded call as a regression scenario: the caller's recorded turns become its script, the
account as the agent looked it up becomes the record on file, and what the call recorded becomes
the expected outcome (editable before it is saved).

Nothing that identifies the customer leaves: the name, the ZIP code, the account's last four
digits and the date of birth are replaced by made-up ones, in the record and in the caller's
words alike (the transcript was already redacted of card and ID numbers when it was stored);
the phone number is not exported at all. The scenario runs on the call's own day (`today`), so
the dates the caller said still mean what they meant.
"""

import re
from datetime import date
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from apps.agent.nlu import understand
from apps.calls.models import Call, Channel, Speaker, TraceKind
from apps.customers.selectors import customer_zone
from apps.evals.config import GOAL_STEPS
from apps.evals.judge import outcome_of, records_of
from apps.evals.scenarios import Scenario, dump_scenario

STAND_IN = {"name": "Jordan Avery", "zip": "90210", "last4": "4321", "date_of_birth": date(1980, 1, 15)}


class NotExportable(Exception):
    """A call that cannot become a scenario: the reason, for the person who asked."""


def _local_day(call: Call, zone: str) -> date:
    return (call.started_at or call.created_at).astimezone(ZoneInfo(zone)).date()


def _lookup(call: Call) -> dict[str, Any]:
    """The account as the agent's last successful lookup returned it (the record at the time)."""
    event = call.trace.filter(kind=TraceKind.TOOL_CALL, name="lookup_account", ok=True).order_by("-at", "-id").first()
    return dict((event.payload.get("result") or {}) if event else {})


def _replace(text: str, replacements: list[tuple[str, str]]) -> str:
    for real, stand_in in replacements:
        if real:
            text = re.sub(re.escape(real), stand_in, text, flags=re.IGNORECASE)
    return text


def scenario_from_call(call: Call) -> Scenario:
    if call.customer_id is None:
        raise NotExportable("The call has no customer: nothing to put on file.")
    if not call.workflow_name or call.workflow_name not in GOAL_STEPS:
        raise NotExportable(f"Call {call.pk} ran no workflow the suite knows ({call.workflow_name or 'none'}).")
    turns = [e for e in call.transcript.order_by("sequence") if e.speaker == Speaker.CUSTOMER and e.text.strip()]
    if not turns:
        raise NotExportable(f"Call {call.pk} has no caller turns to replay.")
    customer = call.customer
    profile = customer.profile or {}
    zone = customer_zone(customer)  # the record's, else the one its number is in
    day = _local_day(call, zone)
    real_zip = str(profile.get("zip") or (profile.get("address") or {}).get("zip") or "")
    real_first, *real_rest = customer.name.split() or [""]
    stand_first, stand_last = STAND_IN["name"].split()
    replacements = [
        (customer.name, STAND_IN["name"]),
        (real_first, stand_first),
        *[(part, stand_last) for part in real_rest if len(part) > 2],
        (real_zip, STAND_IN["zip"]),
        (customer.account_number, f"AC00{STAND_IN['last4']}"),
        (customer.account_number[-4:], STAND_IN["last4"]),
    ]
    real_dob = profile.get("date_of_birth")
    script = []
    for entry in turns:
        heard = understand(entry.text, today=day)
        if real_dob and heard.date_of_birth and heard.date_of_birth.isoformat() == real_dob:
            script.append(f"My date of birth is {STAND_IN['date_of_birth']:%B} {STAND_IN['date_of_birth'].day}, 1980")
        else:
            script.append(_replace(entry.text, replacements))
    account = _lookup(call)
    spec: dict[str, Any] = {
        "name": STAND_IN["name"],
        # The caller was known by their number unless the agent had to find the account first.
        "caller_id": "unknown"
        if call.trace.filter(kind=TraceKind.TOOL_CALL, name="find_account").exists()
        else "known",
        "zip": STAND_IN["zip"],
        "account_last4": STAND_IN["last4"],
        "balance": str(account.get("balance") or customer.balance),
        "days_overdue": int(account.get("days_overdue", customer.days_overdue)),
        "collection_stage": customer.collection_stage,
        "risk_category": customer.risk_category,
        "timezone": zone,
    }
    if real_dob:
        spec["date_of_birth"] = STAND_IN["date_of_birth"].isoformat()
    if vehicle := profile.get("vehicle"):
        spec["vehicle"] = {k: vehicle[k] for k in ("make", "model", "year", "color") if vehicle.get(k)}
    promise_on_file = account.get("active_promise") or account.get("missed_promise")
    if promise_on_file and promise_on_file.get("amount") and promise_on_file.get("due_date"):
        spec["promises"] = [{"amount": str(promise_on_file["amount"]), "due": promise_on_file["due_date"]}]
    outcome = outcome_of(call, GOAL_STEPS)
    if outcome == "in_progress":
        raise NotExportable(f"Call {call.pk} has not ended yet.")
    expect: dict[str, Any] = {"outcome": outcome}
    if outcome == "handed_off" and call.handoff_reason:
        expect["handoff_reason"] = call.handoff_reason
    tools: list[str] = []
    for name in (
        call.trace.filter(kind=TraceKind.TOOL_CALL, ok=True).order_by("at", "id").values_list("name", flat=True)
    ):
        if name not in tools:
            tools.append(name)
    expect["tools"] = tools
    records = records_of(call)
    for kind in ("promise", "approval", "dispatch", "callback"):
        if records[kind]:
            record = {k: v for k, v in records[kind][-1].items() if v}
            if kind == "dispatch":
                record["location"] = _place(record.get("location", ""))
            if kind == "promise" and "amount" in record:
                record["amount"] = str(Decimal(record["amount"]).quantize(Decimal("0.01")))
            expect[kind] = record
    return Scenario.model_validate(
        {
            "id": f"exported/call_{call.pk}",
            "description": f"Call {call.pk} on {day.isoformat()}, replayed: {outcome}.",
            "category": "happy" if outcome == "completed" else "edge",
            "workflow": call.workflow_name,
            "channel": "chat" if call.channel == Channel.WEB_CHAT else "voice",
            "direction": call.direction,
            "customer": spec,
            "today": day.isoformat(),
            "caller": {"script": script},
            "expect": expect,
            "tags": ["exported", f"call-{call.pk}"],
        }
    )


def _place(location: str) -> str:
    """The place a dispatch was sent to ("… (Oakland, CA)" gives "Oakland")."""
    if match := re.search(r"\(([^,()]+)", location):
        return match.group(1).strip()
    return location


def export_yaml(call: Call) -> str:
    return dump_scenario(scenario_from_call(call))
