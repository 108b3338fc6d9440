"""The README's `python manage.py` examples run on the demo data (`seed_demo`, as `make run` seeds it)
and end the way the README says."""

import re
import shlex
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from apps.approvals.models import Approval
from apps.calls.models import Call
from apps.dispatch.models import Dispatch
from apps.promises.models import Promise

ROOT = Path(__file__).resolve().parents[1]
# Saturday, November 21, 2026, 9:00 in Oakland: "Friday" is November 27.
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
TEST_CALL = "(a test call touches no real records)"
# What each example's call would have done, by its script, as the README describes it.
OUTCOMES = {
    "apps/agent/scenarios/collections_promise.txt": (
        f"not done:    promise_record (amount 300.00, due_date 2026-11-27) {TEST_CALL}"
    ),
    "apps/agent/scenarios/roadside_dispatch.txt": (
        "not done:    dispatch_create (eta_minutes 12, issue battery, location I-880 near the Coliseum exit in "
        f"Oakland, severity emergency, technician Mei Lin) {TEST_CALL}"
    ),
    "apps/agent/scenarios/fee_waiver_approval.txt": (
        "not done:    approval_request (amount 35.00, confidence 70, fee late_fee, kind fee_waiver, reasoning The "
        f"caller asked to waive the late fee.) {TEST_CALL}"
    ),
}


# The steps each example's call goes through: the roadside caller hears where and what read back,
# and says yes, before anyone is sent.
STEPS = {
    "apps/agent/scenarios/collections_promise.txt": (
        "verify_identity -> account_review -> negotiate -> confirm_promise -> wrap_up -> closed"
    ),
    "apps/agent/scenarios/roadside_dispatch.txt": (
        "confirm_vehicle -> collect_incident -> confirm_incident -> inform_eta -> closed"
    ),
    "apps/agent/scenarios/fee_waiver_approval.txt": (
        "verify_identity -> account_review -> negotiate -> wrap_up -> closed"
    ),
}


def manage_commands(text: str) -> list[list[str]]:
    """The `python manage.py ...` commands in the text's code blocks, as arguments after `manage.py`."""
    commands = []
    for block in re.findall(r"^```[\w-]*\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE):
        for line in block.replace("\\\n", " ").splitlines():
            if line.startswith("python manage.py "):
                commands.append(shlex.split(line, comments=True)[2:])
    return commands


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


# The conversations the README shows (its other commands, such as the evaluation's, run elsewhere).
README_COMMANDS = [
    args for args in manage_commands((ROOT / "README.md").read_text(encoding="utf-8")) if args[0] == "simulate_call"
]


def test_the_readme_shows_every_example_and_the_scripts_name_the_same_commands():
    assert len(README_COMMANDS) == len(OUTCOMES)
    assert sorted(option(args, "--script") for args in README_COMMANDS) == sorted(OUTCOMES)
    for script in OUTCOMES:
        comments = [line.lstrip("# ") for line in (ROOT / script).read_text(encoding="utf-8").splitlines()]
        assert [shlex.split(line)[2:] for line in comments if line.startswith("python manage.py")] == [
            args for args in README_COMMANDS if option(args, "--script") == script
        ]


@pytest.fixture
def demo_data(settings):
    """The demo data as `make run` seeds it (debug on), on a database the engine's own connections see."""
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("args", README_COMMANDS, ids=lambda args: Path(option(args, "--script")).stem)
def test_a_readme_example_runs_on_the_demo_data(args, demo_data, monkeypatch):
    monkeypatch.chdir(ROOT)  # the README's paths are relative to the project
    rows = (Promise.objects.count(), Dispatch.objects.count(), Approval.objects.count())
    out = StringIO()

    call_command(*args, stdout=out)

    output = out.getvalue()
    assert "-- ended: closed" in output
    assert f"  steps:       {STEPS[option(args, '--script')]}\n" in output
    assert "recorded:    nothing" in output
    assert output.splitlines()[-1].strip() == OUTCOMES[option(args, "--script")]
    call = Call.objects.get(is_test=True)
    direction = option(args, "--direction") if "--direction" in args else "inbound"
    assert (call.customer.name, call.workflow_name, call.direction) == (
        "Maria Lopez",
        option(args, "--workflow"),
        direction,
    )
    # A simulation is a test call: the demo's records are untouched.
    assert (Promise.objects.count(), Dispatch.objects.count(), Approval.objects.count()) == rows
