"""Celery tasks of the web chat channel: they call one service."""

from celery import shared_task

from apps.core.tasking import RowTask


@shared_task(base=RowTask, soft_time_limit=120, time_limit=180)
def chats_close_idle_task() -> int:
    """Periodic (celery beat): web chats left open and idle are ended and analysed."""
    from apps.chat.lifecycle import chats_close_idle

    return len(chats_close_idle())
