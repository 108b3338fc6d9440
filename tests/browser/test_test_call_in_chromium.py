"""The test call page in real Chromium, as an agent uses it: pick a customer and a workflow, talk
to the agent by text, watch the reply stream in, the step and the tool calls beside it, and the
promise the agent would have recorded, while nothing real is written."""

import json
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.customers.models import Customer
from apps.promises.models import Promise
from tests.browser.conftest import console_sign_in
from tests.browser.console import off_the_browser_thread
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

BALANCE_REPLY = (
    "Thanks, Maria. Your balance is $1,250.50, and it's 45 days past due. Can you pay that in full, "
    "or would you like a payment plan?"
)

# Runs before the page's scripts: what the page reports against its Content-Security-Policy.
REPORT_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"}`);
}, true);
"""

# Every text the agent's newest line shows while it streams, as the person sees it change.
RECORD_STREAM = """() => {
  window.streamed = [];
  new MutationObserver(() => {
    const lines = document.querySelectorAll("#test-call-chat .line-agent p");
    if (lines.length) window.streamed.push(lines[lines.length - 1].textContent);
  }).observe(document.getElementById("test-call-chat"), { childList: true, subtree: true, characterData: true });
}"""


@pytest.fixture
def maria(transactional_db):
    CustomerFactory(name="John Smith", phone="+14155550777")
    return CustomerFactory(
        name="Maria Lopez",
        phone="+14155550123",
        account_number="ACC0040042",
        balance=Decimal("1250.50"),
        days_overdue=45,
        profile={"address": {"zip": "94607"}},
    )


def stream_word_by_word(socket) -> None:
    """The chat socket, with each reply's tokens split into words on the way to the page. The
    server's offline engine (no model in these tests) says a reply in one token; a model streams
    it in many, and the page must show each as it comes."""
    server = socket.connect_to_server()

    def to_page(message: str | bytes) -> None:
        data = json.loads(message)
        if data.get("type") != "token":
            socket.send(message)
            return
        for word in re.findall(r"\S+\s*", data["text"]):
            socket.send(json.dumps({"type": "token", "text": word}))

    server.on_message(to_page)


def field(within, label: str):
    """The value shown beside a label (a <dt>/<dd> pair)."""
    return within.locator(f"div:has(> dt:text-is('{label}')) > dd")


def say(page, text: str) -> None:
    """Type the caller's words and press Enter; wait for the agent's whole reply."""
    replies = page.locator("#test-call-chat .line-agent.said")
    before = replies.count()
    page.get_by_label("What the customer says").fill(text)
    page.get_by_label("What the customer says").press("Enter")
    expect(replies).to_have_count(before + 1)


def _what_is_real(customer_id: int) -> tuple[list[int], Decimal]:
    promises = list(Promise.objects.filter(customer_id=customer_id).values_list("pk", flat=True))
    return promises, Customer.objects.get(pk=customer_id).balance


def test_an_agent_talks_to_the_agent_and_sees_what_it_would_have_done(agent, maria, console):
    console.add_init_script(REPORT_VIOLATIONS)
    console.route_web_socket(re.compile(r"/ws/chat/$"), stream_word_by_word)
    console_sign_in(console, "agt")
    console.goto("/console/test-call/")
    expect(console.locator("h1")).to_have_text("Test call sandboxed")

    # Find Maria by her account number, as a person searching does.
    console.get_by_label("Find a customer").fill("ACC0040042")
    console.get_by_label("Find a customer").press("Enter")
    customer = console.get_by_label("Customer", exact=True)
    expect(customer.locator("option:checked")).to_have_text("Maria Lopez · ACC0040042")
    console.get_by_role("radio", name="Collections").check()
    console.get_by_role("radio", name="Inbound: the customer calls in").check()
    console.get_by_role("button", name="Start test call").press("Enter")

    chat = console.locator("#test-call-chat")
    expect(chat.locator(".line-agent.said").first).to_contain_text("Thanks for calling Northwind Auto Finance.")
    expect(console.locator("#test-call-title")).to_have_text("Talking with Maria Lopez")
    expect(console.get_by_label("What the customer says")).to_be_focused()
    call_link = console.locator("#test-call [data-field=call]")
    call_id = int(re.fullmatch(r"#(\d+) \(test\)", call_link.inner_text()).group(1))
    assert call_link.get_attribute("href") == f"/console/calls/{call_id}/"
    step = console.locator(f"#call-{call_id}-step .step")
    expect(step).to_have_text("verify identity")

    # The reply streams into its line, then is the whole reply.
    console.evaluate(RECORD_STREAM)
    say(console, "My zip code is 94607")
    expect(chat.locator(".line-customer p").first).to_have_text("My zip code is 94607")
    expect(chat.locator(".line-agent.said").nth(1).locator("p")).to_have_text(BALANCE_REPLY)
    streamed = console.evaluate("window.streamed")
    words = re.findall(r"\S+\s*", BALANCE_REPLY)
    shown = [text for text in streamed if text and BALANCE_REPLY.startswith(text)]
    # Word by word, in order, each word as it came; then the whole reply, which stays.
    assert list(dict.fromkeys(shown)) == ["".join(words[: n + 1]) for n in range(len(words))], streamed
    assert streamed[-1] == BALANCE_REPLY

    # Beside the chat: the step the agent is in, and its tool calls (over the console's socket).
    expect(step).to_have_text("account review")
    events = console.locator(f"#events-{call_id}")
    expect(events.locator("li", has_text="lookup account").first).to_contain_text("Tool")

    say(console, "I can pay 300 on Friday")
    read_back = re.compile(r"^So that's \$300 on Friday, [A-Z][a-z]+ \d{1,2}\. Is that right\?$")
    expect(chat.locator(".line-agent.said p").last).to_have_text(read_back)
    say(console, "yes")

    card = console.locator("#test-call-effects .effect-promise_record")
    expect(card.locator("h4")).to_have_text("Would record a promise")
    expect(field(card, "Amount")).to_have_text("$300.00")
    expect(field(card, "Due date")).to_have_text(re.compile(r"^Friday, [A-Z][a-z]+ \d{1,2}, \d{4}$"))
    expect(card.locator("details summary")).to_have_text("As recorded on the test call")
    expect(card.locator("details pre")).not_to_be_visible()  # the raw form stays folded
    expect(events.locator("li", has_text="Not done (test call)").first).to_be_attached()

    # A test call: no promise was recorded and the balance is as it was.
    assert off_the_browser_thread(_what_is_real, maria.pk) == ([], Decimal("1250.50"))

    # Readable at 1280 px: nothing scrolls sideways. And nothing broke the CSP.
    assert console.evaluate("document.documentElement.scrollWidth") <= 1280
    assert console.evaluate("window.cspViolations") == []

    # "New test call" sets up another, with nothing of this one left.
    console.get_by_role("button", name="New test call").click()
    expect(console.locator("#test-call-setup")).to_be_visible()
    expect(console.locator("#test-call")).to_be_hidden()
    expect(chat.locator("li")).to_have_count(0)
    expect(console.locator("#test-call-effects > *")).to_have_count(0)
    expect(console.get_by_label("Customer", exact=True)).to_be_focused()


def test_an_outbound_call_without_a_customer_is_refused_on_the_page(agent, maria, console):
    console_sign_in(console, "agt")
    console.goto("/console/test-call/")
    console.get_by_label("Customer", exact=True).select_option("")
    console.get_by_role("radio", name="Outbound: the agent calls the customer").check()
    console.get_by_role("button", name="Start test call").click()
    expect(console.get_by_role("alert")).to_have_text("An outbound call needs a customer: choose one.")
    expect(console.locator("#test-call")).to_be_hidden()
