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

from typing import Any

from channels.consumer import get_handler_name


class SweptPerQuery:
    """A consumer mixin: dispatch without Channels' per-message connection sweep (see above)."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
