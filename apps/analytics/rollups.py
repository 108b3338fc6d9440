"""The daily rollups (models.py), recomputed from the raw rows: the only writer of those tables.

A day's rows are always rebuilt whole (deleted, then aggregated again in the database), never
incremented, so refreshing a day twice, or a rebuild after a refresh, gives the same rows. Which
days to refresh comes from the raw rows themselves: `rollups_catch_up` (a beat task, every minute)
refreshes every business day that has a call, an analysis, a promise (of its day made: a payment
moves it), a follow-up or a compliance entry of the audit trail changed since its last run. The
services that finish a call, an analysis, a payment or a follow-up need to know nothing of this,
and no change is lost when a process dies mid-way: the watermark moves only when the refresh
commits, and each run looks a few minutes further back than the last one, for transactions that
committed late.

Days are BUSINESS_TIME_ZONE days, DST included: a call belongs to the day it started on there (a
call never started, to the day it was created). Test calls never count.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from apps.analysis.models import AnalysisStatus, CallAnalysis, ReviewCorrection
from apps.analytics.latency import METRICS, bucket_expression
from apps.analytics.models import (
    MONTHLY,
    AnalysisDay,
    BreakerDay,
    CallDay,
    ComplianceDay,
    ComplianceEvent,
    GuardrailDay,
    HandoffDay,
    LatencyDay,
    Outcome,
    PromiseDay,
    TurnDay,
    Watermark,
)
from apps.calls.models import TERMINAL_STATUSES, Call, CallStatus, TraceEvent, TraceKind
from apps.core.models import AuditEvent
from apps.dispatch.models import Dispatch
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.promises.models import Promise, PromiseStatus

logger = logging.getLogger(__name__)

NOT_REACHED_STATUSES = (CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED, CallStatus.CANCELED)
MEANINGFUL = (AnalysisStatus.COMPLETED, AnalysisStatus.FAILED)
JUDGED = (*MEANINGFUL, AnalysisStatus.NOT_MEANINGFUL)
# How much further back than its last run a catch-up looks: rows stamped before a run but committed
# after it (a transaction that was still open) are taken in by the next one.
OVERLAP = timedelta(minutes=5)
WATERMARK = "rollups"
NEVER = datetime(2000, 1, 1, tzinfo=UTC)  # the watermark before the first run
ROLLUPS = (
    CallDay,
    HandoffDay,
    PromiseDay,
    AnalysisDay,
    GuardrailDay,
    TurnDay,
    LatencyDay,
    BreakerDay,
    ComplianceDay,
    *MONTHLY.values(),
)
MONEY = DecimalField(max_digits=16, decimal_places=2)


def business_zone() -> ZoneInfo:
    return ZoneInfo(settings.BUSINESS_TIME_ZONE)


def day_start(day: date) -> datetime:
    """When business day `day` begins (aware): its midnight there, whatever the DST offset."""
    return datetime.combine(day, time.min, tzinfo=business_zone())


def business_day(moment: datetime) -> date:
    return timezone.localtime(moment, business_zone()).date()


def _call_day(prefix: str = "") -> TruncDate:
    return TruncDate(Coalesce(f"{prefix}started_at", f"{prefix}created_at"), tzinfo=business_zone())


def call_outcome() -> Case:
    """What became of a call, as the database computes it for each row."""
    return Case(
        When(~Q(status__in=TERMINAL_STATUSES), then=Value(Outcome.IN_PROGRESS)),
        When(
            Q(status__in=NOT_REACHED_STATUSES) | Q(answered_by__startswith="machine") | Q(answered_by="fax"),
            then=Value(Outcome.NOT_REACHED),
        ),
        When(~Q(handoff_reason=""), then=Value(Outcome.HANDED_OFF)),
        When(state__ended=True, then=Value(Outcome.COMPLETED)),
        default=Value(Outcome.ABANDONED),
    )


CALL_DIMENSIONS = {
    "workflow": "workflow_name",
    "version": "workflow_version",
    "direction": "direction",
    "channel": "channel",
}
CALL_FIELDS = tuple(f"call__{field}" for field in CALL_DIMENSIONS.values())  # from a row to its call's


def _dimensions_of_call(row: dict) -> dict[str, str]:
    """The dimensions of a row aggregated by its call's (None: a row with no call)."""
    return {name: row[f"call__{field}"] or "" for name, field in CALL_DIMENSIONS.items()}


def _of_calls_between(start: datetime, end: datetime, prefix: str = "") -> Q:
    """The rows of the real calls of the business days from `start` to `end` (both day starts);
    `prefix` leads from the rows to their call ("call__")."""
    started = Q(**{f"{prefix}started_at__gte": start, f"{prefix}started_at__lt": end})
    never_started = Q(
        **{f"{prefix}started_at__isnull": True, f"{prefix}created_at__gte": start, f"{prefix}created_at__lt": end}
    )
    return (started | never_started) & Q(**{f"{prefix}is_test": False})


def real_calls_between(start: datetime, end: datetime) -> QuerySet[Call]:
    """The real calls of the business days from `start` to `end` (both day starts)."""
    return Call.objects.filter(_of_calls_between(start, end))


# A customer's call is a first contact when no completed call of theirs came in this long before it.
CONTACT_EPISODE = timedelta(days=7)


def _first_contact() -> Q:
    earlier = Call.objects.filter(
        customer=OuterRef("customer"),
        is_test=False,
        status=CallStatus.COMPLETED,
        started_at__lt=OuterRef("started_at"),
        started_at__gte=OuterRef("started_at") - CONTACT_EPISODE,
    )
    return Q(customer__isnull=False, started_at__isnull=False) & ~Exists(earlier)


def _resolved() -> Q:
    """The call ended with a promise to pay (not replaced) or a technician dispatched."""
    promised = Promise.objects.filter(call=OuterRef("pk")).exclude(status=PromiseStatus.SUPERSEDED)
    return Exists(promised) | Exists(Dispatch.objects.filter(call=OuterRef("pk")))


def _write_calls(start: datetime, end: datetime) -> None:
    rows = (
        real_calls_between(start, end)
        .annotate(
            rollup_day=_call_day(),
            rollup_outcome=call_outcome(),
            first_contact=ExpressionWrapper(_first_contact(), output_field=BooleanField()),
            resolved=ExpressionWrapper(_resolved(), output_field=BooleanField()),
        )
        .values("rollup_day", "rollup_outcome", *CALL_DIMENSIONS.values())
        .annotate(
            n=Count("id"),
            n_meaningful=Count("id", filter=Q(analysis__status__in=MEANINGFUL)),
            n_analysed=Count("id", filter=Q(analysis__status__in=JUDGED)),
            n_timed=Count("duration_seconds"),
            seconds=Coalesce(Sum("duration_seconds"), 0),
            prompt=Coalesce(Sum("prompt_tokens"), 0),
            completion=Coalesce(Sum("completion_tokens"), 0),
            cost=Coalesce(Sum("cost_usd"), Value(0), output_field=DecimalField(max_digits=16, decimal_places=6)),
            n_first=Count("id", filter=Q(first_contact=True)),
            n_first_resolved=Count("id", filter=Q(first_contact=True, resolved=True)),
        )
        .order_by()
    )
    CallDay.objects.bulk_create(
        CallDay(
            day=row["rollup_day"],
            outcome=row["rollup_outcome"],
            **{name: row[field] for name, field in CALL_DIMENSIONS.items()},
            calls=row["n"],
            meaningful=row["n_meaningful"],
            analysed=row["n_analysed"],
            timed=row["n_timed"],
            handle_seconds=row["seconds"],
            prompt_tokens=row["prompt"],
            completion_tokens=row["completion"],
            cost_usd=row["cost"],
            first_contacts=row["n_first"],
            first_contacts_resolved=row["n_first_resolved"],
        )
        for row in rows
    )
    handoffs = (
        real_calls_between(start, end)
        .filter(status__in=TERMINAL_STATUSES)
        .exclude(handoff_reason="")
        .annotate(rollup_day=_call_day())
        .values("rollup_day", "handoff_reason", *CALL_DIMENSIONS.values())
        .annotate(n=Count("id"))
        .order_by()
    )
    HandoffDay.objects.bulk_create(
        HandoffDay(
            day=row["rollup_day"],
            reason=row["handoff_reason"],
            **{name: row[field] for name, field in CALL_DIMENSIONS.items()},
            calls=row["n"],
        )
        for row in handoffs
    )


def _amount(status: str) -> Sum:
    return Sum("amount", filter=Q(status=status))


def _write_promises(start: datetime, end: datetime) -> None:
    """Promises made in the window, except those another promise replaced (it counts instead)."""
    zero = Value(0, output_field=MONEY)
    rows = (
        Promise.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(status=PromiseStatus.SUPERSEDED)
        .exclude(call__is_test=True)
        .annotate(rollup_day=TruncDate("created_at", tzinfo=business_zone()))
        .values(
            "rollup_day",
            *CALL_FIELDS,
            "customer__collection_stage",
            "customer__risk_category",
        )
        .annotate(
            n=Count("id"),
            amount_made=Coalesce(Sum("amount"), zero),
            n_kept=Count("id", filter=Q(status=PromiseStatus.KEPT)),
            amount_kept=Coalesce(_amount(PromiseStatus.KEPT), zero),
            n_partial=Count("id", filter=Q(status=PromiseStatus.PARTIALLY_KEPT)),
            amount_partial=Coalesce(_amount(PromiseStatus.PARTIALLY_KEPT), zero),
            n_broken=Count("id", filter=Q(status=PromiseStatus.BROKEN)),
            amount_broken=Coalesce(_amount(PromiseStatus.BROKEN), zero),
            paid=Coalesce(Sum("amount_paid"), zero),
        )
        .order_by()
    )
    PromiseDay.objects.bulk_create(
        PromiseDay(
            day=row["rollup_day"],
            **_dimensions_of_call(row),
            stage=row["customer__collection_stage"],
            risk=row["customer__risk_category"],
            promises=row["n"],
            promised=row["amount_made"],
            kept=row["n_kept"],
            kept_amount=row["amount_kept"],
            partial=row["n_partial"],
            partial_amount=row["amount_partial"],
            broken=row["n_broken"],
            broken_amount=row["amount_broken"],
            collected=row["paid"],
        )
        for row in rows
    )


def _write_quality(start: datetime, end: datetime) -> None:
    corrected = ReviewCorrection.objects.filter(analysis=OuterRef("pk"), confirmed=False)
    analyses = (
        CallAnalysis.objects.filter(_of_calls_between(start, end, "call__"), status=AnalysisStatus.COMPLETED)
        .annotate(rollup_day=_call_day("call__"), was_corrected=Exists(corrected))
        .values("rollup_day", *CALL_FIELDS, "sentiment", "intent")
        .annotate(
            n=Count("id"),
            n_review=Count("id", filter=Q(needs_review=True)),
            n_reviewed=Count("id", filter=Q(reviewed_at__isnull=False)),
            n_corrected=Count("id", filter=Q(was_corrected=True)),
        )
        .order_by()
    )
    AnalysisDay.objects.bulk_create(
        AnalysisDay(
            day=row["rollup_day"],
            **_dimensions_of_call(row),
            sentiment=row["sentiment"],
            intent=row["intent"][:100],
            analyses=row["n"],
            to_review=row["n_review"],
            reviewed=row["n_reviewed"],
            corrected=row["n_corrected"],
        )
        for row in analyses
    )
    hits = (
        TraceEvent.objects.filter(_of_calls_between(start, end, "call__"), kind=TraceKind.GUARDRAIL)
        .annotate(rollup_day=_call_day("call__"))
        .values("rollup_day", *CALL_FIELDS, "name")
        .annotate(n=Count("id"))
        .order_by()
    )
    GuardrailDay.objects.bulk_create(
        GuardrailDay(day=row["rollup_day"], **_dimensions_of_call(row), name=row["name"], hits=row["n"]) for row in hits
    )


def _write_speed(start: datetime, end: datetime) -> None:
    """Each turn's latency split (its TURN trace), who answered it, and breaker openings."""
    traces = TraceEvent.objects.filter(_of_calls_between(start, end, "call__"))
    turns = traces.filter(kind=TraceKind.TURN).annotate(rollup_day=_call_day("call__"))
    by_mode = (
        turns.annotate(turn_mode=KeyTextTransform("mode", "payload"))
        .values("rollup_day", *CALL_FIELDS, "turn_mode")
        .annotate(
            n=Count("id"),
            n_held=Count("id", filter=Q(payload__held=True)),
            n_fallback=Count("id", filter=Q(payload__fallback=True)),
        )
        .order_by()
    )
    TurnDay.objects.bulk_create(
        TurnDay(
            day=row["rollup_day"],
            **_dimensions_of_call(row),
            mode=(row["turn_mode"] or "unknown")[:10],
            turns=row["n"],
            held=row["n_held"],
            fallback=row["n_fallback"],
        )
        for row in by_mode
    )
    for metric in METRICS:
        spread = (
            turns.annotate(latency_value=Cast(KeyTextTransform(metric, "payload"), FloatField()))
            .filter(latency_value__isnull=False)
            .annotate(bucket=bucket_expression("latency_value"))
            .values("rollup_day", *CALL_FIELDS, "bucket")
            .annotate(n=Count("id"))
            .order_by()
        )
        LatencyDay.objects.bulk_create(
            LatencyDay(
                day=row["rollup_day"],
                **_dimensions_of_call(row),
                metric=metric,
                bucket_ms=row["bucket"],
                turns=row["n"],
            )
            for row in spread
        )
    openings = (
        traces.filter(kind=TraceKind.BREAKER, payload__change="opened")
        .annotate(rollup_day=_call_day("call__"))
        .values("rollup_day", *CALL_FIELDS, "name")
        .annotate(n=Count("id"))
        .order_by()
    )
    BreakerDay.objects.bulk_create(
        BreakerDay(day=row["rollup_day"], **_dimensions_of_call(row), name=row["name"], openings=row["n"])
        for row in openings
    )


AUDITED = {  # audit entries counted, as (event, the detail naming its kind)
    "followup.blocked": (ComplianceEvent.BLOCKED, "rule"),
    "customer.opt_out": (ComplianceEvent.OPT_OUT, "source"),
    "call.dial": (ComplianceEvent.DIALED, "in_window"),
}


def _dial_kind(in_window: Any) -> str:
    return {True: "in_window", False: "outside_window"}.get(in_window, "unknown")


def _write_compliance(start: datetime, end: datetime) -> None:
    counts: dict[tuple[date, str, str], int] = {}
    for action, (event, detail) in AUDITED.items():
        entries = AuditEvent.objects.filter(action=action, at__gte=start, at__lt=end)
        if action == "call.dial":
            entries = entries.filter(details__outcome="placed")
        rows = (
            entries.annotate(rollup_day=TruncDate("at", tzinfo=business_zone()), rollup_kind=F(f"details__{detail}"))
            .values("rollup_day", "rollup_kind")
            .annotate(n=Count("id"))
            .order_by()
        )
        for row in rows:
            kind = _dial_kind(row["rollup_kind"]) if event == ComplianceEvent.DIALED else row["rollup_kind"]
            key = (row["rollup_day"], event, str(kind or "unknown")[:40])
            counts[key] = counts.get(key, 0) + row["n"]
    finished = (
        FollowUp.objects.filter(
            status__in=(FollowUpStatus.DONE, FollowUpStatus.FAILED),
            last_attempt_at__gte=start,
            last_attempt_at__lt=end,
        )
        .annotate(rollup_day=TruncDate("last_attempt_at", tzinfo=business_zone()))
        .values("rollup_day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in finished:
        counts[(row["rollup_day"], ComplianceEvent.FOLLOWUP, row["status"])] = row["n"]
    ComplianceDay.objects.bulk_create(
        ComplianceDay(day=day, event=event, kind=kind, count=n) for (day, event, kind), n in counts.items()
    )


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _write_months(first: date, last: date) -> None:
    """The months holding days `first` to `last`, summed again from all their days' rows, for each
    daily rollup a long range reads by month (MONTHLY)."""
    start, end = month_start(first), next_month(last)
    for daily, monthly in MONTHLY.items():
        key = [name for name in daily._meta.constraints[0].fields if name != "day"]
        sums = [f.name for f in daily._meta.concrete_fields if f.name not in ("id", "day", *key)]
        monthly.objects.filter(day__gte=start, day__lt=end).delete()
        rows = (
            daily.objects.filter(day__gte=start, day__lt=end)
            .annotate(month=TruncMonth("day"))
            .values("month", *key)
            .annotate(**{f"total_{name}": Sum(name) for name in sums})
            .order_by()
        )
        monthly.objects.bulk_create(
            monthly(
                day=row["month"],
                **{name: row[name] for name in key},
                **{name: row[f"total_{name}"] for name in sums},
            )
            for row in rows
        )


def _rebuild(first: date, last: date) -> None:
    """Days `first` to `last` (inclusive), rebuilt whole in one transaction."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    with transaction.atomic():
        for model in ROLLUPS:
            model.objects.filter(day__range=(first, last)).delete()
        _write_calls(start, end)
        _write_promises(start, end)
        _write_quality(start, end)
        _write_speed(start, end)
        _write_months(first, last)
        _write_compliance(start, end)


def rollups_refresh(days: Iterable[date]) -> int:
    """Rebuild these days' rows from the raw rows (consecutive days together). Returns how many."""
    ordered = sorted(set(days))
    runs: list[list[date]] = []
    for day in ordered:
        if runs and (day - runs[-1][-1]).days == 1 and len(runs[-1]) < 31:
            runs[-1].append(day)
        else:
            runs.append([day])
    for run in runs:
        _rebuild(run[0], run[-1])
    return len(ordered)


def raw_first_day() -> date | None:
    """The first business day with anything to count."""
    moments = [
        Call.objects.filter(is_test=False).order_by("created_at").values_list("created_at", flat=True).first(),
        Call.objects.filter(is_test=False, started_at__isnull=False)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first(),
        Promise.objects.order_by("created_at").values_list("created_at", flat=True).first(),
        AuditEvent.objects.filter(action__in=AUDITED).order_by("at").values_list("at", flat=True).first(),
    ]
    found = [moment for moment in moments if moment is not None]
    return business_day(min(found)) if found else None


def _held_watermark() -> Watermark:
    """The watermark's row, locked until the transaction ends: one rebuild or catch-up at a time."""
    Watermark.objects.get_or_create(name=WATERMARK, defaults={"at": NEVER})
    return Watermark.objects.select_for_update().get(name=WATERMARK)


def _all_days(until: datetime) -> list[date]:
    first, last = raw_first_day() or business_day(until), business_day(until)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def rollups_rebuild(first: date | None = None, last: date | None = None) -> int:
    """Rebuild days `first` to `last` from the raw rows; without them, every day up to today, and
    the catch-up goes on from when this began. Returns the number of days."""
    with transaction.atomic():
        mark = _held_watermark()
        began = timezone.now()
        if first is None and last is None:
            count = rollups_refresh(_all_days(began))
            mark.at = began
            mark.save(update_fields=["at"])
            return count
        first = first or raw_first_day() or business_day(began)
        last = last or business_day(began)
        return rollups_refresh(first + timedelta(days=n) for n in range((last - first).days + 1))


def _touched_days(since: datetime) -> set[date]:
    """The business days whose rows changed since `since`."""
    days: set[date] = set()
    days.update(
        Call.objects.filter(updated_at__gte=since)
        .annotate(rollup_day=_call_day())
        .values_list("rollup_day", flat=True)
        .distinct()
    )
    days.update(
        CallAnalysis.objects.filter(updated_at__gte=since)
        .annotate(rollup_day=_call_day("call__"))
        .values_list("rollup_day", flat=True)
        .distinct()
    )
    days.update(
        Promise.objects.filter(updated_at__gte=since)
        .annotate(rollup_day=TruncDate("created_at", tzinfo=business_zone()))
        .values_list("rollup_day", flat=True)
        .distinct()
    )
    days.update(
        AuditEvent.objects.filter(action__in=AUDITED, at__gte=since)
        .annotate(rollup_day=TruncDate("at", tzinfo=business_zone()))
        .values_list("rollup_day", flat=True)
        .distinct()
    )
    days.update(
        FollowUp.objects.filter(updated_at__gte=since, last_attempt_at__isnull=False)
        .annotate(rollup_day=TruncDate("last_attempt_at", tzinfo=business_zone()))
        .values_list("rollup_day", flat=True)
        .distinct()
    )
    return days


def rollups_catch_up() -> int:
    """Refresh every day something changed on since the last run (the first run rebuilds all).
    One at a time (the watermark's row is held); returns the number of days refreshed."""
    with transaction.atomic():
        mark = _held_watermark()
        began = timezone.now()
        days = _all_days(began) if mark.at == NEVER else _touched_days(mark.at - OVERLAP)
        count = rollups_refresh(days)
        mark.at = began
        mark.save(update_fields=["at"])
    if count:
        logger.info("analytics: %s days refreshed", count)
    return count
