"""Who is watching each call now: counted per person in the shared cache (Redis in production),
so every web process's sockets add to one list."""

from django.core.cache import cache

TTL_S = 6 * 3600  # a socket that died without saying so is forgotten at the latest after this


def _key(call_id: int) -> str:
    return f"console:presence:{call_id}"


def _change(call_id: int, username: str, delta: int) -> list[str]:
    watchers: dict[str, int] = cache.get(_key(call_id)) or {}
    count = watchers.get(username, 0) + delta
    if count > 0:
        watchers[username] = count
    else:
        watchers.pop(username, None)
    cache.set(_key(call_id), watchers, TTL_S)
    return sorted(watchers)


def presence_join(call_id: int, username: str) -> list[str]:
    """`username` opened the call's live view (once per socket). Returns everyone watching."""
    return _change(call_id, username, 1)


def presence_leave(call_id: int, username: str) -> list[str]:
    return _change(call_id, username, -1)
