"""A person's review of an analysis the AI was unsure of: each field under review is confirmed or
corrected. What the reviewed values change is changed through the services that own it (the
call's promise through collections' actions, its follow-up through outreach), each field is kept
as a labelled example (`ReviewCorrection`) for evaluating the analyzers, and the analysis leaves
the review queue. The analysis itself keeps what the AI said: the examples hold what a person said.

Which fields are under review follows `CallAnalysis.review_fields`: a part of the analysis named
there (the promise, the next action, the intent, the sentiment, the summary) puts its fields up
for review; "analysis" (no model gave a valid analysis) puts them all up. Other entries ("the
caller was never identified") are notes for the reviewer, with nothing to correct.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from apps.analysis.models import AnalysisStatus, CallAnalysis, ReviewCorrection, Sentiment
from apps.analysis.schemas import INTENTS
from apps.calls.models import Call
from apps.collections.actions import promise_record
from apps.core.errors import Conflict, InvalidReference
from apps.core.services import Actor, Person, audit_record
from apps.customers.selectors import customer_zone
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.outreach.services import followup_for_call
from apps.promises.models import OPEN_PROMISE_STATUSES, Promise, PromiseSource

AMOUNT = "promise.amount"
DUE_DATE = "promise.due_date"
FOLLOW_UP = "next_action.when"
INTENT = "intent"
SENTIMENT = "sentiment"
SUMMARY = "summary"

# The parts of an analysis a review may name, and the fields each puts under review, in order.
PARTS = {
    "promise": (AMOUNT, DUE_DATE),
    "next_action": (FOLLOW_UP,),
    "intent": (INTENT,),
    "sentiment": (SENTIMENT,),
    "summary": (SUMMARY,),
}
WHOLE = "analysis"  # the whole analysis is in doubt: every part is reviewed

LABELS = {
    AMOUNT: "Promised amount",
    DUE_DATE: "Promised date",
    FOLLOW_UP: "Follow-up call",
    INTENT: "Intent",
    SENTIMENT: "Sentiment",
    SUMMARY: "Summary",
}
KINDS = {
    AMOUNT: "money",
    DUE_DATE: "date",
    FOLLOW_UP: "datetime",
    INTENT: "choice",
    SENTIMENT: "choice",
    SUMMARY: "text",
}
CHOICES = {
    INTENT: tuple((intent, intent.replace("_", " ").capitalize()) for intent in INTENTS),
    SENTIMENT: tuple(Sentiment.choices),
}
SUMMARY_MAX = 2000
CENT = Decimal("0.01")
AMOUNT_MAX = Decimal("9999999999.99")  # the promise's 12 digits, 2 of them decimals


@dataclass(frozen=True)
class ReviewField:
    """One field under review, as the AI gave it."""

    name: str  # e.g. "promise.amount"
    label: str
    kind: str  # money | date | datetime | choice | text
    ai_value: Any  # as stored in the analysis (a string), or None: the AI found none
    confidence: int | None
    evidence: str  # the transcript's words the AI rests it on
    reasons: tuple[str, ...]  # why it is under review
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    value: Any  # normalised as stored: a string, or None
    confirmed: bool


@dataclass
class ReviewResult:
    analysis: CallAnalysis
    corrections: list[ReviewCorrection]
    promise: Promise | None = None  # the promise the reviewed values recorded
    replaced: Promise | None = None  # the call's promise it replaced
    followup: FollowUp | None = None  # the call's follow-up, when the review changed it
    notes: list[str] = field(default_factory=list)  # what the review left as it was, and why


def _flags(analysis: CallAnalysis) -> list[dict[str, Any]]:
    """Why the analysis is under review, entry by entry ({"field", "reason", ...}); an entry stored
    as a bare field name (older demo data) reads as that field with no reason given."""
    return [entry if isinstance(entry, dict) else {"field": str(entry)} for entry in analysis.review_fields or []]


def review_fields(analysis: CallAnalysis) -> list[ReviewField]:
    """The fields of `analysis` a person reviews, with the AI's values, confidence and evidence."""
    flags = _flags(analysis)
    flagged = [entry.get("field", "") for entry in flags]
    parts = list(PARTS) if WHOLE in flagged else [part for part in PARTS if part in flagged]
    fields = []
    for part in parts:
        scored = (analysis.field_confidence or {}).get(part) or {}
        evidence = scored.get("evidence") or ((analysis.promise or {}).get("evidence", "") if part == "promise" else "")
        reasons = tuple(
            entry.get("reason", "") for entry in flags if entry.get("field") == part and entry.get("reason")
        )
        for name in PARTS[part]:
            fields.append(
                ReviewField(
                    name=name,
                    label=LABELS[name],
                    kind=KINDS[name],
                    ai_value=_ai_value(analysis, name),
                    confidence=scored.get("confidence"),
                    evidence=evidence or "",
                    reasons=reasons,
                    choices=CHOICES.get(name, ()),
                )
            )
    return fields


def review_notes(analysis: CallAnalysis) -> list[str]:
    """Why the analysis is under review, beyond its fields (e.g. the caller was never identified)."""
    return [entry["reason"] for entry in _flags(analysis) if entry.get("field") not in PARTS and entry.get("reason")]


def _ai_value(analysis: CallAnalysis, name: str) -> Any:
    promise, action = analysis.promise or {}, analysis.next_action or {}
    if name in (AMOUNT, DUE_DATE):
        return (promise.get("amount") if name == AMOUNT else promise.get("due_date")) if promise.get("made") else None
    if name == FOLLOW_UP:
        return action.get("when") if action.get("type") == "follow_up_call" else None
    return getattr(analysis, name) or None


# --- the review ---------------------------------------------------------------------------------


@transaction.atomic
def analysis_review(*, analysis_id: int, answers: dict[str, Any], actor: Actor) -> ReviewResult:
    """Record a person's review of an analysis. `answers` holds, for every field under review
    (`review_fields`), the value the person gives: the AI's to confirm it, another to correct it
    (None or "" for none: no follow-up call; no promise made). The call's promise and follow-up
    then take the reviewed values, through their own services; one labelled example per field is
    stored; the analysis is marked reviewed, and the review audited. Invalid answers raise
    InvalidReference and change nothing; an analysis reviewed already, or not needing review,
    raises Conflict."""
    user_id = _person(actor)
    analysis = (
        CallAnalysis.objects.select_for_update(of=("self",)).select_related("call__customer").filter(pk=analysis_id)
    ).first()
    if analysis is None:
        raise InvalidReference("analysis_id", f"No analysis with id {analysis_id}.")
    if analysis.reviewed_at is not None:
        raise Conflict(
            f"The analysis of call {analysis.call_id} was already reviewed, at {analysis.reviewed_at:%b %d, %H:%M} UTC."
        )
    if not analysis.needs_review:
        raise Conflict(f"The analysis of call {analysis.call_id} does not need a review.")
    if analysis.status != AnalysisStatus.COMPLETED:
        raise Conflict(f"The analysis of call {analysis.call_id} is being run again: review it when it has finished.")

    call = analysis.call
    fields = review_fields(analysis)
    checked = _checked(analysis, call, fields, answers)
    result = ReviewResult(analysis=analysis, corrections=[])
    if call.customer_id is None:
        if not all(answer.confirmed for answer in checked.values()):
            result.notes.append("The caller was never identified: no promise or follow-up was changed.")
    else:
        _review_promise(analysis, call, checked, result, actor)
        _review_followup(analysis, call, checked, result, actor)

    by_name = {f.name: f for f in fields}
    now = timezone.now()
    for name, answer in checked.items():
        result.corrections.append(
            ReviewCorrection.objects.create(
                analysis=analysis,
                field=name,
                ai_value=by_name[name].ai_value,
                human_value=answer.value,
                confirmed=answer.confirmed,
                analyzer=analysis.analyzer,
                confidence=by_name[name].confidence,
                reviewed_by_id=user_id,
                created_at=now,
            )
        )
    analysis.reviewed_by_id, analysis.reviewed_at = user_id, now
    analysis.save(update_fields=["reviewed_by", "reviewed_at", "updated_at"])
    audit_record(
        actor=actor,
        action="analysis.review",
        obj=analysis,
        details={
            "confirmed": [name for name, answer in checked.items() if answer.confirmed],
            "corrected": {
                name: [by_name[name].ai_value, answer.value] for name, answer in checked.items() if not answer.confirmed
            },
            "promise": result.promise.pk if result.promise else None,
            "replaced_promise": result.replaced.pk if result.replaced else None,
            "followup": result.followup.pk if result.followup else None,
            "notes": result.notes,
        },
    )
    return result


def _person(actor: Actor) -> int:
    if isinstance(actor, AbstractBaseUser) and actor.pk is not None:
        return actor.pk
    if isinstance(actor, Person) and actor.user_id is not None:
        return actor.user_id
    raise InvalidReference("actor", "A review is a person's: it needs the signed-in user who made it.")


def _zone(call: Call) -> ZoneInfo:
    return ZoneInfo(customer_zone(call.customer) if call.customer else settings.BUSINESS_TIME_ZONE)


def _checked(
    analysis: CallAnalysis, call: Call, fields: list[ReviewField], answers: dict[str, Any]
) -> dict[str, Answer]:
    """Every answer parsed and validated, before anything is written."""
    names = [f.name for f in fields]
    for name in answers:
        if name not in names:
            raise InvalidReference(name, f"{name!r} is not under review in this analysis.")
    zone = _zone(call)
    checked = {}
    for f in fields:
        if f.name not in answers:
            raise InvalidReference(f.name, f"Confirm or correct the {f.label.lower()}.")
        value = _parse(f, answers[f.name], zone)
        confirmed = _same(f.kind, f.ai_value, value)
        if not confirmed:
            _check_correction(f, value, call=call, analysis=analysis, zone=zone)
        checked[f.name] = Answer(value, confirmed)
    if AMOUNT in checked and (checked[AMOUNT].value is None) != (checked[DUE_DATE].value is None):
        missing = AMOUNT if checked[AMOUNT].value is None else DUE_DATE
        raise InvalidReference(
            missing, "A promise needs both an amount and a date (leave both empty when no promise was made)."
        )
    return checked


def _text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, datetime | date):
        return raw.isoformat()
    return str(raw).strip()


def _parse(f: ReviewField, raw: Any, zone: ZoneInfo) -> Any:
    """An answer as the analysis stores such a value (a string), or None for none."""
    text = _text(raw)
    if not text:
        return None
    if f.kind == "money":
        try:
            amount = Decimal(text.replace(",", "").removeprefix("$").strip())
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount <= 0:
            raise InvalidReference(f.name, "The promised amount must be a positive amount, like 250.00.")
        if amount > AMOUNT_MAX:
            raise InvalidReference(f.name, f"The promised amount must be at most {AMOUNT_MAX:,}.")
        if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
            raise InvalidReference(f.name, "The promised amount may have at most 2 decimals (cents), like 250.75.")
        return str(amount.quantize(CENT))
    if f.kind == "date":
        try:
            day = parse_date(text)
        except ValueError:
            day = None
        if day is None:
            raise InvalidReference(f.name, "The promised date must be a date, written like 2030-01-15.")
        return day.isoformat()
    if f.kind == "datetime":
        try:
            when = parse_datetime(text)
        except ValueError:
            when = None
        if when is None:
            raise InvalidReference(
                f.name, "The follow-up call must be a date and a time, written like 2030-01-15T10:00."
            )
        return (when if timezone.is_aware(when) else when.replace(tzinfo=zone)).isoformat()
    if f.kind == "choice":
        if text not in dict(f.choices):
            listed = ", ".join(label.lower() for _, label in f.choices)
            raise InvalidReference(f.name, f"The {f.label.lower()} must be one of: {listed}.")
        return text
    if len(text) > SUMMARY_MAX:
        raise InvalidReference(f.name, f"The {f.label.lower()} must be at most {SUMMARY_MAX} characters.")
    return text


def _same(kind: str, ai: Any, human: Any) -> bool:
    if ai in (None, "") or human is None:
        return ai in (None, "") and human is None
    if kind == "money":
        return Decimal(str(ai)) == Decimal(human)
    if kind == "datetime":
        return parse_datetime(str(ai)) == parse_datetime(human)
    return str(ai) == human


def _check_correction(f: ReviewField, value: Any, *, call: Call, analysis: CallAnalysis, zone: ZoneInfo) -> None:
    """What a corrected value must also be (a confirmed one is the AI's, kept as a label)."""
    if value is None and f.kind in ("choice", "text"):
        raise InvalidReference(f.name, f"The {f.label.lower()} cannot be empty.")
    if f.name == DUE_DATE and value is not None:
        day_of_call = (call.ended_at or analysis.created_at).astimezone(zone).date()
        if date.fromisoformat(value) < day_of_call:
            raise InvalidReference(f.name, f"The promised date cannot be before the call, on {day_of_call:%Y-%m-%d}.")
    if f.name == FOLLOW_UP and value is not None and parse_datetime(value) <= timezone.now():
        raise InvalidReference(f.name, "The follow-up call must be later than now.")


# --- what the reviewed values change ------------------------------------------------------------


def _produced_promise(analysis: CallAnalysis, call: Call) -> Promise | None:
    """The promise the call produced, as the analysis linked it (services._promise)."""
    promise_id = (analysis.promise or {}).get("promise_id")
    return Promise.objects.filter(pk=promise_id, call=call).first() if promise_id else None


def _review_promise(
    analysis: CallAnalysis, call: Call, checked: dict[str, Answer], result: ReviewResult, actor: Actor
) -> None:
    """The call's promise takes the reviewed amount and date: recorded (superseding the one the
    call produced, if it differs) through collections' `promise_record`, as any promise is."""
    if AMOUNT not in checked:
        return
    produced = _produced_promise(analysis, call)
    amount, due = checked[AMOUNT].value, checked[DUE_DATE].value
    if amount is None:  # no promise was made
        if produced is not None:
            result.notes.append(
                f"Promise #{produced.pk} recorded on the call stays as it is: close it in the admin if it was never made."
            )
        return
    amount, due = Decimal(amount), date.fromisoformat(due)
    if produced is not None and (produced.amount, produced.due_date) == (amount, due):
        return  # the call's promise says so already
    if produced is not None and produced.status not in OPEN_PROMISE_STATUSES:
        result.notes.append(f"Promise #{produced.pk} is {produced.get_status_display().lower()}: it was left as it is.")
        return
    after_call = call.ended_at or analysis.created_at
    newer = (
        Promise.objects.filter(
            customer_id=call.customer_id, status__in=OPEN_PROMISE_STATUSES, created_at__gt=after_call
        )
        .exclude(call=call)
        .order_by("-created_at", "-id")
        .first()
    )
    if newer is not None:
        result.notes.append(f"No promise was recorded: the customer made a newer one since this call (#{newer.pk}).")
        return
    day_of_call = after_call.astimezone(_zone(call)).date()
    if due < day_of_call:  # the AI's date, confirmed: a label, not a promise anyone can keep
        result.notes.append(f"No promise was recorded: the promised date is before the call ({day_of_call:%Y-%m-%d}).")
        return
    confirmed = checked[AMOUNT].confirmed and checked[DUE_DATE].confirmed
    method = produced.method if produced is not None else (analysis.promise or {}).get("method", "")
    result.promise = promise_record(
        customer_id=call.customer_id,
        call_id=call.pk,
        amount=amount,
        due_date=due,
        method=method or "",
        source=PromiseSource.ANALYSIS if confirmed else PromiseSource.STAFF,
        confidence=(analysis.field_confidence or {}).get("promise", {}).get("confidence") if confirmed else None,
        actor=actor,
        status_reason=f"{'Confirmed' if confirmed else 'Corrected'} in the review of call {call.pk}'s analysis.",
        supersede_reason=(f"Corrected in the review of call {call.pk}'s analysis." if produced is not None else ""),
    )
    result.replaced = produced


def _review_followup(
    analysis: CallAnalysis, call: Call, checked: dict[str, Answer], result: ReviewResult, actor: Actor
) -> None:
    """The call's follow-up takes a corrected time (or is cancelled: no follow-up call), and
    follows the promise the review recorded; through outreach's `followup_for_call`."""
    existing = FollowUp.objects.filter(source_call=call).order_by("-id").first()
    corrected = FOLLOW_UP in checked and not checked[FOLLOW_UP].confirmed
    replaced_id = result.replaced.pk if result.replaced else None
    relink = result.promise is not None and existing is not None and existing.promise_id in (None, replaced_id)
    if not corrected and not relink:
        return
    if existing is not None and (existing.status != FollowUpStatus.SCHEDULED or existing.requested_by_customer):
        why = "asked for by the customer" if existing.requested_by_customer else existing.get_status_display().lower()
        result.notes.append(f"The call's follow-up (#{existing.pk}) is {why}: it was left as it is.")
        return
    due_at = parse_datetime(checked[FOLLOW_UP].value or "") if corrected else existing.due_at
    if result.promise is not None:
        promise_id = result.promise.pk
    elif existing is not None:
        promise_id = existing.promise_id
    else:
        produced = _produced_promise(analysis, call)
        promise_id = produced.pk if produced is not None and produced.status in OPEN_PROMISE_STATUSES else None
    reason = (existing.reason if existing else "") or (analysis.next_action or {}).get("reason") or ""
    result.followup = followup_for_call(
        actor=actor,
        call_id=call.pk,
        customer_id=call.customer_id,
        due_at=due_at,
        reason=(reason or f"Follow-up set in the review of call {call.pk}'s analysis.")[:255],
        promise_id=promise_id,
        # A person set the time: no business rule's override stands behind it any more.
        override_reason="" if corrected else existing.override_reason,
    )
    if result.followup is None and existing is not None:
        existing.refresh_from_db()
        result.followup = existing  # cancelled: no follow-up call
