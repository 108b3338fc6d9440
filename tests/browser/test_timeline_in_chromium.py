"""A finished call's trace timeline in real Chromium: a supervisor opens the call, sees each turn
on its time axis, opens a span from the keyboard and reads its payload as labelled fields. The
screenshot in docs/ is taken here."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.calls.models import Speaker, TraceKind
from tests.browser.conftest import console_sign_in
from tests.factories import (
    ApprovalFactory,
    CallAnalysisFactory,
    CallFactory,
    CustomerFactory,
    PromiseFactory,
    TraceEventFactory,
    TranscriptEntryFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
}, true);
"""
LINES = [
    (Speaker.AGENT, 400, "Thanks for calling Northwind Auto Finance. Could you tell me your ZIP code?"),
    (Speaker.CUSTOMER, 9_000, "Sure, it is 94607. I got a letter about my account."),
    (Speaker.AGENT, 12_100, "Thanks, Maria, you're verified. Your balance is one thousand two hundred fifty dollars."),
    (Speaker.CUSTOMER, 30_000, "Could you take off the late fee? Then I can pay three hundred on Friday."),
    (Speaker.AGENT, 32_700, "I've asked a specialist to review the late fee. Anything else?"),
]


def _timings(first: float, wait: float, tools: float, total: float) -> dict:
    """A turn's latency breakdown, as apps/agent/traces.py TurnLog.timings records it."""
    return {
        "mode": "llm",
        "held": False,
        "first_token_ms": first,
        "llm_wait_ms": wait,
        "overhead_ms": round(first - wait, 3),
        "tools_ms": tools,
        "total_ms": total,
        "llm_rounds": 2,
    }


def _llm(call, turn: int, end_ms: float, latency: float, tokens: tuple[int, int], **payload):
    return TraceEventFactory(
        call=call,
        turn=turn,
        kind=TraceKind.LLM_CALL,
        name="gpt-4.1-mini",
        at=call.started_at + timedelta(milliseconds=end_ms),
        latency_ms=latency,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        cost_usd=Decimal("0.0000004") * tokens[0] + Decimal("0.0000016") * tokens[1],
        payload={"endpoint": "https://api.openai.com/v1", "ttft_ms": latency * 0.7, "error": "", **payload},
    )


@pytest.fixture
def finished_call(transactional_db):
    """Maria's call, finished: two turns with LLM calls, tools, a step change and a guardrail hit,
    then its analysis, her promise and a fee-waiver approval."""
    maria = CustomerFactory(name="Maria Lopez", phone="+14155550123", balance="1250.00")
    started = timezone.now() - timedelta(minutes=5)
    call = CallFactory(
        customer=maria, started_at=started, ended_at=started + timedelta(seconds=40), workflow_name="collections"
    )
    for sequence, (speaker, ms, text) in enumerate(LINES):
        TranscriptEntryFactory(
            call=call, sequence=sequence, speaker=speaker, text=text, spoken_at=started + timedelta(milliseconds=ms)
        )

    def trace(turn, kind, name, end_ms, latency=None, ok=True, **payload):
        TraceEventFactory(
            call=call,
            turn=turn,
            kind=kind,
            name=name,
            ok=ok,
            at=started + timedelta(milliseconds=end_ms),
            latency_ms=latency,
            payload=payload,
        )

    trace(0, TraceKind.STEP_CHANGE, "identify -> verify_identity", 200, reason="the account was found")
    asked = '{"method":"zip","value":"94607"}'
    _llm(call, 1, 9_900, 820.0, (760, 19), text="", tool_calls=[{"name": "verify_identity", "arguments": asked}])
    trace(1, TraceKind.TOOL_CALL, "verify_identity", 9_905, 4.2, arguments=asked, result={"status": "ok"})
    trace(1, TraceKind.STEP_CHANGE, "verify_identity -> account_review", 9_906, reason="identity verified")
    _llm(call, 1, 12_080, 2_160.0, (980, 71), text=LINES[2][2], tool_calls=[])
    trace(1, TraceKind.TURN, "turn 1", 12_100, 3_090.0, **_timings(2_420.0, 2_390.0, 4.2, 3_090.0))
    _llm(call, 2, 31_100, 1_050.0, (1330, 26), text="I've waived the late fee.", tool_calls=[])
    trace(2, TraceKind.GUARDRAIL, "commitment", 31_101, ok=False, text="I've waived the late fee.", detail="waived")
    trace(
        2,
        TraceKind.TOOL_CALL,
        "request_approval",
        31_130,
        16.0,
        arguments='{"kind":"fee_waiver","confidence":84}',
        result={"status": "ok", "approval_id": 1, "approval_status": "pending"},
    )
    _llm(call, 2, 32_690, 1_540.0, (1258, 48), text=LINES[4][2], tool_calls=[])
    trace(2, TraceKind.TURN, "turn 2", 32_700, 2_700.0, **_timings(1_830.0, 1_790.0, 16.0, 2_700.0))

    CallAnalysisFactory(call=call, needs_review=False, review_fields=[])
    PromiseFactory(call=call, customer=maria, amount=Decimal("300.00"))
    ApprovalFactory(call=call, customer=maria)
    return call


def test_a_supervisor_reads_a_calls_timeline_and_opens_a_span_from_the_keyboard(supervisor, finished_call, console):
    problems: list[str] = []
    console.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    console.add_init_script(REPORT_VIOLATIONS)
    console_sign_in(console, "sup")
    console.goto(f"/console/calls/{finished_call.pk}/")

    timeline = console.locator(f"#timeline-{finished_call.pk}")
    expect(timeline.locator("h3")).to_have_text(["Greeting", "Turn 1", "Turn 2"])
    expect(timeline.locator(".tl-totals")).to_contain_text("4,492 (4,328 prompt, 164 completion)")
    turn = timeline.locator(f"#turn-{finished_call.pk}-1")
    expect(turn.locator(".tl-breakdown div:has(> dt:text-is('Time to first token')) > dd")).to_have_text("2.42 s")
    # The bars were placed on their axes (by timeline.js, through the CSSOM).
    lane, bar = turn.locator(".tl-lane"), turn.locator(".tl-tool_call .tl-bar")
    start, length = float(lane.get_attribute("data-axis-start")), float(lane.get_attribute("data-axis-length"))
    expected = (float(bar.get_attribute("data-offset")) - start) / length
    box, track = bar.bounding_box(), turn.locator(".tl-tool_call .tl-track").bounding_box()
    assert abs((box["x"] - track["x"]) / track["width"] - expected) < 0.01
    assert expected > 0.2  # not left where the CSS put it: at the axis's start

    button = turn.locator("button.tl-toggle", has_text="Tool call").first
    button.focus()
    console.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    detail = console.locator(f"#{button.get_attribute('aria-controls')}")
    expect(detail).to_be_visible()
    expect(detail.locator("div:has(> dt:text-is('Arguments › Value')) > dd")).to_have_text("94607")
    expect(detail.locator("div:has(> dt:text-is('Result › Status')) > dd")).to_have_text("ok")
    expect(detail.locator("details pre")).to_be_hidden()  # the raw payload waits behind its toggle

    guardrail = timeline.locator(".tl-guardrail button.tl-toggle")
    expect(guardrail).to_contain_text("stopped")
    guardrail.focus()
    console.keyboard.press("Enter")
    expect(console.locator(f"#{guardrail.get_attribute('aria-controls')}")).to_contain_text("What it caught")

    outcomes = console.locator(f"#outcomes-{finished_call.pk}")
    expect(outcomes).to_contain_text("Evidence: I can pay 300 dollars next week by card.")
    expect(outcomes.locator(".outcome h4")).to_contain_text(["$300.00 by", "Fee waiver"])
    assert console.evaluate("document.documentElement.scrollWidth") <= 1280  # readable at 1280 px
    console.screenshot(path=str(DOCS / "console-timeline.png"), full_page=True)

    console.keyboard.press("Tab")  # into the open guardrail's details (its raw payload's toggle)
    expect(console.locator(f"#{guardrail.get_attribute('aria-controls')} summary")).to_be_focused()
    console.keyboard.press("Escape")  # closes them, and focus goes back to its button
    expect(guardrail).to_have_attribute("aria-expanded", "false")
    expect(guardrail).to_be_focused()
    assert problems == []
