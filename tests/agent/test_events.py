"""A channel says a burst of words as one message (apps.agent.events.spoken): a reply's first words
at once, the words behind them joined, every other event after the words before it, and a turn
cut short still cleans up before the channel goes on."""

import asyncio

import pytest

from apps.agent.events import Ended, ReplyEnd, Token, spoken


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, timeout=5))  # a hang fails, it does not wait


async def relayed(events, on_said=None) -> list:
    """What a channel sends, in order: the texts said, and the other events."""
    sent: list = []

    async def say(text: str) -> None:
        sent.append(text)
        if on_said:
            on_said(text)

    async for event in spoken(events, say):
        sent.append(event)
    return sent


def test_words_that_arrive_together_are_said_as_the_first_then_the_rest():
    async def burst():
        for word in ["You ", "owe ", "$120.", " Anything ", "else?"]:
            yield Token(word)
        yield ReplyEnd("You owe $120. Anything else?")
        yield Ended("done")

    assert run(relayed(burst())) == [
        "You ",
        "owe $120. Anything else?",
        ReplyEnd("You owe $120. Anything else?"),
        Ended("done"),
    ]


def test_the_first_words_are_said_in_the_step_that_produced_them():
    async def scenario() -> tuple[list, list]:
        steps: list = []  # whether "Hello" was said before the source went on, without a pause

        async def source():
            yield Token("Hello")
            steps.append("went on")  # no await between: "Hello" must already be out
            yield Token(" there")
            yield ReplyEnd("Hello there")

        sent = await relayed(source(), on_said=lambda text: steps.append(f"said {text!r}"))
        return sent, steps

    sent, steps = run(scenario())
    assert sent == ["Hello", " there", ReplyEnd("Hello there")]
    assert steps == ["said 'Hello'", "went on", "said ' there'"]


def test_words_behind_the_first_are_said_when_the_model_is_waited_on():
    async def scenario() -> list:
        next_chunk = asyncio.Event()

        async def paced():
            yield Token("One")
            yield Token(" two")
            await next_chunk.wait()  # the model: its next chunk comes only once " two" is out
            yield Token(" three")
            yield Token(".")
            yield ReplyEnd("One two three.")

        def on_said(text: str) -> None:
            if text == " two":
                next_chunk.set()

        return await relayed(paced(), on_said=on_said)

    assert run(scenario()) == ["One", " two", " three.", ReplyEnd("One two three.")]


def test_a_turn_cut_short_has_cleaned_up_when_the_channel_goes_on():
    async def scenario() -> tuple[list, list]:
        cleaned, sent = [], []
        started = asyncio.Event()

        async def reply():
            try:
                yield Token("Let me ")
                yield Token("check")
                started.set()
                await asyncio.Event().wait()  # the model, still thinking
                yield Token("never said")
            finally:
                await asyncio.sleep(0)  # saving what was said takes a moment
                cleaned.append("saved")

        async def say(text: str) -> None:
            sent.append(text)

        async def speak():
            async for event in spoken(reply(), say):
                sent.append(event)

        turn = asyncio.create_task(speak())
        await started.wait()
        turn.cancel()  # the caller spoke again
        await asyncio.gather(turn, return_exceptions=True)
        return sent, cleaned

    assert run(scenario()) == (["Let me ", "check"], ["saved"])


def test_an_error_reaches_the_channel_after_the_words_before_it():
    sent: list = []

    async def failing():
        yield Token("One ")
        yield Token("two")
        raise RuntimeError("the session broke")

    async def say(text: str) -> None:
        sent.append(text)

    async def scenario():
        async for event in spoken(failing(), say):
            sent.append(event)

    with pytest.raises(RuntimeError, match="the session broke"):
        run(scenario())
    assert sent == ["One ", "two"]
