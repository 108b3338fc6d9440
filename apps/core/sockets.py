"""What our WebSocket consumers share.

Channels sweeps stale database connections (`close_old_connections`) before every message a
consumer handles, as one more trip through its single shared database thread, where it queues
behind every other conversation's saves: on a busy process that trip was most of a live turn's
wait before the model was even asked. Our consumers touch the database only through
`database_sync_to_async`, which runs the same sweep before and after each call, on that very
thread; so `SweptPerQuery` skips the per-message one. A consumer using it must never reach the
database another way (the async ORM, `aget`/`aexists`..., runs outside the sweep): the socket
tests check that the relay and chat modules do not.
"""

import asyncio
import contextlib
import logging
from typing import Any

from channels.consumer import get_handler_name
from channels.layers import get_channel_layer

from apps.core import metrics

logger = logging.getLogger(__name__)


class SweptPerQuery:
    """A consumer mixin: dispatch without Channels' per-message connection sweep (see above)."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)


class Metered:
    """A consumer mixin: its handshakes (accepted, refused) and its open sockets counted for
    /metrics under `metrics_route`."""

    metrics_route = ""
    _metered = ""  # "open" once accepted, "refused" once closed before that

    async def accept(self, *args: Any, **kwargs: Any) -> None:
        await super().accept(*args, **kwargs)  # type: ignore[misc]
        if not self._metered:
            self._metered = "open"
            metrics.WEBSOCKETS.labels(self.metrics_route, "accepted").inc()
            metrics.WEBSOCKETS_OPEN.labels(self.metrics_route).inc()

    async def close(self, *args: Any, **kwargs: Any) -> None:
        if not self._metered:
            self._metered = "refused"
            metrics.WEBSOCKETS.labels(self.metrics_route, "refused").inc()
        await super().close(*args, **kwargs)  # type: ignore[misc]

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        try:
            await super().websocket_disconnect(message)  # type: ignore[misc]
        finally:
            if self._metered == "open":
                self._metered = "closed"
                metrics.WEBSOCKETS_OPEN.labels(self.metrics_route).dec()


class GroupInbox:
    """A consumer mixin: hear one channel-layer group without the socket depending on the layer.

    A consumer with a channel layer dies with it: Channels reads the layer in the same loop as the
    socket, and an error there (Redis down) ends the consumer. The relay and chat sockets carry live
    calls, so they keep `channel_layer_alias = None` and listen here instead, on their own task:
    a failure is logged and retried with backoff, a handler's error is logged, and the call goes on.
    Messages are dispatched by type as Channels would (`session.guidance` -> `session_guidance`).
    """

    _listener: asyncio.Task | None = None

    def listen(self, group: str) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(group))

    async def stop_listening(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None

    async def _listen(self, group: str) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        joined, delay = False, 0.5
        try:
            while True:
                try:
                    if not joined:
                        await layer.group_add(group, channel)
                        joined = True
                    message = await layer.receive(channel)
                    handler = getattr(self, get_handler_name(message), None)
                    if handler is None:
                        raise ValueError(f"No handler for message type {message['type']}")
                    await handler(message)
                    delay = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.warning("listening to %s failed; trying again in %.1f s", group, delay, exc_info=True)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
        finally:
            if joined:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(layer.group_discard(group, channel), timeout=2)
