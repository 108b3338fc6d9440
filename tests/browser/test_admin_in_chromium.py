"""Supervisors and agents use the admin in a real browser."""

import pytest
from playwright.sync_api import expect

from apps.agent import rollouts
from apps.agent.models import Rollout
from apps.analysis.models import CallAnalysis
from apps.core.models import AuditEvent
from tests.agent import candidates
from tests.browser.conftest import sign_in
from tests.browser.console import off_the_browser_thread
from tests.factories import CallFactory, CustomerFactory, PromiseFactory, TranscriptEntryFactory

# Transactional (the live server reads what the test wrote); serialized rollback restores the
# roles the data migrations made, which the flush after each test would otherwise remove.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def maria():
    customer = CustomerFactory(
        name="Maria Lopez",
        phone="+14155550123",
        account_number="ACC0042",
        profile={"vehicle": {"make": "Honda", "model": "Civic"}},
    )
    call = CallFactory(customer=customer, twilio_call_sid="CA" + "ab" * 16)
    TranscriptEntryFactory(call=call, sequence=0, speaker="agent", text="Hi Maria, is this about your Honda Civic?")
    TranscriptEntryFactory(call=call, sequence=1, speaker="customer", text="Yes, it will not start.")
    CallAnalysis.objects.create(call=call, status="completed", summary="Battery failure, technician sent.")
    PromiseFactory(customer=customer, call=call, amount="300.00")
    CustomerFactory(name="John Smith")  # must not match the search
    return customer


def test_a_supervisor_finds_a_customer_and_follows_a_call_to_its_transcript(supervisor, maria, page):
    sign_in(page, supervisor.username)
    page.locator("tr.model-customer th a").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    page.fill("#searchbar", "ACC0042")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**/admin/customers/customer/?q=ACC0042")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Maria Lopez")
    rows.first.locator("a").first.click()

    expect(page.locator("#id_phone")).to_have_value("+14155550123")
    expect(page.locator("#promises-group")).to_contain_text("300.00")
    page.locator("#calls-group a.inlineviewlink").first.click()

    transcript = page.locator("#transcript-group")
    expect(transcript).to_contain_text("Hi Maria, is this about your Honda Civic?")
    expect(transcript).to_contain_text("Yes, it will not start.")
    expect(page.locator("#analysis-group")).to_contain_text("Battery failure, technician sent.")
    # Twilio's fields are shown, not editable; the customer link is.
    expect(page.locator("#id_twilio_call_sid")).to_have_count(0)
    expect(page.locator("fieldset")).to_contain_text(["CA" + "ab" * 16])
    expect(page.locator("#id_customer")).to_have_count(1)


def test_status_pills_are_styled(supervisor, maria, page):
    sign_in(page, supervisor.username)
    page.goto("/admin/calls/call/")
    pill = page.locator(".cc-pill-completed").first
    expect(pill).to_have_text("Completed")
    expect(pill).to_have_css("background-color", "rgb(216, 243, 220)")


def test_an_agent_reads_a_customer_but_cannot_change_it(agent, maria, page):
    sign_in(page, agent.username)
    page.goto(f"/admin/customers/customer/{maria.pk}/change/")
    expect(page.locator("h1")).to_have_text("View customer")
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator("#id_name")).to_have_count(0)  # shown as text, not as a field
    expect(page.locator(".field-name .readonly")).to_have_text("Maria Lopez")
    response = page.goto(f"/admin/customers/customer/{maria.pk}/delete/")
    assert response.status == 403


def test_a_supervisor_marks_a_promise_broken_with_a_reason(supervisor, maria, page):
    sign_in(page, supervisor.username)
    page.goto("/admin/promises/promise/")
    page.locator("input[name=_selected_action]").check()  # Maria's one promise
    page.select_option("select[name=action]", "mark_broken")
    page.locator("button[name=index]").click()

    expect(page.locator("h1")).to_have_text("Mark broken promises")
    expect(page.locator("#content table")).to_contain_text("300.00 USD")
    page.fill("textarea[name=reason]", "The customer says the car was repossessed.")
    page.locator("input[type=submit][value='Mark broken']").click()

    expect(page.locator("ul.messagelist")).to_have_text("Marked 1 promise broken.")
    expect(page.locator("#result_list .cc-pill-broken")).to_have_text("Broken")
    page.locator("#result_list tbody tr th a").click()
    expect(page.locator(".field-status_reason .readonly")).to_have_text("The customer says the car was repossessed.")
    page.goto("/admin/outreach/followup/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Maria Lopez")


def test_a_supervisor_gives_a_candidate_calls_only_after_it_passed_then_promotes_it(supervisor, page, settings):
    settings.AGENT_CANDIDATES = ["tests.agent.candidates:REWORDED"]
    version = candidates.REWORDED.version
    sign_in(page, supervisor.username)
    page.locator("tr.model-rollout a.addlink").click()
    expect(page.locator("#id_candidate_version_helptext")).to_contain_text(f"collections: {version}")
    page.select_option("#id_workflow", "collections")
    page.fill("#id_candidate_version", version)
    page.fill("#id_share", "25")
    page.locator("input[name=_save]").click()
    expect(page.locator(".errornote + ul.errorlist, ul.errorlist.nonfield")).to_contain_text(
        f"The evaluation suite has not passed for collections {version}"
    )
    assert off_the_browser_thread(Rollout.objects.count) == 0

    off_the_browser_thread(  # `eval_agent --candidate collections` passed
        rollouts.evaluation_record,
        workflow="collections",
        version=version,
        passed=True,
        report={"total": 247, "passed": 247},
        run_by="ci",
    )
    page.locator("input[name=_save]").click()
    row = page.locator("#result_list tbody tr")
    expect(row).to_contain_text(version[:8])
    expect(row.locator("td.field-share")).to_have_text("25")
    expect(row.locator("td.field-evaluation")).to_contain_text("247/247 scenarios")

    row.locator("input[name=_selected_action]").check()
    page.select_option("select[name=action]", "promote")
    page.locator("button[name=index]").click()
    expect(page.locator(".messagelist")).to_contain_text("Promoted 1 candidate(s): every new call runs them.")
    expect(row.locator("td.field-status")).to_have_text("Promoted: every call")
    assert off_the_browser_thread(
        lambda: list(
            AuditEvent.objects.filter(action__startswith="rollout.").order_by("id").values_list("actor_label", "action")
        )
    ) == [
        ("sup", "rollout.set"),
        ("sup", "rollout.promote"),
    ]


def test_a_manager_reads_rollouts_and_an_agent_does_not_see_them(manager, agent, page, settings):
    settings.AGENT_CANDIDATES = ["tests.agent.candidates:REWORDED"]
    sign_in(page, manager.username)
    expect(page.locator("tr.model-rollout")).to_have_count(1)
    expect(page.locator("tr.model-rollout a.addlink")).to_have_count(0)
    assert page.goto("/admin/agent/rollout/add/").status == 403
    page.context.clear_cookies()
    sign_in(page, agent.username)
    expect(page.locator("tr.model-rollout")).to_have_count(0)
    assert page.goto("/admin/agent/rollout/").status == 403
