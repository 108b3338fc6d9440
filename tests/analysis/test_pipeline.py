"""The post-call pipeline against a local OpenAI-compatible server (tests/fakes/openai_server.py)."""

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from apps.analysis.analyzers import AnalysisUnavailable
from apps.analysis.models import CallAnalysis
from apps.analysis.services import analysis_run
from apps.approvals.services import approval_decide
from apps.calls.models import Call, TraceEvent, TraceKind
from apps.collections.actions import promise_record
from apps.customers.models import Customer, DoNotCallEntry
from apps.outreach.models import FollowUp
from apps.promises.models import Promise
from tests.concurrency import concurrently
from tests.factories import CallFactory, CustomerFactory, FollowUpFactory, PromiseFactory, TranscriptEntryFactory

pytestmark = pytest.mark.django_db

PACIFIC = ZoneInfo("America/Los_Angeles")
DUE = timezone.localdate() + timedelta(days=10)
CONVERSATION = [
    ("agent", "Thanks for calling Northwind Auto Finance. How can I help?"),
    ("customer", "Hi, I got a letter about my car loan."),
    ("agent", "Your balance is 1,250 dollars, 45 days overdue. Can you make a payment?"),
    ("customer", f"I can pay 400 dollars on {DUE:%B} {DUE.day} by card."),
    ("agent", f"So 400 dollars on {DUE:%B} {DUE.day} by card. Is that right?"),
    ("customer", "Yes, that's right. Thanks for your help."),
]


@pytest.fixture
def llm(fake_llm, settings):
    settings.ANALYSIS_MODEL = "primary"
    settings.ANALYSIS_TIMEOUT = 2.0
    return fake_llm


def make_call(lines=CONVERSATION, *, duration=95, **customer):
    customer = CustomerFactory(
        **{"days_overdue": 45, "risk_category": "low", "balance": Decimal("1250.00"), **customer}
    )
    call = CallFactory(customer=customer, workflow_name="collections", duration_seconds=duration)
    for sequence, (speaker, text) in enumerate(lines):
        TranscriptEntryFactory(call=call, sequence=sequence, speaker=speaker, text=text)
    CallAnalysis.objects.create(call=call)
    return call


def insights(**overrides) -> dict:
    when = datetime.combine(DUE + timedelta(days=1), datetime.min.time().replace(hour=11), tzinfo=PACIFIC)
    answer = {
        "sentiment": {
            "label": "positive",
            "score": 0.6,
            "trajectory": [0.0, 0.4, 0.8],
            "confidence": 85,
            "evidence": "Thanks for your help",
        },
        "intent": "promise_to_pay",
        "promise": {
            "made": True,
            "amount": "400.00",
            "due_date": DUE.isoformat(),
            "method": "card",
            "confidence": 92,
            "reasoning": "The customer named an amount, a date and a method, and confirmed them.",
            "evidence": f"I can pay 400 dollars on {DUE:%B} {DUE.day} by card.",
        },
        "next_action": {
            "type": "follow_up_call",
            "when": when.isoformat(),
            "urgency": "normal",
            "reason": "Check the promised payment arrived.",
            "confidence": 88,
        },
        "summary": "The customer promised 400 by card.",
        "fields": {"intent": {"confidence": 90, "evidence": "I can pay 400 dollars"}},
    }
    for key, value in overrides.items():
        answer[key] = {**answer[key], **value} if isinstance(value, dict) else value
    return answer


def test_a_call_with_a_promise_yields_one_analysis_one_promise_one_followup_even_run_twice(llm):
    llm.script("primary", text=json.dumps(insights()))
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()

    first = analysis_run(call_id=call.pk)
    again = analysis_run(call_id=call.pk)  # a redelivered task: nothing new
    forced = analysis_run(call_id=call.pk, force=True)  # a person's re-run: updated in place

    assert first.pk == again.pk == forced.pk
    assert len(llm.requests) == 2
    assert CallAnalysis.objects.filter(call=call).count() == 1
    promise = Promise.objects.get(customer=call.customer)
    assert (promise.amount, promise.due_date, promise.method, promise.source, promise.call_id) == (
        Decimal("400.00"),
        DUE,
        "card",
        "analysis",
        call.pk,
    )
    followup = FollowUp.objects.get(customer=call.customer)
    assert followup.source_call_id == call.pk
    assert followup.promise_id == promise.pk
    analysis = CallAnalysis.objects.get(call=call)
    assert (analysis.status, analysis.analyzer, analysis.intent, analysis.sentiment) == (
        "completed",
        "primary",
        "promise_to_pay",
        "positive",
    )
    assert analysis.promise["promise_id"] == promise.pk
    assert analysis.next_action["followup_id"] == followup.pk
    assert analysis.needs_review is False
    # The first-time-defaulter rule (45 days overdue, never broke a promise) pulled the call in.
    assert [o["rule"] for o in analysis.rule_overrides] == ["first_time_defaulter"]
    assert followup.business_override is True
    assert followup.due_at == datetime.fromisoformat(analysis.rule_overrides[0]["applied"])
    assert analysis.rule_overrides[0]["suggested"] == insights()["next_action"]["when"]
    traces = TraceEvent.objects.filter(call=call, kind=TraceKind.LLM_CALL)
    assert [(t.name, t.ok) for t in traces] == [("analysis: primary", True), ("analysis: primary", True)]
    # The model got the transcript and the schema, and was asked for JSON.
    body = llm.requests[0].body
    assert body["response_format"] == {"type": "json_object"}
    assert "I can pay 400 dollars" in body["messages"][1]["content"]
    assert '"promise"' in body["messages"][0]["content"]


def test_the_promise_the_agent_recorded_live_is_not_recorded_again(llm):
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()
    live = PromiseFactory(customer=call.customer, call=call, amount=Decimal("400.00"), due_date=DUE, source="agent")

    analysis_run(call_id=call.pk)

    assert list(Promise.objects.filter(customer=call.customer)) == [live]
    assert CallAnalysis.objects.get(call=call).promise["promise_id"] == live.pk
    assert "recorded a promise on the call: 400.00" in llm.requests[0].body["messages"][1]["content"]


def test_invalid_json_is_retried_with_the_error_shown(llm):
    llm.script("primary", text='{"sentiment": "positive", oops')
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()

    analysis = analysis_run(call_id=call.pk)

    assert analysis.status == "completed"
    assert analysis.analyzer == "primary"
    assert [r.model for r in llm.requests] == ["primary", "primary"]
    retry = llm.requests[1].body["messages"]
    assert retry[2] == {"role": "assistant", "content": '{"sentiment": "positive", oops'}
    assert retry[3]["content"].startswith("That answer is invalid: it does not match the schema")
    assert Promise.objects.filter(call=call).count() == 1
    traces = TraceEvent.objects.filter(call=call, kind=TraceKind.LLM_CALL).order_by("id")
    assert [t.ok for t in traces] == [False, True]


def test_an_evidence_quote_not_in_the_transcript_is_refused_then_the_next_model_answers(llm):
    invented = insights(promise={"evidence": "I will pay everything tomorrow, I promise."})
    llm.script("primary", text=json.dumps(invented))
    llm.script("primary", text=json.dumps(invented))
    llm.script("backup", text=json.dumps(insights()))
    call = make_call()

    analysis = analysis_run(call_id=call.pk)

    assert [r.model for r in llm.requests] == ["primary", "primary", "backup"]
    assert "promise.evidence" in llm.requests[1].body["messages"][3]["content"]
    assert (analysis.status, analysis.analyzer) == ("completed", "backup")
    assert analysis.promise["evidence"] == f"I can pay 400 dollars on {DUE:%B} {DUE.day} by card."


def test_when_no_model_answers_validly_the_offline_analysis_is_kept_for_review(llm):
    for model in ("primary", "primary", "backup", "backup"):
        llm.script(model, text="not json at all")
    call = make_call()

    analysis = analysis_run(call_id=call.pk)

    assert (analysis.status, analysis.analyzer, analysis.needs_review) == ("completed", "offline", True)
    assert analysis.review_fields[0]["field"] == "analysis"
    assert (analysis.promise["made"], analysis.promise["amount"], analysis.promise["due_date"]) == (
        True,
        "400.00",
        DUE.isoformat(),
    )
    # 55: offline and unrecorded on the call, below the review threshold: no promise is made from it.
    assert analysis.promise["confidence"] == 55
    assert not Promise.objects.filter(call=call).exists()


def test_models_that_cannot_be_reached_raise_for_a_retry_and_change_nothing(llm):
    for model in ("primary", "backup"):
        llm.script(model, status=503)
    call = make_call()

    with pytest.raises(AnalysisUnavailable):
        analysis_run(call_id=call.pk)

    assert CallAnalysis.objects.get(call=call).status == "pending"
    assert not Promise.objects.exists()
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(
    ("lines", "duration", "reason"),
    [
        (CONVERSATION[:3], 95, "1 exchange(s); at least 2 needed."),
        (CONVERSATION, 20, "20 s long; at least 30 s needed."),
        ([("customer", "Hello?"), ("customer", "Hello, anyone there?")], 95, "Only the customer spoke."),
        ([("agent", "Hello, this is Ava."), ("agent", "Are you there?")], 95, "The customer never spoke."),
    ],
)
def test_a_short_or_one_sided_call_gets_no_llm_call(llm, lines, duration, reason):
    call = make_call(lines, duration=duration)

    analysis = analysis_run(call_id=call.pk)

    assert (analysis.status, analysis.meaningful_reason) == ("not_meaningful", reason)
    assert llm.requests == []
    assert not Promise.objects.exists()
    assert not FollowUp.objects.exists()


def test_a_short_typed_chat_is_judged_by_its_exchanges_not_by_seconds(llm):
    call = make_call(CONVERSATION[:3], duration=12)
    Call.objects.filter(pk=call.pk).update(channel="web_chat")
    assert analysis_run(call_id=call.pk).meaningful_reason == "1 exchange(s); at least 2 needed."

    chat = make_call(CONVERSATION, duration=12, phone="+14155550999")
    Call.objects.filter(pk=chat.pk).update(channel="web_chat")
    llm.script("primary", text=json.dumps(insights()))
    analysis = analysis_run(call_id=chat.pk)
    assert (analysis.status, analysis.meaningful_reason) == ("completed", "2 exchanges in a web chat.")


def test_without_a_model_the_offline_analyzer_fills_the_schema(settings):
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    call = make_call()
    live = PromiseFactory(customer=call.customer, call=call, amount=Decimal("400.00"), due_date=DUE, source="agent")

    analysis = analysis_run(call_id=call.pk)

    assert (analysis.status, analysis.analyzer, analysis.intent) == ("completed", "offline", "promise_to_pay")
    assert analysis.promise["confidence"] == 90
    assert analysis.promise["promise_id"] == live.pk
    # Caller lines score 0, 0 and 1 ("Thanks for your help"): positive, rising at the end.
    assert (analysis.sentiment, analysis.sentiment_score, analysis.sentiment_trajectory) == (
        "positive",
        0.33,
        [0.0, 0.0, 1.0],
    )
    # Offline confidence is honest: every field but the live promise (90) goes to review.
    assert [f["field"] for f in analysis.review_fields] == ["intent", "next_action", "sentiment", "summary"]
    assert FollowUp.objects.get(source_call=call).promise_id == live.pk
    assert Promise.objects.count() == 1


def waiver(**overrides) -> dict:
    """The model suggests waiving the late fee: an action only a person may approve."""
    return insights(
        next_action={
            "type": "fee_waiver",
            "when": None,
            "payload": {"fee": "late_fee", "amount": "35.00"},
            "reason": "The customer asked to waive the late fee.",
        },
        **overrides,
    )


def test_a_high_impact_suggestion_waits_for_approval(llm):
    for _ in range(2):
        llm.script("primary", text=json.dumps(waiver(intent="fee_waiver_request")))
    call = make_call()

    analysis_run(call_id=call.pk)
    analysis_run(call_id=call.pk, force=True)

    approval = call.approvals.get()
    assert (approval.kind, approval.status, approval.payload) == (
        "fee_waiver",
        "pending",
        {"fee": "late_fee", "amount": "35.00"},
    )
    assert CallAnalysis.objects.get(call=call).next_action["approval_id"] == approval.pk
    assert not FollowUp.objects.filter(source_call=call).exists()


def test_a_later_date_from_the_model_is_overridden_by_each_rule(llm):
    far = (timezone.now() + timedelta(days=30)).isoformat()
    llm.script("primary", text=json.dumps(insights(next_action={"when": far}, promise={"made": False})))
    call = make_call(days_overdue=45, risk_category="high", balance=Decimal("12500.00"))
    PromiseFactory(customer=call.customer, status="broken", due_date=date(2026, 1, 5))  # not a first-timer

    before = timezone.now()
    analysis = analysis_run(call_id=call.pk)

    assert [o["rule"] for o in analysis.rule_overrides] == ["large_amount", "high_risk"]
    large, high = analysis.rule_overrides
    assert large["inputs"] == {"amount": "12500.00", "threshold": "10000"}
    assert large["suggested"] == far
    assert large["urgency"] == "immediate"
    applied = datetime.fromisoformat(high["applied"])
    assert applied.astimezone(PACIFIC).hour == 10
    assert applied <= before + timedelta(days=7)
    followup = FollowUp.objects.get(source_call=call)
    assert followup.due_at == applied
    assert followup.override_reason.startswith("12500.00 is over 10000")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("force", [False, True])
def test_two_runs_at_once_on_postgres_leave_one_result(llm, force):
    for _ in range(2):
        llm.script("primary", text=json.dumps(insights()))
    call = make_call()

    outcomes = concurrently(2, lambda i: analysis_run(call_id=call.pk, force=force))

    assert [type(o).__name__ for o in outcomes] == ["CallAnalysis", "CallAnalysis"]
    if force:  # both run the model; unforced, the later one may find the first finished and stop
        assert len(llm.requests) == 2
    assert CallAnalysis.objects.filter(call=call).count() == 1
    promise = Promise.objects.get(customer=call.customer)
    followup = FollowUp.objects.get(customer=call.customer)
    analysis = CallAnalysis.objects.get(call=call)
    assert (analysis.status, analysis.promise["promise_id"], analysis.next_action["followup_id"]) == (
        "completed",
        promise.pk,
        followup.pk,
    )


# --- re-runs and edge cases -----------------------------------------------------------------------


def test_a_rerun_never_brings_back_a_promise_a_later_call_replaced(llm):
    llm.script("primary", text=json.dumps(insights()))
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()
    analysis_run(call_id=call.pk)
    first = Promise.objects.get(call=call)
    later = promise_record(
        customer_id=call.customer_id,
        amount=Decimal("250.00"),
        due_date=DUE + timedelta(days=5),
        method="card",
        source="staff",
        actor="test",
    )

    analysis_run(call_id=call.pk, force=True)

    assert list(Promise.objects.filter(customer=call.customer).order_by("pk").values_list("pk", "status")) == [
        (first.pk, "superseded"),
        (later.pk, "pending"),
    ]
    assert CallAnalysis.objects.get(call=call).promise["promise_id"] == first.pk


def test_a_rerun_never_asks_again_for_an_action_a_person_decided(llm, supervisor):
    for _ in range(2):
        llm.script("primary", text=json.dumps(waiver(promise={"made": False})))
    call = make_call()
    analysis_run(call_id=call.pk)
    approval = call.approvals.get()
    approval_decide(approval_id=approval.pk, decision="reject", note="Second waiver this year.", actor=supervisor)

    analysis_run(call_id=call.pk, force=True)

    assert list(call.approvals.values_list("pk", "status")) == [(approval.pk, "rejected")]
    assert CallAnalysis.objects.get(call=call).next_action["approval_id"] == approval.pk


def test_an_opt_out_found_by_the_analysis_puts_the_customer_on_the_do_not_call_list(llm):
    opt_out = insights(
        intent="opt_out",
        promise={"made": False},
        next_action={"type": "none", "when": None, "reason": "The customer asked not to be called."},
    )
    llm.script("primary", text=json.dumps(opt_out))
    call = make_call()

    analysis_run(call_id=call.pk)

    assert Customer.objects.get(pk=call.customer_id).do_not_call is True
    entry = DoNotCallEntry.objects.get(phone=call.customer.phone)
    assert (entry.source, entry.reason) == ("call_opt_out", "The customer promised 400 by card.")
    assert not FollowUp.objects.filter(customer=call.customer).exists()


def test_a_callback_the_customer_asked_for_on_the_call_is_kept_as_they_chose(llm):
    llm.script("primary", text=json.dumps(insights()))
    call = make_call()
    asked = FollowUpFactory(
        customer=call.customer,
        source_call=call,
        requested_by_customer=True,
        due_at=timezone.now() + timedelta(days=5),
        reason="Call me Friday",
    )

    analysis = analysis_run(call_id=call.pk)

    assert list(FollowUp.objects.filter(customer=call.customer)) == [asked]
    assert FollowUp.objects.filter(pk=asked.pk).values_list("due_at", "reason").get() == (
        asked.due_at,
        "Call me Friday",
    )
    assert analysis.next_action["followup_id"] == asked.pk


def test_a_promise_for_today_made_in_the_customers_evening_is_recorded(llm):
    evening = datetime(2026, 11, 24, 18, 30, tzinfo=PACIFIC)  # already the 25th in UTC
    with time_machine.travel(evening, tick=False):
        llm.script("primary", text=json.dumps(insights(promise={"due_date": "2026-11-24"})))
        call = make_call()  # ended at 18:23 Los Angeles time

        analysis = analysis_run(call_id=call.pk)

    assert Promise.objects.filter(call=call).values_list("due_date", flat=True).get() == date(2026, 11, 24)
    assert [r for r in analysis.review_fields if r["field"] == "promise"] == []


def test_a_customer_without_a_time_zone_is_read_in_the_numbers(llm):
    llm.script("primary", text=json.dumps(insights()))
    call = make_call(timezone="", phone="+14155550166")  # San Francisco

    analysis = analysis_run(call_id=call.pk)

    assert analysis.status == "completed"
    [rule] = analysis.rule_overrides
    assert rule["rule"] == "first_time_defaulter"
    assert Promise.objects.filter(call=call).count() == 1
