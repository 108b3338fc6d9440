"""The conversation's state: everything needed to resume a call, saved to Call.state after every turn.

Its `facts` are stored as a plain dict (the JSON a call resumes from); code reads and writes them
through typed views (`CallFacts` here, each workflow's own in its package), so that a key is
spelled, typed and documented once.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, NotRequired, Self, TypedDict, TypeVar, overload

# How many messages of recent history go into a prompt; older turns live on as summary notes.
RECENT_MESSAGES = 12

# Handoff reasons that the live monitor flags (apps/agent/monitor.py).
CALLER_ASKED_FOR_PERSON = "the caller asked for a person"
REPEATED_MISUNDERSTANDING = "repeated misunderstanding"

T = TypeVar("T")


@dataclass
class ConversationState:
    workflow: str
    version: str
    step: str
    channel: str  # "voice" or "web_chat"
    direction: str  # "inbound" or "outbound"
    # What the conversation has established: tool results, verified identity, the agreed plan...
    facts: dict[str, Any] = field(default_factory=dict)
    slots: dict[str, Any] = field(default_factory=dict)
    confirmations: dict[str, bool] = field(default_factory=dict)
    # Figures the agent may state: from the record, tool results and the caller's own words.
    grounded: list[str] = field(default_factory=list)
    # Successful tool calls: {"name", "step", "args_key", "result"}; repeats return the stored result.
    tool_log: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    turn: int = 0
    replies_in_step: int = 0
    transcript_sequence: int = 0
    # The agent's reply an interruption would cut: the latest one, until the caller speaks again.
    last_reply_sequence: int | None = None
    misunderstandings: int = 0
    # Guardrails that refused or caught something (an injection, a skipped tool...): the monitor's flag.
    guardrail_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: str = "0"
    handoff: dict[str, str] | None = None
    ended: bool = False
    end_reason: str = ""
    # A test conversation (Call.is_test) and the staff member behind it, {"id", "username"}: its
    # side effects are recorded, not done, and the audit trail names that person.
    test: bool = False
    started_by: dict[str, Any] = field(default_factory=dict)
    # Supervisors' guidance for the agent ({"text", "by", "at"}, the last five): in every later
    # prompt as guidance, never as the caller's words (supervision.py).
    guidance: list[dict[str, str]] = field(default_factory=list)
    # The person who took this chat over ({"username", "since"}): while set, the AI stays silent.
    person: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        # Shallow: the values are already plain JSON (dataclasses.asdict's deep copy is slow, and
        # this runs after every turn).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConversationState":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    # --- facts and tools ---------------------------------------------------------------------

    def called(self, tool: str, *, in_step: str | None = None) -> bool:
        return any(entry["name"] == tool and (in_step is None or entry["step"] == in_step) for entry in self.tool_log)

    def previous_result(self, tool: str, args_key: str) -> dict[str, Any] | None:
        for entry in reversed(self.tool_log):
            if entry["name"] == tool and entry["args_key"] == args_key:
                return entry["result"]
        return None

    def ground(self, *figures: str) -> None:
        for figure in figures:
            if figure and figure not in self.grounded:
                self.grounded.append(figure)

    # --- history -----------------------------------------------------------------------------

    def remember(self, message: dict[str, Any]) -> None:
        """Append to the history; older turns are folded into the summary at user-message boundaries."""
        self.history.append(message)
        if len(self.history) <= RECENT_MESSAGES:
            return
        # Cut at a caller message so tool calls stay next to their results.
        cut = next(
            (
                i
                for i in range(len(self.history) - RECENT_MESSAGES, len(self.history))
                if self.history[i]["role"] == "user"
            ),
            None,
        )
        if cut:
            for old in self.history[:cut]:
                if old["role"] in ("user", "assistant") and old.get("content"):
                    speaker = "Caller" if old["role"] == "user" else "Agent"
                    self.summary.append(f"{speaker}: {old['content'][:160]}")
            self.summary = self.summary[-12:]
            self.history = self.history[cut:]


# --- typed facts -----------------------------------------------------------------------------


class Fact(Generic[T]):
    """One key of `ConversationState.facts`, typed. Read: the stored value, or the default when the
    key is absent (a fresh one each time, from `factory`: reading never writes). Write: stored as
    is (plain JSON). Delete: the key is removed, as if never set."""

    def __init__(self, default: T | None = None, *, factory: Callable[[], T] | None = None) -> None:
        self.default, self.factory = default, factory
        self.key = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    @overload
    def __get__(self, view: None, owner: type) -> "Fact[T]": ...
    @overload
    def __get__(self, view: "Facts", owner: type) -> T: ...
    def __get__(self, view: "Facts | None", owner: type) -> "T | Fact[T]":
        if view is None:
            return self
        if self.key in view.store:
            return view.store[self.key]
        return self.factory() if self.factory is not None else self.default  # type: ignore[return-value]

    def __set__(self, view: "Facts", value: T) -> None:
        view.store[self.key] = value

    def __delete__(self, view: "Facts") -> None:
        view.store.pop(self.key, None)


class Facts:
    """A typed view of a conversation's facts: the same dict, named keys. Subclasses declare `Fact`s."""

    __slots__ = ("store",)

    def __init__(self, store: dict[str, Any]) -> None:
        self.store = store

    @classmethod
    def of(cls, state: "ConversationState") -> Self:
        return cls(state.facts)

    def has(self, fact: "Fact[Any]") -> bool:
        """Whether the fact was ever set (some steps tell "not yet asked" from "said no")."""
        return fact.key in self.store


class Callback(TypedDict):
    followup_id: int | None
    day: str  # ISO date, the customer's
    at: NotRequired[str]  # HH:MM, the customer's time


class CallerLine(TypedDict):
    sequence: int
    text: str


class Rejoined(TypedDict):
    attempt: int
    text: str


class CallFacts(Facts):
    """What any conversation establishes, whatever its workflow."""

    __slots__ = ()

    # Who is calling: from caller ID, or found by find_account.
    customer_id: Fact[int | None] = Fact()
    # The vehicle on the customer's record, as said ("2019 silver Honda Civic").
    vehicle_on_file: Fact[str | None] = Fact()
    # Identity: checks made so far, and the method that matched (None until one did).
    identity_attempts: Fact[int] = Fact(0)
    identity_verified: Fact[str | None] = Fact()
    # Everything the caller said (redacted, the last 4000 characters), and the amounts and ISO
    # dates among it: what a tool may take as the caller's own words.
    caller_text: Fact[str] = Fact("")
    caller_amounts: Fact[list[str]] = Fact(factory=list)
    caller_dates: Fact[list[str]] = Fact(factory=list)
    # The caller's latest line, kept until the next one (it may finish a card number this began).
    last_caller: Fact[CallerLine | None] = Fact()
    # The caller's words flagged as a prompt injection (the last five), carried to any approval.
    injection_words: Fact[list[str]] = Fact(factory=list)
    # The tool whose system did not answer, if one did not.
    system_down: Fact[str | None] = Fact()
    # A call back scheduled in this call.
    callback: Fact[Callback | None] = Fact()
    # The caller said goodbye (or a plain no to "anything else?").
    caller_done: Fact[bool] = Fact(False)
    # The caller said an explicit goodbye ("bye", "take care"), in whatever step: the call closes.
    said_goodbye: Fact[bool] = Fact(False)
    # What the agent said on rejoining after the channel lost the caller, per attempt.
    rejoined: Fact[Rejoined | None] = Fact()
    # A test call's side effects: what it would have done to real records.
    test_effects: Fact[list[dict[str, Any]]] = Fact(factory=list)
