"""Side effects run after the surrounding transaction commits, never inside it.

Every Celery task, channel-layer broadcast and external call that a write causes goes through
here, so a rolled-back write never leaves a task or a message behind.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def after_commit(effect: Callable[[], Any]) -> None:
    """Run `effect` once the current transaction commits (at once when there is none)."""
    transaction.on_commit(effect, robust=True)


def enqueue(task, *args: Any, **kwargs: Any) -> None:
    """Send a Celery task after commit. Tasks take ids and re-read their rows."""
    after_commit(lambda: task.apply_async(args=args, kwargs=kwargs))


def broadcast(group: str, message: dict[str, Any]) -> None:
    """Send to a channel-layer group after commit (live monitors, approval lists)."""
    after_commit(lambda: async_to_sync(get_channel_layer().group_send)(group, message))
