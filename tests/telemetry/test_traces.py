"""OpenTelemetry: one call's spans (its webhooks and relay socket on the web side, its turns with
their LLM requests, tool calls and guardrail hits, and its analysis task as a worker runs it)
reach an OTLP receiver, a local server speaking OTLP/HTTP protobuf, as one trace."""

import os
import subprocess
import sys
from collections import Counter

import pytest

from apps.core import telemetry
from tests.fakes.otlp_server import OTLPReceiver
from tests.telemetry.phone import a_call, signed

ANALYZE = "task apps.analysis.tasks.call_analyze_task"


@pytest.fixture(autouse=True)
def short_calls_are_analysed(settings):
    settings.ANALYSIS_MIN_SECONDS = 0


def test_a_calls_webhooks_turns_llm_requests_tools_and_analysis_arrive_as_one_trace(otlp, maria, fake_llm):
    call_id = a_call(maria, fake_llm)
    assert telemetry.flush()

    spans = otlp.spans
    # Every span is this call's, under the trace id derived from its id, from one service.
    assert {span.trace_id for span in spans} == {f"{telemetry.call_trace_id(call_id):032x}"}
    assert {span.service for span in spans} == {"contactcenter"}
    by_id = {span.span_id: span for span in spans}
    assert len(by_id) == len(spans)
    tree = Counter((span.name, by_id[span.parent_span_id].name if span.parent_span_id else None) for span in spans)
    analysis = {name for (name, parent) in tree if parent == ANALYZE}
    assert {key: n for key, n in tree.items() if key[1] != ANALYZE} == {
        ("POST /twilio/voice/inbound/", None): 1,
        ("relay session", None): 1,
        ("agent.turn", "relay session"): 2,
        ("chat primary", "agent.turn"): 3,  # a tool call, another, then the reply
        ("execute_tool verify_identity", "agent.turn"): 1,
        ("execute_tool lookup_account", "agent.turn"): 1,
        ("guardrail handoff", "agent.turn"): 1,
        ("POST /twilio/voice/status/", None): 1,
        (ANALYZE, None): 1,
    }
    # The analysis's own requests to the models (which answered with no analysis: refused).
    assert analysis == {"chat gpt-4.1-mini", "chat backup"}
    refused = [span for span in spans if span.name in analysis]
    assert {(span.status, span.attributes["error.type"], span.attributes["cc.llm.face"]) for span in refused} == {
        ("error", "rejected", "analysis")
    }

    roots = {span.name: span for span in spans if not span.parent_span_id}
    assert [roots[name].attributes["cc.call_id"] for name in sorted(roots)] == [call_id] * 4
    assert roots["POST /twilio/voice/inbound/"].kind == "server"
    assert roots["POST /twilio/voice/inbound/"].attributes["http.response.status_code"] == 200
    assert roots["POST /twilio/voice/status/"].attributes["http.response.status_code"] == 204
    assert roots[ANALYZE].kind == "consumer"
    assert roots[ANALYZE].attributes["celery.state"] == "SUCCESS"
    assert roots["relay session"].attributes["twilio.call_sid"] == "CA" + "e" * 32

    turns = sorted(otlp.named("agent.turn"), key=lambda span: span.attributes["agent.turn"])
    assert [
        (t.attributes["agent.turn"], t.attributes["agent.mode"], t.attributes["agent.llm_rounds"]) for t in turns
    ] == [
        (1, "llm", 3),
        (2, "rule", 0),
    ]
    first, second = turns
    children = Counter(span.name for span in spans if span.parent_span_id == first.span_id)
    assert children == {"chat primary": 3, "execute_tool verify_identity": 1, "execute_tool lookup_account": 1}
    assert [span.name for span in spans if span.parent_span_id == second.span_id] == ["guardrail handoff"]

    requests = sorted(
        (s for s in spans if s.parent_span_id == first.span_id and s.name == "chat primary"), key=lambda s: s.start_ns
    )
    assert [r.attributes.get("cc.llm.tool_calls") for r in requests] == [["verify_identity"], ["lookup_account"], None]
    genai = {
        key: value for key, value in requests[0].attributes.items() if key.startswith("gen_ai.") and "time" not in key
    }
    assert genai == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.system": "openai",
        "gen_ai.request.model": "primary",
        "gen_ai.usage.input_tokens": 420,
        "gen_ai.usage.output_tokens": 18,
    }
    assert all(0 < r.attributes["gen_ai.response.time_to_first_token"] < 5 for r in requests)
    assert all(first.start_ns <= r.start_ns <= r.end_ns <= first.end_ns for r in requests)
    tool = otlp.named("execute_tool lookup_account")[0]
    assert (tool.status, tool.attributes["gen_ai.tool.name"], tool.attributes["cc.tool.status"]) == (
        "unset",
        "lookup_account",
        "ok",
    )


def test_a_webhook_for_no_call_of_ours_is_a_trace_of_its_own(otlp, live_db):
    completed = {"CallSid": "CA" + "f" * 32, "CallStatus": "completed", "SequenceNumber": "3"}
    assert signed("/twilio/voice/status/", completed).status_code == 204
    assert telemetry.flush()
    [span] = otlp.spans
    assert (span.name, span.parent_span_id, "cc.call_id" in span.attributes) == (
        "POST /twilio/voice/status/",
        "",
        False,
    )


def test_the_trace_id_of_a_call_is_the_same_in_every_process_and_differs_between_calls(live_db):
    script = "import django; django.setup(); from apps.core import telemetry; print(telemetry.call_trace_id(7))"
    other = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert int(other.stdout) == telemetry.call_trace_id(7)
    assert telemetry.call_trace_id(7) != telemetry.call_trace_id(8)


def test_without_an_endpoint_nothing_is_recorded_or_sent(maria, fake_llm):
    receiver = OTLPReceiver().start()  # listening, but nothing points at it
    try:
        a_call(maria, fake_llm)
        assert telemetry.flush()
        assert receiver.requests == 0
    finally:
        receiver.stop()
    assert telemetry.start("anything") is None
    assert telemetry.enabled() is False


def test_without_an_endpoint_the_web_process_never_loads_the_exporter():
    # (redis-py imports parts of the SDK when it is installed, for its own opt-in metrics.)
    script = (
        "import sys, django; django.setup(); import contactcenter.asgi; "
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry.exporter', 'opentelemetry.sdk.trace'))))"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    loaded = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script],
        env={**env, "DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "[]"
