"""A person in the loop of a live conversation (a mixin of `Conversation`, turn.py): a supervisor's
guidance for the agent, a take-over, a person's own words to the caller, and the hand-back.

Guidance goes into every later prompt as a supervisor's note (prompts.py), never as the caller's
words; the workflow, grounding and approval rules still bind, as they bind whatever the model
says. A chat taken over stays open with the AI silent: the caller's words are recorded for the
person, the person's words are recorded and sent, until the person hands the chat back and the
agent goes on from the transcript, without greeting again. A voice call taken over is handed to a
person at once (the channel ends the relay with the handoff); handed back, the call is on the
agent's line again (a new relay session, apps/voice) and the agent speaks first: it says the caller
is back with the assistant and asks how it can go on.

Each is recorded as any turn is (turn_record.py): a transcript line and a trace, saved in order.
"""

from apps.agent.guardrails import guard_input
from apps.agent.nlu import understand
from apps.agent.turn_record import Session
from apps.calls.models import Speaker, TraceKind
from apps.calls.services import Utterance
from apps.core.redaction import redact_text

GUIDANCE_KEPT = 5
GUIDANCE_MAX_CHARS = 500
# What a voice caller hears first when a person hands the call back (no new greeting, nothing asked again).
BACK_ON_VOICE = "Thanks for holding. You're back with the virtual assistant. How else can I help you today?"


class Supervision:
    @property
    def taken_over(self: Session) -> bool:
        return self.state.person is not None

    def guide(self: Session, text: str, by: str) -> str:
        """A supervisor's note for the agent's next turns. Returns it as kept (redacted, cut)."""
        note = redact_text(" ".join(text.split()))[:GUIDANCE_MAX_CHARS]
        state = self.state
        state.guidance = [*state.guidance, {"text": note, "by": by, "at": self.ports.clock.now().isoformat()}]
        state.guidance = state.guidance[-GUIDANCE_KEPT:]
        log = self._log(state.turn, timed=False)
        log.trace(TraceKind.SUPERVISOR, "guidance", payload={"text": note, "by": by})
        self._save(log)
        return note

    def take_over(self: Session, by: str) -> None:
        """A person takes the conversation over now. On voice that is a hand-off: the conversation
        ends here with its reason, and the channel transfers the call."""
        state = self.state
        log = self._log(state.turn, timed=False)
        state.person = {"username": by, "since": self.ports.clock.now().isoformat()}
        if state.channel == "voice":
            state.handoff = {"reason": f"taken over by {by}"}
            state.ended, state.end_reason = True, f"handoff: taken over by {by}"
        self._system_line(f"{by} took over the conversation.", log)
        log.trace(TraceKind.SUPERVISOR, "take_over", payload={"by": by})
        self._save(log)

    def person_said(self: Session, text: str, by: str) -> str:
        """The person who took the chat over wrote to the caller. Returns the words as sent."""
        said = redact_text(" ".join(text.split()))
        log = self._log(self.state.turn, timed=False)
        # In the history the agent reads after the hand-back, marked as a person's words.
        self.state.remember({"role": "assistant", "content": f"[{by}, a person on our team, wrote] {said}"})
        self._line(Speaker.HUMAN_AGENT, said, log)
        self._save(log)
        return said

    def caller_to_person(self: Session, text: str) -> str:
        """The caller wrote while a person has the chat: recorded (guarded as any caller's words),
        not answered by the agent. Returns the words as kept."""
        self.state.turn += 1
        log = self._log(self.state.turn, timed=False)
        guarded = guard_input(text)
        self._join_split_card(guarded)
        self._caller_said(guarded, understand(guarded.text, today=self.today), log)
        self._save(log)
        return guarded.text

    def hand_back(self: Session, by: str, notes: str = "") -> str:
        """The person hands the conversation back: the agent answers the caller's next words,
        knowing what was said meanwhile (the history) and the person's notes (as guidance). A voice
        call is live again: what the agent says first on its new relay session is returned (on a
        chat, nothing is said until the caller writes: "")."""
        state = self.state
        log = self._log(state.turn, timed=False)
        state.person = None
        if note := redact_text(" ".join(notes.split()))[:GUIDANCE_MAX_CHARS]:
            state.guidance = [*state.guidance, {"text": note, "by": by, "at": self.ports.clock.now().isoformat()}]
            state.guidance = state.guidance[-GUIDANCE_KEPT:]
        self._system_line(f"{by} handed the conversation back to the AI assistant.", log)
        log.trace(TraceKind.SUPERVISOR, "hand_back", payload={"by": by, "notes": note})
        said = ""
        if state.channel == "voice":  # the take-over ended it with a hand-off: it goes on
            state.handoff = None
            state.ended, state.end_reason = False, ""
            said = BACK_ON_VOICE
            self._agent_said(said, log)
        self._save(log)
        return said

    def _system_line(self: Session, text: str, log) -> None:
        self._line(Speaker.SYSTEM, text, log)

    def _line(self: Session, speaker: str, text: str, log) -> None:
        log.utterances.append(
            Utterance(sequence=self._next_sequence(), speaker=speaker, text=text, spoken_at=self.ports.clock.now())
        )
