"""Side effects run after the surrounding transaction commits, never inside it.

Every Celery task, channel-layer broadcast and external call that a write causes goes through
here, so a rolled-back write never leaves a task or a message behind.
"""

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from celery import Task, current_app
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def after_commit(effect: Callable[[], Any]) -> None:
    """Run `effect` once the current transaction commits (at once when there is none)."""
    transaction.on_commit(effect, robust=True)


def enqueue(task: str | Task, *args: Any, **kwargs: Any) -> None:
    """Send a Celery task after commit. Tasks take ids and re-read their rows.

    Name the task by its dotted path ("apps.analysis.tasks.call_analyze_task"): the module that
    queues work then never imports the tasks module, which imports that module's services back
    (tests/core/test_task_names.py checks every name)."""
    enqueue_later(task, args=args, kwargs=kwargs)


def enqueue_later(
    task: str | Task, *, args: tuple | list = (), kwargs: dict[str, Any] | None = None, countdown: float | None = None
) -> None:
    """`enqueue`, with the broker holding the task back `countdown` seconds."""
    name = task if isinstance(task, str) else task.name
    options = {"countdown": countdown} if countdown is not None else {}
    after_commit(lambda: current_app.send_task(name, args=tuple(args), kwargs=kwargs or {}, **options))


def broadcast(group: str, message: dict[str, Any]) -> None:
    """Send to a channel-layer group after commit (live monitors, approval lists)."""
    after_commit(lambda: async_to_sync(publish)(group, message))


async def publish(group: str, message: dict[str, Any]) -> None:
    """Send to a channel-layer group now, from async code whose writes have committed: the agent
    engine, after each turn's save, sends from its event loop rather than hold the database
    thread for the trip. Every broadcast ends here. A watcher that misses a message catches up
    from the database, so a failed send is logged and never disturbs the sender."""
    try:
        await get_channel_layer().group_send(group, message)
    except Exception:
        logger.warning("could not send %s to %s", message.get("type"), group, exc_info=True)
