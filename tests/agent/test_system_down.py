"""When a tool's system does not answer, the agent says so and never guesses: collections schedules a
call back (or hands off when that fails too); roadside hands the driver to a person at once."""

import psycopg
import pytest
from django.db import connection

from apps.agent.engine import Token
from apps.calls.models import Call, TraceEvent, TraceKind
from apps.dispatch.models import Dispatch
from apps.outreach.models import FollowUp

pytestmark = pytest.mark.postgres


class TableLock:
    """Another session holding an exclusive lock on a table: to the agent, that system is down."""

    def __init__(self, table: str, mode: str = "ACCESS EXCLUSIVE") -> None:
        db = connection.settings_dict
        self.conn = psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"])
        self.table, self.mode = table, mode

    def __enter__(self) -> "TableLock":
        self.conn.execute(f"LOCK TABLE {self.table} IN {self.mode} MODE")  # held until __exit__
        return self

    def __exit__(self, *exc) -> None:
        self.conn.rollback()
        self.conn.close()


def tool_results(call_id: int) -> list[tuple[str, str]]:
    events = TraceEvent.objects.filter(call_id=call_id, kind=TraceKind.TOOL_CALL).order_by("at", "id")
    return [(event.name, event.payload["result"]["status"]) for event in events]


@pytest.fixture(autouse=True)
def quick_timeout(settings):
    settings.AGENT_TOOL_DB_TIMEOUT = 0.3


def test_an_unreachable_account_system_leads_to_a_callback_not_a_guess(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    with TableLock("promises_payment"):  # the account lookup reads the payments
        reply = c.say("My zip code is 94607")
    assert reply == (
        "I'm sorry, I can't reach our account system right now, so I've scheduled a call back for Sunday, "
        "November 22. Is there anything else I can help with?"
    )
    assert "$" not in c.tokens  # no balance was invented
    assert tool_results(c.session.call_id) == [
        ("verify_identity", "ok"),
        ("lookup_account", "unavailable"),
        ("schedule_callback", "ok"),
    ]
    followup = FollowUp.objects.get()
    assert (followup.customer, followup.requested_by_customer) == (maria, True)
    assert followup.reason == "Call back: lookup_account was unavailable during the call."
    assert c.session.state.step == "wrap_up"


def test_when_the_callback_cannot_be_scheduled_either_a_person_takes_over(maria, converse):
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    with TableLock("promises_promise"):  # the lookup and the follow-up (its promise key) both need it
        reply = c.say("My zip code is 94607")
    assert reply == "I'm sorry, I can't reach our systems right now. I'm handing this conversation to a specialist."
    assert c.handoff.reason == "lookup_account unavailable"
    assert tool_results(c.session.call_id)[1:] == [
        ("lookup_account", "unavailable"),
        ("schedule_callback", "unavailable"),
    ]
    assert not FollowUp.objects.exists()
    assert Call.objects.get(pk=c.session.call_id).handoff_reason == "lookup_account unavailable"


def test_roadside_hands_a_stranded_driver_to_a_person_when_dispatch_is_down(maria, technicians, converse):
    c = converse(workflow="roadside", channel="voice", direction="inbound", customer_id=maria.pk)
    c.say("Yes")
    read_back = c.say("I'm on I-880 near the Coliseum exit in Oakland and my battery is dead")
    assert (
        read_back == "Let me confirm: I-880 near the Coliseum exit in Oakland, with a battery problem. Is that right?"
    )
    with TableLock("dispatch_technician"):  # the yes to the read-back dispatches: the system is down
        reply = c.say("Yes, that's right")
    assert reply == "I'm sorry, I can't reach our systems right now. Let me connect you with a specialist who can help."
    assert c.handoff.reason == "dispatch_technician unavailable"
    assert not Dispatch.objects.exists()
    assert "minutes" not in c.tokens  # no ETA was invented


def test_a_tool_slower_than_the_turns_budget_is_covered_by_a_holding_phrase(maria, converse, settings):
    settings.AGENT_TOOL_DB_TIMEOUT = 2.0  # the lookup waits on the lock past the 1.2 s budget
    c = converse(workflow="collections", channel="web_chat", direction="inbound", customer_id=maria.pk)
    with TableLock("promises_payment"):
        reply = c.say("My zip code is 94607")
    tokens = [e.text for e in c.events if isinstance(e, Token)]
    assert tokens[-2:] == [
        "One moment while I check that. ",
        "I'm sorry, I can't reach our account system right now, so I've scheduled a call back for Sunday, "
        "November 22. Is there anything else I can help with?",
    ]
    assert reply == "".join(tokens[-2:])  # the transcript holds all the caller heard
    turn = TraceEvent.objects.filter(call_id=c.session.call_id, kind=TraceKind.TURN).last()
    assert (turn.payload["mode"], turn.payload["held"]) == ("offline", True)
    assert 1150 < turn.payload["first_token_ms"] < 1500
