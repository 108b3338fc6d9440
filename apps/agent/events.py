"""What the engine tells a channel adapter, in order, during a turn."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Token:
    """Part of the agent's reply, as soon as it may be said."""

    text: str


@dataclass(frozen=True)
class ReplyEnd:
    """The reply is complete: what was said, in full."""

    text: str


@dataclass(frozen=True)
class Handoff:
    """Transfer the caller to a person; the channel performs it."""

    reason: str
    summary: str


@dataclass(frozen=True)
class Ended:
    """The conversation is over."""

    reason: str


Event = Token | ReplyEnd | Handoff | Ended
