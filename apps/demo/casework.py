"""What followed the demo calls: promises and their payments, follow-ups, and approvals with their audit trail.

Rows that depend on a promise are created together with it; see `seed` for how keys keep this idempotent.
"""

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractUser
from django.db.models import Model, OuterRef, Subquery

from apps.approvals.models import DECIDED_STATUSES, Approval
from apps.calls.models import Call
from apps.core.services import audit_record
from apps.customers.models import Customer
from apps.demo import data
from apps.demo.context import payment_reference
from apps.demo.data import rng_for
from apps.demo.plans import CallPlan, CustomerPlan
from apps.outreach.models import FollowUp
from apps.promises.models import Payment, Promise
from apps.promises.policy import POLICY

SUPERVISOR = "supervisor"  # the demo supervisor's username, and the decision label without users


def set_created_from_call(model: type[Model], pks: list[int]) -> None:
    """Date rows from their call's end, as if written right after it (auto_now_add stamped them now)."""
    ended = Call.objects.filter(pk=OuterRef("call_id")).values("ended_at")[:1]
    model.objects.filter(pk__in=pks).update(created_at=Subquery(ended))


def seed_promises(calls: list[CallPlan]) -> tuple[dict[int, int], set[int]]:
    """One promise per promise-making call, paid ones with their payment.

    Returns {call index: promise pk} and the call indexes whose promise was created now.
    """
    promising = [c for c in calls if c.promise]
    by_customer: dict[int, list[CallPlan]] = {}
    for call in promising:
        if call.scenario != "pay_now":
            by_customer.setdefault(call.customer.index, []).append(call)
    superseded, successors = 0, set()
    for group in by_customer.values():
        group.sort(key=lambda c: c.age, reverse=True)  # oldest first
        for older, newer in itertools.pairwise(group):
            # No chains: a successor stays open, so it is created before the promises it supersedes.
            if superseded < 6 and older.index not in successors and older.promise["status"] in ("pending", "broken"):
                successors.add(newer.index)
                older.promise.update(
                    status="superseded",
                    superseded_by=newer.index,
                    amount_paid=Decimal("0.00"),
                    status_changed_at=newer.fields["ended_at"],
                    status_reason="Replaced by a new promise on a later call.",
                )
                superseded += 1
    existing = dict(Promise.objects.filter(call_id__in=[c.pk for c in promising]).values_list("call_id", "pk"))
    by_call = {c.pk: c for c in promising}
    result = {by_call[call_pk].index: pk for call_pk, pk in existing.items()}
    created = []
    # Successors first: a superseded promise must point at one (check constraint).
    for wave in (False, True):
        rows = []
        for call in promising:
            if call.pk in existing or (call.promise["status"] == "superseded") != wave:
                continue
            fields = {k: v for k, v in call.promise.items() if k != "superseded_by"}
            if wave:
                fields["superseded_by_id"] = result[call.promise["superseded_by"]]
            rows.append(Promise(customer_id=call.customer.pk, call_id=call.pk, **fields))
        Promise.objects.bulk_create(rows, batch_size=500)
        result.update({by_call[row.call_id].index: row.pk for row in rows})
        created += rows
    set_created_from_call(Promise, [p.pk for p in created])
    # Payments come with their promise: a promise planned as paid today may be pending in the database since an
    # earlier day, and stays as it was.
    new = {by_call[row.call_id].index for row in created}
    payments = [
        Payment(
            customer_id=call.customer.pk,
            promise_id=result[call.index],
            amount=call.promise["amount_paid"],
            currency=call.promise["currency"],
            reference=payment_reference(call),
            method=call.promise["method"] or "card",
            received_at=call.promise["status_changed_at"],
        )
        for call in promising
        if call.index in new and call.promise["amount_paid"] > 0
    ]
    existing_refs = set(
        Payment.objects.filter(reference__in=[p.reference for p in payments]).values_list("reference", flat=True)
    )
    Payment.objects.bulk_create([p for p in payments if p.reference not in existing_refs], batch_size=500)
    return result, new


def _local(tz: str, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz))


def seed_followups(
    calls: list[CallPlan],
    promises: dict[int, int],
    new_promises: set[int],
    customers: list[CustomerPlan],
    now: datetime,
) -> None:
    plans: list[dict[str, Any]] = []

    def add(customer: CustomerPlan, reason: str, due_at: datetime, status: str, **extra: Any) -> None:
        plans.append({"customer": customer, "reason": reason, "due_at": due_at, "status": status, **extra})

    broken_cycle = ["done", "failed", "cancelled", "done"]
    broken = 0
    for call in calls:
        promise, customer = call.promise, call.customer
        if promise and promise["status"] in ("pending", "broken") and call.index in new_promises:
            due = _local(customer.tz, promise["due_date"] + timedelta(days=1), 10)
            amount = data.money(promise["amount"], promise["currency"])
            link = {"promise": promises[call.index], "source_call": call.pk}
            if promise["status"] == "pending":
                extra = {}
                if due.weekday() >= 5:  # no collection calls at weekends: the next Monday instead
                    due += timedelta(days=7 - due.weekday())
                    extra = {
                        "business_override": True,
                        "override_reason": "Moved to Monday: no collection calls at weekends.",
                    }
                add(customer, f"Check on the promised payment of {amount}", due, "scheduled", **link, **extra)
            else:
                status = broken_cycle[broken % 4]
                broken += 1
                attempts = {"done": 1, "failed": 3, "cancelled": 0}[status]
                add(
                    customer,
                    f"Follow up on the missed payment of {amount}",
                    due,
                    status,
                    **link,
                    attempts=attempts,
                    last_attempt_at=due if attempts else None,
                    last_error="no-answer on 3 attempts" if status == "failed" else "",
                )
        elif callback := call.effects.get("schedule_callback"):
            # What schedule_callback booked: the day and time asked for, in the customer's zone.
            due = datetime.fromisoformat(callback["due_at"])
            status = "scheduled" if due > now else "done"
            add(
                customer,
                callback["reason"],
                due,
                status,
                requested_by_customer=True,
                attempts=int(status == "done"),
                last_attempt_at=due if status == "done" else None,
            )
        elif call.fields["status"] == "no-answer" and call.age[0] <= 3:
            due = call.fields["started_at"] + timedelta(days=1, hours=2)
            add(
                customer,
                "Retry after no answer",
                due,
                "scheduled" if due > now else "done",
                source_call=call.pk,
                attempts=int(due <= now),
                last_attempt_at=due if due <= now else None,
            )
    callable_ = [
        c for c in customers if c.fields["consent_automated_calls"] and c.fields["collection_stage"] != "current"
    ]
    for n, customer in enumerate(callable_[:4]):
        status = ("claimed", "dialing")[n % 2]
        add(
            customer,
            f"Past-due reminder, {customer.fields['days_overdue']} days overdue",
            now - timedelta(minutes=2 + n),
            status,
            attempts=int(status == "dialing"),
            last_attempt_at=now - timedelta(seconds=30) if status == "dialing" else None,
        )
    dnc = next(c for c in customers if c.fields["do_not_call"])
    no_consent = next(
        c
        for c in customers
        if not c.fields["consent_automated_calls"]
        and not c.fields["do_not_call"]
        and c.fields["collection_stage"] != "current"
    )
    zoned = callable_[5]
    zoneless = next(
        c
        for c in customers
        if not c.fields["timezone"] and c.fields["collection_stage"] != "current" and c not in callable_[:7]
    )
    today = now.astimezone(ZoneInfo(zoned.tz)).date()
    blocked = [
        (dnc, now - timedelta(hours=3), "The number is on the do-not-call list."),
        (no_consent, now - timedelta(hours=5), "No prior express consent to automated calls on file."),
        (
            zoned,
            _local(zoned.tz, today - timedelta(days=1), 21, 40),
            f"Outside the calling window (08:00–21:00 {zoned.tz})",
        ),
        (
            zoneless,
            _local(zoneless.tz, today - timedelta(days=1), 7, 15),
            f"Outside the calling window (08:00–21:00 {zoneless.tz}, from the phone number)",
        ),
        (callable_[6], now - timedelta(hours=1), "Seven call attempts in the last seven days (Regulation F limit)."),
    ]
    for customer, due, why in blocked:
        add(
            customer,
            f"Past-due reminder, {customer.fields['days_overdue']} days overdue",
            due,
            "blocked",
            block_reason=why,
        )
    seen: set[tuple[int, str]] = set()
    existing = set(
        FollowUp.objects.filter(customer_id__in=[c.pk for c in customers]).values_list("customer_id", "reason")
    )
    rows = []
    for plan in plans:
        customer = plan.pop("customer")
        key = (customer.pk, plan["reason"])
        if key in seen:
            continue
        seen.add(key)
        if key not in existing:
            promise, source_call = plan.pop("promise", None), plan.pop("source_call", None)
            rows.append(FollowUp(customer_id=customer.pk, promise_id=promise, source_call_id=source_call, **plan))
    FollowUp.objects.bulk_create(rows, batch_size=500)


def seed_approvals(calls: list[CallPlan], supervisor: AbstractUser | None, now: datetime) -> None:
    asking = sorted((c for c in calls if "request_approval" in c.effects), key=lambda c: c.age)
    cycle = ["executed", "rejected", "expired", "executed", "failed", "rejected", "expired", "executed"]
    plans = []
    for rank, call in enumerate(asking):
        ctx, customer, rng = call.context, call.customer, rng_for("approval", call.index)
        created = call.fields["ended_at"]
        status = "pending" if rank < 5 else "approved" if rank < 8 else "executing" if rank < 10 else cycle[rank % 8]
        if status == "expired" and call.age[0] < 3:  # too recent to have run out its 48 hours
            status = "rejected"
        # What request_approval would have asked (apps.agent.tools.payments): its kind, reasons and
        # confidence, and the rest is the approval's payload.
        asked = dict(call.effects["request_approval"])
        kind, reason, confidence = asked.pop("kind"), asked.pop("reasoning"), int(asked.pop("confidence"))
        del asked["action"]
        if status == "executed" and kind == "settlement":
            status = "rejected"  # an executed settlement would also have its staff promise; the demo has none
        balance = customer.fields["balance"]
        reasoning = f"{reason} (Balance {balance}, {customer.fields['days_overdue']} days overdue.)"
        fields: dict[str, Any] = {
            "kind": kind,
            "payload": asked,
            "reasoning": reasoning,
            "confidence": confidence,
            "status": status,
            "expires_at": max(created + timedelta(hours=48), now + timedelta(hours=6))
            if status == "pending"
            else created + timedelta(hours=48),
        }
        if status in DECIDED_STATUSES:
            approve = status != "rejected"
            fields.update(
                decided_by=supervisor,
                decided_by_label=SUPERVISOR,
                decided_at=created + min(timedelta(minutes=rng.randint(5, 360)), (now - created) / 2),
                note=rng.choice(data.APPROVAL_NOTES["approved" if approve else "rejected"]),
            )
        if status == "executed":  # what the fee waiver's execution records
            fields["result"] = {
                "balance_before": str(balance),
                "balance_after": str(balance - POLICY.late_fee),
                "waived": str(POLICY.late_fee),
                "fee": "late_fee",
            }
        elif status == "failed":  # the balance changed between the request and the execution (a payment)
            left = (balance * Decimal(rng.randint(5, 40)) / 100).quantize(Decimal("0.01"))
            fields["result"] = {
                "error": f"The balance ({min(left, Decimal('20.00'))}) is now less than the fee to waive ({POLICY.late_fee})."
                if kind == "fee_waiver"
                else f"The balance ({left}) is now not more than the settlement ({ctx['settle_value']})."
            }
        plans.append((call, fields))
    existing = set(Approval.objects.filter(call_id__in=[c.pk for c in asking]).values_list("call_id", flat=True))
    rows = [Approval(customer_id=c.customer.pk, call_id=c.pk, **f) for c, f in plans if c.pk not in existing]
    Approval.objects.bulk_create(rows, batch_size=500)
    set_created_from_call(Approval, [a.pk for a in rows])
    names = dict(Customer.objects.filter(pk__in=[a.customer_id for a in rows]).values_list("pk", "name"))
    for approval in rows:
        if approval.status in DECIDED_STATUSES:
            approval.customer = Customer(pk=approval.customer_id, name=names[approval.customer_id])
            audit_record(
                actor=supervisor or SUPERVISOR,
                action="approval.decide",
                obj=approval,
                details={"status": approval.status, "note": approval.note},
            )
