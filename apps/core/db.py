"""Database helpers shared by the apps."""

from django.conf import settings
from django.db import connection


def limit_database_time(seconds: float | None = None) -> None:
    """Inside a transaction on PostgreSQL: a locked row or a slow statement fails after `seconds`
    (default AGENT_TOOL_DB_TIMEOUT) instead of hanging while a caller waits on the line."""
    if connection.vendor == "postgresql":
        ms = int((seconds if seconds is not None else settings.AGENT_TOOL_DB_TIMEOUT) * 1000)
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL statement_timeout = {ms}; SET LOCAL lock_timeout = {ms}")
