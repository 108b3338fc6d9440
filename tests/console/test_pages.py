"""The console's pages: each role sees exactly its pages, and approvals are decided there."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalStatus
from apps.calls.models import CallStatus, Speaker
from apps.core.models import AuditEvent
from tests.concurrency import concurrently
from tests.factories import ApprovalFactory, CallFactory, TranscriptEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "/console/monitor/",
    "/console/approvals/",
    "/console/calls/",
    "/console/calls/{call}/",
    "/console/calls/{call}/timeline/",
    "/console/calls/{call}/outcomes/",
]
# page -> the roles that may open it
ALLOWED = {
    "/console/monitor/": {"supervisor"},
    "/console/approvals/": {"supervisor", "agent"},
    "/console/calls/": {"supervisor", "agent", "manager"},
    "/console/calls/{call}/": {"supervisor", "agent", "manager"},
    "/console/calls/{call}/timeline/": {"supervisor", "agent", "manager"},
    "/console/calls/{call}/outcomes/": {"supervisor", "agent", "manager"},
}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def people(supervisor, agent, manager):
    return {"supervisor": supervisor, "agent": agent, "manager": manager}


@pytest.mark.parametrize("role", ["supervisor", "agent", "manager"])
def test_each_role_opens_exactly_its_pages(people, role):
    call = CallFactory()
    client = signed_in(people[role])
    answers = {page: client.get(page.format(call=call.pk)).status_code for page in PAGES}
    assert answers == {page: 200 if role in ALLOWED[page] else 403 for page in PAGES}


@pytest.mark.parametrize(
    ("role", "home"),
    [("supervisor", "/console/monitor/"), ("agent", "/console/approvals/"), ("manager", "/analytics/")],
)
def test_the_console_lands_each_role_on_its_home(people, role, home):
    response = signed_in(people[role]).get("/console/")
    assert (response.status_code, response["Location"]) == (302, home)


def test_a_signed_in_user_without_a_role_gets_403_everywhere():
    call = CallFactory()
    client = signed_in(UserFactory(username="norole", is_staff=True))
    pages = ["/console/", *(page.format(call=call.pk) for page in PAGES)]
    assert {page: client.get(page).status_code for page in pages} == dict.fromkeys(pages, 403)
    assert "Not allowed" in client.get("/console/monitor/").content.decode()


def test_a_signed_out_visitor_is_sent_to_sign_in():
    response = Client().get("/console/approvals/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/console/approvals/")


def test_navigation_shows_each_role_its_pages_with_counts(people):
    ApprovalFactory.create_batch(2)
    ApprovalFactory(expires_at=timezone.now() - timedelta(minutes=1))  # expired: nothing to decide
    CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None, workflow_name="collections")
    CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None, workflow_name="collections", state={"ended": True})
    page = signed_in(people["supervisor"]).get("/console/monitor/").content.decode()
    assert re.search(r'id="count-approvals"[^>]*>2<', page)
    assert re.search(r'id="count-live"[^>]*>1<', page)
    agent_page = signed_in(people["agent"]).get("/console/approvals/").content.decode()
    assert "Live monitor" not in agent_page
    assert 'id="count-approvals"' in agent_page


def test_pending_approvals_are_listed_oldest_first_with_what_a_person_needs(agent):
    newer = ApprovalFactory(reasoning="Newer request.")
    older = ApprovalFactory(reasoning="Older request.", kind="settlement")
    Approval.objects.filter(pk=older.pk).update(
        created_at=newer.created_at - timedelta(hours=1),
        payload={"settlement_amount": "600.00", "balance": "1250.00", "due_date": "2030-01-15"},
    )
    call = CallFactory(customer=newer.customer)
    Approval.objects.filter(pk=newer.pk).update(call=call, confidence=72)
    asked = newer.created_at - timedelta(seconds=5)
    TranscriptEntryFactory(
        call=call, sequence=0, speaker=Speaker.CUSTOMER, text="Can you waive the late fee?", spoken_at=asked
    )
    TranscriptEntryFactory(call=call, sequence=1, speaker=Speaker.AGENT, text="Said after the request.")
    ApprovalFactory(status=ApprovalStatus.REJECTED, decided_at=timezone.now(), reasoning="Already decided.")

    page = signed_in(agent).get("/console/approvals/").content.decode()

    assert page.index("Older request.") < page.index("Newer request.")
    assert "Already decided." not in page
    assert "Settlement amount</dt><dd>$600.00" in page
    assert "Due date</dt><dd>Tuesday, January 15, 2030" in page
    assert "Fee</dt><dd>late fee" in page
    assert "Amount</dt><dd>$35.00" in page
    assert "Can you waive the late fee?" in page
    assert "Said after the request." not in page
    assert "72/100" in page
    assert "only a person may accept one" in page  # the policy that requires a person
    assert re.search(r"\d+ days left|\d+ h \d+ min left", page)
    main = page[page.index("<main") :]
    assert "{" not in main  # no raw JSON where a person reads


def test_an_agent_approves_from_the_console(agent, sent, django_capture_on_commit_callbacks):
    approval = ApprovalFactory()
    client = signed_in(agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/console/approvals/{approval.pk}/decide/",
            {"decision": "approve", "note": ""},
            headers={"HX-Request": "true"},
        )
    approval.refresh_from_db()
    assert (response.status_code, approval.status, approval.decided_by_id) == (200, ApprovalStatus.APPROVED, agent.pk)
    assert f'by <strong class="decided-by">{agent.username}</strong>' in response.content.decode()
    assert sent.names() == ["apps.approvals.tasks.approval_execute"]


def test_a_rejection_without_a_note_is_refused_and_changes_nothing(agent):
    approval = ApprovalFactory()
    audits = AuditEvent.objects.count()
    response = signed_in(agent).post(
        f"/console/approvals/{approval.pk}/decide/",
        {"decision": "reject", "note": "  "},
        headers={"HX-Request": "true"},
    )
    approval.refresh_from_db()
    assert (response.status_code, approval.status, AuditEvent.objects.count()) == (200, "pending", audits)
    assert "A rejection needs a note saying why." in response.content.decode()


def test_the_second_agent_to_decide_sees_who_decided(agent):
    other = UserFactory(username="second")
    other.groups.set(agent.groups.all())
    approval = ApprovalFactory()
    signed_in(agent).post(f"/console/approvals/{approval.pk}/decide/", {"decision": "approve", "note": "ok"})
    response = signed_in(other).post(
        f"/console/approvals/{approval.pk}/decide/",
        {"decision": "reject", "note": "no"},
        headers={"HX-Request": "true"},
    )
    approval.refresh_from_db()
    body = response.content.decode()
    assert (approval.status, approval.decided_by_id, approval.note) == ("approved", agent.pk, "ok")
    assert "This approval was already decided: approved." in body
    assert f'by <strong class="decided-by">{agent.username}</strong>' in body


def test_an_expired_approval_cannot_be_approved(agent, sent, django_capture_on_commit_callbacks):
    approval = ApprovalFactory(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(agent).post(
            f"/console/approvals/{approval.pk}/decide/", {"decision": "approve"}, headers={"HX-Request": "true"}
        )
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by_id, sent) == ("expired", None, [])
    assert "This approval expired" in response.content.decode()


def test_a_manager_cannot_decide(manager):
    approval = ApprovalFactory()
    response = signed_in(manager).post(f"/console/approvals/{approval.pk}/decide/", {"decision": "approve"})
    approval.refresh_from_db()
    assert (response.status_code, approval.status) == (403, "pending")


def test_the_call_page_shows_the_transcript_and_what_the_agent_did(supervisor):
    call = CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None, current_step="verify_identity")
    TranscriptEntryFactory(call=call, sequence=0, speaker=Speaker.AGENT, text="Hi, this is the assistant.")
    TranscriptEntryFactory(call=call, sequence=1, speaker=Speaker.CUSTOMER, text="My zip is 94607")
    page = signed_in(supervisor).get(f"/console/calls/{call.pk}/").content.decode()
    assert page.index("Hi, this is the assistant.") < page.index("My zip is 94607")
    assert f'data-live="call-{call.pk}"' in page
    assert "verify identity" in page


def test_a_manager_reads_a_call_without_the_live_view(manager):
    call = CallFactory(status=CallStatus.IN_PROGRESS, ended_at=None)
    page = signed_in(manager).get(f"/console/calls/{call.pk}/").content.decode()
    assert "data-live=" not in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_agents_deciding_at_once_in_the_console_one_wins_and_the_other_sees_who(agent, sent):
    other = UserFactory(username="second")
    other.groups.set(agent.groups.all())
    approval = ApprovalFactory()
    desks = [signed_in(agent), signed_in(other)]
    decisions = [{"decision": "approve", "note": ""}, {"decision": "reject", "note": "Not this time."}]

    pages = concurrently(
        2,
        lambda i: (
            desks[i]
            .post(f"/console/approvals/{approval.pk}/decide/", decisions[i], headers={"HX-Request": "true"})
            .content.decode()
        ),
    )

    approval.refresh_from_db()
    winner = approval.decided_by.username
    loser_page = pages[1] if winner == "agt" else pages[0]
    assert approval.status == ("approved" if winner == "agt" else "rejected")
    assert f"This approval was already decided: {approval.status}." in loser_page
    assert f'by <strong class="decided-by">{winner}</strong>' in loser_page
    assert AuditEvent.objects.filter(action="approval.decide").count() == 1
