"""Versions side by side (apps/analytics/versions.py): two versions of collections on one day, with
outcomes, hand-offs, promises, turn latencies and costs worked out by hand, a test call of one of
them that must not count, and a roadside call of its own; on the page, in the JSON summary and in
the drill-down a version's heading opens."""

import html
import re
from dataclasses import asdict
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client

from apps.agent.models import Rollout
from apps.agent.workflows import get_workflow
from apps.analytics.figures import Filters
from apps.analytics.rollups import rollups_rebuild
from apps.analytics.versions import VersionFigures, compare_versions, version_label
from tests.analytics.test_figures import call, new_york, promise, turn, utc  # noqa: F401 (fixtures)
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

OTHER = "0123456789abcdef"
ROADSIDE = "feedfacecafebeef"
DAY = "from=2026-03-10&to=2026-03-10"


def current() -> str:
    return get_workflow("collections").version


@pytest.fixture
def two_versions():
    """Tuesday, March 10, 2026 (EDT): four calls of the current collections, two of another
    version, a test call of that other one, a roadside chat."""
    now, other = current(), {"workflow_version": OTHER}
    customer = CustomerFactory()
    # The current version: completed, handed off, left before the end, not reached.
    a1 = call(utc(2026, 3, 10, 14, 0), workflow_version=now, state={"ended": True}, cost_usd=Decimal("0.010000"))
    turn(a1, mode="llm", total_ms=1210.0)  # bucket 1000
    turn(a1, mode="llm", total_ms=2400.0)  # bucket 2000
    a2 = call(
        utc(2026, 3, 10, 14, 10),
        workflow_version=now,
        state={"ended": True},
        handoff_reason="the caller asked for a person",
        cost_usd=Decimal("0.020000"),
    )
    turn(a2, mode="llm", total_ms=640.0)  # bucket 600
    call(utc(2026, 3, 10, 14, 20), workflow_version=now, state={}, cost_usd=Decimal("0.006000"))
    call(utc(2026, 3, 10, 14, 30), workflow_version=now, direction="outbound", status="no-answer")
    promise(utc(2026, 3, 10, 14, 5), call=a1, customer=customer, amount=Decimal("100.00"), status="kept")
    promise(utc(2026, 3, 10, 14, 15), call=a2, customer=customer, amount=Decimal("80.00"), status="broken")
    # The other version: two completed calls (one outbound), three promises, two kept.
    b1 = call(utc(2026, 3, 10, 15, 0), **other, state={"ended": True}, cost_usd=Decimal("0.012000"))
    turn(b1, mode="llm", total_ms=300.0)
    turn(b1, mode="llm", total_ms=470.0)  # bucket 450
    b2 = call(
        utc(2026, 3, 10, 15, 10), **other, direction="outbound", state={"ended": True}, cost_usd=Decimal("0.008000")
    )
    turn(b2, mode="offline", total_ms=5200.0)  # bucket 5000
    promise(utc(2026, 3, 10, 15, 5), call=b1, customer=customer, amount=Decimal("50.00"), status="kept")
    promise(utc(2026, 3, 10, 15, 15), call=b2, customer=customer, amount=Decimal("60.00"), status="kept")
    promise(utc(2026, 3, 10, 15, 16), call=b2, customer=customer, amount=Decimal("90.00"), status="partially_kept")
    # A test call of the other version, slow, expensive and with a kept promise: never counts.
    test = call(utc(2026, 3, 10, 16, 0), **other, is_test=True, state={"ended": True}, cost_usd=Decimal("0.5"))
    turn(test, mode="llm", total_ms=20000.0)
    promise(utc(2026, 3, 10, 16, 5), call=test, customer=customer, amount=Decimal("999.00"), status="kept")
    # Roadside, a version of its own.
    r1 = call(
        utc(2026, 3, 10, 17, 0),
        workflow_name="roadside",
        workflow_version=ROADSIDE,
        channel="web_chat",
        state={"ended": True},
        cost_usd=Decimal("0.004000"),
    )
    turn(r1, mode="rule", total_ms=12.0)  # bucket 10
    rollups_rebuild()


def current_column() -> VersionFigures:
    return VersionFigures(
        workflow="collections",
        version=current(),
        label="current",
        current=True,
        calls=4,
        conversations=3,
        completed=1,
        handed_off=1,
        completion_rate=Decimal("33.3"),
        handoff_rate=Decimal("33.3"),
        promises=2,
        kept=1,
        kept_rate=Decimal("50.0"),
        turns=3,
        latency_p50_ms=Decimal(1000),  # of 600, 1000, 2000: the 2nd
        latency_p95_ms=Decimal(2000),  # the 3rd
        cost_usd=Decimal("0.036000"),
        cost_per_call=Decimal("0.009000"),
    )


OTHER_COLUMN = VersionFigures(
    workflow="collections",
    version=OTHER,
    label="other version",
    current=False,
    calls=2,
    conversations=2,
    completed=2,
    handed_off=0,
    completion_rate=Decimal("100.0"),
    handoff_rate=Decimal("0.0"),
    promises=3,
    kept=2,
    kept_rate=Decimal("66.7"),
    turns=3,
    latency_p50_ms=Decimal(450),  # of 300, 450, 5000
    latency_p95_ms=Decimal(5000),
    cost_usd=Decimal("0.020000"),
    cost_per_call=Decimal("0.010000"),
)
ROADSIDE_COLUMN = VersionFigures(
    workflow="roadside",
    version=ROADSIDE,
    label="other version",
    current=False,
    calls=1,
    conversations=1,
    completed=1,
    handed_off=0,
    completion_rate=Decimal("100.0"),
    handoff_rate=Decimal("0.0"),
    promises=0,
    kept=0,
    kept_rate=None,
    turns=1,
    latency_p50_ms=Decimal(10),
    latency_p95_ms=Decimal(10),
    cost_usd=Decimal("0.004000"),
    cost_per_call=Decimal("0.004000"),
)


@pytest.fixture
def manager_client(manager) -> Client:
    client = Client()
    client.force_login(manager)
    return client


def test_each_version_gets_the_hand_computed_figures_from_three_grouped_queries(
    two_versions, django_assert_num_queries
):
    with django_assert_num_queries(4):  # calls, promises, latency, rollouts: however many versions
        blocks = compare_versions(Filters(date(2026, 3, 10), date(2026, 3, 10)))
    assert [(b.workflow, b.current_version) for b in blocks] == [
        ("collections", current()),
        ("roadside", get_workflow("roadside").version),
    ]
    assert blocks[0].columns == [current_column(), OTHER_COLUMN]  # the current version first
    assert blocks[1].columns == [ROADSIDE_COLUMN]
    # A range with a whole month reads March's latency from the monthly rows (a UNION ALL with
    # the odd days'): the same figures, still three queries.
    with django_assert_num_queries(4):
        around = compare_versions(Filters(date(2026, 2, 20), date(2026, 4, 10)))
    assert around == blocks


def test_the_filters_narrow_the_comparison_but_the_version_filter_does_not(two_versions):
    day = date(2026, 3, 10)
    inbound = compare_versions(Filters(day, day, workflow="collections", direction="inbound"))
    assert [(c.version, c.calls, c.promises, c.kept, c.turns) for b in inbound for c in b.columns] == [
        (current(), 3, 2, 1, 3),
        (OTHER, 1, 1, 1, 2),
    ]
    assert compare_versions(Filters(day, day, version=OTHER)) == compare_versions(Filters(day, day))
    assert [b.workflow for b in compare_versions(Filters(day, day, channel="web_chat"))] == ["roadside"]
    assert compare_versions(Filters(date(2026, 3, 11), date(2026, 3, 11))) == []


def test_a_version_is_labelled_current_only_when_it_is_the_definitions():
    assert version_label("collections", current()) == "current"
    assert version_label("collections", OTHER) == "other version"
    assert version_label("collections", "") == "other version"
    assert version_label("retired_workflow", OTHER) == "other version"


@pytest.mark.django_db
def test_the_candidate_a_rollout_names_is_labelled_with_where_it_stands(two_versions):
    rollout = Rollout.objects.create(workflow="collections", candidate_version=OTHER, share=25)

    def labels():
        return [
            (c.version, c.label)
            for b in compare_versions(Filters(date(2026, 3, 10), date(2026, 3, 10)))
            for c in b.columns
            if b.workflow == "collections"
        ]

    assert labels() == [(current(), "current"), (OTHER, "candidate (trial, 25%)")]
    for status, label in (("promoted", "candidate (promoted)"), ("rolled_back", "candidate (rolled back)")):
        Rollout.objects.filter(pk=rollout.pk).update(status=status)
        assert labels() == [(current(), "current"), (OTHER, label)]


def cells(page: str, caption: str) -> list[list[str]]:
    """The table with this caption, as the text of its cells, row by row."""
    table = re.search(rf"<caption>{re.escape(caption)}</caption>(.*?)</table>", page, re.S)
    assert table, f"no table {caption!r}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in rows
    ]


def test_the_page_shows_the_versions_side_by_side_and_each_heading_opens_its_calls(two_versions, manager_client):
    now = current()
    response = manager_client.get(f"/analytics/?{DAY}")
    page = response.content.decode()
    assert '<h2 id="versions-title">Versions side by side</h2>' in page
    assert response.context["version_tables"][0]["columns"][1]["version"] == OTHER
    assert cells(page, "collections: versions side by side") == [
        ["Figure", f"{now[:8]} current", "01234567 other version"],
        ["Calls", "4", "2"],
        ["Workflow completed", "33.3% 1 of 3", "100.0% 2 of 2"],
        ["Handed to a person", "33.3% 1 of 3", "0.0% 0 of 2"],
        ["Promises kept", "50.0% 1 of 2", "66.7% 2 of 3"],
        ["Turn latency p50", "1000 ms 3 turns", "450 ms 3 turns"],
        ["Turn latency p95", "2000 ms", "5000 ms"],
        ["Cost per call", "$0.0090", "$0.0100"],
    ]
    assert cells(page, "roadside: versions side by side") == [
        ["Figure", "feedface other version"],
        ["Calls", "1"],
        ["Workflow completed", "100.0% 1 of 1"],
        ["Handed to a person", "0.0% 0 of 1"],
        ["Promises kept", "– 0 of 0"],
        ["Turn latency p50", "10 ms 1 turn"],
        ["Turn latency p95", "10 ms"],
        ["Cost per call", "$0.0040"],
    ]
    current_link = f"/analytics/calls/?from=2026-03-10&amp;to=2026-03-10&amp;workflow=collections&amp;version={now}"
    assert (
        f'<th scope="col" class="current"><a href="{current_link}" title="{now}">{now[:8]}</a> '
        '<span class="version-label">current</span></th>'
    ) in page
    other_link = f"/analytics/calls/?from=2026-03-10&to=2026-03-10&workflow=collections&version={OTHER}"
    assert f'<th scope="col"><a href="{html.escape(other_link)}" title="{OTHER}">01234567</a>' in page

    drill = manager_client.get(other_link).content.decode()
    assert "2 calls, newest first" in drill  # b1 and b2: the test call is not one of them
    assert f'version <span title="{OTHER}">01234567</span>' in drill


def test_a_workflow_filter_shows_only_its_versions_whatever_the_version_filter(two_versions, manager_client):
    page = manager_client.get(f"/analytics/?{DAY}&workflow=collections&version={OTHER}").content.decode()
    assert cells(page, "collections: versions side by side")[0] == [
        "Figure",
        f"{current()[:8]} current",
        "01234567 other version",
    ]
    assert "roadside: versions side by side" not in page
    # The headings keep the other filters and name their own version.
    link = f"/analytics/calls/?from=2026-03-10&to=2026-03-10&workflow=collections&version={current()}"
    assert html.escape(link) in page
    empty = manager_client.get("/analytics/?from=2026-03-11&to=2026-03-11").content.decode()
    assert "No workflow ran calls in this range." in empty


def test_the_json_summary_has_each_version_with_the_same_figures(two_versions, manager_client):
    body = manager_client.get(f"/api/v1/analytics/summary?{DAY}").json()

    def plain(column: VersionFigures) -> dict:
        return {k: float(v) if isinstance(v, Decimal) else v for k, v in asdict(column).items()}

    assert body["versions"] == [plain(current_column()), plain(OTHER_COLUMN), plain(ROADSIDE_COLUMN)]
    assert body["versions"][1] == {
        "workflow": "collections",
        "version": OTHER,
        "label": "other version",
        "current": False,
        "calls": 2,
        "conversations": 2,
        "completed": 2,
        "handed_off": 0,
        "completion_rate": 100.0,
        "handoff_rate": 0.0,
        "promises": 3,
        "kept": 2,
        "kept_rate": 66.7,
        "turns": 3,
        "latency_p50_ms": 450.0,
        "latency_p95_ms": 5000.0,
        "cost_usd": 0.02,
        "cost_per_call": 0.01,
    }
    # The page's own figures are those of all calls (the test call still left out).
    assert (body["outcomes"]["calls"], body["money"]["promises"], body["cost"]["cost_usd"]) == (7, 5, 0.06)
    narrowed = manager_client.get(f"/api/v1/analytics/summary?{DAY}&workflow=roadside").json()
    assert narrowed["versions"] == [plain(ROADSIDE_COLUMN)]
