"""The console's live updates: one socket per page, subscribed to the groups the page shows.

Protocol (JSON over `WS /ws/console/`, for signed-in users with a console role):

  client -> server
    {"subscribe": "monitor"}                            the live calls (supervisors)
    {"subscribe": "approvals"}                          pending approvals (agents, supervisors)
    {"subscribe": "call-12", "after": 7, "after_event": 310}
                                                        one call's lines after sequence 7 and its
                                                        events after trace 310 (agents, supervisors)
  server -> client
    {"fragments": [{"into": "element id", "html": "…"}], "remove": ["element id"], "saved_at": 1765000000.1}
        HTML to put in place: each top-level element replaces the element with its id, or joins
        `into` in its data-order (saved_at: when what it shows was committed, Unix seconds)
    {"replace": "element id", "html": "…"}              the element's whole content, anew
    {"subscribed": "call-12"}                           the group is joined and caught up

Every subscription catches up from the database after it joins its group, so a socket that
reconnects after missing messages shows every line (fragments are keyed: a repeat is harmless).
A socket with no console role is closed with 4403 (4401 signed out); so is one that asks for a
group its roles may not watch.
"""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.html import escape

from apps.calls.services import call_group
from apps.console import fragments
from apps.console.access import may_watch, roles_of
from apps.console.presence import presence_join, presence_leave
from apps.console.selectors import approval_card, approvals_pending, call_events, call_lines, monitor_calls
from apps.console.services import call_watch
from apps.core.effects import publish
from apps.core.sockets import Metered

UNAUTHENTICATED, FORBIDDEN = 4401, 4403


def _approvals_catch_up(can_decide: bool) -> str:
    return fragments.approvals_html(approvals_pending(), can_decide=can_decide)


def _monitor_catch_up() -> str:
    return fragments.monitor_rows_html(monitor_calls())


def _call_catch_up(call_id: int, after: int, after_event: int) -> dict[str, Any]:
    lines = [fragments.line(entry) for entry in call_lines(call_id, after=after)]
    events = [fragments.event(trace) for trace in call_events(call_id, after=after_event)]
    return _call_message(call_id, lines, events, step=None)


def _call_message(call_id: int, lines: list[dict], events: list[dict], step: str | None) -> dict[str, Any]:
    pieces = []
    if lines:
        pieces.append({"into": f"transcript-{call_id}", "html": fragments.lines_html(call_id, lines)})
    if events:
        pieces.append({"into": f"events-{call_id}", "html": fragments.events_html(call_id, events)})
    if step:
        pieces.append({"into": f"call-{call_id}-summary", "html": fragments.step_html(call_id, step)})
    return {"fragments": pieces}


def _card(approval_id: int, can_decide: bool) -> str | None:
    approval = approval_card(approval_id)
    return fragments.approval_html(approval, can_decide=can_decide) if approval else None


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class ConsoleConsumer(Metered, AsyncJsonWebsocketConsumer):
    metrics_route = "console"

    async def connect(self) -> None:
        # Accepted before it is refused, so that the browser learns why (a refused handshake
        # tells it nothing): 4401 signed out, 4403 no console role.
        self.roles: frozenset[str] = frozenset()
        self.can_decide = False
        self.watching: set[str] = set()
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.roles = await database_sync_to_async(roles_of)(user)
        if not self.roles:
            await self.close(code=FORBIDDEN)
            return
        self.can_decide = await database_sync_to_async(user.has_perm)("approvals.decide_approval")

    async def disconnect(self, code: int) -> None:
        for group in self.watching:
            await self.channel_layer.group_discard(group, self.channel_name)
            if group.startswith("call-"):
                await self._presence(int(group.removeprefix("call-")), presence_leave)

    async def receive_json(self, content: Any, **kwargs) -> None:
        group = content.get("subscribe") if isinstance(content, dict) else None
        if not isinstance(group, str) or not may_watch(self.roles, group):
            await self.close(code=FORBIDDEN)
            return
        if group not in self.watching:
            await self.channel_layer.group_add(group, self.channel_name)
            self.watching.add(group)
            if group.startswith("call-"):
                call_id = int(group.removeprefix("call-"))
                await database_sync_to_async(call_watch)(call_id=call_id, user=self.scope["user"])
                await self._presence(call_id, presence_join)
        # Joined first, then caught up: nothing saved in between is missed (a repeat is harmless).
        if group == "approvals":
            html = await database_sync_to_async(_approvals_catch_up)(self.can_decide)
            await self.send_json({"replace": "approvals-list", "html": html})
        elif group == "monitor":
            html = await database_sync_to_async(_monitor_catch_up)()
            await self.send_json({"replace": "monitor-calls", "html": html})
        else:
            call_id = int(group.removeprefix("call-"))
            after, after_event = _int(content.get("after"), -1), _int(content.get("after_event"), 0)
            message = await database_sync_to_async(_call_catch_up)(call_id, after, after_event)
            await self.send_json(message)
        await self.send_json({"subscribed": group})

    async def _presence(self, call_id: int, change) -> None:
        watchers = await database_sync_to_async(change)(call_id, self.scope["user"].get_username())
        await publish(call_group(call_id), {"type": "presence.changed", "call_id": call_id, "watchers": watchers})

    # --- group messages ------------------------------------------------------------------------

    async def presence_changed(self, message: dict[str, Any]) -> None:
        watchers = message["watchers"]
        html = f"Watching now: {escape(', '.join(watchers))}" if watchers else ""
        await self.send_json({"replace": f"presence-{message['call_id']}", "html": html})

    async def transcript_appended(self, message: dict[str, Any]) -> None:
        call_id = message["call_id"]
        lines, events = message.get("entries", []), message.get("events", [])
        await self.send_json(
            {**_call_message(call_id, lines, events, message.get("step")), "saved_at": message.get("saved_at")}
        )

    async def call_changed(self, message: dict[str, Any]) -> None:
        if not message.get("live", True):
            await self.send_json({"remove": [f"monitor-call-{message['call_id']}"]})
            return
        row = {"into": "monitor-calls", "html": fragments.monitor_row_html(message)}
        await self.send_json({"fragments": [row], "call_id": message["call_id"], "saved_at": message.get("saved_at")})

    async def call_ended(self, message: dict[str, Any]) -> None:
        await self.send_json({"remove": [f"monitor-call-{message['call_id']}"]})

    async def approval_changed(self, message: dict[str, Any]) -> None:
        html = await database_sync_to_async(_card)(message["approval_id"], self.can_decide)
        if html is not None:
            await self.send_json({"fragments": [{"into": "approvals-list", "html": html}]})
