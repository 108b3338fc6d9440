"""Plans the 500 demo calls: who, when, how they went, what was said, traced and concluded.

Planning writes no row (the seeder writes them after): the calls' tools read the seeded customers, and
what they write is rolled back (`tools.planning`). Each call draws from its own Random, and what could
change the number of rows (which calls talk, and about what) is decided from offsets ("3 days ago"), never
by comparing with the clock, so a second run plans the same rows. Each conversation is held by the live
agent's own turn core, with a scripted model on a simulated clock (`talk.DemoCall`) and the real tools,
so it carries the live agent's workflow versions, steps, listeners, tools and their rules, replies, trace
shapes and state; the rows a call leaves are what its tools would have written (`CallPlan.effects`).
"""

import hashlib
import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from apps.agent import offline
from apps.agent.tools import TOOLS
from apps.agent.workflows import get_workflow
from apps.demo import data, roadside, scripts
from apps.demo.context import call_context, customer_context
from apps.demo.data import rng_for
from apps.demo.outcomes import plan_analyses, plan_promise
from apps.demo.plans import CallPlan, CustomerPlan
from apps.demo.talk import DemoCall
from apps.demo.tools import planning
from apps.dispatch.models import Technician

CALL_COUNT = 500
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
UNKNOWN_NUMBER_SHARE = 0.12  # inbound callers on a number not on file: the agent asks who they are
OFFLINE_SHARE = 0.03  # turns where every model failed and the offline engine answered
DRAFT_SHARE = 0.3  # hardship calls where the reply gate stopped the model's first draft
INTERRUPT_SHARE = 0.04


def plan_calls(customers: list[CustomerPlan], technicians: list[Technician], now: datetime) -> list[CallPlan]:
    def eligible(c: CustomerPlan) -> bool:
        return c.fields["collection_stage"] != "current"

    pools = {
        "outbound": [
            c
            for c in customers
            if eligible(c) and c.fields["consent_automated_calls"] and not c.fields["language"].startswith("es")
        ],
        "inbound": [c for c in customers if eligible(c)],
        "chat": [c for c in customers if eligible(c) and not c.fields["language"].startswith("es")],
        "roadside": [
            c
            for c in customers
            if "vehicle" in c.fields["profile"] and c.city.country == "US" and roadside.covered(c, technicians)
        ],
    }
    calls = [_skeleton(i, pools, now) for i in range(CALL_COUNT)]
    _assign_scenarios(calls)
    history: dict[int, list[CallPlan]] = {}  # earlier calls per customer, for what their account shows
    with planning([c.pk for c in customers if c.pk is not None]):
        for call in sorted(calls, key=lambda c: (c.age, c.index), reverse=True):  # oldest first
            if call.scenario:
                _render(call, history.setdefault(call.customer.index, []), technicians)
    roadside.plan_dispatch_statuses(calls)
    plan_analyses(calls)
    return calls


def _skeleton(i: int, pools: dict[str, list[CustomerPlan]], now: datetime) -> CallPlan:
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
        "reason": (
            f"Collections: {customer.fields['days_overdue']} days past due"
            if direction == "outbound"
            else ("Web chat test by supervisor" if chat else "")
        ),
        "started_at": started.astimezone(UTC),
        "answered_by": answered_by,
        "workflow_name": workflow,
        "workflow_version": get_workflow(workflow).version,
        "state": {"facts": {"demo_key": f"demo-chat-{i:03d}"}} if chat else {},
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


def _exchanges(call: CallPlan, known: bool, rng: random.Random) -> list[scripts.Ex]:
    ctx = call.context
    outbound = call.fields["direction"] == "outbound"  # the person who answers confirms who they are
    opening: list[scripts.Ex] = []
    if not known:  # caller ID found no one: they say who they are
        opening.append(scripts.FIND_ACCOUNT)
    if call.spanish:
        if outbound:
            opening.append(scripts.SCRIPTS_ES["confirm_party"])
        return [*opening, scripts.SCRIPTS_ES["verify"], *scripts.SCRIPTS_ES["promise"]]
    if call.scenario == "roadside":
        issue = ctx["issue"]
        vehicle = scripts.VEHICLE_OTHER if rng.random() < 0.15 else scripts.VEHICLE_MATCH
        read_back = scripts.READ_BACK._replace(caller=issue.answers)
        return [vehicle, scripts.LOCATION, *issue.turns, read_back, scripts.ETA, scripts.ROADSIDE_CLOSE]
    if outbound and call.scenario not in ("wrong_party", "short", "voicemail"):
        opening.append(scripts.CONFIRM_PARTY)
    if call.scenario not in ("verify_fail", "wrong_party", "short", "voicemail"):
        lines = scripts.VERIFY_LINES[ctx["verify"][0][0]]
        opening.append(scripts.Ex(lines, ("verify_identity",), scripts.BALANCE, offline_ok=True))
    turns: list[scripts.Ex] = []
    for item in scripts.SCRIPTS[call.scenario]:
        if isinstance(item, scripts.Either):
            turns += item.first if rng.random() < item.p else item.second
        else:
            turns.append(item)
    return [*opening, *turns]


def _render(call: CallPlan, earlier: list[CallPlan], technicians: list[Technician]) -> None:
    rng, fields = call.rng, call.fields
    chat = fields["channel"] == "web_chat"
    customer = customer_context(call.customer)
    today = fields["started_at"].astimezone(ZoneInfo(call.customer.tz)).date()
    speech = offline.Speech(fields["channel"], today, customer.on_file["currency"])
    ctx = call.context = call_context(call, rng, earlier, speech)
    if call.scenario == "roadside":
        roadside.incident(call, ctx, technicians, rng)
    inbound_voice = fields["direction"] == "inbound" and call.workflow == "collections" and not chat
    known = not (inbound_voice and rng.random() < UNKNOWN_NUMBER_SHARE)
    if not known:  # calling from another phone: caller ID finds no one, and they say who they are first
        fields["from_number"] = f"{call.customer.phone[:-2]}{70 + call.index % 20}"
        ctx["why"] = ""
        if ctx["verify"][0][0] == "account_last4":  # asked for the ZIP code or the date of birth instead
            ctx["verify"] = [("date_of_birth", call.customer.dob.isoformat(), True)]
    started = fields["started_at"]
    answered = started if chat else started + timedelta(seconds=rng.randint(3, 18))
    session = DemoCall(
        workflow=call.workflow,
        channel=fields["channel"],
        direction=fields["direction"],
        customer=customer,
        known=known,
        ctx=ctx,
        speech=speech,
        rng=rng,
        at=answered + timedelta(milliseconds=rng.uniform(80, 300)),
    )
    session.greet()
    exchanges = _exchanges(call, known, rng)
    for n, exchange in enumerate(exchanges):
        if session.state.ended:
            break
        caller = rng.choice(exchange.caller).format(**ctx)
        _caller_pause(session, caller, chat, rng)
        draft = exchange.draft and rng.random() < DRAFT_SHARE
        session.turn(
            caller,
            calls=[spec for spec in exchange.do if spec.split(":")[0] in TOOLS],
            reply=rng.choice(exchange.agent) if exchange.agent else "",
            down=exchange.offline_ok and rng.random() < OFFLINE_SHARE,
            draft=rng.choice(exchange.draft) if draft else "",
        )
        reply = session.last_reply
        if not chat and n < len(exchanges) - 1 and len(reply) > 60 and rng.random() < INTERRUPT_SHARE:
            session.interrupt(reply[: int(len(reply) * 0.55)].rsplit(" ", 1)[0])
    _speak_out(session, chat, rng)
    state = session.state
    if state.handoff and not chat:
        session.note("system", scripts.TRANSFER_NOTE.format(queue=call.workflow, **ctx))
        session.wait(ctx["wait"] + rng.uniform(1, 3))
        if call.scenario == "handoff":
            for speaker, lines in scripts.HUMAN_TAKEOVER:
                text = rng.choice(lines).format(**ctx)
                session.note(speaker, text)
                session.wait(len(text) / 14 + rng.uniform(0.4, 1.8))
    ended = session.now + timedelta(seconds=rng.uniform(0.3, 1.5))
    call.entries, call.trace, call.effects = session.entries, session.traces, session.effects
    record = state.to_dict()
    record["facts"].update(fields["state"].get("facts", {}))  # the web chat's demo key
    fields.update(
        answered_at=answered,
        ended_at=ended,
        duration_seconds=int((ended - answered).total_seconds()),
        current_step=state.step,
        prompt_tokens=state.prompt_tokens,
        completion_tokens=state.completion_tokens,
        cost_usd=Decimal(state.cost_usd).quantize(Decimal("0.000001")),
        handoff_reason=(state.handoff or {}).get("reason", "")[:255],
        state=record,
    )
    if "record_promise" in call.effects:
        call.promise = plan_promise(call, rng)
    earlier.append(call)


def _caller_pause(session: DemoCall, caller: str, chat: bool, rng: random.Random) -> None:
    """Time passes while the agent's reply is heard (or read) and the caller answers."""
    reply = session.last_reply
    if chat:
        session.wait(len(reply) / 25 + len(caller) / 4 + rng.uniform(2, 8))
        return
    heard_by = (session.first_token or session.now) + timedelta(seconds=len(reply) / 15)
    session.wait(max((heard_by - session.now).total_seconds(), 0))
    session.wait(rng.uniform(0.4, 1.6) + len(caller) / 14 + 0.3)


def _speak_out(session: DemoCall, chat: bool, rng: random.Random) -> None:
    if not chat:
        heard_by = (session.first_token or session.now) + timedelta(seconds=len(session.last_reply) / 15)
        session.wait(max((heard_by - session.now).total_seconds(), 0))
    session.wait(rng.uniform(0.5, 2.0))
