"""How a workflow is defined: steps, their tools, the transitions code decides, and what the
offline engine says in each step.

A workflow's version is a hash of its whole definition, transition and wording code included, so
every call records exactly which rules it ran under.
"""

import hashlib
import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

from django.conf import settings

from apps.agent.state import ConversationState

Condition = Callable[[ConversationState], bool]
# Reads the caller's answer in a step (yes/no, goodbye) into the state: code, not the model, decides.
Listener = Callable[[ConversationState, Any], None]


class Speech(Protocol):
    """Figures as the channel says them: apps.agent.offline.Speech (which imports the workflows)."""

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

    @property
    def first(self) -> str:
        return self.customer.first_name or "there"


# A step's offline reply: a template filled only with grounded figures (see apps.agent.offline).
Say = Callable[[Wording], str]


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


@dataclass(frozen=True)
class Workflow:
    name: str
    description: str
    start: dict[str, str]  # direction -> first step
    steps: tuple[Step, ...]
    # What the greeting says, per direction; rendered by `greeting` with the customer's data.
    greetings: dict[str, str] = field(default_factory=dict)
    # When a tool's system is down: "callback" (schedule one, then wrap up) or "handoff" (a person now).
    on_system_down: str = "handoff"

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

    def pending_required(self, state: ConversationState) -> str | None:
        """The tool the agent must call now, if any."""
        for required in self.step(state.step).required:
            if required.when(state) and not state.called(required.tool, in_step=state.step):
                return required.tool
        return None

    def next_step(self, state: ConversationState) -> Transition | None:
        for transition in self.step(state.step).transitions:
            if transition.when(state):
                return transition
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
        """A content hash of the definition, including the source of every condition."""

        def source(fn: Callable) -> str:
            try:
                return inspect.getsource(fn).strip()
            except (OSError, TypeError):
                return repr(fn)

        canonical = {
            "name": self.name,
            "start": self.start,
            "greetings": self.greetings,
            "on_system_down": self.on_system_down,
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
                    "listen": source(s.listen) if s.listen else None,
                    "terminal": s.terminal,
                    "say": source(s.say) if s.say else None,
                }
                for s in self.steps
            ],
        }
        digest = hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
        return digest[:16]
