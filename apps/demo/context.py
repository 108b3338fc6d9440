"""What each demo call is about: the figures, dates and words its conversation is made of.

Pure planning: the call's own Random decides. Keys starting with "s_" are figures as the agent says them
on the call's channel (`offline.Speech`: spoken words on the phone, written forms in chat).
"""

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from apps.agent import offline
from apps.agent.prompts import CustomerContext
from apps.demo import data, scripts
from apps.demo.data import money
from apps.demo.plans import AccountHistory, CallPlan, CustomerPlan, HeldPromise, ReceivedPayment

CENT = Decimal("0.01")


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _card(rng: random.Random) -> str:
    """A made-up card number that passes the Luhn check, so the input guard recognises and redacts it."""
    digits = [4, *(rng.randint(0, 9) for _ in range(14))]
    total = sum(d if i % 2 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(reversed(digits)))
    digits.append((10 - total % 10) % 10)
    return " ".join("".join(map(str, digits[k : k + 4])) for k in range(0, 16, 4))


def customer_context(customer: CustomerPlan) -> CustomerContext:
    """What the engine loads about the caller (apps.agent.context.load_customer), from the plan."""
    f = customer.fields
    on_file: dict[str, Any] = {"phone": f["phone"], "language": f["language"], "currency": f["currency"]}
    if vehicle := f["profile"].get("vehicle"):
        on_file["vehicle"] = f"{vehicle['make']} {vehicle['model']}"
        on_file.update({f"vehicle_{key}": vehicle[key] for key in ("year", "color", "plate")})
    address = f["profile"]["address"]
    on_file["home_city"] = f"{address['city']}, {address['state']}"
    # The zone the engine reads (customer_zone): the stored one, or the phone number's, as planned.
    return CustomerContext(
        customer_id=customer.pk, full_name=f["name"], first_name=customer.first, on_file=on_file, timezone=customer.tz
    )


def account_history(call: CallPlan, earlier: list[CallPlan]) -> AccountHistory:
    """The customer's promises and payments when the call began, from their earlier calls' plans:
    what lookup_account reads on this call (`tools.DemoTools`). A promise whose status changed later
    (kept, broken...) was still pending then."""
    started = call.fields["started_at"]
    promises, payments = [], []
    for earlier_call in earlier:
        if not (promise := earlier_call.promise):
            continue
        changed = promise["status_changed_at"] is not None and promise["status_changed_at"] < started
        promises.append(
            HeldPromise(
                amount=promise["amount"],
                currency=promise["currency"],
                due_date=promise["due_date"],
                method=promise["method"],
                status=promise["status"] if changed else "pending",
                amount_paid=promise["amount_paid"] if changed else Decimal("0.00"),
            )
        )
        if changed and promise["amount_paid"] > 0:  # as `casework.seed_promises` writes it
            payments.append(
                ReceivedPayment(
                    amount=promise["amount_paid"],
                    currency=promise["currency"],
                    method=promise["method"] or "card",
                    received_at=promise["status_changed_at"],
                    reference=payment_reference(earlier_call),
                )
            )
    return AccountHistory(promises, payments)


def payment_reference(call: CallPlan) -> str:
    return f"DEMO-PAY-{call.index:04d}"


def account_words(account: dict[str, Any], speech: offline.Speech) -> dict[str, str]:
    """What the agent says of the account lookup_account returned (the "s_" keys of a call's context)."""
    last, promise, missed = account.get("last_payment"), account["active_promise"], account.get("missed_promise")
    promises = ""
    if missed:  # its date has passed: not received, never current
        missed_on = speech.day(missed["due_date"])
        promises += f" The {speech.money(missed['amount'])} promised for {missed_on} wasn't received."
    if promise:
        promises += f" You also have {speech.money(promise['amount'])} promised for {speech.day(promise['due_date'])}."
    paid = f"Your last payment was {speech.money(last['amount'])}. " if last else "I see no new payment. "
    return {
        "s_fee": speech.money(account["late_fee"]),
        # On the phone the balance turn has no room for them (a reply is at most VOICE_WORD_LIMIT words).
        "s_promise": "" if speech.voice else promises,
        "s_last_payment": paid,
    }


def call_context(call: CallPlan, rng: random.Random, earlier: list[CallPlan], speech: offline.Speech) -> dict[str, Any]:
    customer = call.customer
    f, currency = customer.fields, customer.fields["currency"]
    local = call.fields["started_at"].astimezone(ZoneInfo(customer.tz))
    call.local_date = today = local.date()
    balance = f["balance"]
    if balance < 300:  # small balances are promised in full
        amount = balance
    else:
        share = Decimal(str(round(rng.uniform(0.2, 0.6), 3)))
        amount = max(Decimal(50), (balance * share / 25).quantize(Decimal(1)) * 25).quantize(CENT)
    due = today + timedelta(days=rng.randint(2, 14))
    method = "bank_transfer" if call.spanish else rng.choice(list(data.METHODS))
    settle_pct = rng.randint(40, 65)
    settle = (balance * settle_pct / 100).quantize(Decimal(1)).quantize(CENT)
    factor = Decimal(str(data.CURRENCY_FACTOR[currency]))
    hardship, hardship_line = rng.choice(data.HARDSHIPS)
    callback_when, callback_days = rng.choice(data.CALLBACK_TIMES)
    callback_day = today + timedelta(days=callback_days)
    call.hardship = hardship
    profile = f["profile"]
    verify_method = rng.choice(("zip", "zip", "account_last4"))  # what the greeting asks for
    if call.spanish:
        verify_method = "zip"  # what the Spanish script says (SCRIPTS_ES["verify"])
    paid_amount = min(balance, Decimal(rng.choice((100, 150, 200, 250, 300))) * factor).quantize(CENT)
    ctx = {
        "name": f["name"],
        "first": customer.first,
        "account_number": f["account_number"],
        "dob_spoken": f"{customer.dob:%B} {customer.dob.day}, {customer.dob.year}",
        "zip": profile["zip"],
        "street": profile["address"]["street"].split(" ", 1)[1],
        "acct_last4": f["account_number"][-4:],
        "balance": money(balance, currency),
        "days_overdue": f["days_overdue"],
        "amount": money(amount, currency),
        "amount_value": amount,
        "kind": "full" if amount >= balance else "plan",
        "due_date": due,
        "date_iso": due.isoformat(),
        "date": f"{due:%A}, {due:%B} {due.day}",
        "date_es": f"{data.ES_DAYS[due.weekday()]} {due.day} de {data.ES_MONTHS[due.month - 1]}",
        "method_key": method,
        "method": data.METHODS[method],
        "Method": data.METHODS[method][0].upper() + data.METHODS[method][1:],
        "settle_amount": money(settle, currency),
        "settle_value": str(settle),
        "settle_pct": settle_pct,
        "paid_amount": money(paid_amount, currency),
        "paid_day": _ordinal(rng.randint(1, 28)),
        "callback_when": callback_when.format(weekday=f"{callback_day:%A}"),
        "callback_day": callback_day,
        "human": rng.choice(data.HUMAN_AGENTS),
        "wait": rng.randint(12, 58),
        "hardship_line": hardship_line,
        "city": customer.city.name,
        "card": _card(rng),
        "card_expiry": f"{rng.randint(1, 12):02d}/{rng.randint(26, 30)}",
        "card_cvv": f"{rng.randint(100, 999)}",
        "history": account_history(call, earlier),
        "why": rng.choice(scripts.WHY) if call.fields["direction"] == "inbound" else "",
        "why_es": "Hola, llamo por un pago atrasado. " if call.fields["direction"] == "inbound" else "",
        "verify": [(verify_method, _verify_value(verify_method, customer), True)],
        "approval_confidence": rng.randint(55, 92),
        "fee_waiver_reason": (
            f"The caller reported {hardship} and asked to waive the late fee; offered {money(amount, currency)} on "
            f"{due.isoformat()} if it is waived."
        ),
        "settlement_reason": f"The caller offered {money(settle, currency)} in one payment by {due.isoformat()}.",
        "transfer_reason": "The caller disputes the balance and says a payment is not showing.",
    }
    if call.scenario == "verify_fail":
        bad_dob = "1980-01-01" if customer.dob.isoformat() != "1980-01-01" else "1981-01-01"
        ctx["bad_zip"] = next(z for z in (*customer.city.zips, "60601") if z != profile["zip"])
        ctx["bad_last4"] = f"{(int(ctx['acct_last4']) + rng.randint(11, 999)) % 10000:04d}"
        ctx["verify"] = [("zip", ctx["bad_zip"], False), ("date_of_birth", bad_dob, False),
                         ("account_last4", ctx["bad_last4"], False)]  # fmt: skip
    if call.scenario == "already_paid":
        ctx["callback_day"] = today + timedelta(days=2)
        ctx["callback_reason"] = f"Check that the payment the caller says they made by {today.isoformat()} has posted."
    else:
        ctx["callback_reason"] = (
            f"The caller asked to be called back {ctx['callback_when']} ({callback_day.isoformat()})."
        )
    ctx.update(
        s_balance=speech.money(balance),
        s_days=speech.count(f["days_overdue"]),
        s_amount=speech.money(amount),
        s_date=speech.day(due),
        s_settle=speech.money(settle),
        s_callback_day=speech.day(ctx["callback_day"]),
    )  # and what the agent says of the account, once lookup_account answers (`account_words`)
    return ctx


def _verify_value(method: str, customer: CustomerPlan) -> str:
    if method == "zip":
        return customer.fields["profile"]["zip"]
    if method == "account_last4":
        return customer.fields["account_number"][-4:]
    return customer.dob.isoformat()
