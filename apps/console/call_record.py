"""What a call led to, as the call page shows it: its analysis (each part with the AI's confidence
and the quote it rests on), its promises, its follow-ups, its approvals, and the compliance
decisions about dialing it (the audit trail's dial records). Labelled fields throughout: a person
never reads JSON here. Reads only, a query each."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.analysis.models import AnalysisStatus, CallAnalysis, Sentiment
from apps.approvals.models import Approval
from apps.calls.models import Call
from apps.console.present import approval_flags, humanize, labelled, money
from apps.core.models import AuditEvent
from apps.outreach.models import FollowUp
from apps.promises.models import Promise

LABELS = {
    "when": "When",
    "urgency": "Urgency",
    "override_reason": "Business rule",
    "followup_id": "Follow-up",
    "approval_id": "Approval",
    "due_date": "Due date",
}
ACTIONS = {
    "follow_up_call": "Call again",
    "followup": "Call again",
    "fee_waiver": "Fee waiver (a person decides)",
    "settlement": "Settlement (a person decides)",
    "human_review": "A person looks at the account",
    "none": "Nothing",
}
NEXT_ACTION_KEYS = ("when", "due_date", "urgency", "reason", "override_reason", "followup_id", "approval_id")
# The compliance gate's rules (apps/outreach/compliance.py), and the dial's own stops.
RULES = {
    "do_not_call": "Do not call",
    "consent": "No consent to automated calls",
    "calling_window": "Outside the calling window",
    "call_open": "Another call still open",
    "frequency_attempts": "Too many attempts in 7 days",
    "frequency_conversation": "A conversation in the last 7 days",
    "at_dial": "Stopped at the moment of the dial",
    "telephony": "Telephony not configured",
}
DIAL_ACTIONS = ("call.request_outbound", "call.dial", "call.machine")
DIAL_OUTCOMES = {
    "placed": "Dialed: the compliance gate allowed it",
    "blocked": "Not dialed: the compliance gate refused it",
    "failed": "Dial failed",
    "throttled": "Dial deferred (the carrier asked us to slow down)",
    "unclear": "Dial outcome unknown (to be reconciled)",
}


@dataclass
class Part:
    """A part of the analysis: what the AI found, how sure it was, and the quote it rests on."""

    title: str
    fields: list[tuple[str, str]]
    confidence: int | None = None
    evidence: str = ""


@dataclass
class AnalysisRecord:
    status: str
    analyzer: str
    note: str  # why no analysis was spent, or what went wrong
    parts: list[Part]
    review: list[str]  # what a person should check, and why
    reviewed: str  # who reviewed it, when
    overrides: list[str]  # business rules that changed the AI's suggestion


@dataclass
class Item:
    """A promise, follow-up, approval or dial decision: a title, a status and labelled fields."""

    key: str  # for element ids: "promise-3"
    title: str
    status: str
    status_class: str
    fields: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Group:
    key: str
    title: str
    empty: str
    items: list[Item]


@dataclass
class Outcomes:
    analysis: AnalysisRecord | None
    promises: list[Item]
    followups: list[Item]
    approvals: list[Item]
    decisions: list[Item]

    @property
    def groups(self) -> list[Group]:
        return [
            Group("promises", "Promises", "No promise came of this call.", self.promises),
            Group("followups", "Follow-up calls", "No follow-up call.", self.followups),
            Group("approvals", "Approvals", "Nothing was asked of a person.", self.approvals),
            Group("dials", "Dialing and compliance", "No dialing was recorded for this call.", self.decisions),
        ]


def _moment(value: datetime | str | None) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    if moment is None:
        return str(value or "none")
    moment = timezone.localtime(moment)
    return f"{moment:%b} {moment.day}, {moment.year} {moment:%H:%M}"


def _fields(values: dict[str, Any], keys: tuple[str, ...], currency: str) -> list[tuple[str, str]]:
    shown = []
    for key in keys:
        value = values.get(key)
        if value in (None, "", [], {}):
            continue
        text = _moment(value) if key == "when" else labelled({key: value}, currency)[0][1]
        shown.append((LABELS.get(key) or humanize(key), text))
    return shown


def _evidence(found: dict[str, Any], name: str) -> tuple[int | None, str]:
    """The confidence and quote for a part: its own entry, else the lowest of its fields'."""
    entries = [found[name]] if name in found else [v for k, v in found.items() if k.startswith(f"{name}.")]
    confidences = [entry["confidence"] for entry in entries if isinstance(entry.get("confidence"), int)]
    quotes = [entry["evidence"] for entry in entries if entry.get("evidence")]
    return (min(confidences) if confidences else None), (quotes[0] if quotes else "")


def _parts(analysis: CallAnalysis, currency: str) -> list[Part]:
    found = analysis.field_confidence or {}
    parts = []
    if analysis.summary:
        parts.append(Part("Summary", [("Summary", analysis.summary)], *_evidence(found, "summary")))
    if analysis.sentiment:
        sentiment = [("Sentiment", Sentiment(analysis.sentiment).label)]
        if analysis.sentiment_score is not None:
            sentiment.append(("Score", f"{analysis.sentiment_score:+.2f} (from -1 negative to +1 positive)"))
        if analysis.sentiment_trajectory:
            sentiment.append(("Over the call", " → ".join(f"{v:+.2f}" for v in analysis.sentiment_trajectory)))
        parts.append(Part("Sentiment", sentiment, *_evidence(found, "sentiment")))
    if analysis.intent:
        parts.append(Part("Intent", [("Intent", humanize(analysis.intent))], *_evidence(found, "intent")))
    promise = analysis.promise or {}
    if promise:
        made = bool(promise.get("made", promise.get("amount")))
        shown = [("Made", "yes" if made else "no")]
        if made:
            shown += _fields(promise, ("amount", "due_date", "method", "reasoning", "promise_id"), currency)
        confidence, quote = _evidence(found, "promise")
        parts.append(Part("Promise", shown, confidence, promise.get("evidence") or quote))
    action = analysis.next_action or {}
    if action:
        kind = action.get("type", "none")
        shown = [("Action", ACTIONS.get(kind, humanize(kind))), *_fields(action, NEXT_ACTION_KEYS, currency)]
        parts.append(Part("Next action", shown, *_evidence(found, "next_action")))
    return parts


def _analysis(analysis: CallAnalysis | None, currency: str) -> AnalysisRecord | None:
    if analysis is None:
        return None
    reviewed = ""
    if analysis.reviewed_at:
        who = analysis.reviewed_by.get_username() if analysis.reviewed_by else "someone"
        reviewed = f"Reviewed by {who}, {_moment(analysis.reviewed_at)}"
    review = [
        f"{humanize(entry.get('field', 'analysis'))}: {entry.get('reason', '')}".rstrip(": ")
        for entry in analysis.review_fields or []
        if isinstance(entry, dict)
    ]
    overrides = [
        f"{entry.get('reason') or humanize(entry.get('rule', ''))}: {_moment(entry.get('suggested'))} → "
        f"{_moment(entry.get('applied'))}"
        for entry in analysis.rule_overrides or []
        if isinstance(entry, dict)
    ]
    note = analysis.meaningful_reason if analysis.status == AnalysisStatus.NOT_MEANINGFUL else analysis.error
    return AnalysisRecord(
        status=analysis.get_status_display(),
        analyzer=analysis.analyzer or "–",
        note=note,
        parts=_parts(analysis, currency) if analysis.status == AnalysisStatus.COMPLETED else [],
        review=review if analysis.needs_review else [],
        reviewed=reviewed,
        overrides=overrides,
    )


def _promise(promise: Promise) -> Item:
    title = f"{money(promise.amount, promise.currency)} by {promise.due_date:%A, %B} {promise.due_date.day}"
    shown = [("Method", promise.get_method_display() or "not said"), ("Source", promise.get_source_display())]
    if promise.amount_paid:
        shown.append(("Paid so far", money(promise.amount_paid, promise.currency)))
    if promise.confidence is not None:
        shown.append(("Confidence", f"{promise.confidence}/100"))
    if promise.status_reason:
        shown.append(("Why the status", promise.status_reason))
    if promise.superseded_by_id:
        shown.append(("Replaced by", f"promise #{promise.superseded_by_id}"))
    return Item(f"promise-{promise.pk}", title, promise.get_status_display(), promise.status, shown)


def _followup(followup: FollowUp, call: Call) -> Item:
    shown = [("Why", followup.reason), ("Due", _moment(followup.due_at))]
    shown.append(("Attempts", f"{followup.attempts} of {followup.max_attempts}"))
    if followup.last_attempt_at:
        shown.append(("Last attempt", _moment(followup.last_attempt_at)))
    if followup.block_reason:
        shown.append(("Held back because", followup.block_reason))
    if followup.last_error:
        shown.append(("Last outcome", followup.last_error))
    if followup.requested_by_customer:
        shown.append(("Asked for", "by the customer"))
    if followup.business_override:
        shown.append(("Business rule", followup.override_reason))
    relation = "This call is one of its attempts" if followup.pk == call.followup_id else "Set by this call"
    shown.append(("This call", relation))
    title = f"Follow-up call #{followup.pk}"
    return Item(f"followup-{followup.pk}", title, followup.get_status_display(), followup.status, shown)


def _approval(approval: Approval, currency: str) -> Item:
    shown = labelled(approval.payload, currency)
    shown += [("Confidence", f"{approval.confidence}/100"), ("Why the AI suggests it", approval.reasoning)]
    if approval.flags:
        shown.append(("Warning", "; ".join(approval_flags(approval.flags))))
    if approval.decided_by_label:
        shown.append(("Decided by", f"{approval.decided_by_label}, {_moment(approval.decided_at)}"))
    if approval.note:
        shown.append(("Note", approval.note))
    shown += [(f"Result: {label.lower()}", text) for label, text in labelled(approval.result, currency)]
    title = approval.get_kind_display()
    return Item(f"approval-{approval.pk}-outcome", title, approval.get_status_display(), approval.status, shown)


def _decision(event: AuditEvent) -> Item:
    details = event.details or {}
    if event.action == "followup.blocked":
        title, status = f"Follow-up #{event.object_id} held back by the compliance gate", "blocked"
        shown = [("Rule", RULES.get(details.get("rule", ""), humanize(details.get("rule", "") or "unknown")))]
        shown += [("Reason", details.get("reason") or "not recorded"), ("Until", _moment(details.get("until")))]
    elif event.action == "call.dial":
        status = details.get("outcome", "unknown")
        title = DIAL_OUTCOMES.get(status, f"Dial: {status}")
        shown = _fields(details, ("reason", "error", "call_sid"), "USD")
    elif event.action == "call.request_outbound":
        title, status = "Call requested: the compliance gate allowed it then", "allowed"
        shown = _fields(details, ("workflow", "reason", "followup_id"), "USD")
    else:
        title, status = "Answering machine", details.get("action", "noted")
        shown = _fields(details, ("answered_by",), "USD")
    shown = [("When", _moment(event.at)), ("By", event.actor_label or "the system"), *shown]
    return Item(f"decision-{event.pk}", title, humanize(str(status)), str(status), shown)


def call_outcomes(call: Call) -> Outcomes:
    """What `call` led to, each kind read in one query."""
    currency = call.customer.currency if call.customer_id else "USD"
    analysis = CallAnalysis.objects.filter(call_id=call.pk).select_related("reviewed_by").first()
    promises = Promise.objects.filter(call_id=call.pk).order_by("created_at", "id")
    its_followups = Q(source_call_id=call.pk) | (Q(pk=call.followup_id) if call.followup_id else Q(pk__in=[]))
    followups = list(FollowUp.objects.filter(its_followups).order_by("due_at", "id"))
    approvals = Approval.objects.filter(call_id=call.pk).order_by("created_at", "id")
    on_call = Q(object_type="calls.call", object_id=str(call.pk), action__in=DIAL_ACTIONS)
    on_followups = Q(
        object_type="outreach.followup", object_id__in=[str(f.pk) for f in followups], action="followup.blocked"
    )
    decisions = AuditEvent.objects.filter(on_call | on_followups).order_by("at", "id")
    return Outcomes(
        analysis=_analysis(analysis, currency),
        promises=[_promise(promise) for promise in promises],
        followups=[_followup(followup, call) for followup in followups],
        approvals=[_approval(approval, currency) for approval in approvals],
        decisions=[_decision(event) for event in decisions],
    )
