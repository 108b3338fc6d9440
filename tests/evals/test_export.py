"""A recorded call as a regression scenario: redacted, replayable, and reached from the command,
the console's call page and the admin."""

import json
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.calls.models import Call, CallStatus
from apps.core.models import AuditEvent
from apps.evals.export import export_yaml
from apps.evals.scenarios import load_suite, parse_scenario
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SCRIPT = ["My zip code is 94607", "I can pay 300 dollars on Friday", "Yes, that's right", "No, that's all. Bye!"]


@pytest.fixture
def maria(transactional_db):
    return CustomerFactory(
        name="Maria Lopez", phone="+14155550123", account_number="ACC0040042", timezone="America/Los_Angeles",
        profile={"zip": "94607", "date_of_birth": "1985-03-05"},
    )  # fmt: skip


@pytest.fixture
def recorded(maria, tmp_path) -> Call:
    """A call the agent had with Maria (simulate_call: the engine, a test call)."""
    script = tmp_path / "script.txt"
    script.write_text("\n".join(SCRIPT))
    call_command("simulate_call", customer=maria.phone, workflow="collections", script=script, stdout=StringIO())
    return Call.objects.get()


def test_the_export_is_the_calls_script_and_outcome_with_nothing_that_identifies_the_customer(recorded):
    text = export_yaml(recorded)
    for real in ("Maria", "Lopez", "94607", "0042", "+14155550123", "1985"):
        assert real not in text
    scenario = parse_scenario(text, f"exported/call_{recorded.pk}")
    assert scenario.caller.script == ("My zip code is 90210", *SCRIPT[1:])
    assert (scenario.customer.name, scenario.customer.zip, scenario.customer.account_last4) == (
        "Jordan Avery",
        "90210",
        "4321",
    )
    assert scenario.customer.balance == recorded.customer.balance
    assert scenario.today == recorded.started_at.astimezone(ZoneInfo("America/Los_Angeles")).date()
    assert (scenario.workflow, scenario.channel, scenario.direction) == ("collections", "voice", "inbound")
    assert scenario.expect.outcome == "completed"
    assert scenario.expect.tools == ("verify_identity", "lookup_account", "propose_payment", "record_promise")
    promise = yaml.safe_load(text)["expect"]["promise"]
    assert promise["amount"] == "300.00"
    assert scenario.tags == ("exported", f"call-{recorded.pk}")


def test_the_command_prints_or_writes_and_refuses_what_it_cannot(recorded, tmp_path):
    out = StringIO()
    call_command("export_scenario", recorded.pk, stdout=out)
    assert out.getvalue() == export_yaml(recorded)
    target = tmp_path / "exported" / "call.yaml"
    call_command("export_scenario", recorded.pk, out=target, stdout=StringIO())
    assert target.read_text() == export_yaml(recorded)
    with pytest.raises(CommandError, match=r"already exists; choose another name\."):
        call_command("export_scenario", recorded.pk, out=target)
    with pytest.raises(CommandError, match=r"^No call 999999\.$"):
        call_command("export_scenario", 999999)
    Call.objects.filter(pk=recorded.pk).update(status=CallStatus.IN_PROGRESS, state={**recorded.state, "ended": False})
    with pytest.raises(CommandError, match=rf"^Call {recorded.pk} has not ended yet\.$"):
        call_command("export_scenario", recorded.pk)


def test_an_exported_call_passes_when_run_again(recorded, tmp_path):
    suite = tmp_path / "suite"
    call_command("export_scenario", recorded.pk, out=suite / "exported" / f"call_{recorded.pk}.yaml", stdout=StringIO())
    assert [s.id for s in load_suite(suite).scenarios] == [f"exported/call_{recorded.pk}"]
    call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=1, stdout=StringIO())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["total"], report["passed"], report["task_completion"]) == (1, 1, 100.0)


def test_the_demos_calls_with_maria_pass_when_exported_and_run_again(tmp_path, settings):
    settings.DEBUG = True  # as `make run` seeds
    call_command("seed_demo", stdout=StringIO())
    suite = tmp_path / "suite"
    calls = Call.objects.filter(
        customer__name="Maria Lopez", workflow_name="collections", promises__isnull=False, status=CallStatus.COMPLETED
    ).distinct()
    assert calls.count() >= 2
    for call in calls:
        call_command("export_scenario", call.pk, out=suite / "exported" / f"call_{call.pk}.yaml", stdout=StringIO())
    call_command("eval_agent", scenarios=suite, report=tmp_path / "out", workers=2, stdout=StringIO())
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["total"], report["passed"]) == (calls.count(), calls.count())


def test_the_console_page_shows_it_checks_an_edit_and_downloads_it(recorded, client, supervisor):
    client.force_login(supervisor)
    url = reverse("console:export_scenario", args=[recorded.pk])
    page = client.get(reverse("console:call", args=[recorded.pk]))
    assert f'href="{url}"' in page.content.decode()
    shown = client.get(url)
    assert shown.status_code == 200
    assert shown.context["text"] == export_yaml(recorded)

    broken = shown.context["text"].replace("outcome: completed", "outcome: finished")
    refused = client.post(url, {"scenario": broken})
    assert refused.status_code == 400
    assert refused.context["text"] == broken  # nothing typed is lost
    assert "expect.outcome" in refused.context["error"]
    assert not AuditEvent.objects.filter(action="call.export_scenario").exists()

    edited = (
        shown.context["text"]
        .replace('amount: "300.00"', 'amount: "250.00"')
        .replace("amount: '300.00'", "amount: '250.00'")
    )
    downloaded = client.post(url, {"scenario": edited})
    assert downloaded.status_code == 200
    assert downloaded["Content-Disposition"] == f'attachment; filename="call_{recorded.pk}.yaml"'
    assert downloaded.content.decode() == edited
    assert yaml.safe_load(downloaded.content)["expect"]["promise"]["amount"] == "250.00"
    assert AuditEvent.objects.filter(action="call.export_scenario", object_id=str(recorded.pk)).count() == 1


@pytest.mark.parametrize("role", ["agent", "manager"])
def test_only_supervisors_export(recorded, client, role, request):
    client.force_login(request.getfixturevalue(role))
    url = reverse("console:export_scenario", args=[recorded.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"scenario": export_yaml(recorded)}).status_code == 403
    assert "export-scenario" not in client.get(reverse("console:call", args=[recorded.pk])).content.decode()
    assert not AuditEvent.objects.filter(action="call.export_scenario").exists()


def test_the_admin_action_opens_the_export_for_one_call(recorded, admin_client):
    changelist = reverse("admin:calls_call_changelist")
    one = admin_client.post(changelist, {"action": "export_scenario", "_selected_action": [recorded.pk]})
    assert one.status_code == 302
    assert one["Location"] == reverse("console:export_scenario", args=[recorded.pk])
    other = Call.objects.create(customer=recorded.customer, channel="voice", direction="inbound", status="completed")
    two = admin_client.post(
        changelist, {"action": "export_scenario", "_selected_action": [recorded.pk, other.pk]}, follow=True
    )
    assert "Select exactly one call to export." in [str(m) for m in two.context["messages"]]
