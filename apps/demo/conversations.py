"""Plans the 500 demo calls: who, when, how they went, what was said, traced and concluded.

Pure planning, no database. Each call draws from its own Random, and what could change the number of rows
(which calls talk, and about what) is decided from offsets ("3 days ago"), never by comparing with the clock,
so a second run plans the same rows.
"""

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apps.demo import data, scripts
from apps.demo.data import money, rng_for
from apps.demo.outcomes import plan_analyses, plan_promise

if TYPE_CHECKING:
    from apps.demo.seed import CustomerPlan

CALL_COUNT = 500
CENT = Decimal("0.01")
VERSIONS = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in data.WORKFLOW_DEFINITIONS.items()}
COLLECTION_WEIGHTS = {
    "promise": 34,
    "pay_now": 8,
    "hardship": 9,
    "settlement": 7,
    "dispute": 7,
    "already_paid": 6,
    "callback": 9,
    "handoff": 7,
    "verify_fail": 4,
    "wrong_party": 4,
    "short": 5,
}
# (upper bound of a uniform draw, outcome)
OUTBOUND_STATUS = ((0.17, "no-answer"), (0.25, "busy"), (0.29, "failed"), (0.31, "canceled"), (1.0, "completed"))
INBOUND_STATUS = ((0.04, "canceled"), (0.06, "failed"), (1.0, "completed"))
ANSWERED_BY = ((0.84, "human"), (0.92, "machine_end_beep"), (0.96, "machine_start"), (1.0, "machine_end_silence"))


@dataclass
class CallPlan:
    index: int
    customer: "CustomerPlan"
    fields: dict[str, Any]
    workflow: str
    rng: random.Random
    # Recency without `now`: (days ago, then later in the day first); keeps the plan stable between runs.
    age: tuple[int, int]
    scenario: str = ""
    local_date: date | None = None
    context: dict[str, Any] = field(default_factory=dict)
    entries: list[dict[str, Any]] = field(default_factory=list)
    trace: list[dict[str, Any]] = field(default_factory=list)
    analysis: dict[str, Any] | None = None
    promise: dict[str, Any] | None = None
    hardship: str = ""
    pk: int | None = None

    @property
    def key(self) -> str:
        return self.fields["twilio_call_sid"] or self.fields["state"]["demo_key"]

    @property
    def spanish(self) -> bool:
        return self.customer.fields["language"].startswith("es")


def plan_calls(customers: list["CustomerPlan"], now: datetime) -> list[CallPlan]:
    def eligible(c: "CustomerPlan") -> bool:
        return c.fields["collection_stage"] != "current"

    pools = {
        "outbound": [
            c
            for c in customers
            if eligible(c) and c.fields["consent_automated_calls"] and not c.fields["language"].startswith("es")
        ],
        "inbound": [c for c in customers if eligible(c)],
        "chat": [c for c in customers if eligible(c) and not c.fields["language"].startswith("es")],
        "roadside": [c for c in customers if "vehicle" in c.fields["profile"] and c.city.country == "US"],
    }
    calls = [_skeleton(i, pools, now) for i in range(CALL_COUNT)]
    _assign_scenarios(calls)
    for call in calls:
        if call.scenario:
            _render(call)
    plan_analyses(calls)
    return calls


def _skeleton(i: int, pools: dict[str, list["CustomerPlan"]], now: datetime) -> CallPlan:
    rng = rng_for("call", i)
    chat = i % 25 == 12
    if chat:
        direction, workflow, pool = "inbound", "collections", pools["chat"]
    elif rng.random() < 0.55:
        direction, workflow, pool = "outbound", "collections", pools["outbound"]
    elif rng.random() < 0.4:
        direction, workflow, pool = "inbound", "roadside", pools["roadside"]
    else:
        direction, workflow, pool = "inbound", "collections", pools["inbound"]
    customer = rng.choice(pool)
    tz = ZoneInfo(customer.tz)
    days_ago = int(89 * rng.random() ** 1.7)
    if days_ago == 0:
        minutes = rng.randint(30, 600)
        started, age = now - timedelta(minutes=minutes), (0, minutes * 60)
    else:  # a local date before today, so the call is over by now
        low, high = (9, 19) if direction == "outbound" else (7, 22)
        day = (now.astimezone(tz) - timedelta(days=days_ago)).date()
        clock = time(rng.randint(low, high - 1), rng.randint(0, 59), rng.randint(0, 59))
        started, age = datetime.combine(day, clock, tz), (days_ago, -(clock.hour * 3600 + clock.minute * 60))
    status = _pick(rng, OUTBOUND_STATUS if direction == "outbound" else INBOUND_STATUS)
    if chat:
        status = "completed"
    answered_by = _pick(rng, ANSWERED_BY) if direction == "outbound" and status == "completed" else ""
    phone, company = customer.phone, data.COMPANY_NUMBER
    fields: dict[str, Any] = {
        "twilio_call_sid": "" if chat else "CA" + hashlib.md5(f"demo-call-{i}".encode()).hexdigest(),  # noqa: S324
        "channel": "web_chat" if chat else "voice",
        "direction": direction,
        "status": status,
        "from_number": "" if chat else (company if direction == "outbound" else phone),
        "to_number": "" if chat else (phone if direction == "outbound" else company),
        "reason": f"Collections: {customer.fields['days_overdue']} days past due" if direction == "outbound" else "",
        "started_at": started.astimezone(UTC),
        "answered_by": answered_by,
        "workflow_name": workflow,
        "workflow_version": VERSIONS[workflow],
        "state": {"demo_key": f"demo-chat-{i:03d}"} if chat else {},
    }
    if status != "completed":
        seconds = {"no-answer": (20, 30), "busy": (3, 8), "failed": (0, 1), "canceled": (2, 12)}[status]
        fields.update(ended_at=fields["started_at"] + timedelta(seconds=rng.randint(*seconds)), duration_seconds=0)
        if status == "failed":
            fields["error"] = rng.choice(data.CALL_ERRORS)
    return CallPlan(i, customer, fields, workflow, rng, age)


def _pick(rng: random.Random, table: tuple[tuple[float, str], ...]) -> str:
    r = rng.random()
    return next(outcome for limit, outcome in table if r < limit)


def _assign_scenarios(calls: list[CallPlan]) -> None:
    talks = [c for c in calls if c.fields["status"] == "completed"]
    for call in talks:
        if call.workflow == "roadside":
            call.scenario = "roadside"
        elif call.fields["answered_by"].startswith("machine"):
            call.scenario = "voicemail"
    # The newest conversations ask for approvals, so the pending ones are fresh.
    voice = [c for c in talks if not c.scenario and c.fields["channel"] == "voice" and not c.spanish]
    for call in sorted(voice, key=lambda c: c.age)[:10]:
        severe = call.customer.fields["collection_stage"] in ("severe", "charged_off")
        call.scenario = "settlement" if severe else "hardship"
    names, weights = list(COLLECTION_WEIGHTS), list(COLLECTION_WEIGHTS.values())
    for call in talks:
        if call.scenario:
            continue
        if call.spanish:
            call.scenario = "promise"
            continue
        if call.fields["channel"] == "web_chat":
            call.scenario = call.rng.choice(("promise", "promise", "already_paid", "dispute"))
            continue
        scenario = call.rng.choices(names, weights)[0]
        outbound = call.fields["direction"] == "outbound"
        if scenario == "settlement" and call.customer.fields["collection_stage"] not in ("severe", "charged_off"):
            scenario = "promise"
        elif scenario in ("wrong_party", "short") and not outbound:
            scenario = "already_paid"
        elif scenario == "verify_fail" and outbound:
            scenario = "callback"
        call.scenario = scenario


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _technician(customer: "CustomerPlan", specialization: str) -> data.TechnicianRow:
    """The one dispatch would pick: same city, right skills, available, nearest."""
    city = customer.city

    def rank(tech: data.TechnicianRow) -> tuple:
        far = (tech.lat - city.lat) ** 2 + (tech.lng - city.lng) ** 2
        return (tech.city != customer.city_key, specialization not in tech.specializations,
                tech.availability != "available", far)  # fmt: skip

    return min(data.TECHNICIANS, key=rank)


def _context(call: CallPlan, rng: random.Random) -> dict[str, Any]:
    customer = call.customer
    f, currency = customer.fields, customer.fields["currency"]
    local = call.fields["started_at"].astimezone(ZoneInfo(customer.tz))
    call.local_date = local.date()
    balance = f["balance"]
    if balance < 300:  # small balances are promised in full
        amount = balance
    else:
        share = Decimal(str(round(rng.uniform(0.2, 0.6), 3)))
        amount = max(Decimal(50), (balance * share / 25).quantize(Decimal(1)) * 25).quantize(CENT)
    due = call.local_date + timedelta(days=rng.randint(2, 14))
    method = "bank_transfer" if call.spanish else rng.choice(list(data.METHODS))
    settle_pct = rng.randint(40, 65)
    settle = (balance * settle_pct / 100).quantize(Decimal(1)).quantize(CENT)
    factor = Decimal(str(data.CURRENCY_FACTOR[currency]))
    hardship, hardship_line = rng.choice(data.HARDSHIPS)
    callback_when, callback_days, callback_hour = rng.choice(data.CALLBACK_TIMES)
    callback_day = call.local_date + timedelta(days=callback_days)
    call.hardship = hardship
    profile = f["profile"]
    ctx = {
        "name": f["name"],
        "first": customer.first,
        "last": f["name"].split()[-1],
        "dob_spoken": f"{customer.dob:%B} {customer.dob.day}, {customer.dob.year}",
        "dob_iso": customer.dob.isoformat(),
        "zip": profile["zip"],
        "street": profile["address"]["street"].split(" ", 1)[1],
        "acct_last4": f["account_number"][-4:],
        "balance": money(balance, currency),
        "days_overdue": f["days_overdue"],
        "daypart": "morning" if local.hour < 12 else "afternoon" if local.hour < 17 else "evening",
        "amount": money(amount, currency),
        "amount_value": amount,
        "due_date": due,
        "date_iso": due.isoformat(),
        "date": (
            f"{data.ES_DAYS[due.weekday()]} {due.day} de {data.ES_MONTHS[due.month - 1]}"
            if call.spanish
            else f"{due:%A}, {due:%B} {due.day}"
        ),
        "method_key": method,
        "method": data.METHODS[method],
        "Method": data.METHODS[method].capitalize(),
        "fee": money(Decimal(data.LATE_FEE[currency]), currency),
        "fee_value": data.LATE_FEE[currency],
        "settle_amount": money(settle, currency),
        "settle_value": str(settle),
        "settle_pct": settle_pct,
        "paid_amount": money(
            min(balance, Decimal(rng.choice((100, 150, 200, 250, 300))) * factor).quantize(CENT), currency
        ),
        "paid_day": _ordinal(rng.randint(1, 28)),
        "callback_when": callback_when.format(weekday=f"{callback_day:%A}"),
        "callback_day": callback_day,
        "callback_hour": callback_hour,
        "human": rng.choice(data.HUMAN_AGENTS),
        "confirmation": f"PMT-{rng.randint(100000, 999999)}",
        "wait": rng.randint(12, 58),
        "hardship_line": hardship_line,
        "city": customer.city.name,
    }
    if call.scenario == "roadside":
        vehicle = profile["vehicle"]
        issues = (
            ("ev", "flat_tire", "lockout", "accident")
            if (vehicle["make"], vehicle["model"]) in data.ELECTRIC_VEHICLES
            else ("flat_tire", "battery", "battery", "lockout", "fuel", "overheating", "accident")
        )
        issue = rng.choice(issues)
        spec = scripts.ISSUES[issue]
        tech = _technician(customer, spec.specialization)
        alt_make, alt_model = rng.choice(data.VEHICLES)
        highway = rng.choice(customer.city.highways)
        location = (
            f"{highway} {rng.choice(('north', 'south', 'east', 'west'))}bound near exit {rng.randint(2, 60)}"
            if rng.random() < 0.5
            else f"the {rng.choice(data.STORES)} parking lot on {ctx['street']}"
        )
        eta = rng.randint(*{"low": (30, 60), "medium": (40, 75), "high": (20, 40)}[spec.severity])
        ctx.update(
            vehicle=f"{vehicle['color']} {vehicle['year']} {vehicle['make']} {vehicle['model']}",
            plate=vehicle["plate"],
            relation=rng.choice(data.RELATIONS),
            alt_vehicle=f"{rng.choice(data.COLORS)} {alt_make} {alt_model}",
            location=location,
            issue=issue,
            issue_label=spec.label,
            severity=spec.severity,
            specialization=spec.specialization,
            service=spec.service,
            tech=tech.name.split()[0],
            tech_full=tech.name,
            tech_base=data.CITIES[tech.city].name,
            eta=eta,
            job=f"RS-{rng.randint(10000, 99999)}",
        )
    return ctx


def _expand(items: list, call: CallPlan, rng: random.Random) -> list[scripts.Turn]:
    if call.scenario == "roadside":
        vehicle = scripts.VEHICLE_OTHER if rng.random() < 0.15 else scripts.VEHICLE_MATCH
        items = [
            *scripts.ROADSIDE_OPEN,
            *vehicle,
            *scripts.ROADSIDE_LOCATION,
            *scripts.ISSUES[call.context["issue"]].turns,
            *scripts.ROADSIDE_DISPATCH,
        ]
    turns: list[scripts.Turn] = []
    for item in items:
        if item == "@open":
            channel = call.fields["channel"]
            turns += scripts.OPENINGS["web_chat" if channel == "web_chat" else call.fields["direction"]]
        elif item == "@close":
            turns += scripts.CLOSE
        elif isinstance(item, scripts.Maybe):
            if rng.random() < item.p:
                turns += item.turns
        else:
            turns.append(item)
    return turns


def _render(call: CallPlan) -> None:
    rng = call.rng
    ctx = call.context = _context(call, rng)
    if call.spanish:
        script = [*scripts.SCRIPTS_ES[f"open_{call.fields['direction']}"], *scripts.SCRIPTS_ES["promise"]]
    else:
        script = scripts.SCRIPTS.get(call.scenario, [])
    turns = _expand(script, call, rng)
    chat = call.fields["channel"] == "web_chat"
    started = call.fields["started_at"]
    answered = started if chat else started + timedelta(seconds=rng.randint(3, 18))
    moment = answered + timedelta(seconds=rng.uniform(0.5, 1.5))
    step, agent_turns, tokens, cost = "", 0, [0, 0], Decimal(0)
    for n, turn in enumerate(turns):
        text = rng.choice(turn.variants).format(**ctx)
        interrupted = turn.speaker == "agent" and n < len(turns) - 1 and len(text) > 60 and rng.random() < 0.04
        if interrupted:
            text = text[: int(len(text) * 0.55)].rsplit(" ", 1)[0] + "—"
        if turn.speaker == "agent":
            agent_turns += 1
            if turn.step and turn.step != step:
                call.trace.append(
                    _event(
                        "step_change",
                        turn.step,
                        moment - timedelta(seconds=1.2),
                        agent_turns,
                        {"from": step, "to": turn.step},
                    )
                )
            if agent_turns == 1 and call.workflow == "collections":
                call.trace.append(
                    _event("guardrail", "recording_disclosure", moment - timedelta(seconds=1.1), 1, {"passed": True})
                )
            if rng.random() < 0.02:
                call.trace.append(
                    _event(
                        "error",
                        "llm_timeout",
                        moment - timedelta(seconds=9),
                        agent_turns,
                        {"error": "Read timed out after 8 s", "retry": 1},
                        ok=False,
                    )
                )
            prompt, completion = 850 + 160 * agent_turns + rng.randint(0, 220), rng.randint(18, 95)
            price = (prompt * Decimal(data.PROMPT_PRICE) + completion * Decimal(data.COMPLETION_PRICE)).quantize(
                Decimal("0.000001")
            )
            latency = round(rng.uniform(320, 1600), 1)
            tokens[0], tokens[1], cost = tokens[0] + prompt, tokens[1] + completion, cost + price
            call.trace.append(
                _event(
                    "llm_call",
                    data.LLM_MODEL,
                    moment - timedelta(milliseconds=latency),
                    agent_turns,
                    {
                        "model": data.LLM_MODEL,
                        "messages": 2 + n,
                        "finish_reason": "tool_calls" if turn.tool else "stop",
                    },
                    latency_ms=latency,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    cost_usd=price,
                )
            )
            if turn.tool:
                arguments, result = _tool_payload(turn.tool, call)
                call.trace.append(
                    _event(
                        "tool_call",
                        turn.tool,
                        moment - timedelta(milliseconds=200),
                        agent_turns,
                        {"arguments": arguments, "result": result},
                        latency_ms=round(rng.uniform(15, 240), 1),
                    )
                )
        if turn.step:
            step = turn.step
        call.entries.append(
            {
                "speaker": turn.speaker,
                "text": text,
                "spoken_at": moment,
                "interrupted": interrupted,
                "redacted": turn.redacted,
            }
        )
        pace = len(text) / 5 + rng.uniform(2, 8) if chat else len(text) / 14 + rng.uniform(0.4, 1.8)
        moment += timedelta(seconds=pace + (ctx["wait"] if turn.speaker == "system" else 0))
    ended = moment + timedelta(seconds=rng.uniform(1, 3))
    verified = call.scenario not in ("verify_fail", "wrong_party", "short", "voicemail")
    call.fields.update(
        answered_at=answered,
        ended_at=ended,
        duration_seconds=int((ended - answered).total_seconds()),
        current_step=step,
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        cost_usd=cost,
        handoff_reason="Customer asked for a person." if call.scenario == "handoff" else "",
        state={**call.fields["state"], "identity_verified": verified, "outcome": call.scenario},
    )
    if call.scenario in ("promise", "pay_now"):
        call.promise = plan_promise(call, rng)


def _event(kind: str, name: str, at: datetime, turn: int, payload: dict, ok: bool = True, **extra: Any) -> dict:
    return {"kind": kind, "name": name, "at": at, "turn": turn, "payload": payload, "ok": ok, **extra}


def _tool_payload(tool: str, call: CallPlan) -> tuple[dict, dict]:
    ctx, f = call.context, call.customer.fields
    amount = str(ctx["amount_value"])
    return {
        "verify_identity": (
            {"date_of_birth": ctx["dob_iso"], "zip": ctx["zip"]},
            {"verified": call.scenario != "verify_fail"},
        ),
        "lookup_account": (
            {"account_number": f["account_number"]},
            {
                "balance": str(f["balance"]),
                "days_overdue": f["days_overdue"],
                "stage": f["collection_stage"],
                "vehicle": f["profile"].get("vehicle"),
            },
        ),
        "record_promise": (
            {"amount": amount, "due_date": ctx["date_iso"], "method": ctx["method_key"]},
            {"recorded": True},
        ),
        "take_payment": ({"amount": amount, "method": "card"}, {"approved": True, "confirmation": ctx["confirmation"]}),
        "request_approval": (
            {
                "kind": "fee_waiver" if call.scenario == "hardship" else "settlement",
                "amount": ctx["fee_value"] if call.scenario == "hardship" else ctx["settle_value"],
            },
            {"queued": True},
        ),
        "log_dispute": ({"reason": "payment not posted"}, {"dispute_opened": True, "calls_paused": True}),
        "lookup_payments": ({"days": 7}, {"posted": [], "pending_posting": True}),
        "schedule_callback": ({"when": ctx["callback_when"]}, {"scheduled": True}),
        "transfer_to_human": ({"queue": "collections", "reason": "customer_request"}, {"transferred": True}),
        "mark_wrong_number": ({"phone": call.customer.phone}, {"flagged": True}),
        "geocode_location": (
            {"text": ctx.get("location", "")},
            {"city": call.customer.city.name, "lat": call.customer.city.lat, "lng": call.customer.city.lng},
        ),
        "dispatch_technician": (
            {"specialization": ctx.get("specialization"), "severity": ctx.get("severity")},
            {"technician": ctx.get("tech_full"), "eta_minutes": ctx.get("eta"), "job": ctx.get("job")},
        ),
    }[tool]
