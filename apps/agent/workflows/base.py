"""How a workflow is defined: steps, their tools, the transitions code decides, and what the
offline engine does (`act`) and says (`say`) in each step; and the workflow's own rules, as hooks
the engine and the prompt call (`after_tool`, `on_system_down`, `follow_up`, `shows_record`,
`rules`).

What holds in every workflow is decided here once: an explicit goodbye closes the call from any
step (`Workflow.hear`, `Workflow.next_step`), and on the phone an offline reply fits
VOICE_WORD_LIMIT words (`Wording.fit`).

Each workflow is a package (apps/agent/workflows/<name>/) that composes these, with the steps
every workflow shares from apps/agent/workflows/shared.py. Nothing outside a workflow's package
names its steps.

A workflow's version is a hash of its whole definition: every field, the source of every
function it names, and the source of every module those functions come from (the helpers they
call included), so every call records exactly which rules it ran under.
"""

import hashlib
import inspect
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

from django.conf import settings

from apps.agent.guardrails import VOICE_WORD_LIMIT, word_count
from apps.agent.nlu import Understanding, bare_numbers
from apps.agent.state import CallFacts, ConversationState

Condition = Callable[[ConversationState], bool]
# Reads the caller's answer in a step (yes/no, goodbye) into the state: code, not the model, decides.
Listener = Callable[[ConversationState, Understanding], None]
# A tool call: its name and arguments.
Action = tuple[str, dict[str, Any]]


class Speech(Protocol):
    """Figures as the channel says them: apps.agent.offline.Speech (which imports the workflows)."""

    voice: bool  # on the phone: figures in words, and replies within VOICE_WORD_LIMIT words

    def money(self, amount: str | Decimal) -> str: ...
    def count(self, n: int) -> str: ...
    def day(self, iso: str | date) -> str: ...


@dataclass(frozen=True)
class Wording:
    """What a step's offline reply (the agent's words when no model answers) is made from."""

    state: ConversationState
    customer: Any  # the session's CustomerContext (apps.agent.prompts, which imports the workflows)
    last: dict[str, dict[str, Any]]  # this turn's tool results, by tool name
    speech: Speech
    heard: Understanding | None = None  # the caller's words this turn (none for the greeting)

    @property
    def first(self) -> str:
        return self.customer.first_name or "there"

    @property
    def asks_balance(self) -> bool:
        """The caller asked what they owe this turn."""
        return bool(self.heard and self.heard.asks_balance)

    def fit(self, *variants: str) -> str:
        """The reply from its variants, fullest first: in chat the first; on the phone the first of at
        most VOICE_WORD_LIMIT words as said (figures in words), else the last (the leanest)."""
        if not self.speech.voice:
            return variants[0]
        return next((text for text in variants if word_count(text) <= VOICE_WORD_LIMIT), variants[-1])


# A step's offline reply: a template filled only with grounded figures (see apps.agent.offline).
Say = Callable[[Wording], str]


def caller_amounts(u: Understanding, *, money: bool, today: date) -> list[Decimal]:
    """Amounts the caller said. While money is the subject (a `money` step), a bare number is an
    amount too ("300 on Friday")."""
    if u.amounts or not money:
        return list(u.amounts)
    return bare_numbers(u.text, today)


@dataclass(frozen=True)
class Heard:
    """What a step's offline act reads: the caller's words this turn, understood by code, in the
    call's state."""

    state: ConversationState
    u: Understanding
    customer: Any  # the session's CustomerContext (apps.agent.prompts, which imports the workflows)
    today: date
    money: bool  # the step's `money`: a bare number is an amount

    @property
    def amounts(self) -> list[Decimal]:
        return caller_amounts(self.u, money=self.money, today=self.today)


# The tool calls a caller's turn asks for in a step, when no model answers (see apps.agent.offline).
Act = Callable[[Heard], list[Action]]
# After a tool ran (whatever the channel): the workflow's rules on its result, e.g. a person
# takes over when identity checks run out.
AfterTool = Callable[[str, dict[str, Any], ConversationState], None]
# A tool's system did not answer: what the workflow does instead of guessing. It may move the
# call to another step; it returns the tool call to make (e.g. a call back), or None for a person.
OnSystemDown = Callable[[str, ConversationState], Action | None]
# Offline, what follows a tool's result: (tool, arguments, result) -> more tool calls.
FollowUp = Callable[[str, dict[str, Any], dict[str, Any]], list[Action]]


def no_rule(*_: Any) -> None:
    """No rule of the workflow's own: nothing follows a tool result; a system down hands off."""
    return None


def nothing_follows(name: str, arguments: dict[str, Any], result: dict[str, Any]) -> list[Action]:
    return []


def always(state: ConversationState) -> bool:
    return True


def said_goodbye(state: ConversationState) -> bool:
    return CallFacts.of(state).said_goodbye


@dataclass(frozen=True)
class Transition:
    to: str
    when: Condition
    reason: str  # a plain description, also part of the version


@dataclass(frozen=True)
class Required:
    """A tool the agent must call in this step (forced with tool_choice) once `when` holds."""

    tool: str
    when: Condition = lambda state: True
    reason: str = ""


@dataclass(frozen=True)
class Step:
    name: str
    goal: str  # one line, shown to supervisors and in the prompt
    instructions: str
    tools: tuple[str, ...] = ()
    required: tuple[Required, ...] = ()
    slots: tuple[str, ...] = ()
    confirmations: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()
    listen: Listener | None = None
    terminal: bool = False
    # What the offline engine says in this step; without it, it asks the caller to say that again.
    say: Say | None = None
    # The tool calls the offline engine makes from the caller's words in this step; none without it.
    act: Act | None = None
    # Money is the subject: a bare number the caller says is an amount ("300 on Friday").
    money: bool = False


@dataclass(frozen=True)
class Workflow:
    name: str
    description: str
    start: dict[str, str]  # direction -> first step
    steps: tuple[Step, ...]
    # What the greeting says, per direction; rendered by `greeting` with the customer's data.
    greetings: dict[str, str] = field(default_factory=dict)
    # The business rules, in plain words, for the prompt.
    rules: tuple[str, ...] = ()
    # When the customer's record (beyond their name) may be shown to the model.
    shows_record: Condition = always
    # The workflow's rules on a tool's result, after it ran (see AfterTool).
    after_tool: AfterTool = no_rule
    # When a tool's system is down (see OnSystemDown); by default a person takes over.
    on_system_down: OnSystemDown = no_rule
    # Offline, what follows a tool's result (see FollowUp).
    follow_up: FollowUp = nothing_follows
    # The terminal step an explicit goodbye leads to from any other step (see `hear`).
    closing: str = "closed"

    def __post_init__(self) -> None:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate step names")
        for step in self.steps:
            for transition in step.transitions:
                if transition.to not in names:
                    raise ValueError(f"{self.name}.{step.name}: transition to unknown step {transition.to!r}")
        for direction, first in self.start.items():
            if first not in names:
                raise ValueError(f"{self.name}: {direction} starts at unknown step {first!r}")
        if self.closing not in names or not self.step(self.closing).terminal:
            raise ValueError(f"{self.name}: closing step {self.closing!r} is not a terminal step")

    def greeting(self, direction: str, customer: Any, known_caller: str) -> str:
        """The opening line: the configured disclosure first, then what is known about the caller.
        `customer` is the session's CustomerContext; `known_caller` is what the agent would say
        next with nothing heard yet."""
        template = self.greetings.get(direction) or self.greetings["inbound"]
        first, vehicle = customer.first_name, customer.on_file.get("vehicle")
        return template.format(
            agent=settings.AGENT_NAME,
            company=settings.COMPANY_NAME,
            disclosure=settings.AGENT_DISCLOSURE,
            full_name=customer.full_name,
            known_caller=known_caller,
            vehicle_question=(
                f"Hi {first}, is this about your {vehicle}?"
                if first and vehicle
                else (f"Hi {first}, how can I help you today?" if first else known_caller)
            ),
        )

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"{self.name} has no step {name!r}")

    def hear(self, state: ConversationState, u: Understanding) -> None:
        """Read the caller's words into the state, by code: the step's listener first (so "yes,
        that's right, bye" is a yes to what was read back), then, in any step that is not terminal,
        an explicit goodbye: the call closes (`next_step`) once no required tool is pending. Words
        that also ask for something ("call me back Monday, bye") are answered first: the caller
        hears it done, and closes the call with their next goodbye."""
        step = self.step(state.step)
        if step.listen:
            step.listen(state, u)
        asks = u.wants_callback or u.wants_waiver or u.wants_settlement
        if u.farewell and not asks and not step.terminal:
            CallFacts.of(state).said_goodbye = True

    def pending_required(self, state: ConversationState) -> str | None:
        """The tool the agent must call now, if any."""
        for required in self.step(state.step).required:
            if required.when(state) and not state.called(required.tool, in_step=state.step):
                return required.tool
        return None

    def next_step(self, state: ConversationState) -> Transition | None:
        """The step's own transitions first; then, after an explicit goodbye, the closing step, once
        what the step must still do is done (a yes to the terms read back records them first)."""
        step = self.step(state.step)
        for transition in step.transitions:
            if transition.when(state):
                return transition
        if not step.terminal and said_goodbye(state) and self.pending_required(state) is None:
            return Transition(self.closing, said_goodbye, "the caller said goodbye")
        return None

    def settle(self, state: ConversationState) -> Iterator[tuple[str, Transition]]:
        """Apply the transitions code decides until none applies; yields (from step, transition)."""
        for _ in range(len(self.steps)):
            transition = self.next_step(state)
            if transition is None:
                return
            before = state.step
            state.summary.append(f"{transition.reason}, now {transition.to}")
            state.step, state.replies_in_step = transition.to, 0
            yield before, transition

    @cached_property
    def version(self) -> str:
        """A content hash of the definition (`canonical`)."""
        digest = hashlib.sha256(json.dumps(self.canonical(), sort_keys=True).encode()).hexdigest()
        return digest[:16]

    def canonical(self) -> dict[str, Any]:
        """The whole definition as plain data: every field, the source of every function in it, and
        a hash of each module those functions are defined in (so the helpers they call count)."""
        modules: set[str] = set()

        def source(fn: Callable | None) -> str | None:
            if fn is None:
                return None
            if module := getattr(fn, "__module__", None):
                modules.add(module)
            try:
                return inspect.getsource(fn).strip()
            except (OSError, TypeError):
                return repr(fn)

        canonical: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "start": self.start,
            "greetings": self.greetings,
            "rules": list(self.rules),
            "shows_record": source(self.shows_record),
            "after_tool": source(self.after_tool),
            "on_system_down": source(self.on_system_down),
            "follow_up": source(self.follow_up),
            "closing": [self.closing, source(said_goodbye), source(Workflow.hear), source(Workflow.next_step)],
            "steps": [
                {
                    "name": s.name,
                    "goal": s.goal,
                    "instructions": s.instructions,
                    "tools": s.tools,
                    "required": [(r.tool, r.reason, source(r.when)) for r in s.required],
                    "slots": s.slots,
                    "confirmations": s.confirmations,
                    "transitions": [(t.to, t.reason, source(t.when)) for t in s.transitions],
                    "listen": source(s.listen),
                    "terminal": s.terminal,
                    "say": source(s.say),
                    "act": source(s.act),
                    "money": s.money,
                }
                for s in self.steps
            ],
        }
        canonical["modules"] = {name: _module_source(name) for name in sorted(modules)}
        return canonical


def _module_source(name: str) -> str:
    module = sys.modules.get(name)
    try:
        return hashlib.sha256(inspect.getsource(module).encode()).hexdigest() if module else name
    except (OSError, TypeError):
        return name
