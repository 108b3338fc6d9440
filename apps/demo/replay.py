"""Replays a planned demo conversation the way the agent engine records a live one.

`DemoSession` follows `apps.agent.engine.AgentSession` turn by turn and uses the engine's own pure
parts: the ConversationState (history folding, summary notes, tool log), the workflow's transitions
(step names and reasons) and required tools, the input guard (redaction), the caller-words
understanding, grounding, the reply gate, the system prompt, the offline replies and the tool
argument validation. It talks to no model and no database: replies come from the scripts, tool
results from `toolcalls`, and time runs on a simulated clock with plausible latencies. Ids of rows
the tools create (promise, approval, follow-up, dispatch) are left as `toolcalls.ID` placeholders,
filled in by `resolve_ids` once the rows exist.
"""

import json
import random
import re
import string
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from apps.agent import offline
from apps.agent.engine import note_caller_words
from apps.agent.grounding import ReplyGate, grounded_forms, make_checker
from apps.agent.guardrails import guard_input
from apps.agent.llm import cost_usd
from apps.agent.nlu import understand
from apps.agent.prompts import CustomerContext, build_messages
from apps.agent.state import ConversationState
from apps.agent.tools.registry import TOOLS, args_key
from apps.agent.traces import traced_prompt
from apps.agent.workflows import get_workflow
from apps.calls.models import Speaker, TraceKind
from apps.demo import toolcalls
from apps.demo.data import LLM_FALLBACK_MODEL, LLM_MODEL

MAX_LLM_ROUNDS = 4  # as the engine's
CORRECTION = (
    "Your draft said {detail!r}, which you may not say: use only figures from ON FILE, tool results or the "
    "caller's words, and never grant what needs approval."
)
REPAIR = "— sorry, let me correct that. "


def resolve_ids(value: Any, ids: dict[str, int]) -> Any:
    """Put the created rows' ids in place of the placeholders, also inside JSON strings (tool messages)."""
    if isinstance(value, dict):
        return {key: resolve_ids(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_ids(item, ids) for item in value]
    if isinstance(value, str) and toolcalls.ID_PREFIX in value:
        if value in ids:
            return ids[value]
        for placeholder, pk in ids.items():
            value = value.replace(json.dumps(placeholder), str(pk))
    return value


class DemoSession:
    def __init__(
        self,
        *,
        workflow: str,
        channel: str,
        direction: str,
        customer: CustomerContext,
        known: bool,
        today: date,
        ctx: dict[str, Any],
        rng: random.Random,
        at: datetime,
    ) -> None:
        self.workflow = get_workflow(workflow)
        self.full = customer  # who the caller is; the agent knows once caller ID or find_account says so
        self.customer = customer if known else CustomerContext(customer_id=None)
        self.today, self.ctx, self.rng, self.now = today, ctx, rng, at
        self.speech = offline.Speech(channel, today, customer.on_file.get("currency", "USD"))
        self.state = state = ConversationState(
            workflow=self.workflow.name,
            version=self.workflow.version,
            step=self.workflow.start[direction],
            channel=channel,
            direction=direction,
        )
        self.traces: list[dict[str, Any]] = []
        self.entries: list[dict[str, Any]] = []
        self.prompts_seen: set[str] = set()
        if known:
            state.facts["customer_id"] = customer.customer_id
            if vehicle := customer.on_file.get("vehicle"):
                state.facts["vehicle_on_file"] = vehicle
            state.ground(*grounded_forms(customer.on_file))
        self._begin()
        self._settle()  # e.g. a caller known by caller ID skips identification

    # --- the clock ---------------------------------------------------------------------------

    def _ms(self, low: float, high: float) -> float:
        ms = round(self.rng.uniform(low, high), 3)
        self.now += timedelta(milliseconds=ms)
        return ms

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def _begin(self) -> None:
        self.turn_started = self.now
        self.mode, self.first_token, self.llm_wait, self.tools_ms, self.rounds = "rule", None, 0.0, 0.0, 0

    def _first_token(self) -> None:
        if self.first_token is None:
            self.first_token = self.now

    # --- the record --------------------------------------------------------------------------

    def trace(self, kind: str, name: str, *, ok: bool = True, payload: dict | None = None, **extra: Any) -> None:
        cost = extra.pop("cost", Decimal(0))
        self.traces.append(
            {
                "turn": self.state.turn,
                "kind": kind,
                "name": name[:100],
                "ok": ok,
                "payload": payload or {},
                "at": self.now,
                "cost_usd": cost.quantize(Decimal("0.000001")),
                **extra,
            }
        )

    def _entry(self, speaker: str, text: str, *, redacted: bool = False) -> None:
        self.entries.append(
            {"speaker": speaker, "text": text, "spoken_at": self.now, "interrupted": False, "redacted": redacted}
        )

    def note(self, speaker: str, text: str) -> None:
        """A line the channel records after the agent is gone: the transfer, the person who took over."""
        self._entry(speaker, text)

    def _agent_said(self, text: str) -> None:
        self.state.remember({"role": "assistant", "content": text})
        self.state.replies_in_step += 1
        self.state.transcript_sequence += 1
        self._entry(Speaker.AGENT, text)
        self.last_reply = text

    def interrupt(self, heard: str) -> None:
        """The caller cut the last reply off: keep only what they heard, in transcript and history."""
        self.entries[-1].update(text=heard, interrupted=True)
        for message in reversed(self.state.history):
            if message["role"] == "assistant" and message.get("content"):
                message["content"] = heard
                break
        self.last_reply = heard

    def _settle(self) -> None:
        for before, transition in self.workflow.settle(self.state):
            self._ms(0.02, 0.2)
            self.trace(
                TraceKind.STEP_CHANGE,
                f"{before} -> {transition.to}",
                payload={"from": before, "to": transition.to, "reason": transition.reason},
            )

    def _terminal(self) -> bool:
        return self.workflow.step(self.state.step).terminal

    # --- turns -------------------------------------------------------------------------------

    def greet(self, text: str) -> None:
        self._ms(150, 400)
        self._agent_said(text)

    def turn(
        self, caller: str, *, do: tuple[str, ...] = (), reply: str = "", offline_mode: bool = False, draft: str = ""
    ) -> None:
        """One caller turn: what they said, the listener, transitions, then the answer and its tools."""
        state = self.state
        state.turn += 1
        self._begin()
        guarded = guard_input(caller)
        u = understand(guarded.text, today=self.today)
        self._caller_said(guarded, u)
        self._ms(0.3, 2.0)
        if "human" in do:  # the engine hands off before the step even listens
            state.handoff = {"reason": "the caller asked for a person"}
        else:
            toolcalls.listen(self, do)
            self._settle()
        calls = [toolcalls.arguments(spec, self) for spec in do if spec.split(":")[0] in TOOLS]
        if not state.handoff and not self._terminal():
            if offline_mode:
                self._offline_answer(calls)
            else:
                self._llm_answer(calls, reply, draft)
        else:
            self._close_or_hand_off()
        self._ms(0.4, 3.0)  # saving the turn
        now_ms = (self.now - self.turn_started).total_seconds() * 1000
        first = self.first_token or self.now
        first_ms = (first - self.turn_started).total_seconds() * 1000
        timings = {
            "mode": self.mode,
            "first_token_ms": round(first_ms, 3),
            "llm_wait_ms": round(self.llm_wait, 3),
            "overhead_ms": round(max(first_ms - self.llm_wait, 0.0), 3),
            "tools_ms": round(self.tools_ms, 3),
            "total_ms": round(now_ms, 3),
            "llm_rounds": self.rounds,
        }
        self.trace(TraceKind.TURN, f"turn {state.turn}", latency_ms=timings["total_ms"], payload=timings)

    def _caller_said(self, guarded: Any, u: Any) -> None:
        state = self.state
        if guarded.redacted:
            self.trace(TraceKind.GUARDRAIL, "redaction", payload={"kinds": guarded.redacted})
        note_caller_words(state, guarded.text, u, self.today)
        state.remember({"role": "user", "content": guarded.text})
        state.transcript_sequence += 1
        self._entry(Speaker.CUSTOMER, guarded.text, redacted=bool(guarded.redacted))

    def _llm_answer(self, calls: list[tuple[str, dict]], reply: str, draft: str) -> None:
        self.mode = "llm"
        correction, regenerated = "", False
        for _ in range(MAX_LLM_ROUNDS):
            forced = self.workflow.pending_required(self.state)
            call = (forced, {}) if forced else (calls.pop(0) if calls else None)
            if call is not None:
                name, arguments = call
                raw = json.dumps(arguments, separators=(",", ":"))
                call_id = "call_" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=24))
                self._round(forced, tool_call={"name": name, "arguments": raw})
                self.state.remember(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}
                        ],
                    }
                )
                result = self._tool(name, raw, arguments)
                self.state.remember({"role": "tool", "tool_call_id": call_id, "content": json.dumps(result)})
                self._settle()
                if self.state.handoff or self._terminal():
                    break
                continue
            if draft and not regenerated:
                gate = ReplyGate(make_checker(set(self.state.grounded), self.today))
                said = "".join(gate.feed(piece) for piece in re.findall(r"\S+\s*", draft + " ")) + gate.flush()
                self._round(None, text=draft, correction=correction, streamed=bool(said))
                violation = gate.violation
                self.trace(TraceKind.GUARDRAIL, violation.kind, ok=False, payload=violation.__dict__)
                if not said:
                    regenerated, correction = True, CORRECTION.format(detail=violation.detail)
                    continue
                self._say(REPAIR + offline.reply(self.state, self.customer, [], self.speech), prefix=said)
                return
            self._round(None, text=reply, correction=correction)
            self._agent_said(reply)
            return
        if self.state.handoff or self._terminal():
            self._close_or_hand_off()

    def _offline_answer(self, calls: list[tuple[str, dict]]) -> None:
        """Every model failed: the offline engine answers, with the same tools and checks."""
        self.rounds += 1
        started = self.now
        errors = []
        for model in (LLM_MODEL, LLM_FALLBACK_MODEL):
            latency = self._ms(25, 300)
            errors.append("APIConnectionError: Connection error.")
            self._llm_trace(model, latency, ttft=None, error=errors[-1], text="", tool_calls=[], prompt=0, completion=0)
        self.llm_wait += (self.now - started).total_seconds() * 1000
        self.trace(TraceKind.ERROR, "llm_unavailable", ok=False, payload={"error": "; ".join(errors)})
        self.mode = "offline"
        results = []
        for name, arguments in calls:
            results.append((name, self._tool(name, arguments, arguments)))
            self._settle()
        while (required := self.workflow.pending_required(self.state)) and not self.state.handoff:
            result = self._tool(required, {}, {})
            results.append((required, result))
            self._settle()
            if result["status"] != "ok":
                break
        if self.state.handoff or self._terminal():
            self._close_or_hand_off()
            return
        self._say(offline.reply(self.state, self.customer, results, self.speech))

    def _say(self, text: str, prefix: str = "") -> None:
        self._ms(0.1, 0.8)
        self._first_token()
        self._agent_said(prefix + text)

    def _close_or_hand_off(self) -> None:
        state = self.state
        if state.handoff:
            reason = state.handoff["reason"]
            self.trace(TraceKind.GUARDRAIL, "handoff", payload={"reason": reason})
            self._say(offline.handoff_reply(state.channel))
            state.ended, state.end_reason = True, f"handoff: {reason}"
            return
        self._say(offline.reply(state, self.customer, [], self.speech))
        state.ended, state.end_reason = True, state.step

    # --- the model and the tools ---------------------------------------------------------------

    def _round(
        self, forced: str | None, *, tool_call: dict | None = None, text: str = "", correction: str = "", **kw: Any
    ) -> None:
        """One request to the model chain; on a few, the first model times out and the fallback answers."""
        self.rounds += 1
        started = self.now
        messages = build_messages(
            state=self.state, workflow=self.workflow, customer=self.customer, forced_tool=forced, today=self.today
        )
        if correction:
            messages.append({"role": "system", "content": correction})
        size = sum(len(json.dumps(m.get("tool_calls") or "")) + len(m.get("content") or "") for m in messages)
        prompt = size // 4 + 110 * len(self.workflow.step(self.state.step).tools) + self.rng.randint(0, 40)
        model = LLM_MODEL
        if self.rng.random() < 0.02:
            latency = self._ms(4000, 4060)
            self._llm_trace(model, latency, None, "APITimeoutError: Request timed out.", "", [], 0, 0, messages)
            model = LLM_FALLBACK_MODEL
        round_started = self.now
        first_before = self.first_token
        if tool_call:
            completion = len(tool_call["arguments"]) // 3 + self.rng.randint(8, 16)
            ttft = self.rng.uniform(380, 950)
            latency = ttft + self.rng.uniform(30, 160)
        else:
            completion = max(6, len(text) // 4 + self.rng.randint(-3, 6))
            ttft = self.rng.uniform(300, 1100)
            latency = ttft + completion * self.rng.uniform(9, 16)
            if kw.get("streamed", True):
                self.first_token = round_started + timedelta(milliseconds=ttft)
        self.now = round_started + timedelta(milliseconds=latency)
        if first_before is None:  # until the first token, the caller is waiting on the model
            self.llm_wait += ((self.first_token or self.now) - started).total_seconds() * 1000
        calls = [tool_call] if tool_call else []
        self._llm_trace(model, round(latency, 3), round(ttft, 3), "", text, calls, prompt, completion, messages)

    def _llm_trace(
        self,
        model: str,
        latency: float,
        ttft: float | None,
        error: str,
        text: str,
        tool_calls: list[dict],
        prompt: int,
        completion: int,
        messages: list[dict] | None = None,
    ) -> None:
        if messages is None:
            messages = build_messages(
                state=self.state, workflow=self.workflow, customer=self.customer, forced_tool=None, today=self.today
            )
        cost = cost_usd(model, prompt, completion)
        state = self.state
        state.prompt_tokens += prompt
        state.completion_tokens += completion
        state.cost_usd = str(Decimal(state.cost_usd) + cost)
        self.trace(
            TraceKind.LLM_CALL,
            model,
            ok=not error,
            latency_ms=latency,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost=cost,
            payload={
                "endpoint": "",  # OPENAI_BASE_URL: the default endpoint
                "ttft_ms": ttft,
                "error": error,
                "text": text,
                "tool_calls": tool_calls,
                # As sent: a later interruption rewrites the history's last reply, not what was traced.
                **traced_prompt(messages, self.prompts_seen),
            },
        )

    def _tool(self, name: str, raw: str | dict, arguments: dict) -> dict[str, Any]:
        state = self.state
        key = args_key(TOOLS[name].arguments.model_validate(arguments).model_dump())
        before = self.customer.customer_id
        result = toolcalls.run(self, name, arguments)
        latency = self._ms(*toolcalls.LATENCY_MS.get(name, (2, 12)))
        self.tools_ms += latency
        self.trace(
            TraceKind.TOOL_CALL,
            name,
            ok=result["status"] == "ok",
            latency_ms=latency,
            payload={"arguments": raw, "result": result, "step": state.step},
        )
        if result["status"] == "ok":
            state.tool_log.append({"name": name, "step": state.step, "args_key": key, "result": result})
            state.ground(*grounded_forms(result))
            if state.fact("customer_id") and before is None:  # find_account identified the caller
                self.customer = self.full
                state.ground(*grounded_forms(self.full.on_file))
                if vehicle := self.full.on_file.get("vehicle"):
                    state.facts["vehicle_on_file"] = vehicle
        if name == "verify_identity" and result.get("attempts_left") == 0 and not result.get("verified"):
            state.handoff = {"reason": "identity could not be verified"}
        return result
