"""The approval lifecycle: request, decide, execute, expire."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalStatus
from apps.approvals.services import (
    approval_decide,
    approval_execute,
    approval_request,
    approvals_expire,
    approvals_resume_stalled,
)
from apps.approvals.tasks import approval_execute as approval_execute_task
from apps.approvals.tasks import approvals_sweep
from apps.core.errors import Conflict, InvalidReference
from apps.core.models import AuditEvent
from apps.customers.models import Customer
from apps.promises.models import Promise, PromiseStatus
from contactcenter.celery import app as celery_app
from tests.broker import record_sent_tasks
from tests.concurrency import concurrently
from tests.factories import ApprovalFactory, CallFactory, CustomerFactory, PromiseFactory
from tests.layers import GroupListener

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
FEE = {"fee": "late_fee", "amount": "35.00"}


@pytest.fixture
def call():
    return CallFactory(customer=CustomerFactory(balance=Decimal("1250.00")))


def request_fee_waiver(on_call, **overrides) -> Approval:
    arguments = {
        "kind": "fee_waiver",
        "customer": on_call.customer,
        "call": on_call,
        "payload": FEE,
        "reasoning": "First late fee in five years.",
        "confidence": 85,
        "actor": "ai-agent",
    } | overrides
    return approval_request(**arguments)


def settlement_payload(**overrides) -> dict:
    return {
        "settlement_amount": "800.00",
        "due_date": (timezone.localdate() + timedelta(days=14)).isoformat(),
    } | overrides


def audit_actions(approval: Approval) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(object_type="approvals.approval", object_id=str(approval.pk)).order_by("id")
    return [(event.action, event.actor_label) for event in events]


# --- request ----------------------------------------------------------------------------------


def test_a_request_is_pending_for_48_hours_and_audited(call):
    with time_machine.travel(NOW, tick=False):
        approval = request_fee_waiver(call, payload={"fee": "late_fee", "amount": "35"})
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert approval.payload == {"fee": "late_fee", "amount": "35.00"}
    assert approval.expires_at == NOW + timedelta(hours=48)
    assert approval.customer == call.customer
    assert approval.call == call
    assert (approval.reasoning, approval.confidence) == ("First late fee in five years.", 85)
    assert approval.decided_at is None
    event = AuditEvent.objects.get(action="approval.request")
    assert (event.actor_label, event.object_id) == ("ai-agent", str(approval.pk))
    assert event.details == {
        "kind": "fee_waiver",
        "payload": {"fee": "late_fee", "amount": "35.00"},
        "call_id": call.pk,
        "flags": [],
    }


def test_a_request_is_broadcast_to_the_approvals_group_after_commit(call, django_capture_on_commit_callbacks):
    listener = GroupListener("approvals")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            approval = request_fee_waiver(call)
        assert listener.received() == []  # nothing before the commit
        for callback in callbacks:
            callback()
        assert listener.received() == [{"type": "approval.changed", "approval_id": approval.pk, "status": "pending"}]
    finally:
        listener.close()


def test_a_request_is_idempotent_per_call_and_kind_while_pending(call):
    first = request_fee_waiver(call)
    again = request_fee_waiver(call, payload={"fee": "collection_fee", "amount": "20.00"}, confidence=10)
    assert again.pk == first.pk
    again.refresh_from_db()
    assert (again.payload, again.confidence) == (FEE, 85)  # unchanged
    assert Approval.objects.count() == 1
    assert AuditEvent.objects.filter(action="approval.request").count() == 1

    settlement = approval_request(
        kind="settlement",
        customer=call.customer,
        call=call,
        payload=settlement_payload(),
        reasoning="Lump sum offered.",
        confidence=70,
        actor="ai-agent",
    )
    assert settlement.pk != first.pk  # another kind is another request
    other_call = request_fee_waiver(CallFactory(customer=call.customer))
    assert other_call.pk != first.pk  # another call too
    assert Approval.objects.count() == 3


def test_after_a_decision_the_same_call_may_ask_again(call, agent):
    first = request_fee_waiver(call)
    approval_decide(approval_id=first.pk, decision="reject", note="Not this time.", actor=agent)
    second = request_fee_waiver(call)
    assert second.pk != first.pk
    assert second.status == ApprovalStatus.PENDING


def test_an_overdue_pending_request_is_expired_and_replaced(call):
    with time_machine.travel(NOW, tick=False):
        first = request_fee_waiver(call)
    with time_machine.travel(NOW + timedelta(hours=49), tick=False):
        second = request_fee_waiver(call)
    first.refresh_from_db()
    assert first.status == ApprovalStatus.EXPIRED
    assert second.pk != first.pk
    assert second.status == ApprovalStatus.PENDING
    assert audit_actions(first) == [("approval.request", "ai-agent"), ("approval.expire", "system")]


def test_requests_without_a_call_are_not_merged(call):
    first = request_fee_waiver(call, call=None)
    second = request_fee_waiver(call, call=None)
    assert first.pk != second.pk


def test_a_settlement_records_the_balance_at_request_time(call):
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    approval = approval_request(
        kind="settlement",
        customer=call.customer,
        call=call,
        payload={"settlement_amount": "800", "due_date": due},
        reasoning="Offered a lump sum.",
        confidence=70,
        actor="ai-agent",
    )
    assert approval.payload == {"settlement_amount": "800.00", "balance": "1250.00", "due_date": due}


TOMORROW = (timezone.localdate() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        ("fee_waiver", {"fee": "late_fee", "amount": "1250.01"}, "The fee to waive (1250.01) is more than the balance (1250.00)."),
        ("fee_waiver", {"fee": "late_fee", "amount": "0.00"}, "The fee to waive must be more than 0."),
        ("fee_waiver", {"fee": "late_fee", "amount": "-5.00"}, "The fee to waive must be more than 0."),
        ("fee_waiver", {"fee": "annual_fee", "amount": "35.00"}, "payload.fee must be one of late_fee, returned_payment_fee, collection_fee."),
        ("fee_waiver", {"fee": "late_fee", "amount": "35.005"}, 'payload.amount must be an amount as a string with at most 2 decimals, e.g. "35.00": \'35.005\'.'),
        ("fee_waiver", {"fee": "late_fee", "amount": 35}, 'payload.amount must be an amount as a string with at most 2 decimals, e.g. "35.00": 35.'),
        ("fee_waiver", {"fee": "late_fee", "amount": "NaN"}, 'payload.amount must be an amount as a string with at most 2 decimals, e.g. "35.00": \'NaN\'.'),
        ("fee_waiver", {"fee": "late_fee", "amount": "1e40"}, 'payload.amount must be an amount as a string with at most 2 decimals, e.g. "35.00": \'1e40\'.'),
        ("fee_waiver", {"fee": "late_fee"}, "Missing payload keys: amount."),
        ("fee_waiver", {"fee": "late_fee", "amount": "35.00", "note": "x"}, "Unexpected payload keys: note."),
        ("settlement", {"settlement_amount": "1250.00", "due_date": TOMORROW}, "A settlement must be more than 0 and less than the balance (1250.00)."),
        ("settlement", {"settlement_amount": "1300.00", "due_date": TOMORROW}, "A settlement must be more than 0 and less than the balance (1250.00)."),
        ("settlement", {"settlement_amount": "0.00", "due_date": TOMORROW}, "A settlement must be more than 0 and less than the balance (1250.00)."),
        ("settlement", {"settlement_amount": "800.00", "balance": "1400.00", "due_date": TOMORROW}, "payload.balance (1400.00) is not the balance (1250.00)."),
        ("settlement", {"settlement_amount": "800.00", "due_date": timezone.localdate().isoformat()}, "payload.due_date must be in the future."),
        ("settlement", {"settlement_amount": "800.00", "due_date": "2026-02-30"}, "payload.due_date must be a date as YYYY-MM-DD: '2026-02-30'."),
        ("settlement", {"settlement_amount": "800.00", "due_date": "next friday"}, "payload.due_date must be a date as YYYY-MM-DD: 'next friday'."),
    ],
)  # fmt: skip
def test_invalid_payloads_are_refused_and_nothing_is_created(call, kind, payload, message):
    with pytest.raises(InvalidReference) as refused:
        approval_request(
            kind=kind,
            customer=call.customer,
            call=call,
            payload=payload,
            reasoning="r",
            confidence=50,
            actor="ai-agent",
        )
    assert (refused.value.field, refused.value.message) == ("payload", message)
    assert not Approval.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "refund"}, "kind"),
        ({"confidence": 101}, "confidence"),
        ({"confidence": -1}, "confidence"),
        ({"reasoning": "  "}, "reasoning"),
        ({"ttl": timedelta(0)}, "ttl"),
    ],
)
def test_invalid_requests_are_refused(call, overrides, field):
    with pytest.raises(InvalidReference) as refused:
        request_fee_waiver(call, **overrides)
    assert refused.value.field == field
    assert not Approval.objects.exists()


def test_a_call_with_another_customer_is_refused(call):
    with pytest.raises(InvalidReference) as refused:
        request_fee_waiver(call, customer=CustomerFactory())
    assert refused.value.field == "call"
    assert not Approval.objects.exists()


# --- decide -----------------------------------------------------------------------------------


def test_approve_records_the_decision_and_enqueues_execution_once_after_commit(
    call, agent, sent, django_capture_on_commit_callbacks
):
    approval = request_fee_waiver(call)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decided = approval_decide(approval_id=approval.pk, decision="approve", note="Good history.", actor=agent)
    assert sent == []  # nothing leaves before the commit
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert decided.status == ApprovalStatus.APPROVED
    assert (approval.decided_by, approval.decided_by_label, approval.note) == (agent, "agt", "Good history.")
    assert approval.decided_at is not None
    event = AuditEvent.objects.get(action="approval.decide")
    assert (event.actor, event.actor_label, event.object_id) == (agent, "agt", str(approval.pk))
    assert event.details == {"decision": "approve", "note": "Good history."}

    for callback in callbacks:
        callback()
    assert sent == [("apps.approvals.tasks.approval_execute", (approval.pk,), {})]

    # The worker's side, as the task would run it.
    executed = approval_execute(approval_id=approval.pk)
    assert executed.status == ApprovalStatus.EXECUTED
    assert executed.result == {
        "balance_before": "1250.00",
        "balance_after": "1215.00",
        "waived": "35.00",
        "fee": "late_fee",
    }
    assert Customer.objects.get(pk=call.customer.pk).balance == Decimal("1215.00")


def test_an_api_key_decides_without_a_user(call, raw_api_key):
    from apps.accounts.models import ApiKey

    approval = request_fee_waiver(call)
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=ApiKey.objects.get())
    approval.refresh_from_db()
    assert (approval.decided_by, approval.decided_by_label, approval.note) == (None, "api-key:test-system", "")
    assert AuditEvent.objects.get(action="approval.decide").actor_label == "api-key:test-system"


def test_reject_executes_nothing(call, agent, sent, django_capture_on_commit_callbacks):
    approval = request_fee_waiver(call)
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval_id=approval.pk, decision="reject", note="  Fee was correct.  ", actor=agent)
    assert sent == []
    approval.refresh_from_db()
    assert (approval.status, approval.note, approval.decided_by_label) == ("rejected", "Fee was correct.", "agt")
    assert AuditEvent.objects.get(action="approval.decide").details == {
        "decision": "reject",
        "note": "Fee was correct.",
    }
    # Even if a worker were told to run it, a rejected approval is left alone.
    assert approval_execute(approval_id=approval.pk).status == ApprovalStatus.REJECTED
    assert Customer.objects.get(pk=call.customer.pk).balance == Decimal("1250.00")
    approval.refresh_from_db()
    assert approval.result == {}


@pytest.mark.parametrize("note", ["", "   "])
def test_a_rejection_needs_a_note(call, agent, note):
    approval = request_fee_waiver(call)
    with pytest.raises(InvalidReference) as refused:
        approval_decide(approval_id=approval.pk, decision="reject", note=note, actor=agent)
    assert (refused.value.field, refused.value.message) == ("note", "A rejection needs a note saying why.")
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert not AuditEvent.objects.filter(action="approval.decide").exists()


def test_deciding_twice_is_a_conflict_and_changes_nothing(call, agent, supervisor, sent):
    approval = request_fee_waiver(call)
    approval_decide(approval_id=approval.pk, decision="approve", note="Fine.", actor=agent)
    approval.refresh_from_db()
    decided_at = approval.decided_at
    for decision in ("approve", "reject"):
        with pytest.raises(Conflict) as conflict:
            approval_decide(approval_id=approval.pk, decision=decision, note="Changed my mind.", actor=supervisor)
        assert conflict.value.message == "This approval was already decided: approved."
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by, approval.note, approval.decided_at) == (
        "approved",
        agent,
        "Fine.",
        decided_at,
    )
    assert AuditEvent.objects.filter(action="approval.decide").count() == 1


def test_deciding_an_expired_approval_is_a_conflict_and_the_expiry_is_kept(call, agent, sent):
    expires_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    approval = ApprovalFactory(customer=call.customer, call=call, payload=FEE, expires_at=expires_at)
    with time_machine.travel(expires_at, tick=False), pytest.raises(Conflict) as conflict:
        approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    assert conflict.value.message == "This approval expired at 2026-03-01T09:30:00+00:00; it can no longer be decided."
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by, approval.decided_at, approval.note) == ("expired", None, None, "")
    assert audit_actions(approval) == [("approval.expire", "system")]
    assert sent == []
    # Deciding it again says the same, and writes nothing more.
    with pytest.raises(Conflict) as again:
        approval_decide(approval_id=approval.pk, decision="reject", note="Too late.", actor=agent)
    assert again.value.message == conflict.value.message
    assert audit_actions(approval) == [("approval.expire", "system")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_expiry_is_committed_although_the_decision_raises(agent, sent):
    """Without the test's wrapping transaction: the expiry really reaches the database."""
    approval = ApprovalFactory(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(Conflict):
        approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    assert connection.in_atomic_block is False
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXPIRED
    assert AuditEvent.objects.filter(action="approval.expire", object_id=str(approval.pk)).count() == 1


# --- execute ----------------------------------------------------------------------------------


def test_executing_twice_has_one_effect(call, agent):
    approval = request_fee_waiver(call)
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    first = approval_execute(approval_id=approval.pk)
    second = approval_execute(approval_id=approval.pk)
    assert (first.status, second.status) == ("executed", "executed")
    assert second.result == first.result
    assert Customer.objects.get(pk=call.customer.pk).balance == Decimal("1215.00")
    assert audit_actions(approval) == [
        ("approval.request", "ai-agent"),
        ("approval.decide", "agt"),
        ("approval.execute", "system"),
    ]
    assert AuditEvent.objects.get(action="approval.execute").details == {
        "status": "executed",
        "result": {"balance_before": "1250.00", "balance_after": "1215.00", "waived": "35.00", "fee": "late_fee"},
        "approved_by": "agt",
    }


def test_the_celery_task_executes_once_even_when_delivered_twice(call, agent):
    approval = request_fee_waiver(call)
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    assert approval_execute_task.apply(args=[approval.pk]).get() == "executed"
    assert approval_execute_task.apply(args=[approval.pk]).get() == "executed"
    assert Customer.objects.get(pk=call.customer.pk).balance == Decimal("1215.00")
    assert AuditEvent.objects.filter(action="approval.execute").count() == 1


def test_the_tasks_are_routed_retried_and_limited_as_configured():
    from django.db import OperationalError

    assert celery_app.amqp.router.route({}, approval_execute_task.name)["queue"].name == "default"
    assert approval_execute_task.autoretry_for == (OperationalError,)
    assert (approval_execute_task.retry_backoff, approval_execute_task.retry_jitter) == (True, True)
    assert approval_execute_task.max_retries == 5
    assert (approval_execute_task.soft_time_limit, approval_execute_task.time_limit) == (30, 60)
    schedule = celery_app.conf.beat_schedule["approvals-sweep"]
    assert schedule["task"] == approvals_sweep.name == "apps.approvals.tasks.approvals_sweep"
    assert schedule["schedule"] == timedelta(minutes=5)


@pytest.mark.parametrize("status", ["pending", "rejected", "expired", "executing", "failed"])
def test_only_an_approved_approval_is_executed(status):
    decided_at = None if status in ("pending", "expired") else timezone.now()
    approval = ApprovalFactory(status=status, decided_at=decided_at)
    assert approval_execute(approval_id=approval.pk).status == status
    assert Customer.objects.get(pk=approval.customer_id).balance == Decimal("1250.00")
    assert not AuditEvent.objects.exists()


def test_a_fee_waiver_larger_than_the_current_balance_fails_without_effect(call, agent):
    approval = request_fee_waiver(call)
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    Customer.objects.filter(pk=call.customer.pk).update(balance=Decimal("20.00"))  # paid most of it meanwhile
    failed = approval_execute(approval_id=approval.pk)
    assert failed.status == ApprovalStatus.FAILED
    assert failed.result == {"error": "The balance (20.00) is now less than the fee to waive (35.00)."}
    assert Customer.objects.get(pk=call.customer.pk).balance == Decimal("20.00")
    assert AuditEvent.objects.get(action="approval.execute").details["status"] == "failed"
    assert approval_execute(approval_id=approval.pk).status == ApprovalStatus.FAILED  # not retried


def test_a_settlement_creates_the_promise_and_supersedes_the_open_ones(call, agent):
    customer = call.customer
    pending = PromiseFactory(customer=customer, amount=Decimal("300.00"))
    partly = PromiseFactory(
        customer=customer, amount=Decimal("200.00"), amount_paid=Decimal("50.00"), status=PromiseStatus.PARTIALLY_KEPT
    )
    kept = PromiseFactory(customer=customer, status=PromiseStatus.KEPT, amount_paid=Decimal("300.00"))
    broken = PromiseFactory(customer=customer, status=PromiseStatus.BROKEN)
    someone_else = PromiseFactory()
    due = timezone.localdate() + timedelta(days=14)
    approval = approval_request(
        kind="settlement",
        customer=customer,
        call=call,
        payload={"settlement_amount": "800.00", "balance": "1250.00", "due_date": due.isoformat()},
        reasoning="Offered a lump sum of 800 in two weeks.",
        confidence=70,
        actor="ai-agent",
    )
    approval_decide(approval_id=approval.pk, decision="approve", note="Within authority.", actor=agent)

    executed = approval_execute(approval_id=approval.pk)

    promise = Promise.objects.get(customer=customer, status=PromiseStatus.PENDING)
    assert executed.status == ApprovalStatus.EXECUTED
    assert executed.result == {
        "promise_id": promise.pk,
        "settlement_amount": "800.00",
        "balance": "1250.00",
        "superseded_promise_ids": [pending.pk, partly.pk],
    }
    assert (promise.amount, promise.due_date, promise.source, promise.confidence, promise.call) == (
        Decimal("800.00"),
        due,
        "staff",
        None,
        call,
    )
    for old in (pending, partly):
        old.refresh_from_db()
        assert (old.status, old.superseded_by) == (PromiseStatus.SUPERSEDED, promise)
        assert old.status_reason == f"Superseded by the settlement in approval {approval.pk}."
    for untouched, status in ((kept, "kept"), (broken, "broken"), (someone_else, "pending")):
        untouched.refresh_from_db()
        assert (untouched.status, untouched.superseded_by) == (status, None)
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("1250.00")  # the promise settles it when paid


def test_a_settlement_no_longer_below_the_balance_fails(call, agent):
    approval = approval_request(
        kind="settlement",
        customer=call.customer,
        call=call,
        payload=settlement_payload(),
        reasoning="Offered a lump sum.",
        confidence=70,
        actor="ai-agent",
    )
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    Customer.objects.filter(pk=call.customer.pk).update(balance=Decimal("700.00"))
    failed = approval_execute(approval_id=approval.pk)
    assert failed.result == {"error": "The balance (700.00) is now not more than the settlement (800.00)."}
    assert not Promise.objects.exists()


# --- expire -----------------------------------------------------------------------------------


def test_expire_marks_exactly_the_overdue_pending_approvals():
    overdue = ApprovalFactory(expires_at=NOW - timedelta(minutes=1))
    due_now = ApprovalFactory(expires_at=NOW)
    later = ApprovalFactory(expires_at=NOW + timedelta(minutes=1))
    approved = ApprovalFactory(expires_at=NOW - timedelta(hours=1), status="approved", decided_at=NOW)
    rejected = ApprovalFactory(expires_at=NOW - timedelta(hours=1), status="rejected", decided_at=NOW)

    assert approvals_expire(now=NOW) == 2

    statuses = dict(Approval.objects.values_list("pk", "status"))
    assert statuses == {
        overdue.pk: "expired",
        due_now.pk: "expired",
        later.pk: "pending",
        approved.pk: "approved",
        rejected.pk: "rejected",
    }
    expired_ids = AuditEvent.objects.filter(action="approval.expire").values_list("object_id", flat=True)
    assert sorted(expired_ids) == sorted([str(overdue.pk), str(due_now.pk)])
    assert approvals_expire(now=NOW) == 0


def test_the_sweep_task_expires_overdue_approvals():
    ApprovalFactory(expires_at=timezone.now() - timedelta(minutes=1))
    assert approvals_sweep.apply().get() == {"expired": 1, "resumed": 0}
    assert Approval.objects.get().status == ApprovalStatus.EXPIRED


def test_the_sweep_requeues_executions_that_were_lost(monkeypatch, django_capture_on_commit_callbacks):
    sent = record_sent_tasks(monkeypatch)
    long_ago = timezone.now() - timedelta(minutes=10)
    lost_task = ApprovalFactory(status=ApprovalStatus.APPROVED, decided_at=long_ago)
    dead_worker = ApprovalFactory(status=ApprovalStatus.EXECUTING, decided_at=long_ago)
    just_decided = ApprovalFactory(status=ApprovalStatus.APPROVED, decided_at=timezone.now())
    Approval.objects.filter(pk__in=[lost_task.pk, dead_worker.pk]).update(updated_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert approvals_resume_stalled() == [lost_task.pk, dead_worker.pk]

    assert [args for _, args, _ in sent] == [(lost_task.pk,), (dead_worker.pk,)]
    assert Approval.objects.get(pk=dead_worker.pk).status == ApprovalStatus.APPROVED
    assert Approval.objects.get(pk=just_decided.pk).status == ApprovalStatus.APPROVED
    assert AuditEvent.objects.filter(action="approval.resume", object_id=str(dead_worker.pk)).count() == 1
    approval_execute(approval_id=dead_worker.pk)
    assert Approval.objects.get(pk=dead_worker.pk).status == ApprovalStatus.EXECUTED


# --- PostgreSQL: real row locks between concurrent workers --------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_decisions_on_postgres_let_exactly_one_win(agent, supervisor, sent):
    approval = ApprovalFactory()
    actors = [agent, supervisor, agent, supervisor]
    outcomes = concurrently(
        len(actors),
        lambda i: approval_decide(
            approval_id=approval.pk, decision="approve" if i % 2 else "reject", note=f"note {i}", actor=actors[i]
        ),
    )
    winners = [o for o in outcomes if isinstance(o, Approval)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(winners), len(conflicts)) == (1, 3)
    approval.refresh_from_db()
    assert approval.status == winners[0].status
    assert AuditEvent.objects.filter(action="approval.decide").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_executions_on_postgres_waive_once(agent, sent):
    customer = CustomerFactory(balance=Decimal("100.00"))
    approval = ApprovalFactory(customer=customer)
    approval_decide(approval_id=approval.pk, decision="approve", note="", actor=agent)
    outcomes = concurrently(4, lambda i: approval_execute(approval_id=approval.pk).status)
    # The first claims it; the others find it executing (or, if they come later, executed).
    assert set(outcomes) <= {"executing", "executed"}
    assert "executed" in outcomes
    assert Customer.objects.get(pk=customer.pk).balance == Decimal("65.00")
    assert AuditEvent.objects.filter(action="approval.execute").count() == 1
    assert Approval.objects.get(pk=approval.pk).status == ApprovalStatus.EXECUTED
