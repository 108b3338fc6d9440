"""Scoring the post-call analyzer on what people corrected: the review queue's labelled examples.

A case is one reviewed analysis: the call's redacted transcript, what the analyzer knew besides
the words, and the people's values for the fields they reviewed (confirmed or corrected). The
analyzer (offline, or the configured model) runs on each case again; each reviewed field is right
when it equals the label (amounts to the cent, dates to the day, the follow-up call to the day in
the customer's time zone, intent and sentiment exactly). The summary is not scored: there is no
one right wording.

Besides accuracy per field, how well the analyzer's confidence predicts being right
(calibration): the Brier score (mean squared gap between confidence and outcome, 0 is perfect),
the expected calibration error (the share-weighted gap between confidence and accuracy in ten
bins of confidence) and the bins themselves.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime

from apps.analysis.analyzers import AnalysisFailed, CallFacts, Line, llm_analyze, offline_analyze
from apps.analysis.models import CallAnalysis
from apps.analysis.schemas import CallInsights
from apps.customers.selectors import customer_zone
from apps.promises.models import PromiseSource, PromiseStatus

SCORED = ("promise.amount", "promise.due_date", "next_action.when", "intent", "sentiment")
PART = {"promise.amount": "promise", "promise.due_date": "promise", "next_action.when": "next_action",
        "intent": "intent", "sentiment": "sentiment"}  # fmt: skip


@dataclass(frozen=True)
class Case:
    analysis_id: int
    workflow: str
    direction: str
    timezone: str
    balance: str
    ended_at: str
    live_promise: list[str] | None
    lines: list[list[str]]
    labels: dict[str, Any]

    def facts(self) -> CallFacts:
        live = self.live_promise
        return CallFacts(
            workflow=self.workflow,
            direction=self.direction,
            customer_name="the customer",
            timezone=self.timezone,
            balance=Decimal(self.balance),
            ended_at=datetime.fromisoformat(self.ended_at),
            live_promise=(Decimal(live[0]), date.fromisoformat(live[1]), live[2]) if live else None,
        )


def cases_from_reviews() -> list[Case]:
    """Every reviewed analysis with its labels (its latest review's), oldest first."""
    cases = []
    reviewed = CallAnalysis.objects.filter(corrections__isnull=False).distinct().select_related("call__customer")
    for analysis in reviewed.order_by("pk"):
        corrections = list(analysis.corrections.order_by("created_at", "id"))
        latest = corrections[-1].created_at
        labels = {c.field: c.human_value for c in corrections if c.created_at == latest and c.field in SCORED}
        if not labels:
            continue
        call = analysis.call
        customer = call.customer
        live = (
            call.promises.filter(source=PromiseSource.AGENT)
            .exclude(status__in=[PromiseStatus.CANCELLED, PromiseStatus.SUPERSEDED])
            .order_by("-id")
            .first()
        )
        cases.append(
            Case(
                analysis_id=analysis.pk,
                workflow=call.workflow_name or "collections",
                direction=call.direction,
                timezone=customer_zone(customer) if customer else "UTC",
                balance=str(customer.balance if customer else 0),
                ended_at=(call.ended_at or analysis.created_at).isoformat(),
                live_promise=[str(live.amount), live.due_date.isoformat(), live.method] if live else None,
                lines=[[e.speaker, e.text] for e in call.transcript.order_by("sequence")],
                labels=labels,
            )
        )
    return cases


def export_cases(cases: list[Case], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for case in cases:
        path = folder / f"analysis_{case.analysis_id}.json"
        path.write_text(json.dumps(case.__dict__, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def load_cases(folder: Path) -> list[Case]:
    cases = []
    for path in sorted(folder.glob("*.json")):
        try:
            cases.append(Case(**json.loads(path.read_text(encoding="utf-8"))))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: not a labelled case ({exc})") from None
    return cases


def predicted(insights: CallInsights, zone: str) -> dict[str, Any]:
    promise, action = insights.promise, insights.next_action
    made = promise.made and promise.amount is not None
    when = action.when if action.type == "follow_up_call" else None
    return {
        "promise.amount": str(promise.amount) if made else None,
        "promise.due_date": promise.due_date.isoformat() if made and promise.due_date else None,
        "next_action.when": when.astimezone(ZoneInfo(zone)).date().isoformat() if when else None,
        "intent": insights.intent,
        "sentiment": insights.sentiment.label,
    }


def _label(field: str, value: Any, zone: str) -> Any:
    if value in (None, ""):
        return None
    if field == "next_action.when":
        when = parse_datetime(str(value))
        return when.astimezone(ZoneInfo(zone)).date().isoformat() if when else str(value)[:10]
    return str(value)


def _right(field: str, guess: Any, label: Any) -> bool:
    if guess is None or label is None:
        return guess is None and label is None
    if field == "promise.amount":
        try:
            return Decimal(guess) == Decimal(label)
        except InvalidOperation:
            return False
    return guess == label


def score(cases: list[Case], *, llm: bool) -> dict[str, Any]:
    scored: list[dict[str, Any]] = []
    for case in cases:
        lines = [Line(speaker, text) for speaker, text in case.lines]
        facts = case.facts()
        try:
            result = llm_analyze(lines, facts) if llm else offline_analyze(lines, facts)
        except AnalysisFailed as exc:  # no valid answer: every reviewed field of the case is wrong
            for field, raw in case.labels.items():
                scored.append({"case": case.analysis_id, "field": field, "label": _label(field, raw, case.timezone),
                               "guess": f"no analysis: {exc}", "right": False, "confidence": None, "analyzer": ""})  # fmt: skip
            continue
        guesses = predicted(result.insights, case.timezone)
        confidences = result.insights.confidences()
        for field, raw in case.labels.items():
            label = _label(field, raw, case.timezone)
            scored.append({
                "case": case.analysis_id, "field": field, "label": label, "guess": guesses[field],
                "right": _right(field, guesses[field], label), "confidence": confidences.get(PART[field]),
                "analyzer": result.analyzer,
            })  # fmt: skip
    return {"cases": len(cases), **summarise(scored), "fields_scored": scored}


def summarise(scored: list[dict[str, Any]]) -> dict[str, Any]:
    by_field = {}
    for field in SCORED:
        rows = [s for s in scored if s["field"] == field]
        if rows:
            by_field[field] = {"n": len(rows), "accuracy": round(100 * sum(r["right"] for r in rows) / len(rows), 2)}
    rated = [s for s in scored if s["confidence"] is not None]
    bins = []
    for low in range(0, 100, 10):
        members = [s for s in rated if low <= s["confidence"] < low + 10 or (low == 90 and s["confidence"] == 100)]
        if members:
            bins.append({
                "confidence": f"{low}-{low + 9 if low < 90 else 100}", "n": len(members),
                "mean_confidence": round(sum(m["confidence"] for m in members) / len(members), 2),
                "accuracy": round(100 * sum(m["right"] for m in members) / len(members), 2),
            })  # fmt: skip
    ece = sum(b["n"] / len(rated) * abs(b["accuracy"] - b["mean_confidence"]) for b in bins) if rated else None
    brier = sum((s["confidence"] / 100 - s["right"]) ** 2 for s in rated) / len(rated) if rated else None
    return {
        "accuracy": round(100 * sum(s["right"] for s in scored) / len(scored), 2) if scored else None,
        "by_field": by_field,
        "calibration": {
            "brier": round(brier, 4) if brier is not None else None,
            "ece": round(ece, 2) if ece is not None else None,
            "bins": bins,
        },
    }
