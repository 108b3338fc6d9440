"""The business rules on their own, at a fixed time: which rule moves the next call, and to when."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.analysis.rules import Account, apply_rules
from apps.analysis.schemas import CallInsights
from tests.analysis.test_pipeline import insights

PACIFIC = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=PACIFIC)  # a Monday, 09:00 in Los Angeles


def account(**fields) -> Account:
    return Account(
        **{
            "timezone": "America/Los_Angeles",
            "days_overdue": 45,
            "risk_category": "low",
            "balance": Decimal("1250.00"),
            "has_broken_promise": False,
            **fields,
        }
    )


def suggested(when: datetime | None, **next_action) -> CallInsights:
    answer = insights(next_action={"when": when.isoformat() if when else None, **next_action})
    return CallInsights.model_validate(answer)


def test_a_high_risk_time_of_day_never_breaks_a_tighter_rule():
    action, overrides = apply_rules(
        suggested(NOW + timedelta(days=30)), account(risk_category="high"), workflow="collections", now=NOW
    )
    # First-time defaulter: by Thursday 09:00. High risk wants 10:00: Wednesday 10:00, not Thursday's.
    assert [(o["rule"], o["applied"]) for o in overrides] == [
        ("first_time_defaulter", "2026-11-26T09:00:00-08:00"),
        ("high_risk", "2026-11-25T10:00:00-08:00"),
    ]
    assert (action.type, action.when, action.has_business_override) == (
        "follow_up_call",
        datetime(2026, 11, 25, 10, 0, tzinfo=PACIFIC),
        True,
    )
    assert action.override_reason == (
        "A first-time defaulter gets a callback within 3 days.; "
        "A high-risk customer gets a follow-up within 14 days, at 10:00 their time."
    )


def test_an_override_the_model_claims_is_not_one():
    early = NOW + timedelta(days=1)
    action, overrides = apply_rules(
        suggested(early, has_business_override=True, override_reason=""),
        account(days_overdue=0),
        workflow="collections",
        now=NOW,
    )
    assert overrides == []
    assert (action.when, action.has_business_override, action.override_reason) == (early, False, "")


def test_a_large_amount_moves_a_later_call_in_and_makes_it_immediate():
    later = NOW + timedelta(days=30)
    now = NOW.astimezone(UTC)
    action, overrides = apply_rules(
        CallInsights.model_validate(insights(next_action={"when": later.isoformat()}, promise={"made": False})),
        account(balance=Decimal("12500.00"), has_broken_promise=True),
        workflow="collections",
        now=now,
    )
    assert overrides == [
        {
            "rule": "large_amount",
            "inputs": {"amount": "12500.00", "threshold": "10000"},
            "reason": "12500.00 is over 10000: a follow-up within 7 days, urgency immediate.",
            "suggested": later.isoformat(),
            "applied": "2026-11-30T17:00:00+00:00",
            "urgency": "immediate",
        }
    ]
    assert (action.when, action.urgency) == (now + timedelta(days=7), "immediate")
