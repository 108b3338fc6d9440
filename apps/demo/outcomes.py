"""What came of each demo call: the promise it recorded and how the post-call analysis read it.

Pure planning, like `conversations`: the call's own Random decides, never the clock.
"""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from apps.demo import data
from apps.demo.data import money, rng_for
from apps.demo.plans import CallPlan

CENT = Decimal("0.01")
NOT_MEANINGFUL = {"short": "Ended before identity verification.", "voicemail": "Voicemail; no conversation."}
# How the post-call analysis reads each kind of call: intent, sentiment, and a typical sentiment score.
READINGS = {
    "promise": ("promise_to_pay", "neutral", 0.2),
    "pay_now": ("payment", "positive", 0.6),
    "hardship": ("hardship_fee_waiver", "mixed", -0.1),
    "settlement": ("settlement_request", "mixed", -0.2),
    "dispute": ("dispute", "negative", -0.6),
    "already_paid": ("already_paid", "neutral", 0.1),
    "callback": ("callback_request", "neutral", 0.0),
    "handoff": ("human_handoff", "mixed", -0.1),
    "verify_fail": ("identity_not_verified", "neutral", -0.1),
    "wrong_party": ("wrong_number", "negative", -0.3),
    "roadside": ("roadside_assistance", "positive", 0.4),
}
SUMMARIES = {
    "promise": "{name} verified and promised to pay {amount} by {method} on {date_iso} against a past-due balance "
    "of {balance} ({days_overdue} days).",
    "pay_now": "{name} agreed to pay {amount} by card today through the online portal; the card details they read "
    "out were redacted.",
    "hardship": "{name} reported financial hardship and asked to waive the late fee; a fee-waiver request went to a "
    "specialist. Offered {amount} on {date_iso} if approved.",
    "settlement": "{name} cannot pay the {balance} balance and offered a {settle_amount} lump sum ({settle_pct}%), "
    "below the settlement floor; sent for approval.",
    "dispute": "{name} disputes the balance, saying {paid_amount} was already paid; transferred to a specialist.",
    "already_paid": "{name} says the payment was already made; a call back is scheduled to confirm it posted.",
    "callback": "{name} could not talk and asked for a callback {callback_when}.",
    "handoff": "{name} asked for a person and was transferred to {human}, who handled the request.",
    "verify_fail": "The caller could not verify as {name} after three attempts; no account details were shared and "
    "the call went to a specialist.",
    "wrong_party": "The person who answered said {name} cannot be reached at this number.",
    "roadside": "{name} needed help with a {vehicle} ({issue_label}) at {location}. {tech_full} dispatched, "
    "ETA {eta} minutes.",
}


def plan_promise(call: CallPlan, rng: random.Random) -> dict[str, Any]:
    """The promise the call recorded (the terms record_promise would have written), and what became of it."""
    ctx, tz = call.context, ZoneInfo(call.customer.tz)
    recorded = call.effects["record_promise"]
    amount, ended = Decimal(recorded["amount"]), call.fields["ended_at"]
    promise = {
        "amount": amount,
        "currency": call.customer.fields["currency"],
        "due_date": date.fromisoformat(recorded["due_date"]),
        "method": recorded["method"] or "",
        "status": "pending",
        "amount_paid": Decimal("0.00"),
        "confidence": 95,  # what record_promise records
        "source": "agent",
        "status_changed_at": None,
        "status_reason": "",
    }
    # Drawn whatever the outcome, so the draws after these do not depend on it.
    r, paid_share, paid_when, cancel_hours = (
        rng.random(),
        rng.uniform(0.25, 0.75),
        rng.uniform(0.3, 1),
        rng.randint(20, 40),
    )
    if call.scenario == "pay_now":  # by card, today
        promise.update(
            status="kept",
            amount_paid=amount,
            status_changed_at=ended,
            status_reason="Paid by card through the online portal the same day.",
        )
        return promise
    due_end = datetime.combine(promise["due_date"], time(18), tz)
    if (promise["due_date"] - call.local_date).days >= call.age[0]:  # due today or later
        return promise
    if r < 0.5:
        paid_at = ended + (due_end - ended) * paid_when
        promise.update(status="kept", amount_paid=amount, status_changed_at=paid_at, status_reason="Paid in full.")
    elif r < 0.68:
        paid = (amount * Decimal(str(round(paid_share, 2)))).quantize(CENT)
        promise.update(
            status="partially_kept",
            amount_paid=paid,
            status_changed_at=due_end,
            status_reason=f"Paid {money(paid, promise['currency'])} of {ctx['amount']}.",
        )
    elif r < 0.95:
        promise.update(
            status="broken", status_changed_at=due_end + timedelta(hours=5), status_reason="No payment by the due date."
        )
    else:
        promise.update(
            status="cancelled",
            status_changed_at=ended + timedelta(hours=cancel_hours),
            status_reason="Customer disputed the balance after the call.",
        )
    return promise


def plan_analyses(calls: list[CallPlan]) -> None:
    done = [c for c in calls if c.fields["status"] == "completed"]
    meaningful = sorted((c for c in done if c.scenario not in NOT_MEANINGFUL), key=lambda c: c.age)
    pending = {c.index for c in meaningful[:2]}
    failed = {c.index for c in rng_for("analysis").sample(meaningful[10:], 3)}
    for call in done:
        if call.scenario in NOT_MEANINGFUL:
            call.analysis = {
                "status": "not_meaningful",
                "meaningful_reason": NOT_MEANINGFUL[call.scenario],
                "analyzer": "offline",
            }
        elif call.index in pending:
            call.analysis = {"status": "pending"}
        elif call.index in failed:
            call.analysis = {
                "status": "failed",
                "analyzer": data.LLM_MODEL,
                "error": "OpenAI request timed out after 30 s (attempt 3 of 3).",
            }
        else:
            call.analysis = _analysis(call, call.rng)


def _analysis(call: CallPlan, rng: random.Random) -> dict[str, Any]:
    ctx, scenario = call.context, call.scenario
    intent, base_label, base = READINGS[scenario]
    score = round(max(-1.0, min(1.0, base + rng.uniform(-0.3, 0.3))), 2)
    label = (
        "positive" if score > 0.25 else "negative" if score < -0.25 else "mixed" if base_label == "mixed" else "neutral"
    )
    said = [e["text"] for e in call.entries if e["speaker"] == "customer"]
    trajectory = [
        round(max(-1.0, min(1.0, score * (k + 1) / len(said) + rng.uniform(-0.15, 0.15))), 2) for k in range(len(said))
    ]

    def confidence() -> int:
        return rng.randint(45, 69) if rng.random() < 0.12 else rng.randint(82, 99)

    fields = {"intent": {"confidence": confidence(), "evidence": said[min(1, len(said) - 1)]}}
    promise: dict[str, Any] = {}
    if call.promise:
        evidence = next((s for s in said if ctx["amount"] in s), said[-1])
        promise = {
            "amount": str(ctx["amount_value"]),
            "currency": call.customer.fields["currency"],
            "due_date": call.promise["due_date"].isoformat(),
            "method": call.promise["method"],
            "evidence": evidence,
        }
        fields["promise"] = {"confidence": confidence(), "evidence": evidence}
    next_action = {
        "promise": {
            "type": "followup",
            "due_date": (ctx["due_date"] + timedelta(days=1)).isoformat(),
            "reason": "Check on the promised payment",
        },
        "hardship": {"type": "await_approval", "kind": "fee_waiver"},
        "settlement": {"type": "await_approval", "kind": "settlement"},
        "dispute": {"type": "review_dispute", "team": "disputes"},
        "already_paid": {"type": "verify_payment_posted", "callback": ctx["callback_day"].isoformat()},
        "callback": {"type": "callback", "when": ctx["callback_day"].isoformat()},
        "wrong_party": {"type": "update_contact", "field": "phone"},
        "roadside": {"type": "confirm_arrival", "eta_minutes": ctx.get("eta")},
    }.get(scenario, {"type": "none"})
    overall = min(v["confidence"] for v in fields.values())
    # As the pipeline flags them (apps/analysis/services.py): one entry per field under the threshold.
    review = [
        {"field": name, "confidence": v["confidence"], "reason": f"Confidence {v['confidence']} is below 70."}
        for name, v in fields.items()
        if v["confidence"] < 70
    ]
    analysis = {
        "status": "completed",
        "analyzer": data.LLM_MODEL if rng.random() < 0.94 else "offline",
        "sentiment": label,
        "sentiment_score": score,
        "sentiment_trajectory": trajectory,
        "intent": intent,
        "summary": SUMMARIES[scenario].format(**ctx),
        "promise": promise,
        "next_action": next_action,
        "field_confidence": fields,
        "confidence": overall,
        "needs_review": bool(review),
        "review_fields": review,
        "rule_overrides": [
            {"rule": "calling_window", "reason": "Callback kept within 08:00–21:00 in the customer's time zone."}
        ]
        if scenario == "callback" and rng.random() < 0.3
        else [],
    }
    if review and call.age[0] > 2 and rng.random() < 0.6:
        analysis["reviewed_at"] = call.fields["ended_at"] + timedelta(hours=rng.randint(2, 30))
    return analysis
