"""`eval_agent --candidate`: the suite on a workflow's candidate definition. A broken one (a
transition removed) drops the pass rate and fails the command; a whole passing run keeps its
verdict for the candidate's exact version, which is what lets a Rollout give it calls."""

import json
import shutil

import pytest
from django.core.management import CommandError, call_command

from apps.agent import rollouts
from apps.agent.models import VersionEvaluation
from apps.agent.workflows import get_workflow
from apps.core.errors import Conflict
from apps.evals.config import SCENARIOS
from tests.agent import candidates

PROMISES = ("promise_friday", "gen_promise_voice_00", "gen_promise_chat_00")


@pytest.fixture
def promises(tmp_path):
    """Three collections scenarios that end with a recorded promise."""
    folder = tmp_path / "scenarios"
    (folder / "collections/inbound").mkdir(parents=True)
    for name in PROMISES:
        shutil.copyfile(SCENARIOS / f"collections/inbound/{name}.yaml", folder / f"collections/inbound/{name}.yaml")
    return folder


@pytest.mark.django_db
def test_a_broken_workflow_drops_the_pass_rate_and_the_command_exits_non_zero(promises, tmp_path, settings, capsys):
    call_command("eval_agent", scenarios=promises, report=tmp_path / "current", workers=1)
    current = json.loads((tmp_path / "current/report.json").read_text())
    assert (current["passed"], current["versions"]) == (3, {"collections": [get_workflow("collections").version]})

    settings.AGENT_CANDIDATES = ["tests.agent.candidates:BROKEN"]
    with pytest.raises(CommandError) as raised:
        call_command("eval_agent", scenarios=promises, report=tmp_path / "broken", workers=1, candidate=["collections"])
    assert str(raised.value) == "Below the thresholds: task completion 0.0% is below 95.0%"
    broken = json.loads((tmp_path / "broken/report.json").read_text())
    assert (broken["passed"], broken["versions"]) == (0, {"collections": [candidates.BROKEN.version]})
    assert {s["outcome"] for s in broken["scenarios"]} != {"completed"}
    assert all(any("promise" in f for f in s["failures"]) for s in broken["scenarios"]), broken["scenarios"]
    # Not the whole suite: nothing is kept for the candidate.
    assert "Not kept: a candidate's verdict is kept only for a whole run" in capsys.readouterr().out
    assert VersionEvaluation.objects.count() == 0


@pytest.mark.django_db
def test_a_whole_passing_run_keeps_its_verdict_and_lets_a_rollout_give_the_candidate_calls(tmp_path, settings, capsys):
    settings.AGENT_CANDIDATES = ["tests.agent.candidates:REWORDED"]
    version = candidates.REWORDED.version
    with pytest.raises(Conflict):  # before the run: no calls for it
        rollouts.rollout_set(workflow="collections", version=version, share=10, actor="sup")

    call_command("eval_agent", report=tmp_path / "out", workers=2, candidate=["collections"])
    report = json.loads((tmp_path / "out/report.json").read_text())
    collections = sum(1 for _ in (SCENARIOS / "collections").rglob("*.yaml"))
    assert (report["total"], report["passed"], set(report["by_workflow"])) == (
        collections,
        collections,
        {"collections"},
    )
    assert report["versions"] == {"collections": [version]}

    kept = VersionEvaluation.objects.get()
    assert (kept.workflow, kept.version, kept.passed) == ("collections", version, True)
    assert (kept.report["total"], kept.report["adherence"], kept.report["problems"]) == (collections, 100.0, [])
    assert f"Kept: collections {version} passed; a Rollout may now give it calls." in capsys.readouterr().out
    assert rollouts.rollout_set(workflow="collections", version=version, share=10, actor="sup").share == 10


@pytest.mark.django_db
def test_a_workflow_without_a_candidate_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(CommandError) as raised:
        call_command("eval_agent", report=tmp_path / "out", candidate=["roadside"])
    assert str(raised.value) == "--candidate: this release ships no candidate of roadside (AGENT_CANDIDATES)."
    assert not (tmp_path / "out").exists()
