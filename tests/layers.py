"""Reading what was broadcast to a channel-layer group (in-memory or Redis)."""

import asyncio
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


class GroupListener:
    """A channel subscribed to `group`. Messages sent meanwhile wait in the layer until read."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.layer = get_channel_layer()
        # A plain channel name (no "!"), so every read goes straight to the layer from whatever loop.
        self.channel = f"test-listener.{uuid.uuid4().hex}"
        async_to_sync(self.layer.group_add)(group, self.channel)

    def received(self) -> list[dict[str, Any]]:
        """Everything already delivered. Sends have completed by the time callers ask (group_send is
        awaited by the broadcast), so a short read timeout only confirms there is nothing more."""

        async def drain() -> list[dict[str, Any]]:
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(self.layer.receive(self.channel), timeout=0.2))
                except TimeoutError:
                    return messages

        return async_to_sync(drain)()

    def close(self) -> None:
        async_to_sync(self.layer.group_discard)(self.group, self.channel)
