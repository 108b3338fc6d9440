"""The admin and the API docs work in real Chromium under the Content-Security-Policy: every
JS-driven feature a supervisor uses runs, and the browser reports no violation."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Runs before any page script, outside the page's policy: each violation the page reports is
# written to the console, where the test collects it across navigations.
REPORT_VIOLATIONS = """
window.cspViolations = 0;
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
  window.cspViolations += 1;
}, true);
"""
OPEN_CHAT_SOCKET = """() => new Promise((done) => {
  const socket = new WebSocket(`ws://${location.host}/ws/chat/`);
  socket.onerror = socket.onclose = () => done();
})"""
RUN_INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.ran = 1";
  document.body.append(script);
}"""


@pytest.fixture
def violations(page) -> list[str]:
    """What the browser reported against the policy: the events, and Chromium's own console lines."""
    found: list[str] = []

    def collect(message) -> None:
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            found.append(message.text)

    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", collect)
    return found


@pytest.fixture
def customers():
    maria = CustomerFactory(name="Maria Lopez", risk_category="high", account_number="ACC0042")
    CustomerFactory(name="John Smith", risk_category="low")
    return maria


def test_a_supervisor_uses_the_admin_and_the_api_docs_without_a_violation(supervisor, customers, page, violations):
    response = page.goto("/admin/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator("#login-form")).to_be_visible()

    # The console's sign-in page; a supervisor lands on the console's monitor (htmx, its own
    # script and stylesheet under the same policy), in the session the admin uses too.
    page.goto("/accounts/login/")
    page.fill("#id_username", supervisor.username)
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    page.wait_for_url("**/console/monitor/")
    expect(page.locator("h1")).to_have_text("Live monitor")

    # A change list: a filter, the counts beside the filters, the search.
    page.goto("/admin/customers/customer/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.locator("#changelist-filter").get_by_role("link", name="Show counts").click()
    page.wait_for_url("**_facets=True**")
    page.locator("#changelist-filter a[href*='risk_category__exact=high']").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Maria Lopez")

    # A change form: the date widget's calendar and shortcuts, the collapsed fieldset.
    page.locator("#result_list tbody tr th a").click()
    expect(page.locator("#id_name")).to_have_value("Maria Lopez")
    page.locator(".field-consent_given_at .datetimeshortcuts a", has_text="Today").click()
    expect(page.locator("#id_consent_given_at_0")).not_to_have_value("")
    page.locator(".field-consent_given_at .date-icon").click()
    calendar = page.locator("#calendarbox0")
    expect(calendar).to_be_visible()
    calendar.locator("td a", has_text=re.compile(r"^15$")).click()
    expect(page.locator("#id_consent_given_at_0")).to_have_value(re.compile(r"-15$"))
    expect(calendar).to_be_hidden()
    page.locator(".field-consent_given_at .datetimeshortcuts a", has_text="Now").click()
    expect(page.locator("#id_consent_given_at_1")).not_to_have_value("")
    page.locator("details summary", has_text="Record").click()
    expect(page.locator(".field-created_at")).to_be_visible()
    page.locator("input[name=_continue]").click()
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")

    # An add form with the customer autocomplete (select2 and its JSON lookups).
    page.goto("/admin/outreach/followup/add/")
    page.locator(".field-customer .select2-selection").click()
    page.locator(".select2-search__field").fill("Maria")
    page.locator(".select2-results__option", has_text="Maria Lopez").click()
    expect(page.locator(".field-customer .select2-selection__rendered")).to_contain_text("Maria Lopez")

    # The console's live updates will use a WebSocket to this origin: 'self' covers it.
    page.evaluate(OPEN_CHAT_SOCKET)

    # The API docs: ninja's Swagger UI, served from our static files.
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Contact center API")
    operation = page.locator(
        ".opblock-get", has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/customers$"))
    )
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text("Maria Lopez")

    assert violations == []

    # The check itself works: an inline script is refused and reported.
    page.evaluate(RUN_INLINE_SCRIPT)
    assert page.evaluate("() => window.ran") is None
    page.wait_for_function("() => window.cspViolations === 1")
    assert any("script-src" in line for line in violations), violations
