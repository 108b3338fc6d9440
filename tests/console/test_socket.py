"""The console's socket (`WS /ws/console/`): every subscription authorised by role, live updates
as HTML fragments, and catch-up from the database after a reconnect."""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from apps.approvals.services import approval_request
from apps.calls.models import CallStatus, Speaker
from apps.console.consumers import ConsoleConsumer
from contactcenter.asgi import application
from tests.agent.chat import consumer_for, until
from tests.factories import CallFactory, CustomerFactory, TranscriptEntryFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def run(scenario):
    return async_to_sync(scenario)()


def socket_for(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
    communicator.scope["user"] = user
    return communicator


async def until_subscribed(socket: WebsocketCommunicator, group: str) -> list[dict]:
    """Messages up to the confirmation that `group` is joined and caught up (excluded)."""
    messages = []
    while (message := await socket.receive_json_from(timeout=5)) != {"subscribed": group}:
        messages.append(message)
    return messages


async def closed_with(socket: WebsocketCommunicator) -> int:
    """The code the server closed the socket with; then the client side closes too, so that the
    consumer ends (and its channel layer listener with it) before the test's event loop does."""
    output = await socket.receive_output(timeout=5)
    assert output["type"] == "websocket.close"
    await socket.disconnect()
    return output["code"]


async def members(group: str) -> int:
    """How many channels the layer has in `group` (in-memory or Redis)."""
    layer = get_channel_layer()
    if hasattr(layer, "groups"):  # in-memory
        return len(layer.groups.get(group, {}))
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


def test_a_signed_out_socket_is_closed_4401():
    async def scenario():
        socket = socket_for(AnonymousUser())
        connected, _ = await socket.connect()
        return connected, await closed_with(socket)

    assert run(scenario) == (True, 4401)


def test_a_user_without_a_console_role_is_closed_4403():
    user = UserFactory(username="norole", is_staff=True)

    async def scenario():
        socket = socket_for(user)
        await socket.connect()
        return await closed_with(socket)

    assert run(scenario) == 4403


@pytest.mark.parametrize(
    ("role", "group"),
    [("manager", "call-{call}"), ("manager", "monitor"), ("manager", "approvals"), ("agent", "monitor")]
    + [("supervisor", group) for group in ("call-0", "call-{call}x", "calls", "approvals ", "")],
)
def test_a_subscription_the_role_may_not_watch_closes_the_socket_and_joins_nothing(
    supervisor, agent, manager, role, group
):
    user = {"supervisor": supervisor, "agent": agent, "manager": manager}[role]
    call = CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None)
    TranscriptEntryFactory(call=call, sequence=0, text="My card is on file")
    group = group.format(call=call.pk)

    async def scenario():
        before = await members(group)
        socket = socket_for(user)
        await socket.connect()
        await socket.send_json_to({"subscribe": group})
        return await closed_with(socket), await members(group) - before

    assert run(scenario) == (4403, 0)  # closed, and never joined


@pytest.mark.parametrize(
    ("role", "groups"),
    [("supervisor", ["monitor", "approvals", "call-{call}"]), ("agent", ["approvals", "call-{call}"])],
)
def test_each_role_may_watch_its_groups(supervisor, agent, role, groups):
    user = {"supervisor": supervisor, "agent": agent}[role]
    call = CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None)
    groups = [group.format(call=call.pk) for group in groups]

    async def scenario():
        # Other tests' sockets may linger in a shared Redis group: count this socket's difference.
        before = [await members(group) for group in groups]
        socket = socket_for(user)
        await socket.connect()
        for group in groups:
            await socket.send_json_to({"subscribe": group})
            await until_subscribed(socket, group)
        joined = [await members(group) - count for group, count in zip(groups, before, strict=True)]
        await socket.disconnect()
        left = [await members(group) - count for group, count in zip(groups, before, strict=True)]
        return joined, left

    assert run(scenario) == ([1] * len(groups), [0] * len(groups))


def test_a_reconnected_socket_catches_up_on_the_lines_it_missed(agent):
    call = CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None)
    for sequence, text in enumerate(["Hello, this is the assistant.", "Hi, it's Maria.", "Thanks, Maria."]):
        speaker = Speaker.AGENT if sequence % 2 == 0 else Speaker.CUSTOMER
        TranscriptEntryFactory(call=call, sequence=sequence, speaker=speaker, text=text)

    async def scenario():
        socket = socket_for(agent)
        await socket.connect()
        # The page already shows line 0; lines 1 and 2 were said while the socket was down.
        await socket.send_json_to({"subscribe": f"call-{call.pk}", "after": 0})
        caught_up = await until_subscribed(socket, f"call-{call.pk}")
        await socket.disconnect()
        return caught_up

    [caught_up] = run(scenario)
    [piece] = caught_up["fragments"]
    assert piece["into"] == f"transcript-{call.pk}"
    html = piece["html"]
    assert "Hello, this is the assistant." not in html
    assert (
        html.index(f'id="line-{call.pk}-1"') < html.index("Hi, it&#x27;s Maria.") < html.index(f'id="line-{call.pk}-2"')
    )


def test_a_new_approval_reaches_the_approvals_socket_as_a_card(agent):
    customer = CustomerFactory(name="Maria Lopez")

    async def scenario():
        socket = socket_for(agent)
        await socket.connect()
        await socket.send_json_to({"subscribe": "approvals"})
        [empty] = await until_subscribed(socket, "approvals")
        approval = await database_sync_to_async(approval_request)(
            kind="fee_waiver",
            customer=customer,
            payload={"fee": "late_fee", "amount": "35.00"},
            reasoning="First late fee in years.",
            confidence=80,
            actor="agent",
        )
        pushed = await socket.receive_json_from(timeout=5)
        await socket.disconnect()
        return empty, approval.pk, pushed

    empty, approval_id, pushed = run(scenario)
    assert empty == {"replace": "approvals-list", "html": "\n"}
    [piece] = pushed["fragments"]
    assert piece["into"] == "approvals-list"
    assert f'id="approval-{approval_id}"' in piece["html"]
    assert "Late fee for Maria Lopez" not in piece["html"]  # the kind is the title, the fee a field
    assert "Fee waiver for Maria Lopez" in piece["html"]
    assert "Approve</button>" in piece["html"]


def test_the_real_socket_stack_uses_the_session_and_checks_the_origin(supervisor):
    client = Client()
    client.force_login(supervisor)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()

    async def subscribe(origin: bytes, with_cookie: bool):
        headers = [(b"host", b"testserver"), (b"origin", origin)] + ([(b"cookie", cookie)] if with_cookie else [])
        socket = WebsocketCommunicator(application, "/ws/console/", headers=headers)
        connected, _ = await socket.connect()
        if not connected:
            return "refused"
        await socket.send_json_to({"subscribe": "monitor"})
        answer = await socket.receive_output(timeout=5)
        await socket.disconnect()
        return answer.get("code") if answer["type"] == "websocket.close" else "subscribed"

    assert async_to_sync(subscribe)(b"http://testserver", True) == "subscribed"
    assert async_to_sync(subscribe)(b"http://testserver", False) == 4401
    assert async_to_sync(subscribe)(b"https://evil.example", True) == "refused"


def test_a_live_chat_reaches_the_monitor_and_its_watchers_turn_by_turn(supervisor, agent):
    customer = CustomerFactory(name="Maria Lopez", profile={"address": {"zip": "94607"}})

    async def scenario():
        monitor = socket_for(supervisor)
        await monitor.connect()
        await monitor.send_json_to({"subscribe": "monitor"})
        await until_subscribed(monitor, "monitor")

        chat = consumer_for(agent)
        await chat.connect()
        await chat.send_json_to({"type": "start", "workflow": "collections", "customer_id": customer.pk})
        call_id = (await until(chat, "reply"))[0]["call_id"]
        greeted = await monitor.receive_json_from(timeout=5)

        await monitor.send_json_to({"subscribe": f"call-{call_id}", "after": 0})
        caught_up = await until_subscribed(monitor, f"call-{call_id}")
        presence = await monitor.receive_json_from(timeout=5)
        await chat.send_json_to({"type": "message", "text": "My zip code is 94607"})
        await until(chat, "reply")
        turn = [await monitor.receive_json_from(timeout=5) for _ in range(2)]
        await chat.send_json_to({"type": "message", "text": "Can I talk to a person please?"})
        await until(chat, "handoff")
        ended = [await monitor.receive_json_from(timeout=5) for _ in range(2)]
        await chat.disconnect()
        await monitor.disconnect()
        return call_id, greeted, caught_up, presence, turn, ended

    call_id, greeted, caught_up, presence, turn, ended = run(scenario)
    assert presence == {"replace": f"presence-{call_id}", "html": "Watching now: sup"}
    [row] = greeted["fragments"]
    assert row["into"] == "monitor-calls"
    assert f'id="monitor-call-{call_id}"' in row["html"]
    assert "Maria Lopez" in row["html"]
    assert 'collections · <span class="step">verify identity</span>' in row["html"]
    # The greeting (line 0) is on the page already: only the step change before it is new.
    [[missed]] = [message["fragments"] for message in caught_up]
    assert missed["into"] == f"events-{call_id}"
    assert "identify → verify identity" in missed["html"]
    lines = next(message for message in turn if any(p["into"] == f"transcript-{call_id}" for p in message["fragments"]))
    html = "".join(piece["html"] for piece in lines["fragments"])
    assert f'id="line-{call_id}-1"' in html
    assert "My zip code is 94607" in html
    assert f'id="line-{call_id}-2"' in html
    assert f'id="call-{call_id}-step"' in html
    assert {"remove": [f"monitor-call-{call_id}"]} in ended
