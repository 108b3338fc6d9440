"""The review queue's page: supervisors only; what a card shows; a review submitted from it."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.analysis.models import CallAnalysis, ReviewCorrection
from apps.promises.models import Promise, PromiseStatus
from tests.analysis.test_review import QUOTE, make_analysis
from tests.factories import CallAnalysisFactory

pytestmark = pytest.mark.django_db

CONFIRM_ALL = {
    "decision-promise-amount": "confirm",
    "decision-promise-due-date": "confirm",
    "decision-next-action-when": "confirm",
    "decision-intent": "confirm",
}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_supervisor_sees_each_analysis_with_its_fields_confidence_and_evidence_in_the_transcript(supervisor):
    analysis = make_analysis()
    CallAnalysisFactory(needs_review=False, review_fields=[], summary="A confident analysis.")

    response = signed_in(supervisor).get("/console/review/")

    assert response.status_code == 200
    page = response.content.decode()
    card = page[page.index(f'id="review-{analysis.pk}"') :]
    assert f">{analysis.call.customer.name}</h2>" in card
    assert "A confident analysis." not in page
    assert re.search(
        r"<legend>Promised amount</legend>\s*<p class=\"ai-value\">The AI: <strong>\$300.00</strong>", card
    )
    assert "55/100" in card
    assert "Confidence 55 is below 70." in card
    assert f"<q><mark>{QUOTE}</mark></q>" in card  # the evidence beside the field
    assert f"<p><mark>{QUOTE[:-1]}</mark>.</p>" in card  # and marked in the transcript (the words)
    assert "<p>Can you make a payment today?</p>" in card  # a line without evidence, unmarked
    assert 'name="value-promise-amount" type="text" value="300.00"' in card
    assert f'hx-post="/console/review/{analysis.pk}/"' in card
    assert re.search(
        r'href="/console/review/" aria-current="page">Reviews <span class="count" id="count-reviews"[^>]*>1<', page
    )
    main = page[page.index("<main") :]
    assert "{" not in main  # no raw JSON where a person reads


def test_the_queue_reads_in_the_same_queries_however_many_wait(supervisor):
    make_analysis()
    client = signed_in(supervisor)
    client.get("/console/review/")  # the session and the roles, read once
    with CaptureQueriesContext(connection) as one:
        client.get("/console/review/")
    make_analysis()
    make_analysis()
    with CaptureQueriesContext(connection) as three:
        page = client.get("/console/review/").content.decode()
    assert page.count('class="card review"') == 3
    assert len(three) == len(one)


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_agents_and_managers_may_not_open_or_post_to_it(role, request):
    analysis = make_analysis()
    client = signed_in(request.getfixturevalue(role))
    assert client.get("/console/review/").status_code == 403
    posted = client.post(
        f"/console/review/{analysis.pk}/",
        {**CONFIRM_ALL, "decision-promise-amount": "correct", "value-promise-amount": "1"},
    )
    assert posted.status_code == 403
    assert not ReviewCorrection.objects.exists()
    assert CallAnalysis.objects.get(pk=analysis.pk).reviewed_at is None


def test_a_correction_posted_from_the_card_changes_the_promise_and_answers_the_card(supervisor):
    analysis = make_analysis()
    old = Promise.objects.get(call=analysis.call)

    response = signed_in(supervisor).post(
        f"/console/review/{analysis.pk}/",
        {**CONFIRM_ALL, "decision-promise-amount": "correct", "value-promise-amount": "250.00"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "console:counts"
    new = Promise.objects.get(call=analysis.call, status=PromiseStatus.PENDING)
    assert new.amount == Decimal("250.00")
    assert Promise.objects.get(pk=old.pk).status == PromiseStatus.SUPERSEDED
    card = response.content.decode()
    assert '<span class="pill pill-completed">Reviewed</span>' in card
    assert 'Reviewed by <span class="reviewed-by">sup</span>' in card
    assert "Corrected: <del>$300.00</del>" in card
    assert "<ins>$250.00</ins>" in card
    assert f"Promise #{old.pk} was replaced by promise #{new.pk}: $250.00 by " in card
    assert "<form" not in card


def test_an_invalid_correction_answers_the_card_with_the_error_and_what_was_entered(supervisor):
    analysis = make_analysis()
    response = signed_in(supervisor).post(
        f"/console/review/{analysis.pk}/",
        {**CONFIRM_ALL, "decision-promise-amount": "correct", "value-promise-amount": "12.345"},
        headers={"HX-Request": "true"},
    )
    card = response.content.decode()
    assert '<p class="error" role="alert"' in card
    assert "The promised amount may have at most 2 decimals (cents), like 250.75." in card
    assert 'value="12.345" autocomplete="off" inputmode="decimal" size="12" aria-invalid="true"' in card
    assert 'value="correct" required checked' in card
    assert Promise.objects.get(call=analysis.call).amount == Decimal("300.00")
    assert not ReviewCorrection.objects.exists()


def test_a_field_left_unanswered_is_named(supervisor):
    analysis = make_analysis()
    answers = {key: value for key, value in CONFIRM_ALL.items() if key != "decision-intent"}
    response = signed_in(supervisor).post(f"/console/review/{analysis.pk}/", answers, headers={"HX-Request": "true"})
    assert "Confirm or correct the intent." in response.content.decode()
    assert CallAnalysis.objects.get(pk=analysis.pk).reviewed_at is None


def test_without_htmx_a_review_goes_back_to_the_queue(supervisor):
    analysis = make_analysis()
    client = signed_in(supervisor)
    response = client.post(f"/console/review/{analysis.pk}/", CONFIRM_ALL)
    assert (response.status_code, response["Location"]) == (302, "/console/review/")
    page = client.get("/console/review/").content.decode()
    assert f"Reviewed the analysis of call {analysis.call_id}." in page
    assert f'id="review-{analysis.pk}"' not in page  # it left the queue
    assert 'data-empty="No analysis waits for a review."></div>' in page
