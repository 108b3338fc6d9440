"""Supervising a live chat from the console: take it over, write to the caller as a person, hand
it back; guidance; every action audited; others refused with nothing sent."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client

from apps.calls.models import Call
from apps.core.models import AuditEvent
from tests.agent.chat import consumer_for, until
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HTMX = {"HX-Request": "true"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, call_id: int, action: str, **data) -> str:
    return client.post(f"/console/calls/{call_id}/{action}/", data, headers=HTMX).content.decode()


@pytest.fixture
def maria(db):
    return CustomerFactory(name="Maria Lopez", profile={"address": {"zip": "94607"}})


def test_a_supervisor_takes_a_chat_over_answers_and_hands_it_back(supervisor, agent, maria):
    desk = signed_in(supervisor)

    async def scenario():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        call_id = (await until(chat, "reply"))[0]["call_id"]
        await chat.send_json_to({"type": "message", "text": "My zip code is 94607"})
        await until(chat, "reply")

        panel = await database_sync_to_async(post)(desk, call_id, "take-over")
        taken = await chat.receive_json_from(timeout=5)
        await chat.send_json_to({"type": "message", "text": "Can a person help me?"})
        await database_sync_to_async(post)(desk, call_id, "say", text="Hi Maria, this is Sam. 300 on Friday works.")
        person = await chat.receive_json_from(timeout=5)  # the first thing after the caller's words
        await database_sync_to_async(post)(desk, call_id, "hand-back", notes="300 on Friday agreed; confirm it.")
        back = await chat.receive_json_from(timeout=5)
        await chat.send_json_to({"type": "message", "text": "300 on Friday"})
        answer = await until(chat, "reply")
        await chat.disconnect()
        return call_id, panel, taken, person, back, answer

    call_id, panel, taken, person, back, answer = async_to_sync(scenario)()
    assert "Write to the caller" in panel
    assert taken == {"type": "taken_over", "by": "sup"}
    assert person["type"] == "reply"
    assert (person["text"], person["by"]) == ("Hi Maria, this is Sam. 300 on Friday works.", "sup")
    assert back == {"type": "handed_back", "by": "sup"}
    assert answer[-1]["type"] == "reply"
    assert "by" not in answer[-1]
    assert "Thanks for calling" not in answer[-1]["text"]  # no new greeting
    actions = list(
        AuditEvent.objects.filter(object_id=str(call_id), object_type="calls.call")
        .order_by("id")
        .values_list("action", "actor_label")
    )
    assert actions == [("call.take_over", "sup"), ("call.hand_back", "sup")]
    assert Call.objects.get(pk=call_id).state["person"] is None


def test_only_supervisors_supervise_and_nothing_happens_otherwise(supervisor, agent, maria):
    other = UserFactory(username="sup2")
    other.groups.set(supervisor.groups.all())
    desk, second, agents = signed_in(supervisor), signed_in(other), signed_in(agent)

    async def scenario():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        call_id = (await until(chat, "reply"))[0]["call_id"]
        denied = await database_sync_to_async(agents.post)(f"/console/calls/{call_id}/take-over/")
        empty = await database_sync_to_async(post)(desk, call_id, "guide", text="   ")
        await database_sync_to_async(post)(desk, call_id, "take-over")
        await chat.receive_json_from(timeout=5)
        not_theirs = await database_sync_to_async(post)(second, call_id, "say", text="Hello")
        twice = await database_sync_to_async(post)(second, call_id, "take-over")
        nothing_more = await chat.receive_nothing(timeout=0.3)
        await chat.disconnect()
        return call_id, denied.status_code, empty, not_theirs, twice, nothing_more

    call_id, denied, empty, not_theirs, twice, nothing_more = async_to_sync(scenario)()
    assert denied == 403
    assert "Write the guidance first." in empty
    assert "sup has this chat; only they can write in it or hand it back." in not_theirs
    assert "sup has already taken this conversation over." in twice
    assert nothing_more is True
    assert list(
        AuditEvent.objects.filter(object_id=str(call_id), object_type="calls.call").values_list("action", flat=True)
    ) == ["call.take_over"]


def test_watching_a_call_is_audited_with_who_and_when(supervisor, maria):
    from tests.console.test_socket import socket_for, until_subscribed

    call = Call.objects.create(customer=maria, direction="inbound", status="in-progress")

    async def scenario():
        socket = socket_for(supervisor)
        await socket.connect()
        await socket.send_json_to({"subscribe": f"call-{call.pk}"})
        await until_subscribed(socket, f"call-{call.pk}")
        await socket.disconnect()

    async_to_sync(scenario)()
    watched = AuditEvent.objects.get(action="call.watch")
    assert (watched.actor_label, watched.object_id, watched.at is not None) == ("sup", str(call.pk), True)
