"""Driving the web chat consumer (`WS /ws/chat/`) in tests, as a browser would."""

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from apps.chat.consumers import ChatConsumer


def run(scenario):
    return async_to_sync(scenario)()


def consumer_for(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ChatConsumer.as_asgi(), "/ws/chat/")
    communicator.scope["user"] = user
    return communicator


async def until(communicator: WebsocketCommunicator, kind: str) -> list[dict]:
    """Messages up to and including the first of `kind`."""
    messages = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        messages.append(message)
        if message["type"] == kind:
            return messages


async def verified_chat(user, customer_id: int) -> int:
    """A collections chat started by `user` and past identity (ZIP 94607), left open; its call id."""
    chat = consumer_for(user)
    await chat.connect()
    await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": customer_id})
    started = (await until(chat, "reply"))[0]
    await chat.send_json_to({"type": "message", "text": "94607"})
    await until(chat, "reply")
    await chat.disconnect()
    return started["call_id"]
