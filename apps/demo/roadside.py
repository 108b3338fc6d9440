"""Roadside demo calls: where the driver is, whom the routing score sends, and the Dispatch rows.

The technician and the ETA come from the real routing score (`apps.dispatch.services.dispatch_rank`)
over the demo roster as planned, so the transcript's ETA, the tool result and the Dispatch row agree.
Rows are built here rather than with `dispatch_create`, which would audit and mark technicians busy.
"""

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model

from apps.agent.numbers import spoken_duration_minutes
from apps.calls.models import Call
from apps.demo import data, scripts
from apps.demo.data import rng_for
from apps.demo.plans import CallPlan, CustomerPlan
from apps.dispatch.models import Dispatch, DispatchStatus, Severity, Technician
from apps.dispatch.places import locate
from apps.dispatch.services import MAX_DISTANCE_KM, dispatch_breakdown, dispatch_rank

SIX = Decimal("0.000001")
STILL_OUT = 3  # the most recent dispatches are still under way; older ones are done (or were cancelled)


def roster(pks: dict[str, int]) -> list[Technician]:
    """The demo technicians as planned (not as the database may have them now), with their row ids."""
    counters: dict[str, int] = {}
    rows = []
    for name, key, lat, lng, specializations, availability in data.TECHNICIANS:
        city = data.CITIES[key]
        prefix = city.prefixes[0]
        counters[prefix] = counters.get(prefix, 49) + 1
        rows.append(
            Technician(
                name=name,
                phone=technician_phone(prefix, counters[prefix]),
                base_location=f"{city.name}, {city.region}",
                latitude=Decimal(str(lat)).quantize(SIX),
                longitude=Decimal(str(lng)).quantize(SIX),
                specializations=specializations,
                availability=availability,
            )
        )
    for row in rows:
        row.pk = pks.get(row.phone)
    return rows


def technician_phone(prefix: str, n: int) -> str:
    return f"+{prefix}55501{n:02d}"  # 555-0100..0199 are fictional in every NANP area code


def covered(customer: CustomerPlan, technicians: list[Technician]) -> bool:
    """A technician on duty within the routing radius of the customer's city: roadside calls come from there."""
    ranked = dispatch_rank(
        latitude=customer.city.lat, longitude=customer.city.lng, issue="battery", severity="standard",
        technicians=technicians,
    )  # fmt: skip
    return bool(ranked) and ranked[0].distance_km < MAX_DISTANCE_KM


def incident(call: CallPlan, ctx: dict[str, Any], technicians: list[Technician], rng: random.Random) -> None:
    """What happened and where, and the dispatch the routing score makes for it, into the call's context."""
    customer = call.customer
    profile = customer.fields["profile"]
    vehicle = profile["vehicle"]
    electric = (vehicle["make"], vehicle["model"]) in data.ELECTRIC_VEHICLES
    issues = ("ev", "flat_tire", "lockout", "accident") if electric else (
        "flat_tire", "battery", "battery", "lockout", "fuel", "overheating", "accident")  # fmt: skip
    issue = scripts.ISSUES[rng.choice(issues)]
    highway = rng.choice(customer.city.highways)
    heading = rng.choice(("north", "south", "east", "west"))
    exit_number, on_highway = rng.randint(2, 60), rng.random() < 0.5
    store, in_city = rng.choice(data.STORES), rng.random() < 0.4
    location = (
        f"{highway} {heading}bound near exit {exit_number}"
        if on_highway
        else f"the {store} parking lot on {ctx['street']}"
    )
    if in_city:
        location += f" in {customer.city.name}"
    home = profile["address"]["city"]
    place = locate(location, fallback=home)
    if place is None or place != locate(home):  # a street that names another city: say the city instead
        location = f"{highway} near exit {exit_number} in {customer.city.name}"
        place = locate(location, fallback=home)
    if issue.specialization == "accident" or on_highway:
        severity = Severity.EMERGENCY
    elif issue.specialization in ("lockout", "fuel"):
        severity = Severity.STANDARD
    else:
        severity = Severity.URGENT
    ranked = dispatch_rank(
        latitude=place.latitude, longitude=place.longitude, issue=issue.specialization, severity=severity,
        technicians=technicians,
    )  # fmt: skip
    top = ranked[0]
    alt_make, alt_model = rng.choice(data.VEHICLES)
    ctx.update(
        vehicle=f"{vehicle['make']} {vehicle['model']}",
        relation=rng.choice(data.RELATIONS),
        alt_vehicle=f"{rng.choice(data.COLORS)} {alt_make} {alt_model}",
        location=location,
        place=place,
        issue=issue,
        issue_label=issue.label,
        specialization=issue.specialization,
        severity=str(severity),
        service=issue.service,
        tech=top.technician.name.split()[0],
        tech_full=top.technician.name,
        eta=top.eta_minutes,
        eta_spoken=spoken_duration_minutes(top.eta_minutes),
        s_safety=" Please stay somewhere safe, away from traffic." if severity == Severity.EMERGENCY else "",
    )
    call.dispatch = {
        "technician_id": top.technician.pk,
        "location_text": location[:255],
        "place_name": place.name[:100],
        "latitude": Decimal(str(place.latitude)).quantize(SIX),
        "longitude": Decimal(str(place.longitude)).quantize(SIX),
        "issue": issue.specialization,
        "severity": str(severity),
        "status": DispatchStatus.DISPATCHED,
        "eta_minutes": top.eta_minutes,
        "distance_km": Decimal(str(top.distance_km)).quantize(Decimal("0.01")),
        "score": Decimal(str(top.score)).quantize(Decimal("0.0001")),
        "breakdown": dispatch_breakdown(ranked),
    }


def plan_dispatch_statuses(calls: list[CallPlan]) -> None:
    """The newest few are still on their way; older jobs were completed, or cancelled by the driver."""
    dispatched = sorted((c for c in calls if c.dispatch), key=lambda c: (c.age, c.index))
    for rank, call in enumerate(dispatched):
        if rank < STILL_OUT and call.age[0] == 0:
            continue
        cancelled = rng_for("dispatch", call.index).random() < 0.1
        call.dispatch["status"] = DispatchStatus.CANCELLED if cancelled else DispatchStatus.COMPLETED


def dispatched_at(call: CallPlan) -> datetime:
    return next(t["at"] for t in call.trace if t["kind"] == "tool_call" and t["name"] == "dispatch_technician")


def seed_dispatches(calls: list[CallPlan]) -> dict[int, int]:
    """One Dispatch per roadside call that sent a technician. Returns {call pk: dispatch pk}."""
    sending = [c for c in calls if c.dispatch]
    existing = dict(Dispatch.objects.filter(call_id__in=[c.pk for c in sending]).values_list("call_id", "pk"))
    # A call seeded by an earlier version of this plan may be someone else's: it keeps what it has.
    stored = set(
        Call.objects.filter(pk__in=[c.pk for c in sending]).values_list("pk", "customer_id", "workflow_version")
    )
    new = [c for c in sending if c.pk not in existing and (c.pk, c.customer.pk, c.fields["workflow_version"]) in stored]
    rows = [Dispatch(call_id=c.pk, customer_id=c.customer.pk, **c.dispatch) for c in new]
    _insert_dated(Dispatch, rows, [dispatched_at(c) for c in new])
    existing.update({row.call_id: row.pk for row in rows})
    return existing


def _insert_dated(model: type[Model], rows: list[Model], created_at: list[datetime]) -> None:
    model.objects.bulk_create(rows, batch_size=500)
    for row, when in zip(rows, created_at, strict=True):
        row.created_at = when
    model.objects.bulk_update(rows, ["created_at"], batch_size=200)
