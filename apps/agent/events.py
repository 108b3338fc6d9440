"""What the engine tells a channel adapter, in order, during a turn."""

import asyncio
from collections.abc import AsyncIterator
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


async def coalesced(events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """`events`, with the tokens that arrived together joined into one, so that a channel sends one
    message for a burst of words rather than one per word (a model often streams many chunks in one
    network read). The first words of a reply go on at once; after them, the tokens that come in
    before `events` next waits (on the model) are joined. Other events keep their place.

    `events` is read in a task of its own. Closing or cancelling this generator cancels that task
    and waits for it to stop, so a turn cut short has saved what it said before this returns."""
    ready: list[Event] = []
    arrived = asyncio.Event()
    finished = False

    async def read() -> None:
        nonlocal finished
        speaking = False
        try:
            async for event in events:
                ready.append(event)
                arrived.set()
                if isinstance(event, Token) and not speaking:
                    await asyncio.sleep(0)  # a reply's first words: the channel sends them now
                speaking = isinstance(event, Token)
        finally:
            finished = True
            arrived.set()

    reader = asyncio.create_task(read())
    try:
        while not (finished and not ready):
            await arrived.wait()
            arrived.clear()
            batch = ready[:]
            ready.clear()
            for event in _joined(batch):
                yield event
        reader.result()  # what the events ended with: an error is the caller's
    finally:
        reader.cancel()
        await asyncio.wait({reader})


def _joined(batch: list[Event]) -> list[Event]:
    joined: list[Event] = []
    for event in batch:
        if isinstance(event, Token) and joined and isinstance(joined[-1], Token):
            joined[-1] = Token(joined[-1].text + event.text)
        else:
            joined.append(event)
    return joined
