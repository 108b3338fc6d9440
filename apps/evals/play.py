"""One run of one scenario, inside a worker (apps/evals/runner.py): its customer written fresh,
the conversation played over its channel with its caller, then judged on what was recorded."""

import itertools
import os
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import time_machine
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.accounts.services import user_set_role
from apps.calls.models import Call, TraceKind
from apps.core.services import Person
from apps.customers.models import Customer
from apps.customers.services import customer_create
from apps.dispatch.services import technician_create
from apps.evals.callers import HangUp, ModelCaller, RulesCaller, Say, ScriptedCaller
from apps.evals.config import GOAL_STEPS
from apps.evals.drivers import ChatDriver, VoiceDriver
from apps.evals.judge import Turn, judge
from apps.evals.model_judge import judge_client, judge_conversation
from apps.evals.scenarios import Scenario, resolve_day
from apps.promises.services import promise_close, promise_record

EVALUATOR = Person(None, "eval_agent")
EVAL_USER = "eval-agent"
MAX_TURNS = 60  # caller turns, whoever the caller is: then the call is hung up

# The scratch database's roster: one technician per region the scenarios place callers in, all skills.
ROSTER = (
    ("Mei Lin", "Oakland, CA", "37.810000", "-122.260000", "+15105550150"),
    ("Kenji Watanabe", "Los Angeles, CA", "34.040700", "-118.246800", "+12135550150"),
    ("Marcus Hill", "Chicago, IL", "41.948400", "-87.655300", "+13125550150"),
    ("DeShawn Price", "New York, NY", "40.678200", "-73.944200", "+12125550150"),
    ("Hector Salinas", "Houston, TX", "29.749900", "-95.358400", "+17135550150"),
    ("Leon Carter", "Atlanta, GA", "33.770100", "-84.388500", "+14045550150"),
)
SKILLS = ["towing", "battery", "tire", "lockout", "fuel", "engine", "accident", "ev"]
_numbers = itertools.count(1)
AREAS = ("415", "628", "510", "650", "408", "213", "312", "646", "713", "404")  # 100,000 numbers per worker


def prepare_database() -> None:
    """What every scenario needs in the worker's scratch database: technicians and the staff user
    web chats belong to."""
    for name, base, latitude, longitude, phone in ROSTER:
        technician_create(name=name, phone=phone, base_location=base, latitude=Decimal(latitude),
                          longitude=Decimal(longitude), specializations=SKILLS, actor=EVALUATOR)  # fmt: skip
    user = get_user_model().objects.create_user(EVAL_USER, password=None)
    user_set_role(user=user, role="Supervisors", actor=EVALUATOR)


def _customer(scenario: Scenario) -> Customer:
    spec = scenario.customer
    n = next(_numbers)  # the worker's database is its own: numbers need only differ within it
    profile: dict[str, Any] = {"zip": spec.zip}
    if spec.date_of_birth:
        profile["date_of_birth"] = spec.date_of_birth.isoformat()
    if spec.vehicle:
        profile["vehicle"] = spec.vehicle.model_dump(exclude_defaults=True)
    return customer_create(
        actor=EVALUATOR,
        data={
            "name": spec.name,
            "phone": f"+1{AREAS[n // 10000 % len(AREAS)]}555{n % 10000:04d}",
            "account_number": f"EV{n:06d}{spec.account_last4}",
            "timezone": spec.timezone,
            "balance": spec.balance,
            "days_overdue": spec.days_overdue,
            "collection_stage": spec.collection_stage,
            "risk_category": spec.risk_category,
            "profile": profile,
            "consent_automated_calls": True,
            "consent_given_at": timezone.now() - timedelta(days=30),
            "consent_source": "web_form",
        },
    )


def _promises_on_file(scenario: Scenario, customer: Customer, today: date) -> None:
    for on_file in scenario.customer.promises:
        promise = promise_record(
            customer_id=customer.pk,
            amount=on_file.amount,
            due_date=resolve_day(on_file.due, today),
            method="",
            source="staff",
            actor=EVALUATOR,
        )
        if on_file.status != "pending":
            promise_close(promise_id=promise.pk, status=on_file.status, reason="Scenario history", actor=EVALUATOR)


def _caller(scenario: Scenario, options: Any, today: date, customer: Customer):
    if scenario.caller.script:
        return ScriptedCaller(scenario.caller)
    if options.caller == "llm":
        from openai import OpenAI

        client = OpenAI(
            api_key=os.environ.get("EVAL_CALLER_OPENAI_API_KEY", ""),
            base_url=os.environ.get("EVAL_CALLER_OPENAI_BASE_URL") or None,
            timeout=30,
            max_retries=1,
        )
        return ModelCaller(scenario, today, client, os.environ.get("EVAL_CALLER_LLM_MODEL", "gpt-4o-mini"))
    return RulesCaller(scenario, today, customer.account_number)


async def play(scenario: Scenario, options: Any, *, run: int) -> dict[str, Any]:
    """The run, on the scenario's day when it names one (the whole process travels there, the
    clock still ticking: a worker plays one scenario at a time)."""
    if scenario.today is None:
        return await _play(scenario, options, run=run)
    zone = ZoneInfo(scenario.customer.timezone)
    local_now = datetime.now(zone)
    with time_machine.travel(datetime.combine(scenario.today, local_now.time(), zone), tick=True):
        return await _play(scenario, options, run=run)


async def _play(scenario: Scenario, options: Any, *, run: int) -> dict[str, Any]:
    today = datetime.now(ZoneInfo(scenario.customer.timezone)).date()
    customer = await database_sync_to_async(_customer)(scenario)
    await database_sync_to_async(_promises_on_file)(scenario, customer, today)
    known = scenario.customer.caller_id == "known"
    if scenario.channel == "voice":
        driver: VoiceDriver | ChatDriver = VoiceDriver(
            customer=customer,
            workflow=scenario.workflow,
            direction=scenario.direction,
            from_number=customer.phone if known else "+12025550199",
        )
    else:
        user = await database_sync_to_async(get_user_model().objects.get)(username=EVAL_USER)
        driver = ChatDriver(customer=customer if known else None, workflow=scenario.workflow,
                            direction=scenario.direction, user=user)  # fmt: skip
    caller = _caller(scenario, options, today, customer)
    transcript: list[Turn] = []
    greeting = await driver.open()
    transcript.append(Turn("agent", greeting))
    last, ended, why = greeting, False, ""
    for _ in range(MAX_TURNS):
        turn = await database_sync_to_async(caller.next, thread_sensitive=False)(last)
        if isinstance(turn, HangUp):
            why = turn.why
            await driver.hang_up()
            break
        assert isinstance(turn, Say)
        transcript.append(Turn("caller", turn.text))
        reply = await driver.say(turn)
        if reply.text:
            transcript.append(Turn("agent", reply.text))
            last = reply.text
        if reply.ended:
            ended, why = True, f"the agent {'handed off' if reply.handoff else 'ended the call'}: {reply.reason}"
            break
    else:
        await driver.hang_up()
        why = f"{MAX_TURNS} caller turns"
    result = await database_sync_to_async(_judged)(scenario, driver.call_id, transcript, today, run, why, ended)
    if options.judge:
        goal = scenario.caller.goal or scenario.description
        lines = [(t.speaker, t.text) for t in transcript]
        model = os.environ.get("EVAL_JUDGE_LLM_MODEL", "gpt-4o-mini")
        result["judge"] = await database_sync_to_async(judge_conversation, thread_sensitive=False)(
            judge_client(), model, lines, goal
        )
    return result


def _judged(
    scenario: Scenario, call_id: int, transcript: list[Turn], today: date, run: int, why: str, ended: bool
) -> dict[str, Any]:
    call = Call.objects.get(pk=call_id)
    verdict = judge(scenario, call, transcript, today, GOAL_STEPS, caller_left=not ended)
    turns = list(call.trace.filter(kind=TraceKind.TURN).values_list("payload", flat=True))
    return {
        "id": scenario.id,
        "run": run,
        "category": scenario.category,
        "workflow": scenario.workflow,
        "channel": scenario.channel,
        "direction": scenario.direction,
        "passed": verdict.passed,
        "task_completed": verdict.task_completed,
        "outcome": verdict.outcome,
        "expected_outcome": scenario.expect.outcome,
        "ended_by": why,
        "failures": verdict.failures,
        "forbidden": verdict.forbidden,
        "facts": verdict.facts,
        "grounded": verdict.grounded,
        "steps": verdict.steps,
        "steps_ok": verdict.steps_ok,
        "turn_ms": [round(t.get("total_ms", 0.0), 2) for t in turns],
        "modes": [t.get("mode", "") for t in turns],
        "tokens": call.prompt_tokens + call.completion_tokens,
        "cost_usd": str(call.cost_usd),
        "version": call.workflow_version,
        "transcript": [[t.speaker, t.text] for t in transcript],
        "day": today.isoformat(),
        "at": time.time(),
    }
