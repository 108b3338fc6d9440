"""Exporting a call as an evaluation scenario in real Chromium, as a supervisor does it: from the
call's page, edit the expectation, see a mistake refused without losing the edit, download."""

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from playwright.sync_api import expect

from apps.calls.models import Call
from tests.browser.conftest import console_sign_in
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def recorded(transactional_db, tmp_path) -> Call:
    maria = CustomerFactory(name="Maria Lopez", phone="+14155550123", timezone="America/Los_Angeles",
                            profile={"zip": "94607"})  # fmt: skip
    script = tmp_path / "script.txt"
    script.write_text("My zip code is 94607\nI can pay 300 dollars on Friday\nYes\nNo, that's all. Bye!\n")
    call_command("simulate_call", customer=maria.phone, workflow="collections", script=script, stdout=StringIO())
    return Call.objects.get()


def test_a_supervisor_exports_a_call_edits_the_expectation_and_downloads_it(supervisor, recorded, page):
    console_sign_in(page, "sup")
    page.goto(f"/console/calls/{recorded.pk}/")
    page.get_by_role("link", name="Export as an evaluation scenario").click()
    page.wait_for_url(f"**/console/calls/{recorded.pk}/scenario/")
    text = page.get_by_label("Scenario (YAML)")
    original = text.input_value()
    assert "Maria" not in original
    assert "94607" not in original
    assert "My zip code is 90210" in original

    broken = original.replace("outcome: completed", "outcome: finished")
    text.fill(broken)
    page.get_by_role("button", name=f"Check and download call_{recorded.pk}.yaml").click()
    expect(page.get_by_role("alert")).to_contain_text("This is not a valid scenario: expect.outcome")
    expect(page.get_by_label("Scenario (YAML)")).to_have_value(broken)  # the edit is kept

    fixed = broken.replace("outcome: finished", "outcome: completed").replace("'300.00'", "'250.00'")
    page.get_by_label("Scenario (YAML)").fill(fixed)
    with page.expect_download() as started:
        page.get_by_role("button", name=f"Check and download call_{recorded.pk}.yaml").click()
    download = started.value
    assert download.suggested_filename == f"call_{recorded.pk}.yaml"
    saved = yaml.safe_load(Path(download.path()).read_text(encoding="utf-8"))
    assert saved["expect"]["promise"]["amount"] == "250.00"
    assert saved["expect"]["outcome"] == "completed"
