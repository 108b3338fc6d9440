"""The conversation's state: everything needed to resume a call, saved to Call.state after every turn."""

from dataclasses import dataclass, field
from typing import Any

# How many messages of recent history go into a prompt; older turns live on as summary notes.
RECENT_MESSAGES = 12


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

    def to_dict(self) -> dict[str, Any]:
        # Shallow: the values are already plain JSON (dataclasses.asdict's deep copy is slow, and
        # this runs after every turn).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ConversationState":
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    # --- facts and tools ---------------------------------------------------------------------

    def fact(self, name: str, default: Any = None) -> Any:
        return self.facts.get(name, default)

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
