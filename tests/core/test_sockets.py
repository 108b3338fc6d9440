"""Our consumers skip Channels' per-message connection sweep, so they may reach the database only
through `database_sync_to_async` (which sweeps around each call): apps/core/sockets.py."""

import ast
from pathlib import Path

import channels.consumer
import pytest
from asgiref.sync import async_to_sync

from apps.chat.consumers import ChatConsumer
from apps.core.sockets import SweptPerQuery
from apps.voice.consumers import RelayConsumer

ROOT = Path(__file__).resolve().parents[2]
# Everything a relay or chat socket runs on its event loop.
SOCKET_MODULES = [
    "apps/voice/consumers.py",
    "apps/chat/consumers.py",
    "apps/agent/engine.py",
    "apps/agent/turn.py",
    "apps/agent/turn_io.py",
    "apps/agent/turn_record.py",
    "apps/agent/answer_llm.py",
    "apps/telephony/relay_sessions.py",
]
ASYNC_ORM = {
    "aaggregate",
    "abulk_create",
    "abulk_update",
    "acontains",
    "acount",
    "acreate",
    "adelete",
    "aearliest",
    "aexists",
    "aexplain",
    "afirst",
    "aget",
    "aget_or_create",
    "ain_bulk",
    "aiterator",
    "alast",
    "alatest",
    "arefresh_from_db",
    "asave",
    "aupdate",
    "aupdate_or_create",
}


def async_orm_calls(source: str) -> list[tuple[int, str]]:
    return [
        (node.lineno, node.func.attr)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ASYNC_ORM
    ]


def test_the_scan_sees_the_async_orm():
    assert async_orm_calls("async def f():\n    return await Call.objects.filter(pk=1).afirst()\n") == [(2, "afirst")]
    assert async_orm_calls("def f():\n    return Call.objects.filter(pk=1).first()\n") == []


@pytest.mark.parametrize("module", SOCKET_MODULES)
def test_socket_code_reaches_the_database_only_through_database_sync_to_async(module):
    assert async_orm_calls((ROOT / module).read_text()) == []


def test_both_consumers_skip_the_per_message_sweep():
    assert issubclass(RelayConsumer, SweptPerQuery)
    assert issubclass(ChatConsumer, SweptPerQuery)


class Echo(SweptPerQuery, channels.consumer.AsyncConsumer):
    def __init__(self) -> None:
        super().__init__()
        self.handled: list[dict] = []

    async def websocket_receive(self, message: dict) -> None:
        self.handled.append(message)


def test_a_message_is_handled_without_a_sweep(monkeypatch):
    sweeps = []

    async def sweep():
        sweeps.append(1)

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", sweep)  # Channels' own, counted
    consumer = Echo()
    async_to_sync(consumer.dispatch)({"type": "websocket.receive", "text": "hi"})
    assert consumer.handled == [{"type": "websocket.receive", "text": "hi"}]
    assert sweeps == []
    with pytest.raises(ValueError, match=r"No handler for message type chat\.unknown"):
        async_to_sync(consumer.dispatch)({"type": "chat.unknown"})
