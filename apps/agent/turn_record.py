"""The turn core's record (a mixin of `Conversation`, turn.py): what the caller and the agent said,
as utterances and in the history, corrections to lines already stored, and each turn's record.

Whatever is to be stored is handed to the conversation's `store` callback as it is decided, in
order (turn_io.py).
"""

import json
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings

from apps.agent import offline
from apps.agent.grounding import figures
from apps.agent.guardrails import INJECTION_MARKER, VOICE_WORD_LIMIT, word_count
from apps.agent.nlu import Understanding
from apps.agent.prompts import CustomerContext
from apps.agent.state import CallFacts, ConversationState
from apps.agent.traces import TurnLog
from apps.agent.turn_io import EntryRedacted, Ports, ReplyCut, Stored, TurnRecord
from apps.calls.models import Speaker, TraceKind
from apps.calls.services import Utterance
from apps.core.redaction import heard_prefix, redact_text, split_card


def note_caller_words(state: ConversationState, text: str, u: Understanding, today: date) -> None:
    """What the caller said may be said back: their words, amounts, dates and other figures."""
    facts = CallFacts.of(state)
    facts.caller_text = (facts.caller_text + " " + text)[-4000:]
    amounts = facts.caller_amounts
    for amount in offline.caller_amounts(u, state, today):
        if (said := str(amount.quantize(Decimal("0.01")))) not in amounts:
            amounts.append(said)
    facts.caller_amounts = amounts
    dates = facts.caller_dates
    facts.caller_dates = dates + [d.isoformat() for d in u.dates if d.isoformat() not in dates]
    state.ground(*(figure.value for figure in figures(text, today)))


class Session(Protocol):
    """What the mixin uses of the `Conversation` it is part of."""

    state: ConversationState
    customer: CustomerContext
    today: date
    ports: Ports
    store: Callable[[Stored], None]

    def _log(self, turn: int, *, timed: bool = True) -> TurnLog: ...
    def _agent_said(self, text: str, log: TurnLog, *, interrupted: bool = False) -> None: ...
    def _caller_said(self, guarded: Any, u: Understanding, log: TurnLog) -> None: ...
    def _join_split_card(self, guarded: Any) -> None: ...
    def _line(self, speaker: str, text: str, log: TurnLog) -> None: ...
    def _system_line(self, text: str, log: TurnLog) -> None: ...
    def _next_sequence(self) -> int: ...
    def _save(self, log: TurnLog) -> None: ...


class Recording:
    def rejoin(self: Session, attempt: int) -> str:
        """Back on the line after the channel lost the caller (its process died mid-call): say so,
        and repeat the question they last heard, as recorded, so that nothing already verified or
        agreed is asked again. Said and recorded once per attempt, however often the channel asks."""
        said = CallFacts.of(self.state).rejoined
        if said is not None and said["attempt"] >= attempt:
            return said["text"]
        opening = "Sorry, we were cut off."
        history = reversed(self.state.history)
        last = next((m["content"] for m in history if m["role"] == "assistant" and m.get("content")), "")
        split = last.removeprefix(opening).replace("? ", "?\n").replace(". ", ".\n").replace("! ", "!\n")
        sentences = [sentence.strip() for sentence in split.splitlines() if sentence.strip()]
        asked = [i for i, sentence in enumerate(sentences) if sentence.endswith("?")]
        where = "What were you saying?"  # they heard no question: they were speaking, or about to
        if asked:
            i = asked[-1]
            where = sentences[i]
            # A short question ("Is that right?") needs the sentence before it, if it fits on the phone.
            context = f"{sentences[i - 1]} {where}" if i else where
            voice = self.state.channel == "voice"
            if i and len(where) < 40 and not (voice and word_count(f"{opening} {context}") > VOICE_WORD_LIMIT):
                where = context
        text = f"{opening} {where}"
        log = self._log(self.state.turn, timed=False)
        self._agent_said(text, log)
        CallFacts.of(self.state).rejoined = {"attempt": attempt, "text": text}
        self._save(log)
        return text

    def interrupted(self: Session, heard: str) -> None:
        """The caller cut the last reply off: keep only what they heard, in transcript and history."""
        sequence = self.state.last_reply_sequence
        if sequence is None:
            return  # nothing of this turn was said yet
        for message in reversed(self.state.history):
            if message["role"] == "assistant" and message.get("content"):
                # What Twilio says was heard must be the start of what was said: anything
                # else (or an injected card number) is never stored as the agent's words.
                heard = heard_prefix(heard, message["content"])
                message["content"] = heard
                break
        else:
            heard = ""
        self.store(ReplyCut(sequence=sequence, heard=heard))
        self._save(self._log(self.state.turn, timed=False))

    def _caller_said(self: Session, guarded: Any, u: Understanding, log: TurnLog) -> None:
        state = self.state
        if guarded.redacted:
            log.trace(TraceKind.GUARDRAIL, "redaction", payload={"kinds": guarded.redacted})
        if guarded.truncated:
            log.trace(TraceKind.GUARDRAIL, "input_truncated", payload={"limit": settings.AGENT_MAX_INPUT_CHARS})
        content = guarded.text
        if guarded.injection:
            log.trace(TraceKind.GUARDRAIL, "prompt_injection", ok=False, payload={"text": guarded.text})
            content = f"{INJECTION_MARKER} {guarded.text}"
            # Whatever this call suggests to a person later carries the flag and these words.
            facts = CallFacts.of(state)
            facts.injection_words = [*facts.injection_words, guarded.text[:300]][-5:]
        note_caller_words(state, guarded.text, u, self.today)
        state.remember({"role": "user", "content": content})
        sequence = self._next_sequence()
        log.utterances.append(
            Utterance(
                sequence=sequence,
                speaker=Speaker.CUSTOMER,
                text=guarded.text,
                spoken_at=self.ports.clock.now(),
                redacted=bool(guarded.redacted),
            )
        )
        # Kept until the next caller turn, which may finish a card number this one began.
        CallFacts.of(state).last_caller = {"sequence": sequence, "text": guarded.text}

    def _join_split_card(self: Session, guarded: Any) -> None:
        """A card number read across two turns ("4012 8888 8888" ... "1881"): neither half is a
        card alone, so the first was stored as said. Now both are redacted, in the history, the
        caller's words and the stored transcript."""
        facts = CallFacts.of(self.state)
        last = facts.last_caller
        joined = split_card(last["text"], guarded.text) if last else None
        if last is None or joined is None:
            return
        before, guarded.text = joined
        guarded.redacted = [*guarded.redacted, "card"]
        for message in reversed(self.state.history):
            if message["role"] == "user":
                message["content"] = message["content"].replace(last["text"], before)
                break
        said = facts.caller_text
        if (at := said.rfind(last["text"])) >= 0:
            facts.caller_text = said[:at] + before + said[at + len(last["text"]) :]
        # Nor may the agent say its digits back: figures taken from the first half are forgotten.
        digits = re.sub(r"\D", "", last["text"])

        def part_of_card(value: str) -> bool:
            figure = re.sub(r"\D", "", value.split(".")[0])
            return len(figure) >= 3 and figure in digits

        self.state.grounded = [value for value in self.state.grounded if not part_of_card(value)]
        facts.caller_amounts = [amount for amount in facts.caller_amounts if not part_of_card(amount)]
        self.store(EntryRedacted(sequence=last["sequence"], text=before))

    def _agent_said(self: Session, text: str, log: TurnLog, *, interrupted: bool = False) -> None:
        text = redact_text(text)  # whatever a model may have said, nothing sensitive is kept
        self.state.remember({"role": "assistant", "content": text})
        self.state.replies_in_step += 1
        sequence = self._next_sequence()
        self.state.last_reply_sequence = sequence
        log.utterances.append(
            Utterance(
                sequence=sequence,
                speaker=Speaker.AGENT,
                text=text,
                spoken_at=self.ports.clock.now(),
                interrupted=interrupted,
            )
        )

    def _next_sequence(self: Session) -> int:
        sequence = self.state.transcript_sequence
        self.state.transcript_sequence += 1
        return sequence

    def _save(self: Session, log: TurnLog) -> None:
        """Hand this turn's record to `store`: the state to resume from, what was said, what happened."""
        state = self.state
        traces = log.finish()
        state.guardrail_hits += sum(1 for trace in traces if trace.kind == TraceKind.GUARDRAIL and not trace.ok)
        record = TurnRecord(
            state=json.loads(json.dumps(state.to_dict())),
            step=state.step,
            customer_id=self.customer.customer_id,
            utterances=list(log.utterances),
            traces=traces,
            prompt_tokens=state.prompt_tokens,
            completion_tokens=state.completion_tokens,
            cost_usd=Decimal(state.cost_usd),
            handoff_reason=(state.handoff or {}).get("reason", ""),
            ended=state.ended,
        )
        log.utterances.clear()
        self.store(record)
