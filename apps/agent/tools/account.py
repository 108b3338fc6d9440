"""Tools for who is calling and what their account says. Authorization is enforced here, not in the prompt."""

import re
from datetime import date
from typing import Literal

from apps.agent.nlu import understand
from apps.agent.state import CallFacts
from apps.agent.tools.registry import ToolContext, ToolInvalid, ToolRefused, tool
from apps.agent.workflows.collections.facts import Account, CollectionsFacts
from apps.customers.models import Customer
from apps.promises.models import OPEN_PROMISE_STATUSES, Payment, Promise
from apps.promises.policy import POLICY

MAX_IDENTITY_ATTEMPTS = 3


def customer_for(ctx: ToolContext) -> Customer:
    if ctx.customer_id is None:
        raise ToolRefused("the caller is not identified yet; use find_account first")
    return Customer.objects.get(pk=ctx.customer_id)


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def said_by_caller(ctx: ToolContext, value: str) -> bool:
    """A value the agent passes on as the caller's must really be in what the caller said."""
    digits = _digits(value)
    if digits:
        spoken = understand(ctx.caller_text, today=ctx.today).digits
        return digits in _digits(ctx.caller_text) or any(digits in run for run in spoken)
    return value.lower() in ctx.caller_text.lower()


@tool(
    description="Find the caller's account when caller ID did not: by the account number and the full name they give.",
)
def find_account(ctx: ToolContext, account_number: str, name: str) -> dict:
    if not said_by_caller(ctx, account_number):
        raise ToolInvalid("account_number", "the caller has not said this account number; ask them for it")
    wanted = account_number.strip()
    customer = Customer.objects.filter(account_number__iexact=wanted).first()
    if customer is None and wanted.isdigit() and len(wanted) >= 6:  # said without its letters: "ACC0040042"
        matches = list(Customer.objects.filter(account_number__iendswith=wanted)[:2])
        customer = matches[0] if len(matches) == 1 else None
    surname = name.strip().split()[-1].lower() if name.strip() else ""
    if customer is None or not surname or surname not in customer.name.lower():
        return {"found": False}
    ctx.customer_id = customer.pk
    CallFacts.of(ctx.state).customer_id = customer.pk
    return {"found": True, "first_name": customer.name.split()[0]}


@tool(
    description=(
        "Verify the caller's identity against the record before discussing the account. method: the last four "
        "digits of the account number, the ZIP code, or the date of birth (value as YYYY-MM-DD). Pass the "
        "caller's own words; never guess."
    ),
)
def verify_identity(ctx: ToolContext, method: Literal["account_last4", "zip", "date_of_birth"], value: str) -> dict:
    customer = customer_for(ctx)
    facts = CallFacts.of(ctx.state)
    attempts = facts.identity_attempts
    if attempts >= MAX_IDENTITY_ATTEMPTS:
        raise ToolRefused("no attempts left; transfer the caller to a person")
    if method == "date_of_birth":
        heard = understand(ctx.caller_text, today=ctx.today).date_of_birth
        try:
            born = date.fromisoformat(value)
        except ValueError:
            raise ToolInvalid("value", "a date of birth must be YYYY-MM-DD") from None
        if heard != born:
            raise ToolInvalid("value", "the caller has not said this date of birth; ask them")
        on_file = customer.profile.get("date_of_birth", "")
        matches = bool(on_file) and on_file == born.isoformat()
    else:
        if not said_by_caller(ctx, value):
            raise ToolInvalid("value", "the caller has not said this; ask them")
        if method == "account_last4":
            on_file, given = customer.account_number[-4:], _digits(value)[-4:]
        else:
            on_file = str(customer.profile.get("zip") or customer.profile.get("address", {}).get("zip", ""))
            given = value
        matches = bool(on_file) and _compact(given) == _compact(on_file)
    attempts += 1
    facts.identity_attempts = attempts
    if matches:
        facts.identity_verified = method
    return {"verified": matches, "attempts_left": MAX_IDENTITY_ATTEMPTS - attempts}


@tool(
    description=(
        "Look up the verified caller's account: balance, days overdue, late fee, the active promise (due today "
        "or later) and any missed one (an open promise whose date has passed: never present it as current)."
    ),
)
def lookup_account(ctx: ToolContext) -> dict:
    if not CallFacts.of(ctx.state).identity_verified:
        raise ToolRefused("verify the caller's identity first")
    customer = customer_for(ctx)
    # Open promises, split at the customer's today (the turn's date in their zone): one due today or
    # later is current; one whose date has passed was missed, whatever its status still says.
    open_promises = list(
        Promise.objects.filter(customer=customer, status__in=OPEN_PROMISE_STATUSES).order_by("due_date")
    )
    promise = next((p for p in open_promises if p.due_date >= ctx.today), None)
    missed = next((p for p in reversed(open_promises) if p.due_date < ctx.today), None)
    payment = Payment.objects.filter(customer=customer).order_by("-received_at").first()
    account: Account = {
        "balance": str(customer.balance),
        "currency": customer.currency,
        "days_overdue": customer.days_overdue,
        "account_ending": customer.account_number[-4:],
        "late_fee": str(POLICY.late_fee) if customer.days_overdue > 0 else "0.00",
        "minimum_first_payment": str(POLICY.min_payment(customer.balance)),
        "latest_payment_date": POLICY.latest_date(ctx.today).isoformat(),
        "active_promise": (
            {"amount": str(promise.amount), "due_date": promise.due_date.isoformat(), "status": promise.status}
            if promise
            else None
        ),
        "missed_promise": (
            {"amount": str(missed.amount), "due_date": missed.due_date.isoformat(), "status": missed.status}
            if missed
            else None
        ),
        "last_payment": (
            {"amount": str(payment.amount), "received_on": payment.received_at.date().isoformat()} if payment else None
        ),
    }
    CollectionsFacts.of(ctx.state).account = account
    return dict(account)
