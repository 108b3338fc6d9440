"""The analytics in real Chromium, as a manager reads them: the charts drawn from the figures, a
chart's bar opening the calls behind it, the CSV downloaded, two versions of a workflow side by
side with a version's heading opening its calls. An agent is refused."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.analytics.test_figures import HEADER, history, new_york  # noqa: F401 (fixtures)
from tests.analytics.test_versions import OTHER, current, two_versions  # noqa: F401 (fixtures)
from tests.browser.conftest import console_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

DOCS = Path(__file__).resolve().parents[2] / "docs"
RANGE = "/analytics/?from=2026-03-07&to=2026-03-09"
# Where a dataset's bar for one day is on the screen (Chart.js's own layout of it), scrolled into view.
BAR = """([chart, label, index]) => {
  const canvas = document.querySelector(`canvas[data-chart="${chart}"]`);
  canvas.scrollIntoView({block: "center"});
  const set = canvas.chart.data.datasets.findIndex((d) => d.label === label);
  const bar = canvas.chart.getDatasetMeta(set).data[index];
  const box = canvas.getBoundingClientRect();
  return {x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2};
}"""


def test_a_manager_reads_the_charts_drills_down_and_downloads_the_csv(manager, history, page):  # noqa: F811
    console_sign_in(page, "mgr")
    assert page.url.endswith("/analytics/")
    page.goto(RANGE)
    for chart in ("calls-per-day", "handoff-reasons", "promise-outcomes", "kept-by-stage", "promise-cohorts"):
        expect(page.locator(f"#{chart}")).to_have_attribute("data-drawn", "true")
    expect(page.locator("#calls-per-day tbody tr")).to_have_count(3)
    page.screenshot(path=str(DOCS / "analytics.png"), full_page=True)

    # Sunday's "handed to a person" bar opens that day's hand-off.
    point = page.evaluate(BAR, ["calls-per-day", "Handed to a person", 1])
    page.mouse.click(point["x"], point["y"])
    page.wait_for_url("**/analytics/calls/?*day=2026-03-08*")
    expect(page.locator("h1")).to_have_text("Calls: handed to a person")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.locator("tbody a").first.click()
    expect(page.locator("h1")).to_contain_text("Completed")  # the console's call detail
    expect(page.locator("body")).to_contain_text("the caller asked for a person")

    page.goto(RANGE)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "analytics-2026-03-07-2026-03-09.csv"
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines == [
        HEADER,
        "2026-03-07,1,1,0,1,1,0,1,300.00,1,300.00,0,0.010000,0,0,0,0,300.00",
        "2026-03-08,1,0,1,0,0,1,1,200.00,0,0.00,1,0.020000,0,0,1,0,50.00",
        "2026-03-09,3,2,1,1,0,0,1,100.00,0,0.00,1,0.006000,1,1,0,1,0.00",
    ]


def test_a_manager_compares_two_versions_and_opens_one_versions_calls(manager, two_versions, page):  # noqa: F811
    now = current()
    console_sign_in(page, "mgr")
    page.goto("/analytics/?from=2026-03-10&to=2026-03-10")
    section = page.get_by_role("region", name="Versions side by side")
    table = section.get_by_role("table", name="collections: versions side by side")
    table.scroll_into_view_if_needed()
    expect(table.locator("thead th")).to_have_text(["Figure", f"{now[:8]} current", "01234567 other version"])
    expect(table.get_by_role("row", name="Calls").locator("td")).to_have_text(["4", "2"])
    expect(table.get_by_role("row", name="Workflow completed").locator("td")).to_have_text(
        ["33.3% 1 of 3", "100.0% 2 of 2"]
    )
    expect(table.get_by_role("row", name="Promises kept").locator("td")).to_have_text(["50.0% 1 of 2", "66.7% 2 of 3"])
    expect(table.get_by_role("row", name="Turn latency p95").locator("td")).to_have_text(["2000 ms", "5000 ms"])
    expect(table.get_by_role("row", name="Cost per call").locator("td")).to_have_text(["$0.0090", "$0.0100"])
    expect(section.get_by_role("table", name="roadside: versions side by side")).to_be_visible()

    heading = table.get_by_role("link", name="01234567")
    expect(heading).to_have_attribute("title", OTHER)
    heading.click()
    page.wait_for_url(f"**/analytics/calls/?*version={OTHER}*")
    expect(page.locator(".lead")).to_contain_text("collections · version 01234567")
    expect(page.locator(".lead")).to_contain_text("2 calls, newest first")
    expect(page.locator("tbody tr")).to_have_count(2)  # the test call is not one of them


def test_an_agent_is_refused(agent, page):
    console_sign_in(page, "agt")
    response = page.goto("/analytics/")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
