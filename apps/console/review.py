"""The review queue (supervisors): the analyses the AI was unsure of, oldest first. Each card shows
the call's customer, every field under review with the AI's value, its confidence and the quote it
rests on (marked in the transcript beside it); a person confirms or corrects each, and submits once.
apps.analysis.review applies it; this module only parses the form and shows the result."""

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from apps.analysis.models import CallAnalysis, ReviewCorrection
from apps.analysis.review import (
    FOLLOW_UP,
    PARTS,
    ReviewField,
    ReviewResult,
    analysis_review,
    review_fields,
    review_notes,
)
from apps.analysis.selectors import analyses_to_review, analysis_for_review
from apps.calls.models import Speaker, TranscriptEntry
from apps.console.access import console_page
from apps.console.present import money
from apps.console.views import render_page
from apps.core.errors import DomainError
from apps.customers.selectors import customer_zone

CONFIRM, CORRECT = "confirm", "correct"
INPUT_TYPES = {"money": "text", "date": "date", "datetime": "datetime-local"}
SPEAKERS = dict(Speaker.choices)
PART_TITLES = {
    "promise": "Promise",
    "next_action": "Next action",
    "intent": "Intent",
    "sentiment": "Sentiment",
    "summary": "Summary",
}


@dataclass
class FieldRow:
    """One field of a card's form: the AI's value as read, and the form's state."""

    field: ReviewField
    key: str  # the form's name for it: "promise-amount"
    shown: str  # the AI's value, as a person reads it
    input_type: str
    value: str  # the correction input's value: the AI's, or what was posted
    decision: str = ""  # confirm | correct | "" (not chosen yet)
    invalid: bool = False


@dataclass
class Group:
    """A part of the analysis under review (the promise: its amount and date), with the AI's
    confidence in it, the quote it rests on and why it is under review."""

    title: str
    confidence: int | None
    evidence: str
    reasons: tuple[str, ...]
    rows: list[FieldRow]


@dataclass
class Line:
    speaker: str
    label: str
    html: SafeString  # the line, escaped, with the evidence quotes in <mark>


@dataclass
class Verdict:
    label: str
    confirmed: bool
    ai: str
    human: str


@dataclass
class Card:
    analysis: CallAnalysis
    customer: str
    groups: list[Group]
    notes: list[str]
    lines: list[Line]
    verdicts: list[Verdict] = field(default_factory=list)  # once reviewed
    outcome: list[str] = field(default_factory=list)  # what the review changed, or left
    error: str = ""
    answered: bool = False  # the answer to a submit: its result or error takes the focus
    zone: str = ""  # the customer's time zone, in which times are shown and entered


# --- the pages ------------------------------------------------------------------------------------


@console_page("review")
def review_list(request: HttpRequest) -> HttpResponse:
    cards = [_card(analysis) for analysis in analyses_to_review()]
    return render_page(request, "console/review.html", {"cards": cards}, current="review")


@console_page("review")
@require_POST
def review_submit(request: HttpRequest, analysis_id: int) -> HttpResponse:
    """Confirm or correct each field, in one submit. Answers the card: reviewed, with what it
    changed, or the form again with the error and what was entered; without htmx, the queue."""
    analysis = analysis_for_review(analysis_id)
    if analysis is None:
        raise Http404("No such analysis.")
    fields = review_fields(analysis)
    posted = {
        _key(f.name): (request.POST.get(f"decision-{_key(f.name)}", ""), request.POST.get(f"value-{_key(f.name)}", ""))
        for f in fields
    }
    answers = _answers(fields, posted)
    result, error, error_field = None, "", ""
    try:
        result = analysis_review(analysis_id=analysis_id, answers=answers, actor=request.user)
    except DomainError as exc:
        error, error_field = exc.message, getattr(exc, "field", "")
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Reviewed the analysis of call {analysis.call_id}. {' '.join(_outcome(result))}")
        return redirect("console:review")
    analysis = analysis_for_review(analysis_id)
    card = _card(analysis, posted=posted if error else None, error=error, error_field=error_field, result=result)
    response = render(request, "console/_review_card.html", {"card": card})
    if result is not None:
        response["HX-Trigger"] = "console:counts"  # one fewer waiting: the navigation's count
    return response


def _key(name: str) -> str:
    return name.replace(".", "-").replace("_", "-")


def _answers(fields: list[ReviewField], posted: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """What the form says for each field: the AI's value to confirm, the input's to correct.
    A field with no choice is left out (the review refuses it, naming the field)."""
    answers = {}
    for f in fields:
        decision, value = posted[_key(f.name)]
        if decision == CONFIRM:
            answers[f.name] = f.ai_value
        elif decision == CORRECT:
            answers[f.name] = value
    return answers


# --- the card -------------------------------------------------------------------------------------


def _card(
    analysis: CallAnalysis,
    *,
    posted: dict[str, tuple[str, str]] | None = None,
    error: str = "",
    error_field: str = "",
    result: ReviewResult | None = None,
) -> Card:
    call = analysis.call
    customer = call.customer
    zone = ZoneInfo(customer_zone(customer) if customer else settings.BUSINESS_TIME_ZONE)
    currency = customer.currency if customer else "USD"
    fields = review_fields(analysis)
    rows = []
    for f in fields:
        key = _key(f.name)
        decision, value = (posted or {}).get(key, ("", _input_value(f, f.ai_value, zone)))
        rows.append(
            FieldRow(
                field=f,
                key=key,
                shown=_shown(f, f.ai_value, zone, currency),
                input_type=INPUT_TYPES.get(f.kind, ""),
                value=value,
                decision=decision,
                invalid=f.name == error_field,
            )
        )
    groups = []
    for part, names in PARTS.items():
        part_rows = [row for row in rows if row.field.name in names]
        if part_rows:
            first = part_rows[0].field
            groups.append(Group(PART_TITLES[part], first.confidence, first.evidence, first.reasons, part_rows))
    quotes = [pattern for f in fields if (pattern := _quote_pattern(f.evidence))]
    lines = [
        Line(entry.speaker, SPEAKERS.get(entry.speaker, entry.speaker), _highlighted(entry.text, quotes))
        for entry in _transcript(call)
    ]
    by_name = {f.name: f for f in fields}
    verdicts = [
        Verdict(
            label=by_name[c.field].label if c.field in by_name else c.field,
            confirmed=c.confirmed,
            ai=_shown(by_name.get(c.field), c.ai_value, zone, currency),
            human=_shown(by_name.get(c.field), c.human_value, zone, currency),
        )
        for c in _corrections(analysis)
    ]
    return Card(
        analysis=analysis,
        customer=customer.name if customer else "Unidentified caller",
        groups=groups,
        notes=review_notes(analysis),
        lines=lines,
        verdicts=verdicts,
        outcome=_outcome(result),
        error=error,
        answered=bool(error) or result is not None,
        zone=zone.key,
    )


def _transcript(call) -> list[TranscriptEntry]:
    return sorted(call.transcript.all(), key=lambda entry: entry.sequence)


def _corrections(analysis: CallAnalysis) -> list[ReviewCorrection]:
    """The labelled examples of the analysis's review (one re-run since keeps its earlier ones)."""
    if analysis.reviewed_at is None:
        return []
    return [c for c in analysis.corrections.all() if c.created_at == analysis.reviewed_at]


def _outcome(result: ReviewResult | None) -> list[str]:
    """What the review changed, and what it left as it was (and why), as sentences."""
    if result is None:
        return []
    customer = result.analysis.call.customer
    zone = ZoneInfo(customer_zone(customer) if customer else settings.BUSINESS_TIME_ZONE)
    currency = customer.currency if customer else "USD"
    said = []
    if result.promise is not None:
        promise = result.promise
        promised = f"{money(promise.amount, currency)} by {_day(promise.due_date.isoformat())}"
        if result.replaced is not None:
            said.append(f"Promise #{result.replaced.pk} was replaced by promise #{promise.pk}: {promised}.")
        else:
            said.append(f"Promise #{promise.pk} was recorded: {promised}.")
    if result.followup is not None:
        followup = result.followup
        if followup.status == "cancelled":
            said.append(f"Follow-up #{followup.pk} was cancelled.")
        else:
            when = _moment(followup.due_at.astimezone(zone))
            moved = any(c.field == FOLLOW_UP and not c.confirmed for c in result.corrections)
            if moved or result.promise is None:
                said.append(f"Follow-up #{followup.pk} is set for {when}.")
            else:
                said.append(f"Follow-up #{followup.pk} ({when}) now checks on promise #{result.promise.pk}.")
    return said + result.notes


# --- values as a person reads and enters them -----------------------------------------------------


def _day(value: str) -> str:
    day = parse_date(value)
    return f"{day:%A, %B} {day.day}, {day.year}" if day else value


def _moment(when: datetime) -> str:
    return f"{when:%A, %B} {when.day}, {when.year} at {when:%H:%M} ({when.tzname()})"


def _shown(f: ReviewField | None, value: Any, zone: ZoneInfo, currency: str) -> str:
    if value in (None, ""):
        if f is not None and f.name == FOLLOW_UP:
            return "no follow-up call"
        return "none"
    kind = f.kind if f is not None else ""
    if kind == "money":
        return money(value, currency)
    if kind == "date":
        return _day(str(value))
    if kind == "datetime" and (when := parse_datetime(str(value))):
        return _moment(when.astimezone(zone))
    if kind == "choice":
        return dict(f.choices).get(value, str(value))
    return str(value)


def _input_value(f: ReviewField, value: Any, zone: ZoneInfo) -> str:
    """The AI's value as the correction input starts: a person edits what is wrong."""
    if value in (None, ""):
        return ""
    if f.kind == "datetime" and (when := parse_datetime(str(value))):
        return f"{when.astimezone(zone):%Y-%m-%dT%H:%M}"  # datetime-local: the customer's time
    return str(value)


# --- evidence in the transcript -------------------------------------------------------------------

_EDGES = "\"'“”‘’.,;:!?… "
_MARKS = {"'": "['‘’]", '"': '["“”]'}


def _quote_pattern(quote: str) -> re.Pattern | None:
    """A quote as found in a line the way the analysis checks it: case, spacing and the quote
    marks and punctuation around it aside (apps.analysis.analyzers.quote_found)."""
    plain = quote.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').strip(_EDGES)
    words = plain.split()
    if not words:
        return None
    parts = ["".join(_MARKS.get(ch) or re.escape(ch) for ch in word) for word in words]
    return re.compile(r"\s+".join(parts), re.IGNORECASE)


def _highlighted(text: str, patterns: list[re.Pattern]) -> SafeString:
    spans = sorted((m.start(), m.end()) for pattern in patterns for m in pattern.finditer(text))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, at = [], 0
    for start, end in merged:
        pieces.append((text[at:start], text[start:end]))
        at = end
    return format_html("{}{}", format_html_join("", "{}<mark>{}</mark>", pieces), escape(text[at:]))
