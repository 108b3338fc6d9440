"""The console in real Chromium, as its people use it: sign in, watch updates arrive without a
reload, decide. The screenshots in docs/ are taken here (the README shows them)."""

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from apps.agent.supervision import BACK_ON_VOICE
from apps.approvals.services import approval_request
from apps.approvals.tasks import approval_execute
from apps.customers.models import Customer
from tests.browser.conftest import console_sign_in
from tests.browser.console import off_the_browser_thread
from tests.factories import CustomerFactory
from tests.telephony.test_relay_crash import SID, Relay

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"

NAV = {
    "sup": ["Live monitor", "Approvals", "Reviews", "Calls", "Test call", "Analytics", "Admin"],
    "agt": ["Approvals", "Calls", "Test call", "Admin"],
    "mgr": ["Calls", "Analytics", "Admin"],
}
FORBIDDEN = {
    "sup": [],
    "agt": ["/console/monitor/", "/analytics/"],
    "mgr": ["/console/monitor/", "/console/approvals/"],
}
HOME = {"sup": "/console/monitor/", "agt": "/console/approvals/", "mgr": "/analytics/"}


@pytest.fixture
def maria(transactional_db):
    return CustomerFactory(
        name="Maria Lopez", phone="+14155550123", balance="1250.50", profile={"address": {"zip": "94607"}}
    )


@pytest.mark.parametrize("username", ["sup", "agt", "mgr"])
def test_each_role_signs_in_and_sees_exactly_its_pages(supervisor, agent, manager, username, console):
    console_sign_in(console, username)
    assert console.url.endswith(HOME[username])
    nav = [text.split("\n")[0].strip() for text in console.locator("header nav a").all_inner_texts()]
    assert [item.rsplit(" ", 1)[0] if item[-1].isdigit() else item for item in nav] == NAV[username]
    for path in FORBIDDEN[username]:
        response = console.goto(path)
        assert (path, response.status) == (path, 403)
        assert console.locator("h1").inner_text() == "Not allowed"


def field(within, label: str) -> str:
    """The value shown beside a label (a <dt>/<dd> pair)."""
    return within.locator(f"div:has(> dt:text-is('{label}')) > dd").inner_text()


def _request_waiver(customer_id: int) -> int:
    customer = Customer.objects.get(pk=customer_id)
    approval = approval_request(
        kind="fee_waiver",
        customer=customer,
        payload={"fee": "late_fee", "amount": "35.00"},
        reasoning="First late fee in five years; she paid the rest today.",
        confidence=82,
        actor="agent",
    )
    return approval.pk


def test_an_agent_sees_a_new_approval_arrive_approves_it_and_sees_it_carried_out(agent, maria, console):
    console_sign_in(console, "agt")
    console.wait_for_selector("#approvals-list[data-subscribed]", state="attached")
    assert console.locator("#approvals-list").inner_text() == ""

    approval_id = off_the_browser_thread(_request_waiver, maria.pk)  # the AI asks, in another process

    card = console.locator(f"#approval-{approval_id}")
    card.wait_for()
    assert card.locator("h2").inner_text() == "Fee waiver for Maria Lopez"
    expect(console.locator("#count-approvals")).to_have_text("1")
    assert (field(card, "Fee"), field(card, "Amount")) == ("late fee", "$35.00")
    console.screenshot(path=str(DOCS / "console-approval.png"), full_page=True)

    card.locator("textarea").fill("Loyal customer; first late fee.")
    # The list is caught up again (as after a reconnect, or every 30 s): the note being typed stays.
    console.evaluate("consoleLive.watch(document.getElementById('approvals-list'), 'approvals')")
    console.wait_for_selector("#approvals-list[data-subscribed]", state="attached")
    expect(console.locator(f"#approval-{approval_id} textarea")).to_have_value("Loyal customer; first late fee.")
    card.get_by_role("button", name="Approve").click()
    console.locator(f"#approval-{approval_id} .decided-by").wait_for()
    assert console.locator(f"#approval-{approval_id} .decision").inner_text().startswith("Approved by agt")
    expect(console.locator("#count-approvals")).to_have_text("0")

    off_the_browser_thread(approval_execute, approval_id)  # the Celery worker's part
    result = console.locator(f"#approval-{approval_id} .result")
    result.wait_for()
    assert (field(result, "Balance before"), field(result, "Balance after")) == ("$1,250.50", "$1,215.50")
    assert console.locator(f"#approval-{approval_id} .pill").inner_text() == "Executed"
    assert off_the_browser_thread(lambda: str(Customer.objects.get(pk=maria.pk).balance)) == "1215.50"


def test_a_reject_without_a_note_is_refused_in_place(agent, maria, console):
    approval_id = off_the_browser_thread(_request_waiver, maria.pk)
    console_sign_in(console, "agt")
    card = console.locator(f"#approval-{approval_id}")
    card.get_by_role("button", name="Reject").click()
    console.get_by_role("alert").wait_for()
    assert console.get_by_role("alert").inner_text() == "A rejection needs a note saying why."
    assert console.locator(f"#approval-{approval_id} .pill").inner_text() == "Pending"
    # The list caught up again (as every 30 s, or after a reconnect) keeps the card as shown,
    # its error included: the approval has not changed.
    console.evaluate("consoleLive.watch(document.getElementById('approvals-list'), 'approvals')")
    console.wait_for_selector("#approvals-list[data-subscribed]", state="attached")
    expect(console.get_by_role("alert")).to_have_text("A rejection needs a note saying why.")


class Chat:
    """A web chat (the test call's socket) on the same server, as another browser would hold it."""

    def __init__(self, base_url: str, cookies: list[dict]) -> None:
        cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
        url = base_url.replace("http://", "ws://") + "/ws/chat/"
        self.socket = connect(url, origin=base_url, additional_headers={"Cookie": cookie}, open_timeout=10, legacy=True)

    def send(self, **message) -> None:
        self.socket.send(json.dumps(message))

    def until(self, kind: str) -> list[dict]:
        messages = []
        while True:
            messages.append(json.loads(self.socket.recv(timeout=10)))
            if messages[-1]["type"] == kind:
                return messages


def test_a_conversation_appears_live_in_the_monitor_and_its_lines_in_the_call_page(supervisor, maria, console):
    console_sign_in(console, "sup")
    console.wait_for_selector("#monitor-calls[data-subscribed]", state="attached")
    chat = Chat(console.url.split("/console/")[0], console.context.cookies())
    chat.send(type="start", workflow="collections", customer_id=maria.pk)
    call_id = chat.until("reply")[0]["call_id"]

    row = console.locator(f"#monitor-call-{call_id}")
    row.wait_for()
    assert "Maria Lopez" in row.inner_text()
    assert "verify identity" in row.inner_text()
    expect(console.locator("#count-live")).to_have_text("1")
    console.screenshot(path=str(DOCS / "console-monitor.png"), full_page=True)

    row.get_by_role("link", name="Maria Lopez").click()
    console.wait_for_selector(f"#transcript-{call_id}[data-subscribed]", state="attached")
    chat.send(type="message", text="My zip code is 94607")
    chat.until("reply")
    said = console.locator(f"#line-{call_id}-1")
    said.wait_for()
    assert "My zip code is 94607" in said.inner_text()
    console.locator(f"#line-{call_id}-2").wait_for()  # the agent's answer, as saved
    assert console.locator(f"#call-{call_id}-step .step").inner_text() != "verify identity"
    console.screenshot(path=str(DOCS / "console-call.png"), full_page=True)
    chat.socket.close()


def test_a_phone_call_is_followed_live_in_the_monitor_and_the_call_page_and_taken_over(
    supervisor, maria, asgi_daphne, console
):
    """A relay call driven as Twilio drives it (signed webhook, signed socket), on its own thread."""
    relay_thread = ThreadPoolExecutor(max_workers=1)
    loop = asyncio.new_event_loop()

    def on_the_line(work, *args):
        return relay_thread.submit(work, *args).result(timeout=30)

    console_sign_in(console, "sup")
    console.wait_for_selector("#monitor-calls[data-subscribed]", state="attached")
    params = {"CallSid": SID, "From": maria.phone, "To": "+14155550100", "CallStatus": "ringing"}
    answer = on_the_line(asgi_daphne.post, "/twilio/voice/inbound/", params)
    call_id = int(answer.find("Connect/ConversationRelay/Parameter").attrib["value"])
    relay = on_the_line(Relay, loop, asgi_daphne, answer)

    row = console.locator(f"#monitor-call-{call_id}")
    row.wait_for()
    assert "voice" in row.inner_text()
    row.get_by_role("link", name="Maria Lopez").click()
    console.wait_for_selector(f"#transcript-{call_id}[data-subscribed]", state="attached")
    reply = on_the_line(relay.say, "My zip code is 94607")
    expect(console.locator(f"#line-{call_id}-1")).to_contain_text("My zip code is 94607")
    expect(console.locator(f"#line-{call_id}-2")).to_contain_text(reply[:30])
    expect(console.locator(f"#call-{call_id}-step .step")).to_have_text("account review")
    # The timeline is drawn again with the turn just saved, its bars placed.
    expect(console.locator(f"#timeline-{call_id}")).to_contain_text("Turn 1")
    expect(console.locator(f"#timeline-{call_id} .tl-placed").first).to_be_attached()

    # The supervisor takes the call: the relay ends with the handoff, for Twilio to dial a person.
    console.get_by_role("button", name="Take over now").click()
    end = on_the_line(relay.receive)
    assert end["type"] == "end"
    assert json.loads(end["handoffData"])["reason"] == "taken over by sup"
    transcript = console.locator(f"#transcript-{call_id}")
    expect(transcript).to_contain_text("sup took over the conversation.")
    ended = {"CallSid": SID, "CallStatus": "in-progress", "SessionStatus": "ended", "HandoffData": end["handoffData"]}
    dial = on_the_line(asgi_daphne.post, "/twilio/voice/relay-action/", ended).find("Dial")
    assert dial.attrib["action"] == f"https://cc.example.com/twilio/voice/after-person/{call_id}/"
    on_the_line(relay.close)

    # The person hands the call back. This server has no Twilio account to move the call with at
    # once (tests/telephony/test_hand_back.py has), so the caller rejoins the agent when the
    # person hangs up: Twilio's <Dial> action, answered with a new relay session.
    console.get_by_label("Notes for the AI").fill("She will pay 300 on Friday; confirm it.")
    console.get_by_role("button", name="Hand back to the AI").click()
    expect(console.locator(f"#supervise-{call_id}")).to_contain_text("Twilio could not be reached")
    expect(transcript).to_contain_text("sup handed the conversation back to the AI assistant.")
    expect(transcript).to_contain_text(BACK_ON_VOICE)
    person_hung_up = {"CallSid": SID, "CallStatus": "in-progress", "DialCallStatus": "completed"}
    back = on_the_line(asgi_daphne.post, f"/twilio/voice/after-person/{call_id}/", person_hung_up)
    assert back.find("Connect/ConversationRelay").attrib["welcomeGreeting"] == BACK_ON_VOICE
    relay = on_the_line(Relay, loop, asgi_daphne, back)
    reply = on_the_line(relay.say, "I can pay 300 dollars this Friday.")
    # Verified before the take-over: nothing asked again, no greeting; the amount confirmed back.
    assert re.fullmatch(r"So that's three hundred dollars on Friday, \w+ \w+\. Is that right\?", reply), reply
    expect(transcript).to_contain_text("I can pay 300 dollars this Friday.")
    expect(transcript).to_contain_text(reply[:30])
    # The caller agrees: the promise shows under what the call led to, without a reload.
    on_the_line(relay.say, "Yes, that's right.")
    expect(console.locator(f"#outcomes-{call_id} .outcome-items")).to_contain_text("$300.00 by Friday")
    on_the_line(relay.close)
    relay_thread.shutdown()
