"""The call page's trace timeline and outcomes: spans placed on the call's time axis from their
trace rows, payloads read as labelled fields (raw JSON only behind a <details> toggle), and what
the call led to (analysis, promises, follow-ups, approvals, dial decisions) as labelled fields."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import Client

from apps.calls.models import TraceKind
from apps.console.call_record import call_outcomes
from apps.console.timeline import call_timeline, ticks, timeline_for, trace_fields
from apps.core.services import audit_record
from tests.factories import (
    ApprovalFactory,
    CallAnalysisFactory,
    CallFactory,
    FollowUpFactory,
    PromiseFactory,
    TraceEventFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)
TIMINGS = {
    "mode": "llm",
    "held": False,
    "first_token_ms": 1250.0,
    "llm_wait_ms": 1200.0,
    "overhead_ms": 50.0,
    "tools_ms": 12.5,
    "total_ms": 1900.0,
    "llm_rounds": 2,
}
LLM_PAYLOAD = {
    "endpoint": "https://llm.example/v1",
    "ttft_ms": 640.0,
    "error": "",
    "text": "",
    "tool_calls": [{"name": "verify_identity", "arguments": '{"method":"zip","value":"94607"}'}],
    "system_sha": "e2e7674d5c38",
    "messages": [
        {"role": "assistant", "content": "Could you tell me your ZIP code?"},
        {"role": "user", "content": "It is 94607."},
    ],
}


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


@pytest.fixture
def traced_call():
    """A finished call with one LLM turn: an LLM call asking for a tool, the tool, a step change,
    a guardrail that stopped a reply, and the turn's latency breakdown."""
    call = CallFactory(started_at=T0, ended_at=at(10_000), workflow_name="collections")
    trace = {"call": call, "turn": 1}
    TraceEventFactory(
        **trace,
        kind=TraceKind.LLM_CALL,
        name="gpt-4.1-mini",
        at=at(2000),
        latency_ms=800.0,
        prompt_tokens=700,
        completion_tokens=20,
        cost_usd=Decimal("0.000300"),
        payload=LLM_PAYLOAD,
    )
    TraceEventFactory(
        **trace,
        name="verify_identity",
        at=at(2100),
        latency_ms=12.5,
        payload={
            "arguments": '{"method":"zip","value":"94607"}',
            "result": {"status": "ok", "verified": True, "attempts_left": 2},
            "step": "verify_identity",
        },
    )
    TraceEventFactory(
        **trace,
        kind=TraceKind.STEP_CHANGE,
        name="verify_identity -> account_review",
        at=at(2200),
        latency_ms=None,
        payload={"from": "verify_identity", "to": "account_review", "reason": "identity verified"},
    )
    TraceEventFactory(
        **trace,
        kind=TraceKind.GUARDRAIL,
        name="commitment",
        ok=False,
        at=at(2900),
        latency_ms=None,
        payload={"text": "I've waived the late fee.", "detail": "I've waived"},
    )
    TraceEventFactory(**trace, kind=TraceKind.TURN, name="turn 1", at=at(3000), latency_ms=1900.0, payload=TIMINGS)
    return call


def test_spans_sit_on_the_calls_time_axis_with_their_tokens_and_cost(traced_call, django_assert_num_queries):
    with django_assert_num_queries(1):
        timeline = timeline_for(traced_call)

    assert timeline.duration_ms == 10_000.0
    [turn] = timeline.turns
    assert (turn.key, turn.title, turn.start_ms, turn.end_ms) == ("1", "Turn 1", 1100.0, 3000.0)
    assert turn.first_token_ms == 2350.0  # the turn's start plus its time to first token
    spans = [
        (s.kind, s.name, s.ok, s.flag, s.offset_ms, s.duration_ms, s.prompt_tokens, s.completion_tokens, s.cost_usd)
        for s in turn.spans
    ]
    assert spans == [
        ("llm_call", "gpt-4.1-mini", True, "", 1200.0, 800.0, 700, 20, Decimal("0.000300")),
        ("tool_call", "verify identity", True, "", 2087.5, 12.5, 0, 0, Decimal("0")),
        ("step_change", "verify identity → account review", True, "", 2200.0, 0.0, 0, 0, Decimal("0")),
        ("guardrail", "commitment", False, "stopped", 2900.0, 0.0, 0, 0, Decimal("0")),
    ]
    assert turn.breakdown == [
        ("Reply by", "the LLM"),
        ("Time to first token", "1.25 s"),
        ("Waiting on the LLM", "1.2 s"),
        ("Tool time", "12 ms"),
        ("Engine overhead", "50 ms"),
        ("Whole turn", "1.9 s"),
        ("LLM rounds", "2"),
    ]
    totals = timeline.totals
    assert (totals.prompt_tokens, totals.completion_tokens, totals.tokens, totals.cost_usd) == (
        700,
        20,
        720,
        Decimal("0.000300"),
    )
    assert (totals.llm_calls, totals.tool_calls, totals.guardrails, totals.guardrail_hits) == (1, 1, 1, 1)
    assert totals.fields == [
        ("Tokens", "720 (700 prompt, 20 completion)"),
        ("Cost", "$0.000300"),
        ("LLM calls", "1"),
        ("Tool calls", "1"),
        ("Guardrail hits", "1 (1 blocked)"),
    ]


def test_traces_outside_a_turn_get_their_own_groups_in_time_order():
    call = CallFactory(started_at=T0, ended_at=at(5000))
    TraceEventFactory(call=call, turn=None, kind=TraceKind.LLM_CALL, name="analysis: gpt-4.1-mini", at=at(6000))
    TraceEventFactory(call=call, turn=0, kind=TraceKind.STEP_CHANGE, name="identify -> verify", at=at(300))
    timeline = call_timeline(call, [*call.trace.order_by("at", "id")])
    assert [(t.key, t.title, t.start_ms) for t in timeline.turns] == [
        ("greeting", "Greeting", 300.0 - 12.5),
        ("outside", "After the call", 6000.0 - 12.5),
    ]
    assert timeline.duration_ms == 6000.0
    assert call_timeline(call, []).turns == []


def test_an_llm_payload_reads_as_labelled_fields():
    assert trace_fields(LLM_PAYLOAD) == [
        ("Endpoint", "https://llm.example/v1"),
        ("Time to first token", "640 ms"),
        ("Tool calls requested", "verify_identity (Method: zip; Value: 94607)"),
        ("System prompt version", "e2e7674d5c38"),
        ("Message 1 (agent)", "Could you tell me your ZIP code?"),
        ("Message 2 (caller)", "It is 94607."),
    ]
    assert trace_fields(
        {"arguments": "{}", "result": {"status": "refused", "active_promise": {"amount": "45.00"}}}
    ) == [
        ("Result › Status", "refused"),
        ("Result › Active promise › Amount", "$45.00"),
    ]


def test_ticks_are_round_and_start_at_the_axis_start():
    assert [(t.offset_ms, t.label) for t in ticks(1900.0, 1100.0)] == [
        (1100.0, "0"),
        (1600.0, "500 ms"),
        (2100.0, "1 s"),
        (2600.0, "1.5 s"),
    ]
    assert [t.label for t in ticks(109_000.0)][-2:] == ["1 min 20 s", "1 min 40 s"]


def _outside_details(html: str) -> str:
    return re.sub(r"<details\b.*?</details>", "", html, flags=re.S)


def test_the_timeline_partial_shows_labelled_payloads_and_raw_json_only_behind_a_toggle(traced_call):
    html = render_to_string("console/_timeline.html", {"timeline": timeline_for(traced_call)})
    tool = traced_call.trace.get(kind=TraceKind.TOOL_CALL)

    assert f'<button type="button" class="tl-row tl-toggle" id="span-{tool.pk}" aria-expanded="false"' in html
    assert f'id="span-{tool.pk}-detail" role="region" aria-labelledby="span-{tool.pk}" hidden>' in html
    assert 'data-offset="2087.500" data-duration="12.500"' in html
    assert "<dt>Result › Verified</dt><dd>yes</dd>" in html
    assert "<dt>Tool calls requested</dt><dd>verify_identity (Method: zip; Value: 94607)</dd>" in html
    assert "<dt>Waiting on the LLM</dt><dd>1.2 s</dd>" in html
    assert '<span class="pill pill-flag">stopped</span>' in html
    # The raw payload is there, behind its toggle; nowhere else does JSON show.
    assert "&quot;attempts_left&quot;: 2" in html
    assert html.count('<details class="tl-raw">') == 4
    outside = _outside_details(html)
    assert not re.search(r"[{\[]\s*(&quot;|\")", outside)
    assert "&quot;" not in outside


def test_the_outcomes_partial_shows_the_analysis_promise_follow_up_approval_and_dial_decisions(
    django_assert_num_queries,
):
    call = CallFactory(started_at=T0, ended_at=at(60_000))
    CallAnalysisFactory(
        call=call,
        promise={
            "made": True,
            "amount": "300.00",
            "due_date": "2026-03-09",
            "method": "card",
            "evidence": "I can pay 300 dollars next week by card.",
        },
    )
    promise = PromiseFactory(call=call, customer=call.customer, amount=Decimal("300.00"), due_date=date(2026, 3, 9))
    followup = FollowUpFactory(customer=call.customer, source_call=call, promise=promise, due_at=at(8 * 86_400_000))
    approval = ApprovalFactory(
        call=call,
        customer=call.customer,
        status="executed",
        decided_by_label="sup",
        decided_at=at(120_000),
        result={"waived": "35.00", "balance_after": "1215.00"},
    )
    audit_record(actor=None, action="call.dial", obj=call, details={"outcome": "placed", "call_sid": "CA123"})
    audit_record(
        actor=None,
        action="followup.blocked",
        obj=followup,
        details={"rule": "calling_window", "reason": "Outside 08:00-21:00.", "until": "2026-03-10T16:00:00+00:00"},
    )

    with django_assert_num_queries(5):
        outcomes = call_outcomes(call)
    html = render_to_string("console/_call_outcomes.html", {"call": call, "outcomes": outcomes})

    assert '<h4>Promise <span class="quiet">· confidence 55/100</span></h4>' in html
    assert "<dt>Amount</dt><dd>$300.00</dd>" in html
    assert "Evidence: <q>I can pay 300 dollars next week by card.</q>" in html
    assert '<h4>$300.00 by Monday, March 9</h4> <span class="pill pill-pending">Pending</span>' in html
    assert f"<h4>Follow-up call #{followup.pk}</h4>" in html
    assert "<dt>This call</dt><dd>Set by this call</dd>" in html
    assert f'id="outcome-approval-{approval.pk}-outcome"' in html
    assert "<dt>Fee</dt><dd>late fee</dd><" in html
    assert "<dt>Result: waived</dt><dd>$35.00</dd>" in html
    assert "<dt>Decided by</dt><dd>sup, Mar 2, 2026 15:02</dd>" in html
    assert "<h4>Dialed: the compliance gate allowed it</h4>" in html
    assert "<dt>Call sid</dt><dd>CA123</dd>" in html
    assert f"<h4>Follow-up #{followup.pk} held back by the compliance gate</h4>" in html
    assert "<dt>Rule</dt><dd>Outside the calling window</dd>" in html
    assert "<dt>Until</dt><dd>Mar 10, 2026 16:00</dd>" in html
    assert "&quot;" not in html  # no JSON
    assert "{&#x27;" not in html  # no Python dict


def test_a_call_with_nothing_after_it_says_so():
    call = CallFactory()
    html = render_to_string("console/_call_outcomes.html", {"call": call, "outcomes": call_outcomes(call)})
    assert "Not analysed yet." in html
    assert "No promise came of this call." in html
    assert "Nothing was asked of a person." in html


def test_a_live_calls_outcomes_are_drawn_again_and_a_finished_calls_are_not(supervisor):
    live = CallFactory(started_at=T0, ended_at=None, status="in-progress")
    promise = PromiseFactory(call=live, customer=live.customer, amount=Decimal("300.00"), due_date=date(2026, 3, 9))
    client = Client()
    client.force_login(supervisor)

    html = client.get(f"/console/calls/{live.pk}/outcomes/").content.decode()

    assert html.count(f'id="outcomes-{live.pk}"') == 1
    assert f'hx-get="/console/calls/{live.pk}/outcomes/"' in html
    assert f'<li class="card outcome" id="outcome-promise-{promise.pk}">' in html
    assert "<h4>$300.00 by Monday, March 9</h4>" in html
    finished = CallFactory(started_at=T0, ended_at=at(60_000))
    assert "hx-get" not in client.get(f"/console/calls/{finished.pk}/outcomes/").content.decode()
    assert client.get("/console/calls/999999/outcomes/").status_code == 404
