"""The managers' figures, against values worked out by hand: calls, promises and compliance blocks
placed around a day boundary and the spring DST change in the business's time zone
(America/New_York: 2026-03-08 02:00 EST became 03:00 EDT), test calls among them. The CSV, the JSON
summary and the rollups (rebuilt from raw rows, or caught up bit by bit) all give the same numbers."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client

from apps.analysis.models import ReviewCorrection
from apps.analytics.figures import Filters, summary
from apps.analytics.models import LatencyMonth
from apps.analytics.rollups import ROLLUPS, rollups_catch_up, rollups_rebuild
from apps.calls.models import Call, TraceEvent
from apps.core.models import AuditEvent
from apps.core.services import audit_record
from apps.promises.models import Promise
from tests.factories import CallAnalysisFactory, CallFactory, CustomerFactory, FollowUpFactory, PromiseFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "date,calls,inbound,outbound,meaningful,completed,handoffs,promises,promised_amount,kept,kept_amount,"
    "blocked_followups,cost_usd,not_reached,abandoned,partially_kept,broken,collected"
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.fixture(autouse=True)
def new_york(settings):
    settings.BUSINESS_TIME_ZONE = "America/New_York"


def call(at: datetime, **fields) -> Call:
    defaults = {"workflow_name": "collections", "workflow_version": "v1", "channel": "voice", "cost_usd": Decimal(0)}
    return CallFactory(started_at=at, ended_at=at, **{**defaults, **fields})


def promise(at: datetime, **fields) -> Promise:
    made = PromiseFactory(**fields)
    Promise.objects.filter(pk=made.pk).update(created_at=at)
    return made


def guardrail(on: Call, *names: str) -> None:
    for name in names:
        TraceEvent.objects.create(call=on, kind="guardrail", name=name, ok=False)


def turn(on: Call, **timings) -> None:
    TraceEvent.objects.create(call=on, kind="turn", name="turn", latency_ms=timings["total_ms"], payload=timings)


def audit(at: datetime, action: str, obj, **details) -> None:
    """An entry of the audit trail, as the service writing it would have, at `at`."""
    audit_record(actor=None, action=action, obj=obj, details=details)
    AuditEvent.objects.filter(pk=AuditEvent.objects.latest("pk").pk).update(at=at)


def block(at: datetime, rule: str) -> None:
    audit(at, "followup.blocked", FollowUpFactory(), rule=rule, reason=rule)


@pytest.fixture
def history():
    """Three business days of calls, promises and blocks, as the comments say."""
    early = CustomerFactory(collection_stage="early", risk_category="low")
    late = CustomerFactory(collection_stage="late", risk_category="high")
    # Saturday Mar 7, 23:30 EST (04:30 UTC on the 8th): a completed inbound call, analysed as meaningful.
    c1 = call(
        utc(2026, 3, 8, 4, 30),
        customer=early,
        state={"ended": True},
        duration_seconds=120,
        cost_usd=Decimal("0.010000"),
    )
    CallAnalysisFactory(call=c1, status="completed", sentiment="positive", needs_review=False)
    guardrail(c1, "prompt_injection")
    turn(c1, mode="llm", held=False, overhead_ms=12.3, llm_wait_ms=640.0, first_token_ms=655.0, total_ms=1210.0)
    turn(
        c1,
        mode="llm",
        held=True,
        fallback=True,
        overhead_ms=7.0,
        llm_wait_ms=1800.0,
        first_token_ms=950.0,
        total_ms=2400.0,
    )
    TraceEvent.objects.create(call=c1, kind="tool_call", name="lookup_account")  # not a guardrail
    # Sunday Mar 8, 23:30 EDT (03:30 UTC on the 9th, after the change): an outbound call handed off.
    c2 = call(
        utc(2026, 3, 9, 3, 30),
        customer=late,
        direction="outbound",
        state={"ended": True},
        handoff_reason="the caller asked for a person",
        duration_seconds=300,
        cost_usd=Decimal("0.020000"),
    )
    CallAnalysisFactory(call=c2, status="not_meaningful")
    guardrail(c2, "ungrounded_figure", "ungrounded_figure")
    turn(c2, mode="offline", held=False, overhead_ms=3.2, llm_wait_ms=0.0, first_token_ms=3.2, total_ms=4.1)
    TraceEvent.objects.create(call=c2, kind="breaker", name="opened: gpt-4o-mini", payload={"change": "opened"})
    TraceEvent.objects.create(call=c2, kind="breaker", name="closed: gpt-4o-mini", payload={"change": "closed"})
    # Monday Mar 9, 00:30 EDT: an outbound call nobody answered.
    call(utc(2026, 3, 9, 4, 30), direction="outbound", status="no-answer", duration_seconds=0)
    # Monday: a web chat of the roadside workflow the caller left, meaningful; a call still going on.
    c4 = call(
        utc(2026, 3, 9, 15, 0),
        workflow_name="roadside",
        workflow_version="v2",
        channel="web_chat",
        state={},
        duration_seconds=None,
        cost_usd=Decimal("0.005000"),
    )
    corrected = CallAnalysisFactory(
        call=c4, status="completed", sentiment="negative", intent="roadside_help", reviewed_at=c4.started_at
    )
    ReviewCorrection.objects.create(
        analysis=corrected, field="intent", ai_value="roadside_help", human_value="dispute", confirmed=False
    )
    guardrail(c4, "holding_phrase")
    turn(c4, mode="rule", held=False, overhead_ms=1.0, llm_wait_ms=0.0, first_token_ms=1.0, total_ms=1.5)
    call(utc(2026, 3, 9, 16, 0), status="in-progress", state={}, duration_seconds=None, cost_usd=Decimal("0.001000"))
    # Monday: a test call from the console, and its promise: neither counts.
    test = call(utc(2026, 3, 9, 17, 0), is_test=True, state={"ended": True}, cost_usd=Decimal("0.5"))
    guardrail(test, "prompt_injection")
    turn(test, mode="llm", held=True, overhead_ms=999.0, llm_wait_ms=9000.0, first_token_ms=9999.0, total_ms=20000.0)
    promise(
        utc(2026, 3, 9, 17, 5),
        call=test,
        customer=early,
        amount=Decimal("999.00"),
        status="kept",
        amount_paid=Decimal("999.00"),
    )
    # Promises: kept (Saturday), partly kept (Sunday), broken and superseded (Monday).
    promise(
        utc(2026, 3, 8, 4, 40),
        call=c1,
        customer=early,
        amount=Decimal("300.00"),
        status="kept",
        amount_paid=Decimal("300.00"),
    )
    promise(
        utc(2026, 3, 9, 3, 40),
        call=c2,
        customer=late,
        amount=Decimal("200.00"),
        status="partially_kept",
        amount_paid=Decimal("50.00"),
    )
    broken = promise(utc(2026, 3, 9, 15, 0), customer=late, amount=Decimal("100.00"), status="broken")
    promise(utc(2026, 3, 9, 15, 1), customer=late, amount=Decimal("80.00"), status="superseded", superseded_by=broken)
    # Blocks: Sunday 22:00 EDT (02:00 UTC Monday) by the window, Monday by the do-not-call list.
    block(utc(2026, 3, 9, 2, 0), "calling_window")
    block(utc(2026, 3, 9, 12, 0), "do_not_call")
    # Opt-outs: a STOP text on Sunday, one heard on a call on Monday.
    audit(utc(2026, 3, 8, 15, 0), "customer.opt_out", early, source="sms_stop", changed=["do_not_call"])
    audit(utc(2026, 3, 9, 14, 0), "customer.opt_out", late, source="call_opt_out", changed=["do_not_call"])
    # Dials placed: Monday inside the window; Sunday 22:30 EDT outside it (a fault the figures
    # must show); one recorded before the check existed; one the gate blocked (not placed).
    audit(utc(2026, 3, 9, 14, 0), "call.dial", c2, outcome="placed", call_sid="CA1", in_window=True)
    audit(utc(2026, 3, 9, 2, 30), "call.dial", c2, outcome="placed", call_sid="CA2", in_window=False)
    audit(utc(2026, 3, 9, 15, 0), "call.dial", c2, outcome="placed", call_sid="CA3")
    audit(utc(2026, 3, 9, 16, 0), "call.dial", c2, outcome="blocked", reason="Outside 08:00-21:00.")
    # Follow-ups finished: failed on its last attempt Saturday 23:00 EST, done Monday 00:30 EDT, and
    # one done the week before (outside the range).
    FollowUpFactory(status="failed", attempts=3, last_attempt_at=utc(2026, 3, 8, 4, 0))
    FollowUpFactory(status="done", attempts=1, last_attempt_at=utc(2026, 3, 9, 4, 30))
    FollowUpFactory(status="done", attempts=1, last_attempt_at=utc(2026, 3, 2, 15, 0))
    rollups_rebuild()


def csv_rows(client: Client, query: str) -> list[str]:
    response = client.get(f"/analytics/export.csv?{query}")
    assert (response.status_code, response["Content-Type"]) == (200, "text/csv; charset=utf-8")
    return b"".join(response.streaming_content).decode().splitlines()


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def test_the_csv_has_one_row_per_business_day_with_the_hand_computed_values(history, manager_client):
    assert csv_rows(manager_client, "from=2026-03-06&to=2026-03-10") == [
        HEADER,
        "2026-03-06,0,0,0,0,0,0,0,0.00,0,0.00,0,0.000000,0,0,0,0,0.00",
        "2026-03-07,1,1,0,1,1,0,1,300.00,1,300.00,0,0.010000,0,0,0,0,300.00",
        "2026-03-08,1,0,1,0,0,1,1,200.00,0,0.00,1,0.020000,0,0,1,0,50.00",
        "2026-03-09,3,2,1,1,0,0,1,100.00,0,0.00,1,0.006000,1,1,0,1,0.00",
        "2026-03-10,0,0,0,0,0,0,0,0.00,0,0.00,0,0.000000,0,0,0,0,0.00",
    ]


def test_the_csv_takes_the_filters(history, manager_client):
    rows = csv_rows(manager_client, "from=2026-03-09&to=2026-03-09&workflow=roadside&channel=web_chat")
    assert rows[1] == "2026-03-09,1,1,0,1,0,0,0,0.00,0,0.00,1,0.005000,0,1,0,0,0.00"
    assert csv_rows(manager_client, "from=2026-03-07&to=2026-03-08&direction=outbound")[1:] == [
        "2026-03-07,0,0,0,0,0,0,0,0.00,0,0.00,0,0.000000,0,0,0,0,0.00",
        "2026-03-08,1,0,1,0,0,1,1,200.00,0,0.00,1,0.020000,0,0,1,0,50.00",
    ]


def test_the_summary_figures_are_the_hand_computed_ones(history):
    figures = summary(Filters(date(2026, 3, 7), date(2026, 3, 9)))

    outcomes = figures.outcomes
    assert outcomes["by_outcome"] == {
        "completed": 1,
        "handed_off": 1,
        "abandoned": 1,
        "not_reached": 1,
        "in_progress": 1,
    }
    assert (outcomes["calls"], outcomes["conversations"], outcomes["meaningful"], outcomes["analysed"]) == (5, 3, 2, 3)
    assert (outcomes["meaningful_rate"], outcomes["completion_rate"], outcomes["handoff_rate"]) == (
        Decimal("66.7"),
        Decimal("33.3"),
        Decimal("33.3"),
    )
    assert outcomes["handle_seconds_avg"] == Decimal("210.0")  # (120 + 300) / 2: the chat has no duration
    # First contacts (no completed call of the customer's in the week before): the three
    # conversations; the two with a promise were resolved, the roadside chat was not.
    assert (
        outcomes["first_contacts"],
        outcomes["first_contacts_resolved"],
        outcomes["first_contact_resolution"],
    ) == (3, 2, Decimal("66.7"))
    assert outcomes["handoff_reasons"] == [("the caller asked for a person", 1)]
    money = figures.money
    assert {
        name: money[name]
        for name in (
            "promises",
            "promised",
            "kept",
            "kept_amount",
            "partial",
            "partial_amount",
            "broken",
            "broken_amount",
            "collected",
        )
    } == {
        "promises": 3,
        "promised": Decimal("600.00"),
        "kept": 1,
        "kept_amount": Decimal("300.00"),
        "partial": 1,
        "partial_amount": Decimal("200.00"),
        "broken": 1,
        "broken_amount": Decimal("100.00"),
        "collected": Decimal("350.00"),
    }
    assert (money["kept_rate"], money["collected_rate"]) == (Decimal("33.3"), Decimal("58.3"))
    assert money["kept_rate_by_stage"] == [("early", 1, 1, Decimal("100.0")), ("late", 2, 0, Decimal("0.0"))]
    assert money["kept_rate_by_risk"] == [("high", 2, 0, Decimal("0.0")), ("low", 1, 1, Decimal("100.0"))]
    # Weeks begin on Monday: Saturday and Sunday belong to the week of Mar 2.
    assert money["cohorts"] == [(date(2026, 3, 2), 2, 1, Decimal("50.0")), (date(2026, 3, 9), 1, 0, Decimal("0.0"))]
    assert figures.compliance == {
        "followups_done": 1,
        "followups_failed": 1,
        "blocked": 2,
        "blocks_by_rule": [("calling_window", 1), ("do_not_call", 1)],
        "opt_outs": 2,
        "opt_outs_by_source": [("call_opt_out", 1), ("sms_stop", 1)],
        "dials": 3,
        "dials_outside_window": 1,
        "dials_window_unknown": 1,
    }
    assert figures.quality == {
        "analyses": 2,  # the completed ones: not the call judged not meaningful
        "to_review": 1,
        "reviewed": 1,
        "corrected": 1,
        "corrected_rate": Decimal("100.0"),
        "sentiments": [("negative", 1), ("positive", 1)],
        "sentiment_weeks": [(date(2026, 3, 2), "positive", 1), (date(2026, 3, 9), "negative", 1)],
        "intents": [("promise_to_pay", 1), ("roadside_help", 1)],
        # Of 5 calls (the test call's hit left out).
        "guardrails_per_100_calls": [
            ("ungrounded_figure", 2, Decimal("40.0")),
            ("holding_phrase", 1, Decimal("20.0")),
            ("prompt_injection", 1, Decimal("20.0")),
        ],
        "grounding_interventions": 2,
        "grounding_per_100_calls": Decimal("40.0"),
    }
    # Four turns (the test call's left out); each value in its bucket's lower bound: 5 ms wide below
    # 100 ms, 50 ms below 1 s, 500 ms below 10 s. p50 is the 2nd of 4, p95 the 4th.
    assert figures.speed == {
        "latency_ms": {
            "overhead_ms": {"p50": Decimal(0), "p95": Decimal(10)},
            "llm_wait_ms": {"p50": Decimal(0), "p95": Decimal(1500)},
            "first_token_ms": {"p50": Decimal(0), "p95": Decimal(950)},
            "total_ms": {"p50": Decimal(0), "p95": Decimal(2000)},
        },
        "turns": 4,
        "turns_by_mode": {"llm": 2, "offline": 1, "rule": 1},
        "offline_share": Decimal("25.0"),
        "fallback_share": Decimal("25.0"),
        "holding_phrase_share": Decimal("25.0"),
        "breaker_openings": 1,
        "breakers": [("opened: gpt-4o-mini", 1)],
    }
    assert figures.cost == {
        "cost_usd": Decimal("0.036000"),
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "tokens_per_call": Decimal("0.0"),
        "cost_per_call": Decimal("0.007200"),
        "cost_per_kept_promise": Decimal("0.036000"),
        "cost_per_dollar_collected": Decimal("0.000103"),
    }


def test_the_json_summary_gives_the_same_figures(history, manager_client):
    response = manager_client.get("/api/v1/analytics/summary?from=2026-03-07&to=2026-03-09")
    assert response.status_code == 200
    body = response.json()
    assert body["range"] == {"from": "2026-03-07", "to": "2026-03-09", "days": 3}
    assert body["outcomes"]["by_outcome"]["handed_off"] == 1
    assert (body["outcomes"]["meaningful_rate"], body["money"]["collected"], body["cost"]["cost_per_call"]) == (
        66.7,
        350.0,
        0.0072,
    )
    assert body["speed"]["latency_ms"]["total_ms"] == {"p50": 0.0, "p95": 2000.0}
    assert body["quality"]["guardrails"][0] == {"kind": "ungrounded_figure", "hits": 2, "per_100_calls": 40.0}
    assert body["compliance"]["blocks_by_rule"] == [
        {"rule": "calling_window", "blocks": 1},
        {"rule": "do_not_call", "blocks": 1},
    ]
    assert body["money"]["cohorts"] == [
        {"week": "2026-03-02", "promises": 2, "kept": 1, "kept_rate": 50.0},
        {"week": "2026-03-09", "promises": 1, "kept": 0, "kept_rate": 0.0},
    ]


def rollup_rows() -> dict[str, list[tuple]]:
    return {
        model.__name__: sorted(
            tuple(value for name, value in row.items() if name != "id") for row in model.objects.values()
        )
        for model in ROLLUPS
    }


def test_catching_up_after_a_mixed_sequence_equals_a_rebuild_and_twice_changes_nothing(history):
    rebuilt = rollup_rows()
    # Later: a re-analysis, a payment that keeps the partial promise, a new block, a test call, a
    # new call today; each caught up by the task, run twice.
    analysis = Call.objects.get(handoff_reason="the caller asked for a person").analysis
    analysis.status = "completed"
    analysis.save()
    Promise.objects.filter(status="partially_kept").update(
        status="kept", amount_paid=Decimal("200.00"), updated_at=datetime.now(UTC)
    )
    block(datetime.now(UTC), "seven_in_seven")
    guardrail(Call.objects.get(workflow_name="roadside"), "prompt_injection")
    Call.objects.filter(workflow_name="roadside").update(updated_at=datetime.now(UTC))  # as a saved turn does
    call(utc(2026, 3, 9, 18, 0), is_test=True, state={"ended": True})
    call(datetime.now(UTC), state={"ended": True}, cost_usd=Decimal("0.002000"))

    rollups_catch_up()
    caught_up = rollup_rows()
    rollups_catch_up()
    assert rollup_rows() == caught_up
    assert caught_up != rebuilt
    call_command("analytics_rebuild")
    assert rollup_rows() == caught_up
    assert summary(Filters(date(2026, 3, 8), date(2026, 3, 8))).money["kept"] == 1


@pytest.mark.parametrize(
    ("value", "bucket"),
    [
        (0, 0),
        (4.99, 0),
        (5, 5),
        (99.99, 95),
        (100, 100),
        (149.9, 100),
        (999.9, 950),
        (1000, 1000),
        (9999, 9500),
        (10_000, 10_000),
        (59_999, 55_000),
        (60_000, 60_000),
        (3_600_000, 60_000),
    ],
)
def test_a_latency_falls_in_the_bucket_of_its_lower_bound(value, bucket):
    from apps.analytics.latency import bucket_of

    assert bucket_of(value) == bucket


def test_a_percentile_is_the_bucket_holding_its_rank():
    from apps.analytics.latency import percentile

    histogram = [(100, 10), (0, 89), (950, 1)]  # 100 turns, in any order
    assert [percentile(histogram, f) for f in (0.5, 0.89, 0.9, 0.95, 0.99, 1.0)] == [0, 0, 100, 100, 100, 950]
    assert percentile([], 0.5) is None


def test_a_call_within_a_week_of_the_customers_last_completed_call_is_not_a_first_contact():
    customer = CustomerFactory()
    first = call(utc(2026, 3, 2, 15, 0), customer=customer, state={"ended": True})
    promise(utc(2026, 3, 2, 15, 5), call=first, customer=customer, amount=Decimal("120.00"))
    call(utc(2026, 3, 5, 15, 0), customer=customer, state={"ended": True})  # a week not yet past: a repeat
    call(utc(2026, 3, 20, 15, 0), customer=customer, state={"ended": True})  # a new first contact, unresolved
    rollups_rebuild()

    month = summary(Filters(date(2026, 3, 1), date(2026, 3, 31))).outcomes
    assert (month["first_contacts"], month["first_contacts_resolved"], month["first_contact_resolution"]) == (
        2,
        1,
        Decimal("50.0"),
    )
    later = summary(Filters(date(2026, 3, 5), date(2026, 3, 31))).outcomes
    assert (later["first_contacts"], later["first_contacts_resolved"]) == (1, 0)


def test_whole_months_are_read_from_the_monthly_histograms_with_the_same_percentiles(history):
    days = summary(Filters(date(2026, 3, 7), date(2026, 3, 9))).speed
    # February 20 to April 10: March whole (LatencyMonth), the rest day by day (LatencyDay).
    around = summary(Filters(date(2026, 2, 20), date(2026, 4, 10))).speed
    assert LatencyMonth.objects.filter(day=date(2026, 3, 1)).exists()
    assert (around["latency_ms"], around["turns"]) == (days["latency_ms"], 4)
