from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from asgiref.sync import async_to_sync

from apps.agent.engine import AgentSession, Ended, Handoff, ReplyEnd, Token
from tests.factories import CustomerFactory, TechnicianFactory

# Saturday, November 21, 2026, 9:00 in Oakland: "Friday" is November 27.
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def live_db(transactional_db, django_db_serialized_rollback):
    """Real transactions: the engine's database hops (channels' database_sync_to_async) close the
    connection around each call, as production needs, which a wrapping test transaction can't survive."""


@pytest.fixture
def maria(live_db):
    return CustomerFactory(
        name="Maria Lopez",
        phone="+14155550123",
        account_number="ACC0040042",
        timezone="America/Los_Angeles",
        balance=Decimal("1250.50"),
        days_overdue=45,
        profile={
            "vehicle": {"make": "Honda", "model": "Civic", "year": 2019, "color": "silver"},
            "address": {"street": "1 Broadway", "city": "Oakland", "state": "CA", "zip": "94607"},
            "date_of_birth": "1985-03-05",
        },
    )


@pytest.fixture
def technicians(live_db):
    return [
        TechnicianFactory(name="Sam Ortiz", latitude=Decimal("37.7749"), longitude=Decimal("-122.4194"),
                          specializations=["battery", "tire"], availability="available"),
        TechnicianFactory(name="Lee Park", latitude=Decimal("37.8044"), longitude=Decimal("-122.2712"),
                          specializations=["towing"], availability="available"),
    ]  # fmt: skip


class Conversation:
    """Drives an AgentSession synchronously, the way a channel adapter would."""

    def __init__(self, **start) -> None:
        self.session: AgentSession = async_to_sync(AgentSession.start)(**start)
        self.events: list = []
        self.greeting = self._collect(self.session.greet())

    def say(self, text: str) -> str:
        return self._collect(self.session.reply(text))

    def _collect(self, events) -> str:
        async def run():
            got = [event async for event in events]
            await self.session.flush()  # what the tests read next is in the database
            return got

        got = async_to_sync(run)()
        self.events += got
        replies = [e.text for e in got if isinstance(e, ReplyEnd)]
        return replies[-1] if replies else ""

    @property
    def tokens(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, Token))

    @property
    def handoff(self) -> Handoff | None:
        return next((e for e in self.events if isinstance(e, Handoff)), None)

    @property
    def ended(self) -> Ended | None:
        return next((e for e in self.events if isinstance(e, Ended)), None)


@pytest.fixture
def converse():
    return Conversation
