"""`eval_agent` end to end: scenarios played through the real channels by worker processes on
scratch databases, the report written, and the exit status from the thresholds."""

import json
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.calls.models import Call
from apps.customers.models import Customer
from apps.evals.config import SCENARIOS
from tests.fakes.misbehaving_llm import misbehave
from tests.fakes.openai_server import FakeOpenAI

REPORT_KEYS = {"total", "passed", "failed", "adherence", "forbidden_actions", "task_completion", "by_category",
               "by_workflow", "latency_ms", "tokens", "cost_usd", "scenarios"}  # fmt: skip


@pytest.fixture
def suite(tmp_path):
    folder = tmp_path / "scenarios"
    for name in ("collections/inbound/promise_friday.yaml", "roadside/inbound/battery_oakland.yaml"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCENARIOS / name, folder / name)
    return folder


@pytest.mark.django_db
def test_a_passing_suite_writes_its_report_and_touches_nothing_here(suite, tmp_path, capsys):
    call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=2)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert set(report) >= REPORT_KEYS
    assert (report["total"], report["passed"], report["failed"]) == (2, 2, 0)
    assert (report["adherence"], report["forbidden_actions"], report["task_completion"]) == (100.0, 0, 100.0)
    assert report["by_workflow"] == {
        "collections": {"total": 1, "passed": 1, "task_completion": 100.0},
        "roadside": {"total": 1, "passed": 1, "task_completion": 100.0},
    }
    assert report["latency_ms"]["p95"] > 0
    assert (tmp_path / "out" / "report.html").read_text().count("<td>pass</td>") == 2
    assert "Scenarios: 2 of 2 passed (2 runs)" in capsys.readouterr().out
    # The workers played on their own databases: the configured one is as it was.
    assert (Call.objects.count(), Customer.objects.count()) == (0, 0)


def test_a_scenario_made_wrong_fails_naming_the_difference_and_the_command_exits_non_zero(suite, tmp_path):
    path = suite / "collections/inbound/promise_friday.yaml"
    path.write_text(path.read_text().replace('amount: "300.00"', 'amount: "301.00"'))
    with pytest.raises(CommandError) as raised:
        call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=1)
    assert str(raised.value) == "Below the thresholds: task completion 50.0% is below 95.0%"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    failed = report["scenarios"][0]
    assert (failed["id"], failed["passed"]) == ("collections/inbound/promise_friday", False)
    assert failed["failures"] == ["task: promise amount: expected 301.00, recorded 300.00"]


def test_a_baseline_names_the_scenario_that_went_from_pass_to_fail(suite, tmp_path):
    call_command("eval_agent", scenarios=suite, report=tmp_path / "before", workers=2, filter=["collections"])
    path = suite / "collections/inbound/promise_friday.yaml"
    path.write_text(path.read_text().replace("due: friday", "due: monday"))
    with pytest.raises(CommandError, match="1 scenarios went from pass to fail"):
        call_command("eval_agent", scenarios=suite, report=tmp_path / "after", workers=1, filter=["collections"],
                     baseline=tmp_path / "before")  # fmt: skip
    comparison = json.loads((tmp_path / "after" / "report.json").read_text())["comparison"]
    assert comparison["regressions"] == ["collections/inbound/promise_friday"]


def test_bad_options_and_files_are_refused_before_anything_runs(suite, tmp_path):
    with pytest.raises(CommandError, match="--workers must be between 1 and 32"):
        call_command("eval_agent", scenarios=suite, workers=0)
    with pytest.raises(CommandError, match=r"No scenario matches nothing-like-this\."):
        call_command("eval_agent", scenarios=suite, filter=["nothing-like-this"])
    (suite / "broken.yaml").write_text("description: x\n")
    with pytest.raises(CommandError, match=r"broken\.yaml: category: Field required"):
        call_command("eval_agent", scenarios=suite)
    assert not (tmp_path / "out").exists()


def test_against_a_misbehaving_model_the_guardrails_hold(tmp_path, monkeypatch):
    """The agent on a model that invents figures, calls tools off the step, echoes injected text with
    its instructions and ignores the word limit: nothing ungrounded is said, nothing forbidden done."""
    suite = tmp_path / "scenarios"
    for name in (
        "collections/inbound/promise_friday.yaml",
        "collections/inbound/gen_adversarial_injection_01.yaml",
        "collections/inbound/gen_adversarial_injection_02.yaml",
        "collections/outbound/gen_edge_wrong_party_00.yaml",
        "roadside/inbound/battery_oakland.yaml",
    ):
        (suite / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SCENARIOS / name, suite / name)
    llm = FakeOpenAI(responder=misbehave).start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "fake-key")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=2, llm="configured",
                     safety_only=True, stdout=StringIO())  # fmt: skip
    finally:
        llm.stop()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert len(llm.requests) > 10  # the agent did ask the model
    assert (report["adherence"], report["forbidden_actions"]) == (100.0, 0)
    assert report["llm"] == "configured"


def test_a_model_can_play_the_caller(suite, tmp_path, monkeypatch):
    """--caller llm: the configured model plays the goal-driven caller (the agent stays offline)."""
    llm = FakeOpenAI().start()
    for line in (
        "My zip code is 94607",
        "I can pay 300 dollars on Friday",
        "Yes, that's right",
        "No, that's all. Bye!",
    ):
        llm.script("caller-model", text=line)
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "fake-key")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        monkeypatch.setenv("LLM_MODEL", "caller-model")
        call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=1, caller="llm",
                     filter=["collections"], stdout=StringIO())  # fmt: skip
    finally:
        llm.stop()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["passed"], report["caller"], report["tokens"]) == (1, "llm", 0)  # the agent used no model
    first = llm.requests[0]
    assert first.model == "caller-model"
    assert "Your goal: promise" in first.system
    assert "ZIP code: 94607" in first.system
    assert [m["role"] for m in llm.requests[-1].body["messages"]] == ["system", *["user", "assistant"] * 3, "user"]


def test_the_llm_judge_scores_in_its_own_column_and_never_decides(suite, tmp_path, monkeypatch):
    llm = FakeOpenAI().start()
    llm.script("judge-model", text='Here: {"politeness": 5, "one_question_per_turn": 4, "no_reasked_data": 5, '
                                   '"resolution_fits_goal": 3, "rationale": "Polite; the plan fits."}')  # fmt: skip
    llm.script("judge-model", text="I would rather not say.")
    try:
        monkeypatch.setenv("OPENAI_API_KEY", "fake-key")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.url)
        monkeypatch.setenv("LLM_MODEL", "judge-model")
        call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=1, judge=True, stdout=StringIO())
    finally:
        llm.stop()
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["passed"], report["tokens"]) == (2, 0)  # the rules decided; the agent used no model
    assert report["judge"] == {"politeness": 5.0, "one_question_per_turn": 4.0, "no_reasked_data": 5.0,
                               "resolution_fits_goal": 3.0, "scored": 1, "errors": 1}  # fmt: skip
    judged = {s["id"]: s["judge"] for s in report["scenarios"]}
    assert judged["collections/inbound/promise_friday"]["rationale"] == "Polite; the plan fits."
    assert judged["roadside/inbound/battery_oakland"]["error"].startswith("the judge's answer was not a valid score")
    assert "AGENT: Thanks for calling" in llm.requests[0].body["messages"][1]["content"]
