"""`simulate_call` plays the scenario scripts in the repo against the engine: each workflow completes."""

import getpass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.approvals.models import Approval
from apps.calls.models import Call
from apps.core.models import AuditEvent
from apps.dispatch.models import Dispatch, Technician
from apps.promises.models import Promise

SCENARIOS = Path(__file__).resolve().parents[2] / "apps" / "agent" / "scenarios"


def simulate(*args: str) -> str:
    out = StringIO()
    call_command("simulate_call", *args, stdout=out)
    return out.getvalue()


def test_collections_scenario_records_a_promise(maria):
    out = simulate(
        "--customer", maria.phone, "--workflow", "collections", "--script", str(SCENARIOS / "collections_promise.txt")
    )
    assert "CALLER: I can pay 300 dollars on Friday" in out
    assert "AGENT:  So that's three hundred dollars on Friday, November twenty-seventh. Is that right?" in out
    assert "-- ended: closed" in out
    assert "steps:       verify_identity -> account_review -> negotiate -> confirm_promise -> wrap_up -> closed" in out
    assert (
        "tools:       verify_identity:ok x1, lookup_account:ok x1, propose_payment:ok x1, record_promise:ok x1" in out
    )
    # A simulation is a test call: a real customer's records are never touched.
    assert not Promise.objects.exists()
    assert "recorded:    nothing" in out
    assert (
        "not done:    promise_record (amount 300.00, due_date 2026-11-27) (a test call touches no real records)" in out
    )
    call = Call.objects.get()
    assert (call.is_test, call.started_by) == (True, None)
    audit = AuditEvent.objects.get(action="test_call.promise_record")
    assert audit.actor_label == f"{getpass.getuser()} (simulate_call) (test call {call.pk})"


def test_roadside_scenario_dispatches(maria, technicians):
    out = simulate(
        "--customer",
        maria.account_number,
        "--workflow",
        "roadside",
        "--script",
        str(SCENARIOS / "roadside_dispatch.txt"),
    )
    assert not Dispatch.objects.exists()
    assert (
        "AGENT:  Let me confirm: I-880 near the Coliseum exit in Oakland, with a battery problem. Is that right?\n"
        "CALLER: Yes, that's right\n"
        "AGENT:  Sam is on the way, arriving in about twenty-seven minutes. Please stay somewhere safe, away from "
        "traffic. Anything else I can help with?\n"
    ) in out
    assert "steps:       confirm_vehicle -> collect_incident -> confirm_incident -> inform_eta -> closed" in out
    assert (
        "not done:    dispatch_create (eta_minutes 27, issue battery, location I-880 near the Coliseum exit in "
        "Oakland, severity emergency, technician Sam Ortiz)" in out
    )
    assert sorted(Technician.objects.values_list("availability", flat=True)) == ["available", "available"]


def test_workflow_3_scenario_creates_an_approval(maria):
    out = simulate(
        "--customer", str(maria.pk), "--workflow", "collections", "--direction", "outbound",
        "--script", str(SCENARIOS / "fee_waiver_approval.txt"),
    )  # fmt: skip
    assert not Approval.objects.exists()
    assert "not done:    approval_request (amount 35.00, confidence 70, fee late_fee, kind fee_waiver, reason" in out
    assert "turns:       4 (offline 3, rule 1)" in out


def test_bad_arguments_are_refused(maria, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(CommandError, match="has no caller lines"):
        simulate("--customer", maria.phone, "--workflow", "collections", "--script", str(empty))
    script = str(SCENARIOS / "collections_promise.txt")
    with pytest.raises(CommandError, match="No customer with id, phone or account number"):
        simulate("--customer", "+19999999999", "--workflow", "collections", "--script", script)
    with pytest.raises(CommandError, match="No script file"):
        simulate("--workflow", "collections", "--script", str(tmp_path / "missing.txt"))
