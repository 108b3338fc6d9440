"""`eval_analysis`: the analyzer scored on people's labels, accuracy and calibration computed by
hand here, and the labelled cases exported from the review queue."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.analysis.review import AMOUNT, DUE_DATE, FOLLOW_UP, INTENT, SENTIMENT, analysis_review
from apps.evals.analysis_eval import cases_from_reviews, load_cases
from tests.analysis.test_review import make_analysis, the_ais

CASE = {
    "analysis_id": 7,
    "workflow": "collections",
    "direction": "inbound",
    "timezone": "America/Los_Angeles",
    "balance": "1250.50",
    "ended_at": "2026-12-07T18:00:00+00:00",  # Monday, December 7, 10:00 in Los Angeles
    "live_promise": None,
    "lines": [
        ["agent", "Can you make a payment?"],
        ["customer", "I can pay 300 dollars on Friday by card."],
        ["agent", "Thanks."],
        ["customer", "Bye."],
    ],
    # The offline analyzer hears 300.00 on Friday 2026-12-11 (confidence 55), intent promise_to_pay
    # (50), a neutral sentiment (40) and a follow-up call on 2026-12-12 (50).
    "labels": {
        "promise.amount": "300.00",  # right
        "promise.due_date": "2026-12-18",  # wrong: the person heard the Friday after
        "next_action.when": "2026-12-12T09:00:00-08:00",  # right: the same day
        "intent": "promise_to_pay",  # right
        "sentiment": "positive",  # wrong
    },
}


def test_scores_and_calibration_from_labelled_cases(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "analysis_7.json").write_text(json.dumps(CASE))
    out = StringIO()
    call_command("eval_analysis", cases=tmp_path / "cases", report=tmp_path / "out", stdout=out)
    report = json.loads((tmp_path / "out" / "analysis_report.json").read_text())
    assert (report["cases"], report["accuracy"]) == (1, 60.0)
    assert report["by_field"] == {
        "promise.amount": {"n": 1, "accuracy": 100.0},
        "promise.due_date": {"n": 1, "accuracy": 0.0},
        "next_action.when": {"n": 1, "accuracy": 100.0},
        "intent": {"n": 1, "accuracy": 100.0},
        "sentiment": {"n": 1, "accuracy": 0.0},
    }
    # Bins: 40-49 holds sentiment (40, wrong); 50-59 holds the rest (55, 55, 50, 50: three right).
    assert report["calibration"]["bins"] == [
        {"confidence": "40-49", "n": 1, "mean_confidence": 40.0, "accuracy": 0.0},
        {"confidence": "50-59", "n": 4, "mean_confidence": 52.5, "accuracy": 75.0},
    ]
    # ECE = 1/5 * |0 - 40| + 4/5 * |75 - 52.5| = 8 + 18 = 26
    assert report["calibration"]["ece"] == 26.0
    # Brier = ((.55-1)^2 + (.55-0)^2 + (.5-1)^2 + (.5-1)^2 + (.4-0)^2) / 5 = 1.1650 / 5
    assert report["calibration"]["brier"] == 0.233
    assert "Cases: 1   fields scored: 5   accuracy: 60.0%" in out.getvalue()


@pytest.mark.django_db
def test_the_review_queues_corrections_export_as_labelled_cases(tmp_path, supervisor):
    analysis = make_analysis()
    answers = {**the_ais(analysis), AMOUNT: "250"}
    analysis_review(analysis_id=analysis.pk, answers=answers, actor=supervisor)
    [case] = cases_from_reviews()
    assert case.analysis_id == analysis.pk
    assert case.labels[AMOUNT] == "250.00"
    assert set(case.labels) <= {AMOUNT, DUE_DATE, FOLLOW_UP, INTENT, SENTIMENT}
    assert [speaker for speaker, _ in case.lines] == ["agent", "customer"]
    call_command("eval_analysis", export=tmp_path / "cases", stdout=StringIO())
    assert load_cases(tmp_path / "cases") == [case]
    assert analysis.call.customer.name not in (tmp_path / "cases" / f"analysis_{analysis.pk}.json").read_text()


@pytest.mark.django_db
def test_nothing_to_score_says_so():
    with pytest.raises(CommandError, match="No labelled cases: review some analyses"):
        call_command("eval_analysis")
