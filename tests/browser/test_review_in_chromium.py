"""The review queue in real Chromium, as a supervisor works it: from the navigation to a card,
correct the promised amount, submit from the keyboard, see the card reviewed in place."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from apps.analysis.models import CallAnalysis
from apps.promises.models import Promise, PromiseStatus
from tests.analysis.test_review import make_analysis
from tests.browser.conftest import console_sign_in
from tests.browser.console import off_the_browser_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def analysis(transactional_db) -> CallAnalysis:
    return make_analysis()


def _promises(call_id: int) -> list[tuple[Decimal, str]]:
    return list(Promise.objects.filter(call_id=call_id).order_by("pk").values_list("amount", "status"))


def test_a_supervisor_corrects_the_promised_amount_and_sees_the_card_reviewed(supervisor, analysis, console):
    console_sign_in(console, "sup")
    expect(console.locator("#count-reviews")).to_have_text("1")
    console.get_by_role("link", name=re.compile(r"^Reviews")).click()
    console.wait_for_url("**/console/review/")

    card = console.locator(f"#review-{analysis.pk}")
    expect(card.locator("h2")).to_have_text(analysis.call.customer.name)
    expect(card.locator(".transcript mark")).to_have_text("I can pay 300 dollars next week by card")
    amount = card.get_by_role("group", name="Promised amount", exact=True)
    expect(amount.locator(".ai-value")).to_have_text("The AI: $300.00")
    for name in ("Promised date", "Follow-up call", "Intent"):
        card.get_by_role("group", name=name, exact=True).get_by_label("Confirm", exact=True).check()
    amount.get_by_label("Correct to", exact=True).check()
    typed = amount.get_by_label("Corrected promised amount", exact=True)
    typed.fill("250.00")
    # Readable at 1280 px: nothing runs off the side of the page.
    assert console.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    typed.press("Enter")  # submitted from the keyboard

    reviewed = console.locator(f"#review-{analysis.pk} .review-result")
    expect(reviewed).to_be_focused()
    expect(console.locator(f"#review-{analysis.pk} .pill")).to_have_text("Reviewed")
    expect(reviewed.locator(".reviewed-by")).to_have_text("sup")
    expect(reviewed.locator("ins")).to_have_text("$250.00")
    expect(console.locator("#count-reviews")).to_have_text("0")
    assert off_the_browser_thread(_promises, analysis.call_id) == [
        (Decimal("300.00"), PromiseStatus.SUPERSEDED),
        (Decimal("250.00"), PromiseStatus.PENDING),
    ]
