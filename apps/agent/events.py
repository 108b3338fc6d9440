"""What the engine tells a channel adapter, in order, during a turn."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
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


async def spoken(events: AsyncIterator[Event], say: Callable[[str], Awaitable[None]]) -> AsyncIterator[Event]:
    """Say the reply's tokens through `say` as they come, and yield every other event, in order,
    once the words before it are said. A reply's first words are said at once, in the same step
    that produced them; the words that come in a burst behind them (a model often streams many
    chunks in one network read) are said together as soon as `events` waits on the model again,
    so a channel sends a few messages per reply rather than one per word."""
    pending: list[str] = []
    behind: asyncio.Task | None = None  # says what is pending once `events` waits

    async def say_pending() -> None:
        while pending:  # more may come in while `say` waits
            text = "".join(pending)
            pending.clear()
            await say(text)

    async def settle() -> None:
        """Say everything pending, in order."""
        nonlocal behind
        if behind is not None:
            await behind
            behind = None
        await say_pending()

    speaking = False  # the event before was a token
    try:
        try:
            async for event in events:
                if not isinstance(event, Token):
                    speaking = False
                    await settle()
                    yield event
                elif not speaking:
                    speaking = True
                    await say(event.text)
                else:
                    pending.append(event.text)
                    if behind is None or behind.done():
                        if behind is not None:
                            behind.result()  # a send that failed is the channel's error
                        behind = asyncio.create_task(say_pending())
        except Exception:
            await settle()  # what was said before the failure still reaches the caller
            raise
        await settle()
    finally:
        if behind is not None and not behind.done():
            behind.cancel()  # the turn was cut short: its unsent words are moot
