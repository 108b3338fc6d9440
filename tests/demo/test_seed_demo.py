import dataclasses
import io
import json
import re
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F, Sum
from django.http import HttpRequest
from django.test import Client

from apps.accounts.roles import AGENTS, MANAGERS, SUPERVISORS
from apps.agent.numbers import spoken_duration_minutes
from apps.agent.state import ConversationState
from apps.agent.tools import TOOLS
from apps.agent.workflows import WORKFLOWS, get_workflow
from apps.analysis.models import AnalysisStatus, CallAnalysis
from apps.analysis.selectors import REVIEWS_SHOWN
from apps.approvals.models import DECIDED_STATUSES, Approval, ApprovalStatus
from apps.calls.models import Call, CallStatus, Speaker, TraceEvent, TraceKind, TranscriptEntry
from apps.core.models import AuditEvent
from apps.core.validators import validate_e164
from apps.customers.models import CollectionStage, Customer, DoNotCallEntry, RiskCategory
from apps.customers.selectors import customer_zone
from apps.demo.seed import counted_models
from apps.demo.tools import ID_PREFIX
from apps.dispatch.models import Dispatch, DispatchStatus, Specialization, Technician
from apps.dispatch.services import dispatch_rank
from apps.outreach.models import FollowUp, FollowUpStatus
from apps.promises.models import Payment, Promise, PromiseStatus

pytestmark = pytest.mark.django_db

US_ZONES = {
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
}
NON_US_ZONES = {"Europe/London", "America/Toronto", "America/Mexico_City"}


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in counted_models()}


@pytest.fixture
def seeded(settings) -> str:
    settings.DEBUG = True
    return seed()


def test_seeding_twice_gives_the_same_rows(seeded):
    first = row_counts()
    second_output = seed()

    assert row_counts() == first
    assert first["customers.Customer"] == 60
    assert first["calls.Call"] == 500
    assert first["dispatch.Technician"] == 20
    assert first["dispatch.Dispatch"] == Call.objects.filter(trace__name="dispatch_technician").count() > 10
    assert first["customers.DoNotCallEntry"] == 10
    assert first["accounts.ApiKey"] == 1
    assert first[get_user_model()._meta.label] == 3
    assert re.search(r"Demo API key \(shown once\): cc_\w+_\S+", seeded)
    assert "Demo API key" not in second_output
    assert "Demo logins: supervisor / agent / manager, password: demo" in second_output
    assert re.search(r"calls\s+0 / 500", second_output)
    assert re.search(r"dispatches\s+0 / \d+", second_output)
    assert re.search(r"customers\s+60 / 60", seeded)


def test_the_readme_example_customer_has_her_fixed_details(seeded):
    maria = Customer.objects.get(phone="+14155550123")
    assert (maria.name, maria.account_number, maria.balance, maria.days_overdue, maria.collection_stage) == (
        "Maria Lopez",
        "ACC0040042",
        Decimal("1250.50"),
        45,
        CollectionStage.MIDDLE,
    )
    assert (maria.profile["zip"], maria.profile["address"]["zip"], maria.profile["date_of_birth"]) == (
        "94607",
        "94607",
        "1985-03-05",
    )
    assert (maria.profile["vehicle"]["make"], maria.profile["vehicle"]["model"]) == ("Honda", "Civic")
    # The README calls her outbound too.
    assert (maria.do_not_call, maria.consent_automated_calls) == (False, True)


def test_demo_data_covers_every_state(seeded):
    assert set(Customer.objects.values_list("collection_stage", flat=True)) == set(CollectionStage.values)
    assert set(Customer.objects.values_list("risk_category", flat=True)) == set(RiskCategory.values)
    zones = set(Customer.objects.values_list("timezone", flat=True))
    assert zones == US_ZONES | NON_US_ZONES | {""}
    assert Customer.objects.filter(timezone="").count() == 4
    assert {c.currency for c in Customer.objects.filter(timezone__in=NON_US_ZONES)} == {"GBP", "CAD", "MXN"}
    assert Customer.objects.filter(consent_automated_calls=True).exists()
    assert not Customer.objects.filter(consent_automated_calls=True, consent_given_at__isnull=True).exists()
    assert Customer.objects.filter(do_not_call=True).count() == 5
    flagged = set(Customer.objects.filter(do_not_call=True).values_list("phone", flat=True))
    assert flagged < set(DoNotCallEntry.objects.values_list("phone", flat=True))
    current = Customer.objects.filter(collection_stage=CollectionStage.CURRENT)
    assert set(current.values_list("days_overdue", flat=True)) == {0}
    assert not Customer.objects.filter(collection_stage=CollectionStage.SEVERE, days_overdue__lte=90).exists()
    assert Customer.objects.filter(profile__has_key="vehicle").count() >= 30
    vehicle = Customer.objects.filter(profile__has_key="vehicle").first().profile["vehicle"]
    assert set(vehicle) == {"make", "model", "year", "color", "plate"}

    assert set(Call.objects.values_list("status", flat=True)) == {
        CallStatus.COMPLETED,
        CallStatus.NO_ANSWER,
        CallStatus.BUSY,
        CallStatus.FAILED,
        CallStatus.CANCELED,
    }
    assert Call.objects.filter(channel="web_chat").count() == 20
    assert not Call.objects.filter(channel="web_chat").exclude(twilio_call_sid="").exists()
    voice_sids = Call.objects.filter(channel="voice").values_list("twilio_call_sid", flat=True)
    assert all(re.fullmatch(r"CA[0-9a-f]{32}", sid) for sid in voice_sids)
    assert set(Call.objects.values_list("workflow_name", flat=True)) == {"collections", "roadside"}
    assert set(Call.objects.values_list("direction", flat=True)) == {"inbound", "outbound"}
    assert Call.objects.filter(answered_by__startswith="machine").exists()
    assert not Call.objects.filter(ended_at__lt=F("started_at")).exists()

    completed = Call.objects.filter(status=CallStatus.COMPLETED)
    assert not TranscriptEntry.objects.exclude(call__status=CallStatus.COMPLETED).exists()
    assert not completed.filter(transcript__isnull=True).exists()
    assert set(TranscriptEntry.objects.values_list("speaker", flat=True)) == set(Speaker.values)
    assert TranscriptEntry.objects.filter(interrupted=True).exists()
    assert TranscriptEntry.objects.filter(redacted=True, text__contains="[REDACTED CARD]").exists()
    sequences = completed.annotate(n=Count("transcript")).values_list("pk", "n")
    for call_id, n in sequences[:50]:
        assert list(TranscriptEntry.objects.filter(call_id=call_id).values_list("sequence", flat=True)) == list(
            range(n)
        )
    assert {TraceKind.STEP_CHANGE, TraceKind.TOOL_CALL, TraceKind.LLM_CALL} <= set(
        TraceEvent.objects.values_list("kind", flat=True)
    )
    assert {"verify_identity", "lookup_account", "record_promise", "dispatch_technician"} <= set(
        TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL).values_list("name", flat=True)
    )
    # A call's token totals are the sum of its LLM calls.
    llm = TraceEvent.objects.filter(kind=TraceKind.LLM_CALL).values("call_id").annotate(p=Sum("prompt_tokens"))
    totals = dict(Call.objects.values_list("pk", "prompt_tokens"))
    assert all(totals[row["call_id"]] == row["p"] for row in llm)

    assert set(CallAnalysis.objects.values_list("status", flat=True)) == set(AnalysisStatus.values)
    assert CallAnalysis.objects.count() == completed.count()
    assert CallAnalysis.objects.filter(needs_review=True).exclude(review_fields=[]).exists()

    statuses = Counter(Promise.objects.values_list("status", flat=True))
    assert set(statuses) == set(PromiseStatus.values)
    assert not Promise.objects.filter(status=PromiseStatus.SUPERSEDED, superseded_by__isnull=True).exists()
    assert not Promise.objects.filter(status=PromiseStatus.KEPT).exclude(amount_paid=F("amount")).exists()
    partial = Promise.objects.filter(status=PromiseStatus.PARTIALLY_KEPT)
    assert all(0 < p.amount_paid < p.amount for p in partial)
    paid = Promise.objects.filter(status__in=[PromiseStatus.KEPT, PromiseStatus.PARTIALLY_KEPT])
    assert Payment.objects.count() == paid.count()
    assert all(p.payments.get().amount == p.amount_paid for p in paid)
    assert all(re.fullmatch(r"DEMO-PAY-\d{4}", ref) for ref in Payment.objects.values_list("reference", flat=True))

    assert set(FollowUp.objects.values_list("status", flat=True)) == set(FollowUpStatus.values)
    assert not FollowUp.objects.filter(status=FollowUpStatus.BLOCKED, block_reason="").exists()
    assert FollowUp.objects.filter(block_reason__startswith="Outside the calling window (08:00–21:00 America/").exists()
    assert FollowUp.objects.filter(requested_by_customer=True).exists()

    assert set(Approval.objects.values_list("status", flat=True)) == set(ApprovalStatus.values)
    assert set(Approval.objects.values_list("kind", flat=True)) == {"fee_waiver", "settlement"}
    decided = Approval.objects.filter(status__in=DECIDED_STATUSES)
    assert set(decided.values_list("decided_by__username", "decided_by_label").distinct()) == {
        ("supervisor", "supervisor")
    }
    assert not decided.filter(decided_at__isnull=True).exists()
    assert not Approval.objects.filter(status__in=["executed", "failed"], result={}).exists()
    audits = AuditEvent.objects.filter(action="approval.decide")
    assert audits.count() == decided.count()
    assert set(audits.values_list("actor__username", flat=True)) == {"supervisor"}
    assert set(audits.values_list("object_id", flat=True)) == {str(pk) for pk in decided.values_list("pk", flat=True)}

    specializations = {s for t in Technician.objects.all() for s in t.specializations}
    assert specializations <= set(Specialization.values)
    assert set(Technician.objects.values_list("availability", flat=True)) == {"available", "busy", "off_duty"}


def test_every_seeded_phone_and_row_is_valid(seeded):
    phones = [
        *Customer.objects.values_list("phone", flat=True),
        *Technician.objects.values_list("phone", flat=True),
        *DoNotCallEntry.objects.values_list("phone", flat=True),
    ]
    assert len(phones) == 90
    for phone in phones:
        validate_e164(phone)

    for model in (Customer, Technician, Dispatch, DoNotCallEntry, Promise, Payment, FollowUp, Approval, CallAnalysis):
        for row in model.objects.all():
            row.full_clean()
    sample = list(Call.objects.order_by("pk")[::10])
    for call in sample:
        call.full_clean()
        for entry in call.transcript.all():
            entry.full_clean()
        for event in call.trace.all():
            event.full_clean()


def test_demo_users_log_in_with_the_demo_password_and_their_role(settings):
    settings.DEBUG = True
    settings.DEMO_PASSWORD = "open-sesame"
    output = seed()
    assert "Demo logins: supervisor / agent / manager, password: open-sesame" in output

    users = get_user_model().objects.all()
    roles = {user.username: list(user.groups.values_list("name", flat=True)) for user in users}
    assert roles == {"supervisor": [SUPERVISORS], "agent": [AGENTS], "manager": [MANAGERS]}
    assert all(user.is_staff for user in users)
    for username in roles:
        assert Client().login(request=HttpRequest(), username=username, password="open-sesame")

    # A re-run puts back the demo password and role, and audits only what changed.
    agent = users.get(username="agent")
    agent.set_password("changed")
    agent.save()
    agent.groups.clear()
    role_audits = AuditEvent.objects.filter(action="user.set_role").count()
    seed()
    assert Client().login(request=HttpRequest(), username="agent", password="open-sesame")
    assert list(agent.groups.values_list("name", flat=True)) == [AGENTS]
    assert AuditEvent.objects.filter(action="user.set_role").count() == role_audits + 1


def test_debug_off_refuses_demo_users_and_writes_nothing(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match=r"DEBUG is off.*--no-users"):
        seed()

    assert all(count == 0 for count in row_counts().values())


def test_no_users_seeds_the_data_without_users_when_debug_is_off(settings):
    settings.DEBUG = False
    output = seed("--no-users")

    assert not get_user_model().objects.exists()
    assert "Demo logins" not in output
    assert "Demo API key (shown once): cc_" in output
    assert Customer.objects.count() == 60
    assert Call.objects.count() == 500
    decided = Approval.objects.filter(status__in=DECIDED_STATUSES)
    assert decided.exists()
    assert set(decided.values_list("decided_by", "decided_by_label").distinct()) == {(None, "supervisor")}
    audits = AuditEvent.objects.filter(action="approval.decide")
    assert set(audits.values_list("actor", "actor_label").distinct()) == {(None, "supervisor")}
    assert not CallAnalysis.objects.filter(reviewed_at__isnull=False).exists()


STATE_KEYS = {f.name for f in dataclasses.fields(ConversationState)}
TRACE_PAYLOAD_KEYS = {
    TraceKind.STEP_CHANGE: {"from", "to", "reason"},
    TraceKind.TOOL_CALL: {"arguments", "result", "step"},
    TraceKind.LLM_CALL: {"endpoint", "ttft_ms", "error", "text", "tool_calls", "messages", "system_sha"},
    TraceKind.TURN: {
        "mode",
        "fallback",
        "first_token_ms",
        "llm_wait_ms",
        "overhead_ms",
        "tools_ms",
        "total_ms",
        "llm_rounds",
    },
}
# What the engine itself records as guardrails and errors (apps.agent.engine, apps.agent.grounding).
GUARDRAILS = {"redaction", "handoff", "commitment", "ungrounded_figure", "prompt_injection", "opt_out"}


def test_demo_calls_run_the_live_agents_workflows(seeded):
    calls = list(Call.objects.all())
    steps = {name: {step.name for step in workflow.steps} for name, workflow in WORKFLOWS.items()}
    for call in calls:
        assert call.workflow_version == get_workflow(call.workflow_name).version
        if not call.state:
            assert call.status != CallStatus.COMPLETED
            assert not call.current_step
            continue
        state = call.state
        assert set(state) == STATE_KEYS, call.pk
        assert ConversationState.from_dict(state).to_dict() == state
        assert (state["workflow"], state["version"]) == (call.workflow_name, call.workflow_version)
        assert state["step"] == call.current_step
        assert call.current_step in steps[call.workflow_name]
        assert state["channel"] == call.channel
        assert state["direction"] == call.direction
        assert call.handoff_reason == (state["handoff"] or {}).get("reason", "")
        if state["handoff"]:
            assert state["ended"]
            assert state["end_reason"] == f"handoff: {call.handoff_reason}"
        elif state["ended"]:
            assert state["end_reason"] == state["step"]
            assert get_workflow(call.workflow_name).step(state["step"]).terminal
        # The engine's utterances come first; after a handoff the channel records the transfer and the person.
        speakers = list(call.transcript.values_list("speaker", flat=True))
        engine, after = speakers[: state["transcript_sequence"]], speakers[state["transcript_sequence"] :]
        assert set(engine) <= {Speaker.AGENT, Speaker.CUSTOMER}
        assert after[:1] in ([], [Speaker.SYSTEM])
        assert not after or state["handoff"]
        assert (state["prompt_tokens"], state["completion_tokens"]) == (call.prompt_tokens, call.completion_tokens)
        assert ID_PREFIX not in json.dumps(state)
    chats = [c.state["facts"]["demo_key"] for c in calls if c.channel == "web_chat"]
    assert len(set(chats)) == len(chats) == 20
    ended = Counter(c.state["end_reason"] for c in calls if c.state)
    assert {"closed", "wrong_party", "handoff: the caller asked for a person"} <= set(ended)
    assert Call.objects.filter(current_step="closed", state__ended=True).count() > 200

    trace = list(TraceEvent.objects.select_related("call"))
    assert all(event.turn is not None for event in trace)
    assert not {event.name for event in trace if event.kind == TraceKind.GUARDRAIL} - GUARDRAILS
    assert {event.name for event in trace if event.kind == TraceKind.ERROR} == {"llm_unavailable"}
    for event in trace:
        workflow = get_workflow(event.call.workflow_name)
        payload = event.payload
        if event.kind in TRACE_PAYLOAD_KEYS:
            # An LLM trace carries the system prompt in full only the first time it is sent.
            assert set(payload) - {"system"} == TRACE_PAYLOAD_KEYS[event.kind], (event.kind, payload)
        if event.kind == TraceKind.STEP_CHANGE:
            assert event.name == f"{payload['from']} -> {payload['to']}"
            reasons = {t.to: t.reason for t in workflow.step(payload["from"]).transitions}
            assert reasons.get(payload["to"]) == payload["reason"], payload
        elif event.kind == TraceKind.TOOL_CALL:
            assert event.name in TOOLS
            assert event.name in workflow.step(payload["step"]).tools, (event.name, payload["step"])
            assert event.ok == (payload["result"]["status"] == "ok")
            assert ID_PREFIX not in json.dumps(payload)
        elif event.kind == TraceKind.TURN:
            assert event.name == f"turn {event.turn}"
            assert event.turn > 0
            assert payload["mode"] in ("llm", "offline", "rule")
            assert payload["overhead_ms"] == pytest.approx(payload["first_token_ms"] - payload["llm_wait_ms"], abs=0.01)
        elif event.kind == TraceKind.LLM_CALL:
            assert event.name in ("gpt-4.1-mini", "gpt-4o-mini")
            assert event.ok == (payload["error"] == "")
            assert len(payload["system_sha"]) == 12
            assert payload["messages"][0]["role"] != "system"
    modes = Counter(event.payload["mode"] for event in trace if event.kind == TraceKind.TURN)
    assert set(modes) == {"llm", "offline", "rule"}
    assert modes["llm"] > 10 * modes["offline"]
    llm_turns = [event.payload for event in trace if event.kind == TraceKind.TURN and event.payload["mode"] == "llm"]
    assert 300 < sorted(p["llm_wait_ms"] for p in llm_turns)[len(llm_turns) // 2] < 3000

    # The ids in tool results are the rows the tools created.
    results = [(e.call, e.name, e.payload["result"]) for e in trace if e.kind == TraceKind.TOOL_CALL and e.ok]
    for call, name, result in results:
        if name == "record_promise":
            assert Promise.objects.get(call=call).pk == result["promise_id"]
        elif name == "request_approval":
            assert Approval.objects.get(call=call).pk == result["approval_id"]
        elif name == "dispatch_technician":
            assert Dispatch.objects.get(call=call).pk == result["dispatch_id"]
        elif name == "schedule_callback":
            followup = FollowUp.objects.get(pk=result["followup_id"])
            assert followup.customer_id == call.customer_id
            assert followup.requested_by_customer
    assert {"lookup_payments", "take_payment", "log_dispute"}.isdisjoint(name for _, name, _ in results)


def test_demo_dispatches_follow_the_routing_score(seeded):
    dispatches = list(Dispatch.objects.select_related("call", "technician"))
    assert dispatches
    assert {d.status for d in dispatches} == {
        DispatchStatus.DISPATCHED,
        DispatchStatus.COMPLETED,
        DispatchStatus.CANCELLED,
    }
    assert not Dispatch.objects.filter(status=DispatchStatus.DISPATCHED, technician__isnull=True).exists()
    assert not Dispatch.objects.filter(status=DispatchStatus.NO_TECHNICIAN, technician__isnull=False).exists()
    roster = list(Technician.objects.all())
    for dispatch in dispatches:
        dispatch.validate_constraints()
        assert dispatch.call.workflow_name == "roadside"
        assert dispatch.customer_id == dispatch.call.customer_id
        ranked = dispatch_rank(
            latitude=dispatch.latitude, longitude=dispatch.longitude, issue=dispatch.issue,
            severity=dispatch.severity, technicians=roster,
        )  # fmt: skip
        top = dispatch.breakdown["candidates"][0]
        assert top["technician_id"] == dispatch.technician_id == ranked[0].technician.pk
        assert top["eta_minutes"] == dispatch.eta_minutes
        assert str(dispatch.score) == f"{top['score']:.4f}"
        tool = dispatch.call.trace.get(name="dispatch_technician").payload["result"]
        assert tool["eta_minutes"] == dispatch.eta_minutes
        assert tool["technician"] == dispatch.technician.name.split()[0]
        # What the model said (the transcript keeps only what was heard, when the caller cut in).
        replies = dispatch.call.trace.filter(kind=TraceKind.LLM_CALL, ok=True).values_list("payload", flat=True)
        assert any(spoken_duration_minutes(dispatch.eta_minutes) in reply["text"] for reply in replies)
        assert dispatch.created_at > dispatch.call.started_at


def test_demo_conversations_are_held_by_the_agents_turn_core(seeded):
    """The seeder has no turn loop of its own: it runs the live agent's core with a scripted model, so
    every tool call went through the real tools (`run_tool`), their step allow-lists and rules, and
    the facts and tool log they keep. The only refusal the scripts meet is an offer below the
    settlement floor, in the tool's own words."""
    failed = TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, ok=False)
    assert failed.exists()
    assert {(e.name, e.payload["result"]["status"], e.payload["result"]["reason"]) for e in failed} == {
        (
            "propose_payment",
            "refused",
            "below the settlement floor: only a specialist can approve it; use request_approval with kind 'settlement'",
        )
    }
    assert not TraceEvent.objects.filter(kind=TraceKind.GUARDRAIL, name__in=["tool_refused", "required_tool_skipped"])
    # The listeners heard the callers' yes as the scripts mean it: each planned promise was recorded on its call.
    recorded = TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, name="record_promise", ok=True)
    assert set(recorded.values_list("call_id", flat=True)) == set(Promise.objects.values_list("call_id", flat=True))

    # Each successful tool call is in the registry's tool log, in order, with the result the call heard.
    calls = {call.pk: call for call in Call.objects.select_related("customer")}
    ok: dict[int, list] = {}
    for event in TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, ok=True).order_by("pk"):
        ok.setdefault(event.call_id, []).append((event.name, event.payload["step"], event.payload["result"]))
    for pk, heard in ok.items():
        log = calls[pk].state["tool_log"]
        assert [(entry["name"], entry["step"], entry["result"]) for entry in log] == heard, pk
    # The side-effecting tools ran as on a test call, and the demo kept only the shape of their real result.
    assert not TraceEvent.objects.filter(kind=TraceKind.SANDBOXED).exists()
    assert not AuditEvent.objects.filter(action__startswith="test_call.").exists()
    assert not any("test_effects" in call.state.get("facts", {}) for call in calls.values())
    assert not any("sandboxed" in result or "note" in result for results in ok.values() for *_, result in results)

    # What the tools decided is what the rows say: a call back at the day and time schedule_callback
    # booked in the customer's zone, and the last payment lookup_account found is the customer's
    # latest one before the call.
    for event in TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, ok=True, name="schedule_callback"):
        result, customer = event.payload["result"], calls[event.call_id].customer
        due = FollowUp.objects.get(pk=result["followup_id"]).due_at.astimezone(ZoneInfo(customer_zone(customer)))
        assert (due.date().isoformat(), f"{due:%H:%M}") == (result["day"], result["at"])
    lookups = TraceEvent.objects.filter(kind=TraceKind.TOOL_CALL, ok=True, name="lookup_account")
    assert lookups.count() > 100
    for event in lookups:
        call = calls[event.call_id]
        paid = Payment.objects.filter(customer=call.customer_id, received_at__lt=call.started_at).first()
        last = {"amount": str(paid.amount), "received_on": paid.received_at.date().isoformat()} if paid else None
        assert event.payload["result"]["last_payment"] == last, call.pk
    assert lookups.exclude(payload__result__last_payment=None).exists()
    assert lookups.exclude(payload__result__active_promise=None).exists()


def test_every_console_page_opens_on_the_demo_data_for_its_roles(seeded, settings):
    """What a new user sees after `make run`: each role's pages, on the seeded data, answer."""
    users = {name: get_user_model().objects.get(username=name) for name in ("supervisor", "agent", "manager")}
    call = Call.objects.filter(analysis__needs_review=True).first()
    pages = {
        "supervisor": ["/console/monitor/", "/console/approvals/", "/console/review/", "/console/test-call/"],
        "agent": ["/console/approvals/", "/console/test-call/"],
        "manager": ["/console/calls/"],
    }
    for name, paths in pages.items():
        client = Client()
        client.force_login(users[name])
        for path in [*paths, "/console/calls/", f"/console/calls/{call.pk}/"]:
            assert (name, path, client.get(path).status_code) == (name, path, 200)
    client = Client()
    client.force_login(users["supervisor"])
    queue = client.get("/console/review/").content.decode()
    reviews = CallAnalysis.objects.filter(needs_review=True, reviewed_at__isnull=True).count()
    assert queue.count('class="card review') == min(reviews, REVIEWS_SHOWN) > 0
