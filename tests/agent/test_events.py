"""A channel sends a burst of words as one message (apps.agent.events.coalesced): the first word of
a burst at once, the rest joined, every other event in its place, and a turn cut short still
cleans up before the channel goes on."""

import asyncio

import pytest

from apps.agent.events import Ended, ReplyEnd, Token, coalesced


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=5))  # a hang fails, it does not wait


async def read_all(events) -> list:
    return [event async for event in coalesced(events)]


def test_words_that_arrive_together_go_out_as_the_first_then_the_rest():
    async def burst():
        for word in ["You ", "owe ", "$120.", " Anything ", "else?"]:
            yield Token(word)
        yield ReplyEnd("You owe $120. Anything else?")
        yield Ended("done")

    assert run(read_all(burst())) == [
        Token("You "),
        Token("owe $120. Anything else?"),
        ReplyEnd("You owe $120. Anything else?"),
        Ended("done"),
    ]


def test_the_first_word_goes_out_before_the_next_arrives():
    async def scenario() -> list:
        next_word = asyncio.Event()

        async def paced():
            yield Token("Hello")
            await next_word.wait()  # the model's next chunk: only once "Hello" is out
            yield Token(" there")
            yield Token(".")
            yield ReplyEnd("Hello there.")

        received = []
        async for event in coalesced(paced()):
            received.append(event)
            next_word.set()
        return received

    assert run(scenario()) == [Token("Hello"), Token(" there."), ReplyEnd("Hello there.")]


def test_a_turn_cut_short_has_cleaned_up_when_the_channel_goes_on():
    async def scenario() -> tuple[list, list]:
        cleaned, received = [], []
        started = asyncio.Event()

        async def reply():
            try:
                yield Token("Let me ")
                started.set()
                await asyncio.Event().wait()  # the model, still thinking
                yield Token("never said")
            finally:
                await asyncio.sleep(0)  # saving what was said takes a moment
                cleaned.append("saved")

        async def speak():
            async for event in coalesced(reply()):
                received.append(event)

        turn = asyncio.create_task(speak())
        await started.wait()
        turn.cancel()  # the caller spoke again
        await asyncio.gather(turn, return_exceptions=True)
        return received, cleaned

    assert run(scenario()) == ([Token("Let me ")], ["saved"])


def test_an_error_reaches_the_channel_after_what_came_before_it():
    received = []

    async def failing():
        yield Token("One ")
        yield Token("two")
        raise RuntimeError("the session broke")

    async def scenario():
        async for event in coalesced(failing()):
            received.append(event)

    with pytest.raises(RuntimeError, match="the session broke"):
        run(scenario())
    assert received == [Token("One "), Token("two")]
