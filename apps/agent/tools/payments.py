"""Tools for negotiating within the collections rules, recording promises, and asking a person."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from apps.agent.state import Callback, CallFacts
from apps.agent.tools.account import customer_for
from apps.agent.tools.registry import ToolContext, ToolInvalid, ToolRefused, sandboxed, tool
from apps.agent.workflows.collections.facts import Account, CollectionsFacts, Plan
from apps.approvals.services import approval_payload, approval_request, call_flags
from apps.calls.models import Call
from apps.collections.actions import promise_record
from apps.core.errors import DomainError
from apps.customers.selectors import customer_zone
from apps.outreach.compliance import calling_window
from apps.outreach.services import followup_schedule
from apps.promises.models import PaymentMethod, PromiseSource
from apps.promises.policy import CENT, POLICY

Money = Decimal


def _account(ctx: ToolContext) -> Account:
    account = CollectionsFacts.of(ctx.state).account
    if not account:
        raise ToolRefused("look up the account first")
    return account


def _said_amount(ctx: ToolContext, amount: Decimal) -> bool:
    return str(amount.quantize(CENT)) in CallFacts.of(ctx.state).caller_amounts


@tool(
    description=(
        "Check payment terms against the rules before reading them back. kind: 'full' pays the whole balance; "
        "'plan' is a first payment of a plan; 'settlement' pays less than the balance to settle. amount and "
        "due_date must be what the caller said."
    ),
)
def propose_payment(
    ctx: ToolContext,
    kind: Literal["full", "plan", "settlement"],
    amount: Money,
    due_date: date,
    method: PaymentMethod | None = None,
) -> dict:
    account = _account(ctx)
    balance = Decimal(account["balance"])
    amount = amount.quantize(CENT)
    if kind == "full":
        if amount != balance:
            raise ToolInvalid("amount", f"paying in full means the balance, {balance}")
    elif not _said_amount(ctx, amount):
        raise ToolInvalid("amount", "the caller has not said this amount; ask them how much they can pay")
    if due_date.isoformat() not in CallFacts.of(ctx.state).caller_dates and due_date != ctx.today:
        raise ToolInvalid("due_date", "the caller has not said this date; ask them when they can pay")
    if due_date < ctx.today:
        raise ToolInvalid("due_date", "the date is in the past")
    if due_date > POLICY.latest_date(ctx.today):
        raise ToolInvalid("due_date", f"the date must be by {POLICY.latest_date(ctx.today).isoformat()}")
    if kind == "plan":
        if amount >= balance:
            raise ToolInvalid("kind", "that pays the whole balance: use kind 'full'")
        if amount < POLICY.min_payment(balance):
            raise ToolInvalid("amount", f"a plan's first payment must be at least {POLICY.min_payment(balance)}")
    if kind == "settlement":
        if amount >= balance:
            raise ToolInvalid("kind", "that pays the whole balance: use kind 'full'")
        if amount < POLICY.settlement_floor(balance):
            raise ToolRefused(
                "below the settlement floor: only a specialist can approve it; use request_approval with kind "
                "'settlement'"
            )
    plan: Plan = {
        "kind": kind,
        "amount": str(amount),
        "due_date": due_date.isoformat(),
        "method": method or "",
        "remaining_balance": str(balance - amount) if kind == "plan" else "0.00",
    }
    CollectionsFacts.of(ctx.state).plan = plan
    ctx.state.confirmations["promise_terms"] = False  # new terms need a new yes
    return dict(plan)


@tool(
    description="Record the promise to pay, once the caller has heard the amount and date read back and said yes.",
    side_effect=True,
)
def record_promise(ctx: ToolContext) -> dict:
    facts = CollectionsFacts.of(ctx.state)
    plan = facts.plan
    if not plan:
        raise ToolRefused("agree the terms with propose_payment first")
    if not ctx.state.confirmations.get("promise_terms"):
        raise ToolRefused("read the amount and date back and get a clear yes first")
    if ctx.test:
        customer_for(ctx)
        result = sandboxed(
            ctx, "promise_record", amount=plan["amount"], due_date=plan["due_date"], method=plan["method"] or None
        )
        facts.promise_id = "test"
        return {"promise_id": None, "amount": plan["amount"], "due_date": plan["due_date"], **result}
    promise = promise_record(
        customer_id=customer_for(ctx).pk,
        call_id=ctx.call_id,
        amount=Decimal(plan["amount"]),
        due_date=date.fromisoformat(plan["due_date"]),
        method=plan["method"],
        source=PromiseSource.AGENT,
        confidence=95,
        actor=ctx.actor,
    )
    facts.promise_id = promise.pk
    return {"promise_id": promise.pk, "amount": str(promise.amount), "due_date": promise.due_date.isoformat()}


@tool(
    description=(
        "Ask a specialist to approve what you may not grant: waiving the late fee, or a settlement below the "
        "floor. Tell the caller a specialist will confirm; never say it is approved. amount: the settlement the "
        "caller offered (settlements only). reason: why, in one sentence."
    ),
    side_effect=True,
)
def request_approval(
    ctx: ToolContext,
    kind: Literal["fee_waiver", "settlement"],
    reason: Annotated[str, Field(min_length=3, max_length=500)],
    amount: Money | None = None,
    confidence: Annotated[int, Field(ge=0, le=100)] = 70,
) -> dict:
    account = _account(ctx)
    customer = customer_for(ctx)
    facts = CollectionsFacts.of(ctx.state)
    balance = Decimal(account["balance"])
    if kind == "fee_waiver":
        if Decimal(account["late_fee"]) <= 0:
            raise ToolRefused("there is no fee to waive on this account")
        payload = {"fee": "late_fee", "amount": account["late_fee"]}
    else:
        if amount is None or not _said_amount(ctx, amount):
            raise ToolInvalid("amount", "the caller has not offered this amount; ask what they can pay")
        dates = sorted(facts.caller_dates)
        due = dates[-1] if dates else POLICY.latest_date(ctx.today).isoformat()
        payload = {"settlement_amount": str(amount.quantize(CENT)), "balance": str(balance), "due_date": due}
    if ctx.test:
        try:
            payload = approval_payload(kind, payload, customer, today=ctx.today)  # as a real request would be
        except DomainError as exc:
            raise ToolInvalid("kind", exc.message) from exc
        result = sandboxed(ctx, "approval_request", kind=kind, reasoning=reason, confidence=confidence, **payload)
        facts.approval_id, facts.approval_kind = "test", kind
        return {"approval_id": None, "approval_status": "pending", "decision_within": "two business days", **result}
    try:
        approval = approval_request(
            kind=kind,
            customer=customer,
            call=Call.objects.get(pk=ctx.call_id),
            payload=payload,
            reasoning=f"{reason} (Balance {balance}, {account['days_overdue']} days overdue.)",
            confidence=confidence,
            actor=ctx.actor,
            **call_flags(facts.store),
        )
    except DomainError as exc:
        raise ToolInvalid("kind", exc.message) from exc
    facts.approval_id = approval.pk
    facts.approval_kind = kind
    return {"approval_id": approval.pk, "approval_status": approval.status, "decision_within": "two business days"}


CALLBACK_AT = time(10, 0)  # when the caller did not say a time, if the calling window allows it


def _callback_hours() -> tuple[time, time, time]:
    """The calling window (the compliance gate's, from settings) and the default time within it."""
    start, end = calling_window()
    return start, end, CALLBACK_AT if start <= CALLBACK_AT < end else start


def _callback_description() -> str:
    # Built once at import, from settings (the description is sent to the model); the check in
    # schedule_callback reads the window at call time, and its error names the window it used.
    start, end, default = _callback_hours()
    return (
        "Schedule a call back the caller asked for: on the day they said (or the next day), at the local time "
        f"they said (HH:MM, from {start:%H:%M} to before {end:%H:%M}; {default:%H:%M} if they did not say)."
    )


@tool(description=_callback_description(), side_effect=True)
def schedule_callback(
    ctx: ToolContext,
    reason: Annotated[str, Field(min_length=3, max_length=200)],
    day: date | None = None,
    at: time | None = None,
) -> dict:
    customer = customer_for(ctx)
    zone = ZoneInfo(customer_zone(customer))
    when = day or ctx.today + timedelta(days=1)
    if when < ctx.today or when > ctx.today + timedelta(days=30):
        raise ToolInvalid("day", "a callback must be within the next 30 days")
    start, end, default = _callback_hours()
    at = at or default
    if not start <= at < end:  # the compliance gate's window: the dialer would hold the call otherwise
        raise ToolInvalid(
            "at", f"a callback must be from {start:%H:%M} to before {end:%H:%M} the caller's time (the calling window)"
        )
    due_at = datetime.combine(when, at, tzinfo=zone)
    facts = CallFacts.of(ctx.state)
    if ctx.test:
        result = sandboxed(ctx, "followup_schedule", due_at=due_at.isoformat(), reason=reason)
        callback: Callback = {"followup_id": None, "day": when.isoformat(), "at": at.strftime("%H:%M")}
        facts.callback = callback
        return {**callback, **result}
    followup = followup_schedule(
        actor=ctx.actor,
        customer_id=customer.pk,
        due_at=due_at,
        reason=reason,
        requested_by_customer=True,
        source_call_id=ctx.call_id,  # the post-call analysis then keeps it instead of adding another
    )
    facts.callback = {"followup_id": followup.pk, "day": when.isoformat(), "at": at.strftime("%H:%M")}
    return {"followup_id": followup.pk, "day": when.isoformat(), "at": at.strftime("%H:%M")}
