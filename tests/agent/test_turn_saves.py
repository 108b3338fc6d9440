"""No lost turn: a save the database refuses is retried; the next prompt is answered only on
stored state; when the database stays unreachable the caller is handed to a person."""

import asyncio
import logging
import threading

import pytest
from asgiref.sync import async_to_sync

from apps.agent.engine import Handoff, ReplyEnd
from apps.calls.models import Call, TranscriptEntry
from apps.promises.models import Promise
from tests.agent.test_system_down import TableLock

pytestmark = pytest.mark.postgres


class Seen(logging.Handler):
    """Sets an event when a log message containing `text` is emitted (from any thread)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.event = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


@pytest.fixture
def seen():
    handlers = []

    def watch(text: str) -> threading.Event:
        handler = Seen(text)
        logging.getLogger("apps.agent.engine").addHandler(handler)
        handlers.append(handler)
        return handler.event

    yield watch
    for handler in handlers:
        logging.getLogger("apps.agent.engine").removeHandler(handler)


@pytest.fixture(autouse=True)
def quick_database_timeout(settings):
    settings.AGENT_TOOL_DB_TIMEOUT = 0.3  # a blocked statement fails after this: then the save is retried


def transcript(call_id: int) -> list[tuple[int, str, str]]:
    return list(
        TranscriptEntry.objects.filter(call_id=call_id).order_by("sequence").values_list("sequence", "speaker", "text")
    )


async def turn(session, text: str) -> list:
    return [event async for event in session.reply(text)]


def test_a_save_blocked_mid_call_is_retried_and_every_turn_is_stored_once(maria, converse, seen, settings):
    settings.AGENT_SAVE_RETRY_S = 30.0
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    session = c.session
    retrying = seen("save failed")

    async def scenario():
        with TableLock("calls_transcriptentry", mode="EXCLUSIVE"):  # reads go on; writes wait
            balance = await turn(session, "My zip code is 94607")
            # The turn's save failed at least once and is being retried: only now is the table freed.
            assert await asyncio.to_thread(retrying.wait, 10)
        terms = await turn(session, "I can pay 300 dollars on Friday")
        done = await turn(session, "Yes")
        await session.flush()
        return balance, terms, done

    balance, terms, done = async_to_sync(scenario)()

    said = [e.text for events in (balance, terms, done) for e in events if isinstance(e, ReplyEnd)]
    assert said[0].startswith("Thanks, Maria. Your balance is $1,250.50")
    assert said[2].startswith("You're all set, Maria")
    assert [(s, who) for s, who, _ in transcript(session.call_id)] == [
        (0, "agent"),
        (1, "customer"),
        (2, "agent"),
        (3, "customer"),
        (4, "agent"),
        (5, "customer"),
        (6, "agent"),
    ]
    assert [t for _, _, t in transcript(session.call_id)][1::2] == [
        "My zip code is 94607",
        "I can pay 300 dollars on Friday",
        "Yes",
    ]
    assert Promise.objects.get(customer=maria).amount == 300
    assert Call.objects.get(pk=session.call_id).state["turn"] == 3


def test_when_the_database_stays_unreachable_the_caller_is_handed_off_with_what_is_known(
    maria, converse, seen, settings
):
    settings.AGENT_SAVE_RETRY_S = 0.5
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    session = c.session
    gave_up = seen("could not save call")

    async def scenario():
        with TableLock("calls_transcriptentry", mode="EXCLUSIVE"):
            await turn(session, "My zip code is 94607")
            assert await asyncio.to_thread(gave_up.wait, 10)
            after = await turn(session, "I can pay 300 dollars on Friday")
        await session.flush()  # the channel lets go: one more try, and the database answers again
        return after

    after = async_to_sync(scenario)()

    assert [e.text for e in after if isinstance(e, ReplyEnd)] == [
        "I'm handing this conversation to a specialist, who will continue with you here."
    ]
    handoff = next(e for e in after if isinstance(e, Handoff))
    assert handoff.reason == "the conversation could not be saved"
    assert handoff.summary == (
        "collections call, step account_review; caller Maria Lopez; the account was found, now verify_identity; "
        "identity verified, now account_review"
    )
    assert not Promise.objects.exists()  # nothing was agreed on state that was not stored
    # What the database refused was kept and stored once it answered: nothing lost, nothing twice.
    assert [(s, who) for s, who, _ in transcript(session.call_id)] == [
        (0, "agent"),
        (1, "customer"),
        (2, "agent"),
        (3, "customer"),
        (4, "agent"),
    ]
    call = Call.objects.get(pk=session.call_id)
    assert call.handoff_reason == "the conversation could not be saved"


def test_a_save_the_database_refuses_for_good_never_blocks_the_rest_and_the_caller_goes_to_a_person(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    # Another writer took the sequence number this turn's words will get.
    TranscriptEntry.objects.create(call_id=c.session.call_id, sequence=1, speaker="customer", text="someone else")

    c.say("My zip code is 94607")  # its save is refused by the (call, sequence) constraint
    after = c.say("I can pay 300 dollars on Friday")

    assert after == "I'm handing this conversation to a specialist, who will continue with you here."
    assert c.handoff.reason == "the conversation could not be saved"
    assert not Promise.objects.exists()
    # The refused turn is not retried forever: the hand-off behind it was stored.
    assert [(s, who, t) for s, who, t in transcript(c.session.call_id)][:2] == [
        (0, "agent", c.greeting),
        (1, "customer", "someone else"),
    ]
    assert [who for _, who, _ in transcript(c.session.call_id)][2:] == ["customer", "agent"]
    assert Call.objects.get(pk=c.session.call_id).handoff_reason == "the conversation could not be saved"
