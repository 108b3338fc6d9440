"""The approval lifecycle: the AI requests, a person decides, a worker executes.

pending ──approve──▶ approved ──claim──▶ executing ──▶ executed | failed
   │ └──reject──▶ rejected
   └──(expires_at passed)──▶ expired
"""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import OperationalError, transaction
from django.utils import timezone

from apps.approvals.models import Approval, ApprovalKind, ApprovalStatus
from apps.calls.models import Call
from apps.collections.actions import promise_record
from apps.core.effects import broadcast, enqueue
from apps.core.errors import Conflict, DomainError, InvalidReference
from apps.core.redaction import redact_text
from apps.core.services import Actor, Person, audit_record
from apps.core.tasking import requeue_stale
from apps.customers.models import Customer
from apps.customers.services import BalanceTooLow, customer_adjust_balance
from apps.promises.models import OPEN_PROMISE_STATUSES, Promise, PromiseSource

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=48)
APPROVALS_GROUP = "approvals"
EXECUTE_TASK = "apps.approvals.tasks.approval_execute"

WAIVABLE_FEES = ("late_fee", "returned_payment_fee", "collection_fee")
NOTE_MAX_LENGTH = 1000
CENT = Decimal("0.01")


# --- payloads --------------------------------------------------------------------------------


def _money(payload: dict[str, Any], key: str) -> Decimal:
    value = payload.get(key)
    try:
        amount = Decimal(value.strip()) if isinstance(value, str) else None
        exact = amount is not None and amount.is_finite() and amount == amount.quantize(CENT)
    except InvalidOperation:
        exact = False
    if not exact:
        raise InvalidReference(
            "payload", f'payload.{key} must be an amount as a string with at most 2 decimals, e.g. "35.00": {value!r}.'
        )
    return amount.quantize(CENT)


def _only_keys(payload: dict[str, Any], allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise InvalidReference("payload", f"Unexpected payload keys: {', '.join(unknown)}.")
    missing = sorted(required - set(payload))
    if missing:
        raise InvalidReference("payload", f"Missing payload keys: {', '.join(missing)}.")


def _fee_waiver_payload(payload: dict[str, Any], customer: Customer, today: date) -> dict[str, str]:
    _only_keys(payload, {"fee", "amount"}, {"fee", "amount"})
    if payload["fee"] not in WAIVABLE_FEES:
        raise InvalidReference("payload", f"payload.fee must be one of {', '.join(WAIVABLE_FEES)}.")
    amount = _money(payload, "amount")
    if amount <= 0:
        raise InvalidReference("payload", "The fee to waive must be more than 0.")
    if amount > customer.balance:
        raise InvalidReference("payload", f"The fee to waive ({amount}) is more than the balance ({customer.balance}).")
    return {"fee": payload["fee"], "amount": str(amount)}


def _settlement_payload(payload: dict[str, Any], customer: Customer, today: date) -> dict[str, str]:
    _only_keys(payload, {"settlement_amount", "balance", "due_date"}, {"settlement_amount", "due_date"})
    settlement = _money(payload, "settlement_amount")
    balance = customer.balance
    # The balance is a snapshot for the person deciding; a stale one would mislead them.
    if "balance" in payload and _money(payload, "balance") != balance:
        raise InvalidReference("payload", f"payload.balance ({payload['balance']}) is not the balance ({balance}).")
    if not 0 < settlement < balance:
        raise InvalidReference("payload", f"A settlement must be more than 0 and less than the balance ({balance}).")
    due_date = payload["due_date"]
    try:
        due = date.fromisoformat(due_date) if isinstance(due_date, str) and len(due_date) == 10 else None
    except ValueError:
        due = None
    if due is None:
        raise InvalidReference("payload", f"payload.due_date must be a date as YYYY-MM-DD: {due_date!r}.")
    if due <= today:
        raise InvalidReference("payload", "payload.due_date must be in the future.")
    return {"settlement_amount": str(settlement), "balance": str(balance), "due_date": due.isoformat()}


PAYLOAD_VALIDATORS = {
    ApprovalKind.FEE_WAIVER: _fee_waiver_payload,
    ApprovalKind.SETTLEMENT: _settlement_payload,
}


# --- helpers ----------------------------------------------------------------------------------


def _changed(approval: Approval) -> None:
    broadcast(APPROVALS_GROUP, {"type": "approval.changed", "approval_id": approval.pk, "status": approval.status})


def _decider(actor: Actor) -> tuple[AbstractBaseUser | None, str]:
    if isinstance(actor, AbstractBaseUser):
        return actor, actor.get_username()
    if hasattr(actor, "audit_label"):
        return None, str(actor.audit_label)
    return None, "system" if actor is None else str(actor)


def _expire(approval: Approval) -> None:
    """Mark a locked, overdue pending approval expired."""
    approval.status = ApprovalStatus.EXPIRED
    approval.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=None, action="approval.expire", obj=approval, details={"expires_at": approval.expires_at.isoformat()}
    )
    _changed(approval)


def _expired_message(approval: Approval) -> str:
    return f"This approval expired at {approval.expires_at.isoformat()}; it can no longer be decided."


# --- request ---------------------------------------------------------------------------------


def call_flags(facts: dict[str, Any]) -> dict[str, Any]:
    """The flags and caller's words an approval carries from its call's conversation facts."""
    words = facts.get("injection_words") or []
    return {"flags": ["prompt_injection"], "caller_words": " / ".join(words)} if words else {}


# A suggestion made in a call where the caller tried to steer the agent is the model's word only:
# whatever confidence it claims, the person deciding sees at most this.
FLAGGED_CONFIDENCE_CAP = 30
CALLER_WORDS_MAX = 2000


def _known(kind: str, payload: Any) -> None:
    if kind not in PAYLOAD_VALIDATORS:
        raise InvalidReference("kind", f"Unknown approval kind {kind!r}; expected one of {', '.join(ApprovalKind)}.")
    if not isinstance(payload, dict):
        raise InvalidReference("payload", "payload must be an object.")


def approval_payload(kind: str, payload: Any, customer: Customer, *, today: date | None = None) -> dict[str, str]:
    """The payload of a request of `kind` for `customer`, as it would be stored on `today` (by
    default, this day); refused (InvalidReference) as `approval_request` would refuse it. A test
    call checks its would-be request with this, so the agent hears the same refusal there as on a
    real call."""
    _known(kind, payload)
    return PAYLOAD_VALIDATORS[kind](payload, customer, today or timezone.localdate())


@transaction.atomic
def approval_request(
    *,
    kind: str,
    customer: Customer,
    call: Call | None = None,
    payload: dict[str, Any],
    reasoning: str,
    confidence: int,
    actor: Actor,
    ttl: timedelta = DEFAULT_TTL,
    flags: list[str] | None = None,
    caller_words: str = "",
) -> Approval:
    """Ask a person to approve an action. One pending request per call and kind. `flags` are the
    call's warnings (e.g. prompt_injection) with the caller's words that raised them: shown to
    the person deciding, and a flagged request's confidence is capped at FLAGGED_CONFIDENCE_CAP."""
    _known(kind, payload)
    if call is not None and call.customer_id != customer.pk:
        raise InvalidReference("call", f"Call {call.pk} is not with customer {customer.pk}.")
    if not reasoning or not reasoning.strip():
        raise InvalidReference("reasoning", "Say why the action is suggested.")
    if isinstance(confidence, bool) or not isinstance(confidence, int) or not 0 <= confidence <= 100:
        raise InvalidReference("confidence", "confidence must be a whole number from 0 to 100.")
    if ttl <= timedelta(0):
        raise InvalidReference("ttl", "ttl must be positive.")

    now = timezone.now()
    if call is not None:
        # Locking the call serialises requests from one call, so two turns cannot both create one.
        Call.objects.select_for_update().filter(pk=call.pk).first()
        existing = (
            Approval.objects.select_for_update()
            .filter(call=call, kind=kind, status=ApprovalStatus.PENDING)
            .order_by("-created_at", "-id")
            .first()
        )
        if existing is not None:
            if existing.expires_at > now:
                return existing
            _expire(existing)  # a dead request would only block a fresh one

    approval = Approval(
        kind=kind,
        customer=customer,
        call=call,
        payload=approval_payload(kind, payload, customer),
        reasoning=reasoning.strip(),
        confidence=min(confidence, FLAGGED_CONFIDENCE_CAP) if flags else confidence,
        flags=sorted(set(flags or [])),
        caller_words=redact_text(caller_words)[:CALLER_WORDS_MAX],
        expires_at=now + ttl,
    )
    approval.save()
    audit_record(
        actor=actor,
        action="approval.request",
        obj=approval,
        details={"kind": kind, "payload": approval.payload, "call_id": approval.call_id, "flags": approval.flags},
    )
    _changed(approval)
    return approval


# --- decide ----------------------------------------------------------------------------------


def approval_decide(*, approval_id: int, decision: Literal["approve", "reject"], note: str, actor: Actor) -> Approval:
    """A person approves or rejects a pending approval. The admin and the API both come here.

    Raises Conflict when the approval is no longer pending. An approval found past its expiry
    is marked expired first and that change is kept: the Conflict is raised after the
    transaction (or savepoint) that saved it has closed.
    """
    if decision not in ("approve", "reject"):
        raise InvalidReference("decision", "decision must be approve or reject.")
    note = (note or "").strip()
    if decision == "reject" and not note:
        raise InvalidReference("note", "A rejection needs a note saying why.")
    if len(note) > NOTE_MAX_LENGTH:
        raise InvalidReference("note", f"A note has at most {NOTE_MAX_LENGTH} characters.")

    with transaction.atomic():
        approval = Approval.objects.select_for_update().get(pk=approval_id)
        if approval.status == ApprovalStatus.EXPIRED:
            raise Conflict(_expired_message(approval))
        if approval.status != ApprovalStatus.PENDING:
            raise Conflict(f"This approval was already decided: {approval.status}.")
        now = timezone.now()
        if approval.expires_at <= now:
            _expire(approval)
            expired = Conflict(_expired_message(approval))
        else:
            expired = None
            user, label = _decider(actor)
            approval.status = ApprovalStatus.APPROVED if decision == "approve" else ApprovalStatus.REJECTED
            approval.decided_by = user
            approval.decided_by_label = label
            approval.decided_at = now
            approval.note = note
            approval.save(
                update_fields=["status", "decided_by", "decided_by_label", "decided_at", "note", "updated_at"]
            )
            audit_record(
                actor=actor, action="approval.decide", obj=approval, details={"decision": decision, "note": note}
            )
            _changed(approval)
            if approval.status == ApprovalStatus.APPROVED:
                enqueue(EXECUTE_TASK, approval.pk)
    # Raised outside the block: leaving it normally commits the expiry (or releases its savepoint).
    if expired is not None:
        raise expired
    return approval


# --- execute ---------------------------------------------------------------------------------


def _approver(approval: Approval) -> Person:
    """The person who approved: an executed action changes the customer's records in their name."""
    return Person(user_id=approval.decided_by_id, audit_label=approval.decided_by_label)


def _waive_fee(approval: Approval) -> dict[str, Any]:
    amount = Decimal(approval.payload["amount"])
    try:
        change = customer_adjust_balance(
            customer_id=approval.customer_id,
            delta=-amount,
            reason=f"Waived the {approval.payload['fee']} (approval {approval.pk}).",
            actor=_approver(approval),
        )
    except BalanceTooLow as exc:
        raise Conflict(f"The balance ({exc.balance}) is now less than the fee to waive ({amount}).") from exc
    return {
        "balance_before": str(change.before),
        "balance_after": str(change.after),
        "waived": str(amount),
        "fee": approval.payload["fee"],
    }


def _settle(approval: Approval) -> dict[str, Any]:
    # The customer's lock is held to the end of the transaction: the balance checked here is the
    # one the promise is recorded against (promise_record takes the same lock).
    customer = Customer.objects.select_for_update().get(pk=approval.customer_id)
    amount = Decimal(approval.payload["settlement_amount"])
    due = date.fromisoformat(approval.payload["due_date"])
    if amount >= customer.balance:
        raise Conflict(f"The balance ({customer.balance}) is now not more than the settlement ({amount}).")
    if due < timezone.localdate():
        raise Conflict(f"The settlement's due date ({due.isoformat()}) has passed.")
    open_before = set(
        Promise.objects.filter(customer=customer, status__in=OPEN_PROMISE_STATUSES).values_list("pk", flat=True)
    )
    promise = promise_record(
        customer_id=customer.pk,
        call_id=approval.call_id,
        amount=amount,
        due_date=due,
        method="",
        source=PromiseSource.STAFF,
        confidence=None,
        actor=_approver(approval),
        status_reason=f"Settlement approved (approval {approval.pk}).",
        supersede_reason=f"Superseded by the settlement in approval {approval.pk}.",
    )
    superseded = sorted(Promise.objects.filter(pk__in=open_before, superseded_by=promise).values_list("pk", flat=True))
    return {
        "promise_id": promise.pk,
        "settlement_amount": str(amount),
        "balance": str(customer.balance),
        "superseded_promise_ids": superseded,
    }


ACTIONS = {
    ApprovalKind.FEE_WAIVER: _waive_fee,
    ApprovalKind.SETTLEMENT: _settle,
}


def _finish(approval: Approval, status: str, result: dict[str, Any]) -> Approval:
    approval.status = status
    approval.result = result
    approval.save(update_fields=["status", "result", "updated_at"])
    audit_record(
        actor=None,
        action="approval.execute",
        obj=approval,
        details={"status": status, "result": result, "approved_by": approval.decided_by_label},
    )
    _changed(approval)
    return approval


def approval_execute(*, approval_id: int) -> Approval:
    """Carry out an approved action once. Anything not `approved` is returned unchanged.

    Two transactions: a short one claims the row (approved → executing), so a second worker
    running the same task finds it taken; the second performs the action and records the result.
    """
    with transaction.atomic():
        approval = Approval.objects.select_for_update().get(pk=approval_id)
        if approval.status != ApprovalStatus.APPROVED:
            return approval
        approval.status = ApprovalStatus.EXECUTING
        approval.save(update_fields=["status", "updated_at"])
        _changed(approval)

    try:
        with transaction.atomic():
            approval = Approval.objects.select_for_update().get(pk=approval_id)
            return _finish(approval, ApprovalStatus.EXECUTED, ACTIONS[approval.kind](approval))
    except OperationalError:
        # The action's transaction rolled back, so nothing was done: hand the claim back for the
        # task's retry. (If the database is gone this fails too and the row stays `executing`.)
        with transaction.atomic():
            Approval.objects.filter(pk=approval_id, status=ApprovalStatus.EXECUTING).update(
                status=ApprovalStatus.APPROVED, updated_at=timezone.now()
            )
        raise
    except DomainError as exc:
        error = exc.message
    except Exception as exc:
        logger.exception("Approval %s failed to execute", approval_id)
        error = f"{type(exc).__name__}: {exc}"
    with transaction.atomic():
        approval = Approval.objects.select_for_update().get(pk=approval_id)
        return _finish(approval, ApprovalStatus.FAILED, {"error": error})


# --- sweeps ----------------------------------------------------------------------------------

# An approved row nobody executed this long after the decision lost its task (a crash between
# commit and enqueue, or a lost message); an `executing` row this old lost its worker mid-action.
STALLED_AFTER = timedelta(minutes=5)


def approvals_resume_stalled(*, now: datetime | None = None) -> list[int]:
    """Queue execution again for approvals whose task was lost. Returns their ids.

    Safe because the action and its `executed` status commit together: an `executing` row left
    behind by a dead worker did nothing, and `approval_execute` only claims `approved` rows.
    """
    waiting = Approval.objects.filter(status__in=(ApprovalStatus.APPROVED, ApprovalStatus.EXECUTING))
    return requeue_stale(waiting, older_than=STALLED_AFTER, task=EXECUTE_TASK, now=now, each=_unclaim)


def _unclaim(approval: Approval) -> None:
    """An `executing` row this old lost its worker mid-action: approved again, for the task to claim."""
    if approval.status == ApprovalStatus.EXECUTING:
        approval.status = ApprovalStatus.APPROVED
        approval.save(update_fields=["status", "updated_at"])
        audit_record(actor="system", action="approval.resume", obj=approval, details={"was": "executing"})


def approvals_expire(*, now=None) -> int:
    """Mark pending approvals past their expiry as expired. Returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        overdue = list(
            Approval.objects.select_for_update(skip_locked=True)
            .filter(status=ApprovalStatus.PENDING, expires_at__lte=now)
            .order_by("pk")
        )
        for approval in overdue:
            _expire(approval)
    return len(overdue)
