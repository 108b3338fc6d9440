"""The analytics pages: who opens them, what bad input gets, and the drill-down's calls."""

import html
from datetime import date

import pytest
from django.test import Client
from django.utils.http import urlencode

from apps.calls.models import Call
from tests.analytics.test_figures import history, new_york  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db

PAGES = ["/analytics/", "/analytics/export.csv?from=2026-03-07&to=2026-03-09", "/analytics/calls/"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("supervisor", 200), ("agent", 403)])
def test_managers_and_supervisors_open_the_analytics_and_agents_do_not(request, role, status):
    client = signed_in(request.getfixturevalue(role))
    assert [client.get(page).status_code for page in PAGES] == [status] * len(PAGES)
    assert client.get("/api/v1/analytics/summary?from=2026-03-07&to=2026-03-09").status_code == (
        200 if status == 200 else 403
    )


def test_signed_out_people_are_sent_to_sign_in():
    response = Client().get("/analytics/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/analytics/")
    assert Client().get("/api/v1/analytics/summary?from=2026-03-07&to=2026-03-09").status_code == 401


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-03-07", "Give both 'from' and 'to' (YYYY-MM-DD), or neither."),
        ("from=2026-3-7&to=2026-03-09", "'from' must be a date as YYYY-MM-DD (got '2026-3-7')."),
        ("from=2026-03-09&to=2026-03-07", "'from' (2026-03-09) is after 'to' (2026-03-07)."),
        (
            "from=2026-03-07&to=2026-03-09&direction=sideways",
            "'direction' must be one of inbound, outbound (got 'sideways').",
        ),
        ("", "Give the range: 'from' and 'to' as YYYY-MM-DD."),
    ],
)
def test_bad_input_gets_a_clear_error(manager, query, message):
    client = signed_in(manager)
    csv = client.get(f"/analytics/export.csv?{query}")
    assert (csv.status_code, csv.content.decode()) == (400, message)
    api = client.get(f"/api/v1/analytics/summary?{query}")
    assert (api.status_code, api.json()) == (422, {"detail": message})


def test_a_bad_range_on_the_page_says_so_and_shows_the_last_30_days(manager):
    page = html.unescape(signed_in(manager).get("/analytics/?from=2026-03-09&to=2026-03-07").content.decode())
    assert "'from' (2026-03-09) is after 'to' (2026-03-07). Showing the last 30 days instead." in page


def test_the_page_shows_the_figures_and_links_each_point_to_its_calls(history, manager):  # noqa: F811
    page = signed_in(manager).get("/analytics/?from=2026-03-07&to=2026-03-09").content.decode()
    assert '<dt>Calls</dt><dd><a href="/analytics/calls/?from=2026-03-07&amp;to=2026-03-09">5</a></dd>' in page
    assert '<dt>Collected against promised</dt><dd>$350.00 <span class="quiet">58.3%</span></dd>' in page
    assert '<th scope="row">2026-03-08</th><td>0</td><td>1</td><td>0</td><td>1</td>' in page
    assert (
        '<div class="tile-bad"><dt>Dials outside the calling window</dt><dd>1 <span class="quiet">of 3 placed, 1 not checked</span></dd></div>'
        in page
    )
    link = "/analytics/calls/?from=2026-03-07&to=2026-03-09&day=2026-03-08&days=1&outcome=handed_off"
    assert link.replace("&", "\\u0026") in page  # in the charts' data


def test_the_drill_down_lists_the_calls_of_the_point(history, manager):  # noqa: F811
    client = signed_in(manager)
    query = urlencode({"from": "2026-03-08", "to": "2026-03-08", "outcome": "handed_off"})
    page = client.get(f"/analytics/calls/?{query}").content.decode()
    handed_off = Call.objects.get(handoff_reason="the caller asked for a person")
    assert "1 call, newest first" in page
    assert f'href="/console/calls/{handed_off.pk}/"' in page
    monday = client.get("/analytics/calls/?from=2026-03-09&to=2026-03-09").content.decode()
    assert "3 calls, newest first" in monday  # the test call is not one of them
    assert client.get("/analytics/calls/?outcome=lost").status_code == 400


def test_the_presets_end_today_in_the_business_time_zone():
    from apps.analytics.params import preset_range

    today = date(2026, 5, 20)
    assert [preset_range(name, today) for name in ("today", "7d", "30d", "quarter")] == [
        (today, today),
        (date(2026, 5, 14), today),
        (date(2026, 4, 21), today),
        (date(2026, 4, 1), today),
    ]


def test_a_long_range_is_drawn_week_by_week_and_a_week_opens_its_calls(history, manager):  # noqa: F811
    client = signed_in(manager)
    page = client.get("/analytics/?from=2026-01-01&to=2026-06-30").content.decode()
    assert "Calls per week, by outcome" in page
    # The week of Monday, March 2 holds Saturday's and Sunday's calls; the next, Monday's.
    assert '<th scope="row">2026-03-02</th><td>1</td><td>1</td><td>1</td><td>1</td>' in page
    link = "/analytics/calls/?from=2026-01-01&to=2026-06-30&day=2026-03-02&days=7&outcome=handed_off"
    assert link.replace("&", "\\u0026") in page
    week = client.get(link).content.decode()
    assert "Mar 2, 2026 to Mar 8, 2026" in week
    assert "1 call, newest first" in week
    assert client.get("/analytics/calls/?day=2026-03-02&days=seven").status_code == 400
