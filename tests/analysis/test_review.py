"""A person's review of an analysis: confirmed and corrected fields, what they change (the call's
promise and follow-up, through their own services), the labelled examples, and what is refused."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from apps.analysis.models import CallAnalysis, ReviewCorrection
from apps.analysis.review import AMOUNT, DUE_DATE, FOLLOW_UP, INTENT, analysis_review, review_fields
from apps.analysis.selectors import analyses_to_review
from apps.core.errors import Conflict, InvalidReference
from apps.core.models import AuditEvent
from apps.outreach.models import FollowUp
from apps.promises.models import Promise, PromiseSource, PromiseStatus
from tests.factories import (
    CallAnalysisFactory,
    CallFactory,
    CustomerFactory,
    FollowUpFactory,
    PromiseFactory,
    TranscriptEntryFactory,
)

pytestmark = pytest.mark.django_db

PACIFIC = ZoneInfo("America/Los_Angeles")
QUOTE = "I can pay 300 dollars next week by card."
UNSURE = [
    {"field": "promise", "confidence": 55, "reason": "Confidence 55 is below 70."},
    {"field": "next_action", "confidence": 60, "reason": "Confidence 60 is below 70."},
    {"field": "intent", "confidence": 65, "reason": "Confidence 65 is below 70."},
]


def make_analysis(*, recorded: bool = True, review=UNSURE) -> CallAnalysis:
    """A call whose analysis heard 300.00 in a week and is unsure of it; with `recorded`, the
    promise it produced and the follow-up that checks on it."""
    call = CallFactory(customer=CustomerFactory(), workflow_name="collections")
    TranscriptEntryFactory(call=call, sequence=0, speaker="agent", text="Can you make a payment today?")
    TranscriptEntryFactory(call=call, sequence=1, speaker="customer", text=QUOTE)
    analysis = CallAnalysisFactory(call=call, review_fields=review)
    if recorded:
        promise = PromiseFactory(
            customer=call.customer,
            call=call,
            amount=Decimal(analysis.promise["amount"]),
            due_date=datetime.fromisoformat(analysis.promise["due_date"]).date(),
            method="card",
            source=PromiseSource.ANALYSIS,
        )
        followup = FollowUpFactory(
            customer=call.customer,
            source_call=call,
            promise=promise,
            due_at=datetime.fromisoformat(analysis.next_action["when"]),
            reason="Check the promised payment arrived.",
        )
        analysis.promise["promise_id"], analysis.next_action["followup_id"] = promise.pk, followup.pk
        CallAnalysis.objects.filter(pk=analysis.pk).update(promise=analysis.promise, next_action=analysis.next_action)
    return CallAnalysis.objects.select_related("call__customer").get(pk=analysis.pk)


def the_ais(analysis: CallAnalysis) -> dict:
    return {f.name: f.ai_value for f in review_fields(analysis)}


def snapshot() -> dict:
    """Everything a refused review must leave as it was."""
    return {
        "promises": list(Promise.objects.order_by("pk").values_list("pk", "amount", "due_date", "status")),
        "followups": list(FollowUp.objects.order_by("pk").values_list("pk", "due_at", "status", "promise_id")),
        "examples": ReviewCorrection.objects.count(),
        "reviewed": list(CallAnalysis.objects.values_list("pk", "reviewed_at", "reviewed_by")),
        "audit": AuditEvent.objects.count(),
    }


def test_the_fields_under_review_carry_the_ais_values_confidence_and_evidence():
    analysis = make_analysis()
    fields = {f.name: f for f in review_fields(analysis)}
    assert list(fields) == [AMOUNT, DUE_DATE, FOLLOW_UP, INTENT]
    amount = fields[AMOUNT]
    assert (amount.label, amount.ai_value, amount.confidence, amount.evidence) == (
        "Promised amount",
        "300.00",
        55,
        QUOTE,
    )
    assert amount.reasons == ("Confidence 55 is below 70.",)
    assert fields[DUE_DATE].ai_value == analysis.promise["due_date"]
    assert fields[FOLLOW_UP].ai_value == analysis.next_action["when"]
    assert fields[INTENT].ai_value == "promise_to_pay"


def test_a_field_flagged_by_its_bare_name_is_reviewed_without_a_reason():
    # Earlier demo data stored the flagged fields as bare names: they still open for review.
    analysis = make_analysis(review=["intent"])
    fields = {f.name: f for f in review_fields(analysis)}
    assert list(fields) == [INTENT]
    assert (fields[INTENT].ai_value, fields[INTENT].reasons) == ("promise_to_pay", ())


def test_confirming_every_field_marks_it_reviewed_keeps_confirmed_examples_and_changes_nothing_else(supervisor):
    analysis = make_analysis()
    before = snapshot()
    answers = the_ais(analysis)

    result = analysis_review(analysis_id=analysis.pk, answers=answers, actor=supervisor)

    analysis.refresh_from_db()
    assert (analysis.reviewed_by, analysis.needs_review) == (supervisor, True)  # needs_review stays as history
    assert analysis.reviewed_at is not None
    assert analyses_to_review() == []
    examples = list(
        ReviewCorrection.objects.values_list(
            "field", "ai_value", "human_value", "confirmed", "reviewed_by", "analyzer", "confidence"
        )
    )
    assert examples == [
        (AMOUNT, "300.00", "300.00", True, supervisor.pk, "offline", 55),
        (DUE_DATE, answers[DUE_DATE], answers[DUE_DATE], True, supervisor.pk, "offline", 55),
        (FOLLOW_UP, answers[FOLLOW_UP], answers[FOLLOW_UP], True, supervisor.pk, "offline", 60),
        (INTENT, "promise_to_pay", "promise_to_pay", True, supervisor.pk, "offline", 65),
    ]
    assert set(ReviewCorrection.objects.values_list("created_at", flat=True)) == {analysis.reviewed_at}
    after = snapshot()
    assert (after["promises"], after["followups"]) == (before["promises"], before["followups"])
    assert (result.promise, result.followup, result.notes) == (None, None, [])
    event = AuditEvent.objects.get(action="analysis.review")
    assert (event.actor, event.object_id) == (supervisor, str(analysis.pk))
    assert event.details["confirmed"] == [AMOUNT, DUE_DATE, FOLLOW_UP, INTENT]
    assert event.details["corrected"] == {}


def test_correcting_the_amount_replaces_the_calls_promise_through_its_service(supervisor):
    analysis = make_analysis()
    old = Promise.objects.get(call=analysis.call)
    followup = FollowUp.objects.get(source_call=analysis.call)

    result = analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), AMOUNT: "250"}, actor=supervisor)

    new = Promise.objects.get(call=analysis.call, status=PromiseStatus.PENDING)
    assert (new.amount, new.due_date, new.method, new.source) == (
        Decimal("250.00"),
        old.due_date,
        "card",
        PromiseSource.STAFF,
    )
    assert new.status_reason == f"Corrected in the review of call {analysis.call_id}'s analysis."
    old.refresh_from_db()
    assert (old.status, old.superseded_by, old.amount) == (PromiseStatus.SUPERSEDED, new, Decimal("300.00"))
    assert AuditEvent.objects.filter(action="promise.record", object_id=str(new.pk), actor=supervisor).exists()
    followup.refresh_from_db()  # still checks on the call's promise: now the corrected one
    assert (followup.promise, followup.due_at, followup.status) == (new, followup.due_at, "scheduled")
    assert (result.promise, result.replaced) == (new, old)
    amount = ReviewCorrection.objects.get(field=AMOUNT)
    assert (amount.ai_value, amount.human_value, amount.confirmed, amount.reviewed_by) == (
        "300.00",
        "250.00",
        False,
        supervisor,
    )
    assert ReviewCorrection.objects.get(field=DUE_DATE).confirmed is True
    event = AuditEvent.objects.get(action="analysis.review")
    assert event.details["corrected"] == {AMOUNT: ["300.00", "250.00"]}
    assert (event.details["promise"], event.details["replaced_promise"]) == (new.pk, old.pk)


def test_correcting_the_follow_up_time_moves_the_calls_follow_up(supervisor):
    analysis = make_analysis()
    later = (
        (timezone.now() + timedelta(days=10)).astimezone(PACIFIC).replace(hour=9, minute=30, second=0, microsecond=0)
    )
    typed = f"{later:%Y-%m-%dT%H:%M}"  # what a datetime-local input sends: the customer's time

    analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), FOLLOW_UP: typed}, actor=supervisor)

    followup = FollowUp.objects.get(source_call=analysis.call)
    assert (followup.due_at, followup.status, followup.business_override) == (later, "scheduled", False)
    example = ReviewCorrection.objects.get(field=FOLLOW_UP)
    assert (example.human_value, example.confirmed) == (later.isoformat(), False)
    assert Promise.objects.filter(call=analysis.call).count() == 1  # the promise is as it was


def test_correcting_to_no_follow_up_cancels_the_calls_follow_up(supervisor):
    analysis = make_analysis()
    analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), FOLLOW_UP: ""}, actor=supervisor)
    assert FollowUp.objects.get(source_call=analysis.call).status == "cancelled"
    assert ReviewCorrection.objects.get(field=FOLLOW_UP).human_value is None


def test_a_promise_too_unsure_to_record_is_recorded_once_a_person_confirms_it(supervisor):
    analysis = make_analysis(recorded=False, review=UNSURE[:1])
    result = analysis_review(analysis_id=analysis.pk, answers=the_ais(analysis), actor=supervisor)
    promise = Promise.objects.get(call=analysis.call)
    assert (promise.amount, promise.source, promise.confidence, result.promise) == (
        Decimal("300.00"),
        PromiseSource.ANALYSIS,
        55,
        promise,
    )


def test_no_promise_is_recorded_over_a_newer_one_from_a_later_call(supervisor):
    analysis = make_analysis(recorded=False, review=UNSURE[:1])
    later = PromiseFactory(customer=analysis.call.customer, call=CallFactory(customer=analysis.call.customer))
    result = analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), AMOUNT: "250"}, actor=supervisor)
    assert list(Promise.objects.values_list("pk", "status")) == [(later.pk, PromiseStatus.PENDING)]
    assert result.notes == [f"No promise was recorded: the customer made a newer one since this call (#{later.pk})."]
    assert ReviewCorrection.objects.get(field=AMOUNT).human_value == "250.00"  # the label is kept all the same


def _day_before_the_call(analysis: CallAnalysis) -> str:
    return (analysis.call.ended_at.astimezone(PACIFIC).date() - timedelta(days=1)).isoformat()


BAD = [
    (AMOUNT, "-5", "The promised amount must be a positive amount, like 250.00."),
    (AMOUNT, "0", "The promised amount must be a positive amount, like 250.00."),
    (AMOUNT, "lots", "The promised amount must be a positive amount, like 250.00."),
    (AMOUNT, "12.345", "The promised amount may have at most 2 decimals (cents), like 250.75."),
    (AMOUNT, "1e20", "The promised amount must be at most 9,999,999,999.99."),
    (DUE_DATE, "2030-02-30", "The promised date must be a date, written like 2030-01-15."),
    (DUE_DATE, "next friday", "The promised date must be a date, written like 2030-01-15."),
    (DUE_DATE, _day_before_the_call, "The promised date cannot be before the call, on {call_day}."),
    (DUE_DATE, "", "A promise needs both an amount and a date (leave both empty when no promise was made)."),
    (FOLLOW_UP, "soon", "The follow-up call must be a date and a time, written like 2030-01-15T10:00."),
    (FOLLOW_UP, "2020-01-01T10:00", "The follow-up call must be later than now."),
    (INTENT, "happy", "The intent must be one of: "),
    (INTENT, "", "The intent cannot be empty."),
]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    BAD,
    ids=[f"{n}={v if isinstance(v, str) else 'the-day-before-the-call'}" for n, v, _ in BAD],
)
def test_an_invalid_answer_is_refused_naming_the_field_and_changes_nothing(supervisor, name, value, message):
    analysis = make_analysis()
    value = value(analysis) if callable(value) else value
    before = snapshot()
    with pytest.raises(InvalidReference) as refused:
        analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), name: value}, actor=supervisor)
    call_day = analysis.call.ended_at.astimezone(PACIFIC).date().isoformat()
    assert refused.value.field == name
    assert refused.value.message.startswith(message.format(call_day=call_day))
    assert snapshot() == before


def test_every_field_must_be_answered_and_only_those(supervisor):
    analysis = make_analysis()
    before = snapshot()
    answers = the_ais(analysis)
    del answers[INTENT]
    with pytest.raises(InvalidReference, match="Confirm or correct the intent"):
        analysis_review(analysis_id=analysis.pk, answers=answers, actor=supervisor)
    with pytest.raises(InvalidReference, match="'summary' is not under review"):
        analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), "summary": "x"}, actor=supervisor)
    assert snapshot() == before


def test_a_second_review_and_one_not_needed_are_refused(supervisor, manager):
    analysis = make_analysis()
    confident = CallAnalysisFactory(needs_review=False, review_fields=[])
    analysis_review(analysis_id=analysis.pk, answers=the_ais(analysis), actor=supervisor)
    before = snapshot()
    with pytest.raises(Conflict, match=f"The analysis of call {analysis.call_id} was already reviewed"):
        analysis_review(analysis_id=analysis.pk, answers={**the_ais(analysis), AMOUNT: "10"}, actor=manager)
    assert snapshot() == before

    with pytest.raises(Conflict, match="does not need a review"):
        analysis_review(analysis_id=confident.pk, answers={}, actor=supervisor)
    assert snapshot() == before


def test_a_review_is_a_persons():
    analysis = make_analysis()
    with pytest.raises(InvalidReference, match="A review is a person's"):
        analysis_review(analysis_id=analysis.pk, answers=the_ais(analysis), actor="system:analysis")


def test_the_queue_is_oldest_first_and_leaves_out_what_needs_no_review():
    newer, older = make_analysis(), make_analysis()
    CallAnalysis.objects.filter(pk=older.pk).update(created_at=newer.created_at - timedelta(hours=1))
    CallAnalysisFactory(needs_review=False, review_fields=[])
    CallAnalysisFactory(reviewed_at=timezone.now())
    assert [a.pk for a in analyses_to_review()] == [older.pk, newer.pk]
