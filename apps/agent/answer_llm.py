"""The LLM's side of a turn: model rounds, forced tools, the grounding gate, regeneration.

A mixin of the turn core's `Conversation` (apps/agent/turn.py), kept apart because it is the
longest path. The model is the conversation's `ports.stream` (the real chain, `llm.stream`, unless
a test or the demo seeder passes another).
"""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import date
from typing import Any, Protocol

from apps.agent import llm
from apps.agent.clock import TurnClock
from apps.agent.events import Event, ReplyEnd, Token
from apps.agent.grounding import ReplyGate, make_checker
from apps.agent.guardrails import VOICE_WORD_LIMIT, WordLimit, last_sentence, word_count
from apps.agent.leaks import LeakCheck, LeakGuard, known_texts
from apps.agent.nlu import Understanding
from apps.agent.prompts import CustomerContext, build_messages, instructions_text
from apps.agent.state import CallFacts, ConversationState
from apps.agent.tools import TOOLS
from apps.agent.traces import TurnLog
from apps.agent.turn_io import Ports
from apps.agent.workflows import Workflow
from apps.calls.models import TraceKind
from apps.core.redaction import redact_text

MAX_LLM_ROUNDS = 4  # model requests per turn: tool calls, then the reply


class Session(Protocol):
    """What the mixin uses of the `Conversation` it is part of (type-checked where it is called)."""

    ports: Ports
    clock: TurnClock
    workflow: Workflow
    state: ConversationState
    customer: CustomerContext
    today: date
    said: list[str]

    def _count_usage(self, completion: llm.Completion) -> None: ...
    def _offline_reply(self, results: list[tuple[str, dict]], heard: Understanding | None = None) -> str: ...
    def _say(self, text: str, log: TurnLog) -> AsyncIterator[Event]: ...
    async def _tool(self, name: str, arguments: str | dict, log: TurnLog) -> dict[str, Any]: ...
    def _settle(self, log: TurnLog) -> None: ...
    def _is_terminal(self) -> bool: ...
    def _track_understanding(self, u: Understanding, *, progressed: bool) -> None: ...
    def _close_or_hand_off(
        self, log: TurnLog, results: list[tuple[str, dict]] | None = None
    ) -> AsyncIterator[Event]: ...
    def _agent_said(self, text: str, log: TurnLog, *, interrupted: bool = False) -> None: ...
    def _leak_check(self, forced: str | None) -> LeakCheck: ...


class LLMAnswering:
    async def _llm_answer(self: Session, u: Understanding, log: TurnLog) -> AsyncIterator[Event]:
        log.mode = "llm"
        regenerated = False
        correction: str | None = None
        said: list[str] = []  # the model's words this turn (a holding phrase is the engine's)
        results: list[tuple[str, dict[str, Any]]] = []  # the tools' results this turn
        ttft = 0.0  # how long the last model round took to start answering
        for _ in range(MAX_LLM_ROUNDS):
            if ttft and self.clock.would_miss(ttft):
                # A tool ran and the model must answer again: rather than silence past the
                # budget, the caller hears a holding phrase at once, and the model gets its window.
                log.held = True
                log.trace(TraceKind.GUARDRAIL, "holding_phrase", payload={"why": "tool path", "ttft_ms": ttft * 1000})
                yield Token(self.clock.hold())
            forced = self.workflow.pending_required(self.state)
            step = self.workflow.step(self.state.step)
            schemas = [TOOLS[name].openai_schema for name in step.tools]
            choice: str | dict = {"type": "function", "function": {"name": forced}} if forced else "auto"
            messages = build_messages(
                state=self.state, workflow=self.workflow, customer=self.customer, forced_tool=forced, today=self.today
            )
            if correction:
                messages.append({"role": "system", "content": correction})
            gate = ReplyGate(make_checker(set(self.state.grounded), self.today))
            # What passes the gate is held back while it could still begin a leak.
            leak = LeakGuard(self._leak_check(forced))
            # On the phone, what passes the gate is held to the words left of the reply's limit.
            limit = WordLimit(VOICE_WORD_LIMIT - word_count("".join(said))) if self.state.channel == "voice" else None
            completion = llm.Completion()
            log.llm_started()
            try:
                async with aclosing(self.ports.stream(messages, schemas, choice, completion, self.clock)) as pieces:
                    async for piece in pieces:
                        if forced:
                            continue  # a forced round is a tool round: no words before the tool runs
                        if limit and limit.full:
                            limit.feed(piece)  # past the limit: read on (a tool call may follow), say nothing
                            continue
                        safe = leak.feed(gate.feed(piece))
                        if gate.violation:
                            safe += leak.release()  # what it held is no leak, only the start of one
                        if limit:
                            safe = limit.feed(safe)
                            if gate.violation or leak.leak:
                                limit.discard()  # the sentence stopped is not said in part
                        if safe:
                            said.append(safe)
                            yield Token(safe)
                        if gate.violation or leak.leak:
                            break
                if not forced and not (limit and limit.full):
                    tail = gate.flush()
                    tail = leak.feed(tail) + (leak.release() if gate.violation else leak.flush())
                    if limit:
                        tail = limit.feed(tail)
                        if gate.violation or leak.leak:
                            limit.discard()
                        else:
                            tail += limit.flush()
                    if tail:
                        said.append(tail)
                        yield Token(tail)
            except llm.LLMStreamBroken:
                pass  # what was said stands; the turn ends with it
            finally:
                log.llm_finished(completion, messages)
                self._count_usage(completion)
            answer = completion.answered
            if limit and limit.dropped.strip():
                log.trace(
                    TraceKind.GUARDRAIL,
                    "word_limit",
                    ok=False,
                    payload={"limit": VOICE_WORD_LIMIT, "said": limit.used, "dropped": redact_text(limit.dropped)},
                )
                if not said and not regenerated and not leak.leak and not (answer and answer.tool_calls):
                    regenerated = True
                    correction = (
                        f"Your draft was {word_count(limit.dropped)} words. On the phone say at most "
                        f"{VOICE_WORD_LIMIT} words: one or two short sentences."
                    )
                    continue
            if leak.leak:
                # Never asked again: the caller hears the record's reply for the turn instead.
                log.trace(
                    TraceKind.GUARDRAIL,
                    "leak",
                    ok=False,
                    payload={
                        "source": leak.leak.source,
                        "run": redact_text(leak.leak.run),
                        "text": redact_text(leak.leak.text),
                    },
                )
            if gate.violation:
                violation = gate.violation
                log.trace(
                    TraceKind.GUARDRAIL,
                    violation.kind,
                    ok=False,
                    payload={"text": redact_text(violation.text), "detail": redact_text(violation.detail)},
                )
                if not said and not regenerated and not leak.leak:
                    regenerated = True
                    correction = (
                        f"Your draft said {gate.violation.detail!r}, which you may not say: use only figures "
                        "from ON FILE, tool results or the caller's words, and never grant what needs approval."
                    )
                    continue
            if gate.violation or leak.leak:
                if repair := _repair("".join(said), self._offline_reply(results, u), voice=limit is not None):
                    async for event in self._say(repair, log):
                        yield event
                    return
                break  # no room left: the reply is what was said
            tool_calls = answer.tool_calls if answer else []
            ttft = (answer.ttft_ms or 0.0) / 1000 if answer else 0.0
            if forced and not any(call.name == forced for call in tool_calls):
                log.trace(TraceKind.GUARDRAIL, "required_tool_skipped", ok=False, payload={"tool": forced})
                tool_calls = [llm.ToolCall(id=f"forced_{forced}", name=forced, arguments="{}")]
            if not tool_calls:
                break
            self.state.remember(
                {
                    "role": "assistant",
                    "content": answer.text if answer and answer.text else None,
                    "tool_calls": [
                        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                        for c in tool_calls
                    ],
                }
            )
            for call in tool_calls:
                result = await self._tool(call.name, call.arguments, log)
                results.append((call.name, result))
                self.state.remember({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
            self._settle(log)
            if self.state.handoff or self._is_terminal() or CallFacts.of(self.state).system_down:
                break
        self._track_understanding(u, progressed=True)
        if self.state.handoff or self._is_terminal():
            async for event in self._close_or_hand_off(log, results):
                yield event
            return
        if CallFacts.of(self.state).system_down and not said:
            async for event in self._say(self._offline_reply([]), log):
                yield event
            return
        if not "".join(said).strip():
            raise llm.LLMUnavailable("the model produced no reply")
        text = "".join(self.said).rstrip()  # everything the caller heard, a holding phrase included
        yield ReplyEnd(text)
        self._agent_said(text, log)

    def _leak_check(self: Session, forced: str | None) -> LeakCheck:
        """What this round's reply may not say: its instructions, the caller's words at length."""
        return LeakCheck(
            instructions=instructions_text(
                state=self.state, workflow=self.workflow, customer=self.customer, forced_tool=forced, today=self.today
            ),
            caller=CallFacts.of(self.state).caller_text,
            known=known_texts(self.customer.on_file, self.state.tool_log, self.state.history, self.state.summary),
        )


def _repair(said: str, fixed: str, *, voice: bool) -> str:
    """What follows a reply a guardrail stopped: the record's reply for the turn (`fixed`)."""
    if voice:
        # On the phone only whole sentences went out (WordLimit held the stopped one back):
        # nothing to take back. The record's reply, or its question, in the words left.
        left = VOICE_WORD_LIMIT - word_count(said)
        return next((text for text in (fixed, last_sentence(fixed)) if word_count(text) <= left), "")
    # In chat a sentence may have gone out in part: close it off and say it from the record instead.
    if said.strip() and not said.rstrip().endswith((".", "!", "?")):
        return "— sorry, let me correct that. " + fixed
    return fixed
