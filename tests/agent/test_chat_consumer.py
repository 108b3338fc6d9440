"""The web chat channel (`WS /ws/chat/`): the same engine, for signed-in console users only."""

import logging
import socket

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client, override_settings

from apps.calls.models import Call, TranscriptEntry
from apps.promises.models import Promise
from contactcenter.asgi import application
from tests.agent.chat import consumer_for, run, until, verified_chat

# Real transactions (see tests/agent/conftest.py); the roles come back after each flush.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_anonymous_visitors_are_refused():
    async def scenario():
        return await consumer_for(AnonymousUser()).connect()

    assert run(scenario) == (False, 4401)
    assert not Call.objects.exists()


def test_managers_without_the_console_are_refused(manager):
    async def scenario():
        return await consumer_for(manager).connect()

    assert run(scenario) == (False, 4403)


def test_an_agent_chats_through_a_collections_call(agent, maria):
    async def scenario():
        chat = consumer_for(agent)
        assert (await chat.connect())[0]
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        started, *greeting = await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "My zip code is 94607"})
        balance = await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "300 on Friday"})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "yes"})
        confirmed = await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "no thanks, bye"})
        goodbye = await until(chat, "ended")
        await chat.disconnect()
        return started, greeting, balance, confirmed, goodbye

    started, greeting, balance, confirmed, goodbye = run(scenario)
    call = Call.objects.get()
    assert started == {
        "type": "started",
        "call_id": call.pk,
        "workflow": "collections",
        "version": call.workflow_version,
        "step": "verify_identity",
        "test": True,
    }
    assert greeting[-1]["text"].startswith("Thanks for calling Northwind Auto Finance.")
    assert balance[-1] == {
        "type": "reply",
        "text": "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. Can you pay that in full, "
        "or would you like a payment plan?",
        "step": "account_review",
    }
    assert "".join(m["text"] for m in balance if m["type"] == "token") == balance[-1]["text"]
    assert [m["type"] for m in goodbye[-2:]] == ["reply", "ended"]
    # A staff member's chat is a test call: the promise is shown, and not recorded.
    effect = {"type": "test_effect", "action": "promise_record", "amount": "300.00", "due_date": "2026-11-27"}
    assert [m for m in confirmed if m["type"] == "test_effect"] == [{**effect, "method": None}]
    assert not Promise.objects.exists()
    assert (call.channel, call.status, call.reason) == ("web_chat", "completed", "Web chat test by agt")
    assert (call.is_test, call.started_by) == (True, agent)
    assert TranscriptEntry.objects.filter(call=call).count() == 9


def test_a_chat_resumes_on_a_new_socket(agent, maria):
    call_id = async_to_sync(verified_chat)(agent, maria.pk)

    async def second():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "resume", "call_id": call_id})
        resumed = await chat.receive_json_from(timeout=5)
        await chat.send_json_to({"type": "message", "text": "I can pay it all on Friday"})
        reply = (await until(chat, "reply"))[-1]
        await chat.disconnect()
        return resumed, reply

    resumed, reply = run(second)
    assert (resumed["type"], resumed["step"]) == ("started", "account_review")
    assert reply["text"] == "So that's $1,250.50, your balance in full, on Friday, November 27. Is that right?"


def test_bad_messages_get_clear_errors(agent, maria):
    async def scenario():
        chat = consumer_for(agent)
        await chat.connect()
        errors = []
        for message in (
            {"type": "message", "text": "hi"},
            {"type": "start", "workflow": "astrology"},
            {"type": "start", "workflow": "collections", "customer_id": 999999},
            {"type": "start", "workflow": "collections", "direction": "outbound"},
            {"type": "dance"},
        ):
            await chat.send_json_to(message)
            errors.append((await chat.receive_json_from(timeout=5))["detail"])
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "   "})
        errors.append((await chat.receive_json_from(timeout=5))["detail"])
        await chat.send_json_to({"type": "message", "text": "x" * 2001})
        errors.append((await chat.receive_json_from(timeout=5))["detail"])
        await chat.send_json_to({"type": "resume", "call_id": 1})  # a second conversation on one socket
        errors.append((await chat.receive_json_from(timeout=5))["detail"])
        await chat.disconnect()
        return errors

    assert run(scenario) == [
        "Start a conversation first.",
        "workflow must be one of: collections, roadside.",
        "No customer with id 999999.",
        "An outbound conversation needs a customer_id.",
        "Unknown message type; expected start, resume or message.",
        "text must be a non-empty string.",
        "text is longer than 2000 characters.",
        "This chat already has a conversation.",
    ]
    assert Call.objects.count() == 1


def test_the_real_socket_stack_uses_the_session_and_checks_the_origin(agent):
    client = Client()
    client.force_login(agent)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def connect(origin: bytes, with_cookie: bool):
        headers = [(b"host", b"testserver"), (b"origin", origin)] + ([(b"cookie", cookie)] if with_cookie else [])
        socket = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    assert async_to_sync(connect)(b"http://testserver", True) == (True, None)
    assert async_to_sync(connect)(b"http://testserver", False) == (False, 4401)
    assert async_to_sync(connect)(b"https://evil.example", True)[0] is False


def test_a_chat_goes_on_when_the_channel_layer_is_down(agent, maria, caplog):
    """Supervision and live monitors ride the channel layer; the conversation never depends on it."""
    with socket.socket() as probe:  # a port the OS just handed out and took back: nothing listens
        probe.bind(("127.0.0.1", 0))
        dead = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    layers = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [dead]}}}

    async def scenario():
        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": maria.pk})
        await until(chat, "reply")
        await chat.send_json_to({"type": "message", "text": "My zip code is 94607"})
        balance = await until(chat, "reply")
        await chat.disconnect()
        return balance[-1]["text"]

    with override_settings(CHANNEL_LAYERS=layers), caplog.at_level(logging.WARNING):
        balance = run(scenario)
    assert balance.startswith("Thanks, Maria. Your balance is $1,250.50")
    assert TranscriptEntry.objects.filter(call__customer=maria).count() == 3  # greeting, caller, answer
    assert any("could not send transcript.appended" in record.getMessage() for record in caplog.records)
