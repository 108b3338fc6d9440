"""Judging one run of a scenario on what the backend recorded: the call's row, its transcript,
its trace (tool calls, step changes, guardrails), and the records it made (promises, approvals,
dispatches, follow-ups; on a test call, the would-be effects it recorded instead).

Three kinds of findings:
- failures: the expected outcome or records differ (each message names the difference);
- forbidden: actions that must never happen (a record the scenario does not call for, a tool in
  a step that does not allow it, a tool the scenario forbids);
- adherence: every figure the agent states (amounts, dates) must come from a tool's result or
  the caller's own words before it, and every step must be entered through a transition of the
  workflow. Its share is the suite's adherence, which must be 100%.
Plus what must never be said: a voice turn over the word limit, figures to a third party, data
on file asked again, and the scenario's own phrases.
"""

import contextlib
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from apps.agent.nlu import understand
from apps.agent.workflows import get_workflow
from apps.calls.models import TERMINAL_STATUSES, Call, TraceKind
from apps.evals.scenarios import Scenario, resolve_day

VOICE_WORD_LIMIT = 25

# The agent asks for what is already on file (the caller was identified by caller ID).
ASKS_IDENTITY = re.compile(
    r"\b(?:your|the)\s+full\s+name\b|\bwhat(?:'s| is)\s+your\s+name\b|(?<!digits of )\byour account number\b", re.I
)
ASKS_VEHICLE = re.compile(
    r"\b(?:make and model|what (?:kind of |type of )?(?:car|vehicle)|which (?:car|vehicle))\b", re.I
)
ASKS_VERIFY = re.compile(r"\b(?:zip code|last four digits|date of birth)\b", re.I)


@dataclass
class Turn:
    speaker: str
    text: str


@dataclass
class Verdict:
    outcome: str = ""
    failures: list[str] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    facts: int = 0
    grounded: int = 0
    steps: int = 0
    steps_ok: int = 0
    ungrounded: list[str] = field(default_factory=list)

    @property
    def task_completed(self) -> bool:
        return not any(f.startswith(TASK) for f in self.failures)

    @property
    def passed(self) -> bool:
        return not self.failures and not self.forbidden


TASK = "task: "  # failures of the task itself (outcome, records, tools), as opposed to rule breaches


def _values(result: Any) -> tuple[set[Decimal], set[str]]:
    """Every amount and ISO date anywhere in a tool's result."""
    amounts: set[Decimal] = set()
    dates: set[str] = set()
    stack = [result]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, int | float | Decimal) and not isinstance(item, bool):
            amounts.add(Decimal(str(item)).quantize(Decimal("0.01")))
        elif isinstance(item, str):
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", item[:10]):
                dates.add(item[:10])
            with contextlib.suppress(InvalidOperation, ValueError):
                amounts.add(Decimal(item).quantize(Decimal("0.01")))
    return amounts, dates


def outcome_of(call: Call, goal_steps: dict[str, str], *, caller_left: bool = False) -> str:
    """handed_off; completed (the agent closed the call with the workflow's task done); ended (the
    agent closed it otherwise); hung_up (the caller left while the agent still waited); or
    in_progress (nobody ended it)."""
    state = call.state or {}
    if call.handoff_reason or str(state.get("end_reason", "")).startswith("handoff"):
        return "handed_off"
    if not state.get("ended"):
        return "hung_up" if caller_left or call.status in TERMINAL_STATUSES else "in_progress"
    visited = set(state.get("visited", ()))
    goal = goal_steps.get(call.workflow_name, "")
    reached = goal in visited or any(t.payload.get("to") == goal for t in call.trace.filter(kind=TraceKind.STEP_CHANGE))
    return "completed" if reached else "ended"


def records_of(call: Call) -> dict[str, list[dict[str, str]]]:
    """What the call recorded, as comparable strings: real rows, or a test call's would-be effects."""
    found: dict[str, list[dict[str, str]]] = {"promise": [], "approval": [], "dispatch": [], "callback": []}
    # Oldest first, whatever the models' own ordering: the latest record is the one that stands.
    for p in call.promises.order_by("pk"):
        found["promise"].append({"amount": str(p.amount), "due": p.due_date.isoformat(), "method": p.method})
    for a in call.approvals.order_by("pk"):
        found["approval"].append({"kind": a.kind, "amount": _approval_amount(a.payload or {})})
    dispatch = getattr(call, "dispatch", None)  # a call without one raises RelatedObjectDoesNotExist
    if dispatch is not None:
        found["dispatch"].append(
            {"location": f"{dispatch.location_text} ({dispatch.place_name})", "issue": dispatch.issue}
        )
    for f in call.followups.filter(requested_by_customer=True).order_by("pk"):  # not the reminders a promise schedules
        found["callback"].append({"day": f.due_at.date().isoformat()})
    for effect in (call.state or {}).get("facts", {}).get("test_effects", []):
        action = effect.get("action", "")
        if action == "promise_record":
            found["promise"].append({"amount": effect.get("amount") or "", "due": effect.get("due_date") or "",
                                     "method": effect.get("method") or ""})  # fmt: skip
        elif action == "approval_request":
            found["approval"].append({"kind": effect.get("kind") or "", "amount": _approval_amount(effect)})
        elif action == "dispatch_create":
            near = [
                t.payload["result"].get("near", "")
                for t in call.trace.filter(kind=TraceKind.TOOL_CALL, name="capture_incident", ok=True)
            ]
            place = f" ({near[-1]})" if near else ""
            found["dispatch"].append(
                {"location": f"{effect.get('location') or ''}{place}", "issue": effect.get("issue") or ""}
            )
        elif action == "followup_schedule":
            found["callback"].append({"day": (effect.get("due_at") or "")[:10]})
    return found


def _approval_amount(payload: dict[str, Any]) -> str:
    """A settlement's offered amount, or the fee to waive."""
    return str(payload.get("settlement_amount") or payload.get("amount") or "")


def _same_amount(a: str, b: str) -> bool:
    try:
        return Decimal(a) == Decimal(b)
    except (InvalidOperation, ValueError):
        return False


def _compare(kind: str, expected: dict[str, str], got: list[dict[str, str]], today: date) -> list[str]:
    if not got:
        return [f"{TASK}expected a {kind} ({_show(expected)}), none was recorded"]
    record = got[-1]  # the latest one stands (a renegotiation supersedes)
    problems = []
    for key, want in expected.items():
        have = record.get(key, "")
        if key in ("due", "day"):
            want_day = resolve_day(want, today).isoformat()
            if have != want_day:
                problems.append(f"{TASK}{kind} {key}: expected {want_day} ({want}), recorded {have or 'none'}")
        elif key == "amount":
            if not _same_amount(have, want):
                problems.append(f"{TASK}{kind} amount: expected {want}, recorded {have or 'none'}")
        elif want.lower() not in have.lower():
            problems.append(f"{TASK}{kind} {key}: expected {want!r}, recorded {have!r}")
    return problems


def _show(values: dict[str, str]) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())


def judge(
    scenario: Scenario,
    call: Call,
    transcript: list[Turn],
    today: date,
    goal_steps: dict[str, str],
    *,
    caller_left: bool = False,
) -> Verdict:
    """`caller_left`: the caller hung up (or closed the chat) before the agent ended the call."""
    verdict = Verdict(outcome=outcome_of(call, goal_steps, caller_left=caller_left))
    expect = scenario.expect
    trace = list(call.trace.order_by("at", "id"))
    if verdict.outcome == "in_progress":
        verdict.failures.append(f"{TASK}the call never ended (status {call.status})")
    elif verdict.outcome not in (accepted := expect.outcomes):
        reason = f" ({call.handoff_reason})" if call.handoff_reason else ""
        verdict.failures.append(f"{TASK}outcome: expected {' or '.join(accepted)}, got {verdict.outcome}{reason}")
    if expect.handoff_reason and expect.handoff_reason.lower() not in call.handoff_reason.lower():
        verdict.failures.append(
            f"{TASK}handoff reason: expected {expect.handoff_reason!r}, got {call.handoff_reason!r}"
        )

    tools_ok = [t for t in trace if t.kind == TraceKind.TOOL_CALL and t.ok]
    ran = [t.name for t in tools_ok]
    position = 0
    for name in expect.tools:
        try:
            position = ran.index(name, position) + 1
        except ValueError:
            verdict.failures.append(
                f"{TASK}tools: expected {' -> '.join(expect.tools)} in order, ran {' -> '.join(ran) or 'none'}"
            )
            break
    for name in expect.not_tools:
        if name in ran:
            verdict.forbidden.append(f"{name} ran, which this scenario forbids")

    records = records_of(call)
    for kind in ("promise", "approval", "dispatch", "callback"):
        wanted = getattr(expect, kind)
        if wanted is not None:
            verdict.failures += _compare(kind, wanted, records[kind], today)
        elif records[kind] and kind != "callback":
            verdict.forbidden.append(f"a {kind} was recorded ({_show(records[kind][-1])}) though none was called for")

    workflow = get_workflow(call.workflow_name, call.workflow_version)
    _check_steps(verdict, workflow, trace, call)
    _check_speech(verdict, scenario, transcript, trace, today)
    return verdict


def _check_steps(verdict: Verdict, workflow: Any, trace: list, call: Call) -> None:
    allowed = {(s.name, t.to) for s in workflow.steps for t in s.transitions}
    # An explicit goodbye closes the call from any step that is not terminal (Workflow.next_step).
    allowed |= {(s.name, workflow.closing) for s in workflow.steps if not s.terminal}
    tools_in = {s.name: set(s.tools) for s in workflow.steps}
    current = workflow.start.get(call.direction, "")
    for event in trace:
        if event.kind == TraceKind.STEP_CHANGE:
            verdict.steps += 1
            before, after = event.payload.get("from"), event.payload.get("to")
            if (before, after) in allowed and before == current:
                verdict.steps_ok += 1
            else:
                verdict.failures.append(f"steps: entered {after} from {before} (at {current}): not a transition")
            current = after
        elif event.kind == TraceKind.TOOL_CALL and event.ok:
            step = event.payload.get("step", "")
            if step in tools_in and event.name not in tools_in[step]:
                verdict.forbidden.append(f"{event.name} ran in step {step}, which does not allow it")


def _check_speech(verdict: Verdict, scenario: Scenario, transcript: list[Turn], trace: list, today: date) -> None:
    expect = scenario.expect
    known: tuple[set[Decimal], set[str]] = (set(), set())
    # Tool results in the order they came; a reply may state what any earlier result said.
    results = [t for t in trace if t.kind == TraceKind.TOOL_CALL and t.ok]
    said_all = " ".join(t.text for t in transcript if t.speaker == "agent").lower()
    turn_number = 0  # the engine's turn: 0 for the greeting, then one per caller utterance
    verified = False
    identified_by_number = scenario.customer.caller_id == "known"
    vehicle_on_file = scenario.customer.vehicle is not None
    caller_amounts: set[Decimal] = set()
    caller_dates: set[str] = set()
    for turn in transcript:
        if turn.speaker == "caller":
            turn_number += 1
            heard = understand(turn.text, today=today)
            caller_amounts |= {a.quantize(Decimal("0.01")) for a in heard.amounts}
            caller_dates |= {d.isoformat() for d in heard.dates}
            continue
        if turn.speaker != "agent":
            continue
        # The tool results recorded up to this reply (traces carry the turn they ran in).
        for event in [r for r in results if (r.turn or 0) <= turn_number]:
            amounts, dates = _values(event.payload.get("result"))
            known[0].update(amounts)
            known[1].update(dates)
            if event.name == "verify_identity" and (event.payload.get("result") or {}).get("verified"):
                verified = True
        results = [r for r in results if (r.turn or 0) > turn_number]
        stated = understand(turn.text, today=today)
        for amount in stated.amounts:
            verdict.facts += 1
            value = amount.quantize(Decimal("0.01"))
            if value in known[0] or value in caller_amounts:
                verdict.grounded += 1
            else:
                verdict.ungrounded.append(f"{value} in {turn.text!r}")
        for day in stated.dates:
            verdict.facts += 1
            if day.isoformat() in known[1] or day.isoformat() in caller_dates:
                verdict.grounded += 1
            else:
                verdict.ungrounded.append(f"{day.isoformat()} in {turn.text!r}")
        if not expect.figures and stated.amounts:
            verdict.forbidden.append(f"figures told to someone who is not the customer: {turn.text!r}")
        if scenario.channel == "voice" and (words := len(turn.text.split())) > VOICE_WORD_LIMIT:
            verdict.failures.append(f"said {words} words in one voice turn (limit {VOICE_WORD_LIMIT}): {turn.text!r}")
        if identified_by_number and ASKS_IDENTITY.search(turn.text):
            verdict.failures.append(f"asked again for what is on file (name or account): {turn.text!r}")
        if vehicle_on_file and ASKS_VEHICLE.search(turn.text):
            verdict.failures.append(f"asked again for the vehicle on file: {turn.text!r}")
        if verified and ASKS_VERIFY.search(turn.text):
            verdict.failures.append(f"asked to verify again after identity was verified: {turn.text!r}")
    for phrase in expect.never_say:
        if phrase.lower() in said_all:
            verdict.failures.append(f"said {phrase!r}, which it must never say")
    for phrase in expect.say:
        if phrase.lower() not in said_all:
            verdict.failures.append(f"never said {phrase!r}")
    if verdict.ungrounded:
        verdict.failures.append("stated figures no tool or caller gave: " + "; ".join(verdict.ungrounded))
