"""The report's figures from known results, the baseline comparison and the thresholds."""

import json

import pytest

from apps.evals.config import Thresholds
from apps.evals.report import breaches, build, compare, percentile, wilson, write


def result(ident, *, passed=True, run=0, task=True, facts=3, grounded=3, steps=4, steps_ok=4, forbidden=(), turn_ms=(10.0,), tokens=0, cost="0", category="happy", workflow="collections"):  # fmt: skip
    return {"id": ident, "run": run, "passed": passed, "task_completed": task, "facts": facts, "grounded": grounded,
            "steps": steps, "steps_ok": steps_ok, "forbidden": list(forbidden), "failures": [] if passed else ["x"],
            "turn_ms": list(turn_ms), "modes": ["offline"] * len(turn_ms), "tokens": tokens, "cost_usd": cost,
            "category": category, "workflow": workflow, "channel": "voice", "direction": "inbound",
            "transcript": [["agent", "Hi"]], "outcome": "completed", "expected_outcome": "completed"}  # fmt: skip


def test_wilson_intervals():
    assert wilson(5, 5) == (56.55, 100.0)
    assert wilson(0, 5) == (0.0, 43.45)
    assert wilson(8, 10) == (49.02, 94.33)
    assert wilson(0, 0) == (0.0, 100.0)


def test_percentiles_are_nearest_rank():
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile([float(n) for n in range(1, 101)], 95) == 95.0
    assert percentile([], 95) == 0.0


def test_the_figures_from_known_results(tmp_path):
    results = [
        result("a", turn_ms=(10.0, 20.0), tokens=100, cost="0.010000"),
        result("b", passed=False, task=False, facts=2, grounded=1, turn_ms=(30.0,), category="edge"),
        result("c", passed=False, forbidden=["record_promise ran"], steps=2, steps_ok=1, workflow="roadside", turn_ms=(40.0,)),
        result("d", turn_ms=(50.0,), tokens=50, cost="0.005000", category="adversarial"),
    ]  # fmt: skip
    report = build(results, llm="offline", caller="rules", repeat=1)
    assert (report["total"], report["passed"], report["failed"]) == (4, 2, 2)
    # facts 3+2+3+3 and steps 4+4+2+4 = 25; held 3+1+3+3 + 4+4+1+4 = 23
    assert report["adherence"] == 92.0
    assert report["forbidden_actions"] == 1
    assert report["task_completion"] == 75.0
    assert report["latency_ms"] == {"p50": 30.0, "p95": 50.0}  # of 10, 20, 30, 40, 50
    assert (report["tokens"], report["cost_usd"]) == (150, "0.015000")
    assert report["by_category"] == {
        "adversarial": {"total": 1, "passed": 1, "task_completion": 100.0},
        "edge": {"total": 1, "passed": 0, "task_completion": 0.0},
        "happy": {"total": 2, "passed": 1, "task_completion": 100.0},
    }
    assert report["by_workflow"]["roadside"] == {"total": 1, "passed": 0, "task_completion": 100.0}
    assert [s["id"] for s in report["scenarios"]] == ["b", "c", "a", "d"]  # failures first
    write(report, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text())["adherence"] == 92.0
    page = (tmp_path / "report.html").read_text()
    assert "<td>FAIL</td><td>b</td>" in page
    assert "92.0%" in page


def test_repeats_give_pass_rates_with_intervals_and_flag_flaky_scenarios():
    results = [result("a", run=n) for n in range(5)] + [result("b", run=n, passed=n % 2 == 0) for n in range(5)]
    report = build(results, llm="offline", caller="rules", repeat=5)
    by_id = {s["id"]: s for s in report["scenarios"]}
    assert (by_id["a"]["passes"], by_id["a"]["interval"], by_id["a"]["flaky"]) == (5, (56.55, 100.0), False)
    assert (by_id["b"]["passes"], by_id["b"]["pass_rate"], by_id["b"]["flaky"]) == (3, 60.0, True)
    assert report["flaky"] == ["b"]
    assert (report["total"], report["passed"], report["runs"]) == (2, 1, 10)


def test_a_baseline_comparison_names_what_went_from_pass_to_fail():
    before = build([result("a"), result("b"), result("c", passed=False)], llm="offline", caller="rules", repeat=1)
    now = build(
        [result("a"), result("b", passed=False, task=False), result("c")], llm="offline", caller="rules", repeat=1
    )
    comparison = compare(now, json.loads(json.dumps(before)))
    assert comparison["regressions"] == ["b"]
    assert comparison["fixed"] == ["c"]
    assert comparison["metrics"]["task_completion"] == {"before": 100.0, "now": 66.67, "change": -33.33}


def test_with_repeats_a_wobble_is_not_a_regression_but_a_collapse_is():
    before = build([result("a", run=n) for n in range(5)], llm="offline", caller="rules", repeat=5)
    wobble = build([result("a", run=n, passed=n != 0) for n in range(5)], llm="offline", caller="rules", repeat=5)
    collapse = build([result("a", run=n, passed=False) for n in range(5)], llm="offline", caller="rules", repeat=5)
    assert compare(wobble, before)["regressions"] == []
    assert compare(collapse, before)["regressions"] == ["a"]


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({}, []),
        ({"adherence": 99.5}, ["adherence 99.5% is below 100.0%"]),
        ({"forbidden_actions": 2}, ["2 forbidden actions (at most 0)"]),
        ({"task_completion": 94.99}, ["task completion 94.99% is below 95.0%"]),
    ],
)
def test_thresholds(changes, problems):
    report = {"adherence": 100.0, "forbidden_actions": 0, "task_completion": 95.0, **changes}
    assert breaches(report, Thresholds(adherence=100.0, forbidden_actions=0, task_completion=95.0)) == problems
