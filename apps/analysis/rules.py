"""Business rules over the next action, applied in code whatever the analyzer suggested.

Each rule sets a latest date for the next call. When the suggested call is later (or there is
none on a collections call), the rule moves it and says why; the override is recorded with the
rule's name, its inputs and a plain reason. A customer who opted out is never called.

- first_time_defaulter: overdue, and no promise of theirs was ever broken → a call within 3 days.
- large_amount: the amount at stake (the promise, else the balance) is over 10,000 → a call
  within 7 days, urgency immediate.
- high_risk: risk category high → a call within 14 days, at 10:00 the customer's time.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.analysis.schemas import CallInsights, NextAction

LARGE_AMOUNT = Decimal("10000")
HIGH_RISK_CALL_TIME = time(10)


@dataclass(frozen=True)
class Account:
    """The customer facts the rules read."""

    timezone: str
    days_overdue: int
    risk_category: str
    balance: Decimal
    has_broken_promise: bool


@dataclass(frozen=True)
class Rule:
    name: str
    inputs: dict
    reason: str
    within: timedelta
    urgency: str | None = None
    at: time | None = None  # the time of day to call, the customer's time


def rules_for(account: Account, amount: Decimal) -> list[Rule]:
    rules = []
    if account.days_overdue > 0 and not account.has_broken_promise:
        rules.append(
            Rule(
                "first_time_defaulter",
                {"days_overdue": account.days_overdue, "has_broken_promise": False},
                "A first-time defaulter gets a callback within 3 days.",
                timedelta(days=3),
            )
        )
    if amount > LARGE_AMOUNT:
        rules.append(
            Rule(
                "large_amount",
                {"amount": str(amount), "threshold": str(LARGE_AMOUNT)},
                f"{amount} is over {LARGE_AMOUNT}: a follow-up within 7 days, urgency immediate.",
                timedelta(days=7),
                urgency="immediate",
            )
        )
    if account.risk_category == "high":
        rules.append(
            Rule(
                "high_risk",
                {"risk_category": "high"},
                "A high-risk customer gets a follow-up within 14 days, at 10:00 their time.",
                timedelta(days=14),
                at=HIGH_RISK_CALL_TIME,
            )
        )
    return rules


def apply_rules(
    insights: CallInsights, account: Account, *, workflow: str, now: datetime
) -> tuple[NextAction, list[dict]]:
    """The next action after the rules, and the overrides made (each: rule, inputs, reason,
    the suggested and the applied time)."""
    action = insights.next_action.model_copy()
    # An override is what these rules did, never what the model says it did.
    action.has_business_override, action.override_reason = False, ""
    zone = ZoneInfo(account.timezone)
    if action.when is not None and action.when.tzinfo is None:
        action.when = action.when.replace(tzinfo=zone)
    if workflow != "collections" or insights.intent in ("opt_out", "wrong_party"):
        return action, []
    if action.type in ("fee_waiver", "settlement", "human_review"):
        return action, []  # a person decides what happens next
    promised = insights.promise.amount if insights.promise.made else None
    overrides = []
    cap = None  # the tightest deadline of the rules applied so far: a later rule's time keeps it
    for rule in rules_for(account, promised or account.balance):
        suggested = action.when if action.type == "follow_up_call" else None
        latest = now + rule.within if cap is None else min(cap, now + rule.within)
        cap = latest
        when = suggested if suggested is not None and suggested <= latest else latest
        if rule.at is not None:
            local = datetime.combine(when.astimezone(zone).date(), rule.at, tzinfo=zone)
            if local > latest:
                local -= timedelta(days=1)
            when = local if local > now else local + timedelta(days=1)
        urgency = rule.urgency or action.urgency
        if when == suggested and urgency == action.urgency:
            continue
        action.type, action.when, action.urgency = "follow_up_call", when, urgency
        action.has_business_override = True
        action.override_reason = "; ".join(filter(None, [action.override_reason, rule.reason]))
        overrides.append(
            {
                "rule": rule.name,
                "inputs": rule.inputs,
                "reason": rule.reason,
                "suggested": suggested.isoformat() if suggested else None,
                "applied": when.isoformat(),
                "urgency": urgency,
            }
        )
    return action, overrides
