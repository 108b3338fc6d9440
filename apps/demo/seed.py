"""Idempotent, deterministic demo data for `manage.py seed_demo`.

The whole data set is planned in memory first, from seeded Randoms (see `data.rng_for`), so every
run plans the same rows; then each model inserts only the rows whose natural key is missing
(customer and technician phone, CallSid or web chat key, call for transcripts, traces, analyses,
promises, approvals and dispatches, payment reference, customer and reason for follow-ups). Times are
relative to now and are never keys. Rows are not updated once they exist, except the demo users'
passwords, and a new call's state, which gets the ids of the rows its tools created once they exist.
"""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.db.models import F, Model, Q
from django.utils import timezone

from apps.accounts.models import ApiKey
from apps.accounts.roles import AGENTS, MANAGERS, ROLES, SUPERVISORS
from apps.accounts.services import api_key_create, user_set_role
from apps.analysis.models import CallAnalysis
from apps.analytics.rollups import rollups_rebuild
from apps.approvals.models import Approval
from apps.calls.models import Call, TraceEvent, TranscriptEntry
from apps.core.models import AuditEvent
from apps.customers.models import ConsentSource, Customer, DoNotCallEntry
from apps.demo import data, roadside
from apps.demo.casework import SUPERVISOR, seed_approvals, seed_followups, seed_promises, set_created_from_call
from apps.demo.conversations import plan_calls
from apps.demo.data import rng_for
from apps.demo.plans import CallPlan, CustomerPlan
from apps.demo.tools import ID, resolve_ids
from apps.dispatch.models import Dispatch, Technician
from apps.outreach.models import FollowUp
from apps.promises.models import Payment, Promise

API_KEY_NAME = "demo-integration"
ACTOR = "cli:seed_demo"
DEMO_USERS = (
    (SUPERVISOR, SUPERVISORS, "Sam", "Rivera"),
    ("agent", AGENTS, "Alex", "Kim"),
    ("manager", MANAGERS, "Morgan", "Lee"),
)
CENT = Decimal("0.01")


class DemoSeedRefused(Exception):
    """Seeding would be unsafe in this environment."""


@dataclass
class SeedResult:
    counts: dict[str, tuple[int, int]]  # model name -> (created this run, total)
    users: list[str] = field(default_factory=list)
    password: str = ""
    api_key_raw: str = ""


def counted_models() -> list[type[Model]]:
    return [
        Customer,
        DoNotCallEntry,
        Technician,
        Dispatch,
        Call,
        TranscriptEntry,
        TraceEvent,
        CallAnalysis,
        Promise,
        Payment,
        FollowUp,
        Approval,
        ApiKey,
        AuditEvent,
        get_user_model(),
    ]


def _counts() -> dict[str, int]:
    return {model._meta.verbose_name_plural: model.objects.count() for model in counted_models()}


def seed_demo(*, with_users: bool = True) -> SeedResult:
    """Create the demo data set, or complete it; running it again changes no row counts."""
    if with_users and not settings.DEBUG:
        raise DemoSeedRefused(
            "Refusing to create demo users with a known password while DEBUG is off. "
            "Use --no-users to seed the data without users."
        )
    before = _counts()
    with transaction.atomic():
        now = timezone.now()
        result = SeedResult(counts={})
        supervisor = None
        if with_users:
            supervisor = _seed_users()
            result.users, result.password = [u[0] for u in DEMO_USERS], settings.DEMO_PASSWORD
        customers = _plan_customers(rng_for("customers"), now)
        _seed_customers(customers)
        technicians = _seed_technicians()
        _seed_dnc(customers, supervisor, now)
        calls = plan_calls(customers, technicians, now)
        new_calls = _seed_calls(calls)
        promises, new_promises = seed_promises(calls)
        seed_followups(calls, promises, new_promises, customers, now)
        seed_approvals(calls, supervisor, now)
        dispatches = roadside.seed_dispatches(calls)
        ids = _created_ids(calls, promises, dispatches)
        _seed_conversations(calls, supervisor, ids, new_calls)
        if not ApiKey.objects.filter(name=API_KEY_NAME).exists():
            _, result.api_key_raw = api_key_create(name=API_KEY_NAME, actor=supervisor or ACTOR)
    # The demo's history is written in bulk, stamped in the past: the analytics take it in whole.
    rollups_rebuild()
    after = _counts()
    result.counts = {name: (after[name] - before[name], after[name]) for name in after}
    return result


def _seed_users() -> AbstractUser:
    """The three demo logins; a re-run resets their password and role."""
    users = {}
    for username, role, first, last in DEMO_USERS:
        user, _ = get_user_model().objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"}
        )
        user.set_password(settings.DEMO_PASSWORD)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        # user_set_role audits every call; only call it when the role is not already right.
        if set(user.groups.filter(name__in=ROLES).values_list("name", flat=True)) != {role} or not user.is_staff:
            user_set_role(user=user, role=role, actor=ACTOR)
        users[username] = user
    return users[SUPERVISOR]


def _phone(prefix: str, n: int) -> str:
    if prefix == "4420":
        return f"+4420794601{n:02d}"  # Ofcom's drama range, 020 7946 0xxx
    if prefix == "5255":
        return f"+5255555501{n:02d}"
    return f"+{prefix}55501{n:02d}"  # 555-0100..0199 are fictional in every NANP area code


def _plan_customers(rng: random.Random, now: datetime) -> list[CustomerPlan]:
    stages = [stage for stage, n in data.STAGE_COUNTS.items() for _ in range(n)]
    rng.shuffle(stages)
    dnc = set(rng.sample([i for i, stage in enumerate(stages) if stage != "current"], 5))
    counters: dict[str, int] = {}
    plans = []
    for i, ((name, key), stage) in enumerate(zip(data.CUSTOMERS, stages, strict=True)):
        city = data.CITIES[key]
        prefix = city.prefixes[i % len(city.prefixes)]
        counters[prefix] = counters.get(prefix, 0) + 1
        low, high = data.STAGE_DAYS[stage]
        factor = Decimal(str(data.CURRENCY_FACTOR[city.currency]))
        balance = (Decimal(rng.randint(*(v * 100 for v in data.STAGE_BALANCE[stage]))) / 100 * factor).quantize(CENT)
        risk_level = min(
            2, max(0, {"current": 0, "early": 0, "middle": 1, "late": 1}.get(stage, 2) + rng.choice((0, 0, 0, 1, -1)))
        )
        risk = ("low", "medium", "high")[risk_level]
        score_range = ((5, 34), (35, 69), (70, 98))[risk_level]
        dob = date(1952, 1, 1) + timedelta(days=rng.randint(0, 18000))
        zip_code = rng.choice(city.zips)
        profile: dict[str, Any] = {
            "address": {
                "street": f"{rng.randint(100, 9899)} {rng.choice(data.STREETS)}",
                "city": city.name,
                "state": city.region,
                "zip": zip_code,
            },
            "date_of_birth": dob.isoformat(),
            "zip": zip_code,
        }
        if stage == "current" or rng.random() < 0.65:
            make, model = rng.choice(data.ELECTRIC_VEHICLES if rng.random() < 0.15 else data.VEHICLES)
            plate = f"{rng.randint(1, 9)}{''.join(rng.choices('ABCDEFGHJKLMNPRSTUVWXYZ', k=3))}{rng.randint(100, 999)}"
            profile["vehicle"] = {
                "make": make,
                "model": model,
                "year": rng.randint(2012, 2024),
                "color": rng.choice(data.COLORS),
                "plate": plate,
            }
        consent = i not in dnc and rng.random() < 0.7
        created_days = rng.randint(400, 1500)
        fields = {
            "name": name,
            "phone": _phone(prefix, counters[prefix]),
            "email": f"{name.lower().replace(' ', '.').replace(chr(39), '')}@example.com",
            "timezone": "" if name in data.NO_TIMEZONE else city.tz,
            "language": data.LANGUAGES.get(key, "en-US"),
            "account_number": f"NW{48213 + i * 7919:08d}",
            "balance": balance,
            "currency": city.currency,
            "days_overdue": rng.randint(low, high),
            "risk_category": risk,
            "risk_score": Decimal(rng.randint(score_range[0] * 100, score_range[1] * 100)) / 100,
            "risk_scored_at": now - timedelta(hours=rng.randint(1, 20)),
            "collection_stage": stage,
            "profile": profile,
            "consent_automated_calls": consent,
            "consent_given_at": now - timedelta(days=rng.randint(30, created_days)) if consent else None,
            "consent_source": rng.choice(ConsentSource.values) if consent else "",
            "do_not_call": i in dnc,
            "consent_sms": consent and i % 3 != 0,  # most who agreed to calls also agreed to texts
            "created_at": now - timedelta(days=created_days),
        }
        if name == data.EXAMPLE_CUSTOMER.name:
            dob = _as_example_customer(fields)
        plans.append(CustomerPlan(i, key, city, city.tz, dob, fields))
    return plans


def _as_example_customer(fields: dict[str, Any]) -> date:
    """Fix the README's example customer's attributes over the drawn ones (after every draw, so no
    other customer's plan moves); returns the date of birth."""
    example = data.EXAMPLE_CUSTOMER
    fields.update(
        phone=example.phone,
        account_number=example.account_number,
        collection_stage=example.collection_stage,
        balance=example.balance,
        days_overdue=example.days_overdue,
    )
    profile = fields["profile"]
    profile["address"]["zip"] = profile["zip"] = example.zip
    profile["date_of_birth"] = example.date_of_birth.isoformat()
    profile["vehicle"] = dict(example.vehicle)
    return example.date_of_birth


def _insert_new(model: type[Model], rows: list[Model], created_at: list[datetime] | None = None) -> None:
    """bulk_create rows known to be missing; auto_now_add overwrites created_at, so put it back."""
    model.objects.bulk_create(rows, batch_size=500)
    if created_at:
        for row, when in zip(rows, created_at, strict=True):
            row.created_at = when
        model.objects.bulk_update(rows, ["created_at"], batch_size=200)


def _seed_customers(plans: list[CustomerPlan]) -> None:
    existing = dict(Customer.objects.filter(phone__in=[p.phone for p in plans]).values_list("phone", "pk"))
    new = [p for p in plans if p.phone not in existing]
    rows = [Customer(**{k: v for k, v in p.fields.items() if k != "created_at"}) for p in new]
    _insert_new(Customer, rows, [p.fields["created_at"] for p in new])
    existing.update({row.phone: row.pk for row in rows})
    for plan in plans:
        plan.pk = existing[plan.phone]


def _seed_technicians() -> list[Technician]:
    """The demo roster; returns it as planned, with the rows' ids, for the routing score."""
    rows = roadside.roster({})
    existing = set(Technician.objects.filter(phone__in=[t.phone for t in rows]).values_list("phone", flat=True))
    _insert_new(Technician, [t for t in rows if t.phone not in existing])
    pks = dict(Technician.objects.filter(phone__in=[t.phone for t in rows]).values_list("phone", "pk"))
    return roadside.roster(pks)


def _seed_dnc(customers: list[CustomerPlan], supervisor: AbstractUser | None, now: datetime) -> None:
    sources = ["customer_request", "call_opt_out", "sms_stop", "manual", "customer_request"]
    entries = [(c.phone, sources[n]) for n, c in enumerate(c for c in customers if c.fields["do_not_call"])]
    entries += [
        (_phone(prefix, 90 + n), source)
        for n, (prefix, source) in enumerate(
            [("1212", "imported"), ("1312", "imported"), ("1602", "manual"), ("1305", "imported"), ("4420", "manual")]
        )
    ]
    existing = set(DoNotCallEntry.objects.filter(phone__in=[p for p, _ in entries]).values_list("phone", flat=True))
    new = [(n, phone, source) for n, (phone, source) in enumerate(entries) if phone not in existing]
    rows = [
        DoNotCallEntry(
            phone=phone,
            source=source,
            reason=data.DNC_REASONS[source],
            created_by=supervisor if source == "manual" else None,
        )
        for _, phone, source in new
    ]
    _insert_new(DoNotCallEntry, rows, [now - timedelta(days=rng_for("dnc", n).randint(3, 200)) for n, _, _ in new])


def _seed_calls(calls: list[CallPlan]) -> set[int]:
    """Insert the missing calls; returns their ids."""
    sids = [c.fields["twilio_call_sid"] for c in calls if c.fields["twilio_call_sid"]]
    existing = dict(Call.objects.filter(twilio_call_sid__in=sids).values_list("twilio_call_sid", "pk"))
    keys = [c.key for c in calls if not c.fields["twilio_call_sid"]]
    chats = Call.objects.filter(channel="web_chat").filter(
        Q(state__facts__demo_key__in=keys) | Q(state__demo_key__in=keys)
    )
    for pk, state in chats.values_list("pk", "state"):
        existing[state.get("demo_key") or state["facts"]["demo_key"]] = pk  # the key's first home was the top level
    new = [c for c in calls if c.key not in existing]
    rows = [Call(customer_id=c.customer.pk, **c.fields) for c in new]
    Call.objects.bulk_create(rows, batch_size=500)
    Call.objects.filter(pk__in=[r.pk for r in rows]).update(created_at=F("started_at"))  # not "now"
    existing.update({c.key: row.pk for c, row in zip(new, rows, strict=True)})
    for call in calls:
        call.pk = existing[call.key]
    return {row.pk for row in rows}


def _created_ids(calls: list[CallPlan], promises: dict[int, int], dispatches: dict[int, int]) -> dict[int, dict]:
    """Per call, the ids of the rows its tools created, for the placeholders in its state and traces."""
    approvals = dict(
        Approval.objects.filter(call_id__in=[c.pk for c in calls]).order_by("pk").values_list("call_id", "pk")
    )
    asked = {
        (c.customer.pk, c.effects["schedule_callback"]["reason"]) for c in calls if "schedule_callback" in c.effects
    }
    followups = {
        (customer, reason): pk
        for customer, reason, pk in FollowUp.objects.filter(
            customer_id__in={customer for customer, _ in asked}, reason__in={reason for _, reason in asked}
        ).values_list("customer_id", "reason", "pk")
    }
    ids: dict[int, dict] = {}
    for call in calls:
        found = {
            ID("promise"): promises.get(call.index),
            ID("approval"): approvals.get(call.pk),
            ID("dispatch"): dispatches.get(call.pk),
            ID("followup"): followups.get((call.customer.pk, call.effects.get("schedule_callback", {}).get("reason"))),
        }
        ids[call.pk] = {placeholder: pk for placeholder, pk in found.items() if pk is not None}
    return ids


def _seed_conversations(
    calls: list[CallPlan], supervisor: AbstractUser | None, ids: dict[int, dict], new_calls: set[int]
) -> None:
    pks = [c.pk for c in calls]
    with_transcript = set(TranscriptEntry.objects.filter(call_id__in=pks).values_list("call_id", flat=True))
    with_trace = set(TraceEvent.objects.filter(call_id__in=pks).values_list("call_id", flat=True))
    analysed = set(CallAnalysis.objects.filter(call_id__in=pks).values_list("call_id", flat=True))
    entries, events, analyses, states = [], [], [], []
    for call in calls:
        if call.pk in new_calls and call.fields["state"]:
            states.append(Call(pk=call.pk, state=resolve_ids(call.fields["state"], ids[call.pk])))
        if call.pk not in with_transcript:
            entries += [TranscriptEntry(call_id=call.pk, sequence=n, **e) for n, e in enumerate(call.entries)]
        if call.pk not in with_trace:
            for event in call.trace:
                event = {**event, "payload": resolve_ids(event["payload"], ids[call.pk])}
                events.append(TraceEvent(call_id=call.pk, **event))
        if call.analysis and call.pk not in analysed:
            fields = dict(call.analysis)
            if "reviewed_at" in fields:  # reviewed by the supervisor, when there is one
                if supervisor is None:
                    del fields["reviewed_at"]
                else:
                    fields["reviewed_by"] = supervisor
            analyses.append(CallAnalysis(call_id=call.pk, **fields))
    Call.objects.bulk_update(states, ["state"], batch_size=200)
    TranscriptEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)
    TraceEvent.objects.bulk_create(events, batch_size=1000)
    CallAnalysis.objects.bulk_create(analyses, batch_size=500)
    set_created_from_call(CallAnalysis, [a.pk for a in analyses])
