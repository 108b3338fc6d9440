"""The post-call pipeline: meaningful-call check, analysis, business rules, then the results.

Runs once per completed call (the task is enqueued after commit) and may run again (a retry, a
worker killed mid-task, a person asking for a re-run). The slow part, the analysis, happens
outside any transaction; the results are then applied in one transaction holding the analysis
row's lock, against natural keys (the call's promise, the follow-up from this call, the pending
approval for this call and kind), so a second run updates and never duplicates.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.agent import llm
from apps.analysis.analyzers import (
    Analysis,
    AnalysisUnavailable,
    CallFacts,
    InvalidOutput,
    Line,
    llm_analyze,
    offline_analyze,
)
from apps.analysis.models import AnalysisStatus, CallAnalysis
from apps.analysis.rules import Account, apply_rules
from apps.analysis.schemas import CallInsights, NextAction
from apps.approvals.models import Approval, ApprovalStatus
from apps.approvals.services import approval_request, call_flags
from apps.calls.models import Call, CallStatus, Channel, Speaker, TraceEvent, TraceKind
from apps.calls.services import call_traces_add
from apps.collections.actions import promise_record
from apps.core.effects import enqueue
from apps.core.errors import Conflict, InvalidReference
from apps.core.services import Actor, audit_record
from apps.core.tasking import requeue_stale
from apps.customers.models import DoNotCallSource
from apps.customers.selectors import customer_zone
from apps.customers.services import customer_opt_out
from apps.outreach.services import followup_for_call
from apps.promises.models import Promise, PromiseSource, PromiseStatus

ACTOR = "system:analysis"
ANALYZE_TASK = "apps.analysis.tasks.call_analyze_task"
DONE = (AnalysisStatus.COMPLETED, AnalysisStatus.NOT_MEANINGFUL)


# --- 1. is it worth analysing -------------------------------------------------------------------


def meaningful(call: Call, lines: list[Line]) -> tuple[bool, str]:
    """At least ANALYSIS_MIN_EXCHANGES exchanges (a caller turn the agent answered), at least
    ANALYSIS_MIN_SECONDS long (a call: a typed chat has no audio to time), and both parties
    spoke. Returns (ok, the reason)."""
    speakers = [line.speaker for line in lines if line.text.strip()]
    if Speaker.CUSTOMER not in speakers:
        return False, "The customer never spoke."
    if not {Speaker.AGENT, Speaker.HUMAN_AGENT} & set(speakers):
        return False, "Only the customer spoke."
    exchanges = sum(
        1
        for before, after in pairwise(speakers)
        if before == Speaker.CUSTOMER and after in (Speaker.AGENT, Speaker.HUMAN_AGENT)
    )
    if exchanges < settings.ANALYSIS_MIN_EXCHANGES:
        return False, f"{exchanges} exchange(s); at least {settings.ANALYSIS_MIN_EXCHANGES} needed."
    if call.channel == Channel.WEB_CHAT:
        return True, f"{exchanges} exchanges in a web chat."
    seconds = call.duration_seconds
    if seconds is None and call.started_at and call.ended_at:
        seconds = int((call.ended_at - call.started_at).total_seconds())
    if seconds is None or seconds < settings.ANALYSIS_MIN_SECONDS:
        return False, f"{seconds or 0} s long; at least {settings.ANALYSIS_MIN_SECONDS} s needed."
    return True, f"{exchanges} exchanges over {seconds} s."


# --- the pipeline -------------------------------------------------------------------------------


@dataclass
class Outcome:
    promise_id: int | None = None
    followup_id: int | None = None
    approval_id: int | None = None


def analysis_run(*, call_id: int, force: bool = False) -> CallAnalysis:
    """Analyse a completed call and act on it. Without `force`, a finished analysis is left as
    it is. Raises AnalysisUnavailable when no model can be reached (the task retries)."""
    started = timezone.now()
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).select_related("customer").get(pk=call_id)
        analysis, _ = CallAnalysis.objects.get_or_create(call=call)
        if analysis.status in DONE and not force:
            return analysis
        if call.status != CallStatus.COMPLETED:
            raise Conflict(f"Call {call_id} is {call.status}; only completed calls are analysed.")

    lines = [Line(e.speaker, e.text) for e in call.transcript.order_by("sequence").only("speaker", "text")]
    ok, reason = meaningful(call, lines)
    if not ok:
        with transaction.atomic():
            analysis = CallAnalysis.objects.select_for_update().get(pk=analysis.pk)
            if analysis.status in DONE and analysis.updated_at >= started and not force:
                return analysis
            _reset(analysis)
            analysis.status, analysis.meaningful_reason = AnalysisStatus.NOT_MEANINGFUL, reason
            analysis.save()
        return analysis

    facts = _facts(call)
    review: list[dict[str, Any]] = []
    if llm.configured():
        try:
            result = llm_analyze(lines, facts)
        except AnalysisUnavailable as exc:
            # Nothing is written for a run the task will retry, but a breaker's change is traced.
            call_traces_add(traces=[e for a in exc.attempts for e in _breaker_events(call_id, a)])
            raise
        except InvalidOutput as exc:
            result = offline_analyze(lines, facts)
            review.append({"field": "analysis", "reason": f"No model gave valid analysis ({exc}); offline result."})
            result.attempts = exc.attempts
    else:
        result = offline_analyze(lines, facts)

    with transaction.atomic():
        analysis = CallAnalysis.objects.select_for_update().get(pk=analysis.pk)
        if analysis.status in DONE and analysis.updated_at >= started and not force:
            return analysis  # another run finished while this one was analysing
        call = Call.objects.select_related("customer").get(pk=call_id)
        _apply(analysis, call, result, reason, review)
    return analysis


def _facts(call: Call) -> CallFacts:
    customer = call.customer
    live = (
        Promise.objects.filter(call=call, source=PromiseSource.AGENT)
        .exclude(status__in=[PromiseStatus.CANCELLED, PromiseStatus.SUPERSEDED])
        .order_by("-id")
        .first()
    )
    return CallFacts(
        workflow=call.workflow_name or "collections",
        direction=call.direction,
        customer_name=customer.name if customer else "an unidentified caller",
        timezone=customer_zone(customer) if customer else settings.BUSINESS_TIME_ZONE,
        balance=customer.balance if customer else Decimal(0),
        ended_at=call.ended_at or timezone.now(),
        live_promise=(live.amount, live.due_date, live.method) if live else None,
    )


def _reset(analysis: CallAnalysis) -> None:
    analysis.analyzer = analysis.sentiment = analysis.intent = analysis.summary = analysis.error = ""
    analysis.sentiment_score, analysis.confidence = None, None
    analysis.sentiment_trajectory, analysis.rule_overrides, analysis.review_fields = [], [], []
    analysis.promise, analysis.next_action, analysis.field_confidence = {}, {}, {}
    analysis.needs_review, analysis.reviewed_by, analysis.reviewed_at = False, None, None


def _apply(analysis: CallAnalysis, call: Call, result: Analysis, reason: str, review: list[dict[str, Any]]) -> None:
    insights = result.insights
    now = timezone.now()
    outcome = Outcome()
    action, overrides = insights.next_action, []
    customer = call.customer
    if customer is not None:
        account = Account(
            timezone=customer_zone(customer),
            days_overdue=customer.days_overdue,
            risk_category=customer.risk_category,
            balance=customer.balance,
            has_broken_promise=customer.promises.filter(status=PromiseStatus.BROKEN).exists(),
        )
        action, overrides = apply_rules(insights, account, workflow=call.workflow_name, now=now)
    if call.is_test:
        # Staff trying the agent: the analysis is shown, nothing is acted on and nobody reviews it.
        review = []
        _trace_not_done(call, insights, action)
    elif customer is not None:
        if insights.intent == "opt_out":  # heard in the transcript, quoted as evidence: honour it
            customer_opt_out(
                customer_id=customer.pk, source=DoNotCallSource.CALL_OPT_OUT, actor=ACTOR, reason=insights.summary[:255]
            )
        _promise(call, insights, outcome, review)
        _followup(call, insights, action, outcome, now)
        _approval(call, insights, action, outcome, review)
    else:
        review.append({"field": "customer", "reason": "The caller was never identified: nothing was acted on."})

    confidences = insights.confidences()
    threshold = settings.ANALYSIS_REVIEW_THRESHOLD
    for name, value in sorted(confidences.items()):
        if value < threshold:
            review.append({"field": name, "confidence": value, "reason": f"Confidence {value} is below {threshold}."})

    _reset(analysis)
    analysis.status = AnalysisStatus.COMPLETED
    analysis.meaningful_reason = reason
    analysis.analyzer = result.analyzer
    analysis.sentiment = insights.sentiment.label
    analysis.sentiment_score = insights.sentiment.score
    analysis.sentiment_trajectory = insights.sentiment.trajectory
    analysis.intent = insights.intent
    analysis.summary = insights.summary
    analysis.promise = {**insights.promise.model_dump(mode="json"), "promise_id": outcome.promise_id}
    analysis.next_action = {
        **action.model_dump(mode="json"),
        "suggested": insights.next_action.model_dump(mode="json"),
        "followup_id": outcome.followup_id,
        "approval_id": outcome.approval_id,
    }
    analysis.field_confidence = {
        name: {"confidence": value, "evidence": _evidence(insights, name)} for name, value in confidences.items()
    }
    analysis.rule_overrides = overrides
    analysis.confidence = min(confidences.values()) if confidences else None
    analysis.review_fields = review
    analysis.needs_review = bool(review) and not call.is_test
    analysis.save()
    _trace_attempts(call.pk, result.attempts)


def _trace_not_done(call: Call, insights: CallInsights, action: NextAction) -> None:
    """What the analysis of a test call would have acted on, recorded on the call."""
    would = []
    if insights.intent == "opt_out":
        would.append(("customer_opt_out", {"source": DoNotCallSource.CALL_OPT_OUT}))
    if insights.promise.made and insights.promise.amount and insights.promise.due_date:
        would.append(
            (
                "promise_record",
                {"amount": str(insights.promise.amount), "due_date": insights.promise.due_date.isoformat()},
            )
        )
    if action.type != "none":
        would.append((f"next_action.{action.type}", action.model_dump(mode="json")))
    call_traces_add(
        traces=[
            TraceEvent(
                call_id=call.pk,
                kind=TraceKind.SANDBOXED,
                name=f"analysis: {name}"[:100],
                payload={"action": name, "by": "post-call analysis", **details},
            )
            for name, details in would
        ]
    )


def _breaker_events(call_id: int, attempt: llm.Attempt) -> list[TraceEvent]:
    """What a model request did to its endpoint's circuit breaker (probe, opened, closed)."""
    return [
        TraceEvent(
            call_id=call_id,
            kind=TraceKind.BREAKER,
            name=f"{change}: {attempt.endpoint.model}"[:100],
            ok=change != "opened",
            payload={"endpoint": attempt.endpoint.base_url, "change": change, "purpose": "post-call analysis"},
        )
        for change in attempt.breaker
    ]


def _trace_attempts(call_id: int, attempts: list[llm.Attempt]) -> None:
    """Each model request of the analysis, and its breaker changes."""
    events = []
    for attempt in attempts:
        events += _breaker_events(call_id, attempt)
        events.append(
            TraceEvent(
                call_id=call_id,
                kind=TraceKind.LLM_CALL,
                name=f"analysis: {attempt.endpoint.model}"[:100],
                ok=not attempt.error,
                latency_ms=attempt.latency_ms,
                prompt_tokens=attempt.prompt_tokens,
                completion_tokens=attempt.completion_tokens,
                cost_usd=attempt.cost,
                payload={
                    "endpoint": attempt.endpoint.base_url,
                    "error": attempt.error,
                    "purpose": "post-call analysis",
                },
            )
        )
    call_traces_add(traces=events)


def _evidence(insights: CallInsights, name: str) -> str:
    if name in insights.fields and insights.fields[name].evidence:
        return insights.fields[name].evidence
    return {"sentiment": insights.sentiment.evidence, "promise": insights.promise.evidence}.get(name, "")


def _promise(call: Call, insights: CallInsights, outcome: Outcome, review: list[dict[str, Any]]) -> None:
    """The promise the call produced: the one already recorded on the call (by the agent, or by
    an earlier run) when it says the same, else a new one; a disagreement goes to review."""
    found = insights.promise
    if not (found.made and found.amount and found.due_date):
        return
    # Any promise the call already produced, even one a later call has since replaced: a re-run
    # must not bring an old promise back over the current one.
    existing = Promise.objects.filter(call=call).order_by("-created_at", "-id").first()
    if existing is not None:
        outcome.promise_id = existing.pk
        if (existing.amount, existing.due_date) != (found.amount, found.due_date):
            review.append(
                {
                    "field": "promise",
                    "reason": (
                        f"The analysis heard {found.amount} by {found.due_date:%Y-%m-%d}; the call's promise "
                        f"{existing.pk} is {existing.amount} by {existing.due_date:%Y-%m-%d}. Left unchanged."
                    ),
                }
            )
        return
    if found.confidence < settings.ANALYSIS_REVIEW_THRESHOLD:
        return  # too unsure to record: the review queue shows it (below the threshold)
    ended = (call.ended_at or timezone.now()).astimezone(ZoneInfo(customer_zone(call.customer)))
    if found.due_date < ended.date():
        review.append({"field": "promise", "reason": f"The promised date {found.due_date} is before the call."})
        return
    promise = promise_record(
        customer_id=call.customer_id,
        call_id=call.pk,
        amount=found.amount,
        due_date=found.due_date,
        method=found.method,
        source=PromiseSource.ANALYSIS,
        confidence=found.confidence,
        actor=ACTOR,
    )
    outcome.promise_id = promise.pk


def _followup(call: Call, insights: CallInsights, action: NextAction, outcome: Outcome, now: datetime) -> None:
    """The follow-up this call asks for: one per call, updated while still scheduled (outreach
    keeps a callback the customer asked for as they chose it)."""
    due = None
    if action.type == "follow_up_call" and action.when is not None:
        due = max(action.when, now + timedelta(minutes=15))
    followup = followup_for_call(
        actor=ACTOR,
        call_id=call.pk,
        customer_id=call.customer_id,
        due_at=due,
        reason=(action.reason or f"Follow-up on {insights.intent.replace('_', ' ')}")[:255],
        promise_id=outcome.promise_id,
        override_reason=action.override_reason if action.has_business_override else "",
    )
    outcome.followup_id = followup.pk if followup is not None else None


def _approval(
    call: Call, insights: CallInsights, action: NextAction, outcome: Outcome, review: list[dict[str, Any]]
) -> None:
    if action.type not in ("fee_waiver", "settlement"):
        return
    # Asked already (by the agent on the call, or an earlier run) and not lapsed: a person has it,
    # or has decided it. A re-run never asks again, nor undoes a decision.
    asked = (
        Approval.objects.filter(call=call, kind=action.type)
        .exclude(status=ApprovalStatus.EXPIRED)
        .order_by("-created_at", "-id")
        .first()
    )
    if asked is not None:
        outcome.approval_id = asked.pk
        return
    try:
        approval = approval_request(
            kind=action.type,
            customer=call.customer,
            call=call,
            payload=action.payload,
            reasoning=action.reason or insights.summary,
            confidence=action.confidence,
            actor=ACTOR,
            **call_flags(call.state.get("facts", {})),
        )
    except InvalidReference as exc:
        review.append({"field": "next_action", "reason": f"The suggested {action.type} is not valid: {exc}"})
        return
    outcome.approval_id = approval.pk


def analysis_queue(*, call_id: int) -> CallAnalysis:
    """A call completed: its analysis, exactly once per call. The one-analysis-per-call row is
    the guard, and the task is sent only after commit (a crash in between leaves the row pending,
    and the stalled sweep sends it). For the orchestration that ends a call, above both apps."""
    analysis, created = CallAnalysis.objects.get_or_create(call_id=call_id)
    if created:
        enqueue(ANALYZE_TASK, call_id)
    return analysis


@transaction.atomic
def analysis_request(*, call_id: int, actor: Actor) -> CallAnalysis:
    """A person asks for a call to be analysed again: queued after commit, forced past a finished
    result; the run updates what the last one produced and duplicates nothing."""

    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise InvalidReference("call_id", f"No call with id {call_id}.")
    if call.status != CallStatus.COMPLETED:
        raise Conflict(f"Call {call_id} is {call.get_status_display().lower()}; only completed calls are analysed.")
    analysis, _ = CallAnalysis.objects.get_or_create(call=call)
    # Pending until the run finishes: should the task be lost, the stalled sweep sends it again.
    analysis.status, analysis.error = AnalysisStatus.PENDING, ""
    analysis.save(update_fields=["status", "error", "updated_at"])
    audit_record(actor=actor, action="analysis.rerun", obj=analysis)
    enqueue(ANALYZE_TASK, call_id, force=True)
    return analysis


def analysis_give_up(*, call_id: int, error: str) -> CallAnalysis:
    """Every retry failed to reach a model: record it, visibly, for a person to re-run."""
    with transaction.atomic():
        analysis = CallAnalysis.objects.select_for_update().get(call_id=call_id)
        if analysis.status not in DONE:
            analysis.status, analysis.error = AnalysisStatus.FAILED, error[:2000]
            analysis.save(update_fields=["status", "error", "updated_at"])
    return analysis


STALLED_AFTER = timedelta(minutes=15)


def analyses_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Send the analysis task again for calls whose analysis has been pending too long: its task
    never ran, or was lost. Returns the call ids (touched: the next sweep leaves them alone)."""
    pending = CallAnalysis.objects.filter(status=AnalysisStatus.PENDING, call__status=CallStatus.COMPLETED)
    return requeue_stale(pending, older_than=STALLED_AFTER, task=ANALYZE_TASK, send="call_id", now=now)
