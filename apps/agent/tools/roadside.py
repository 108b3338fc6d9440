"""Tools for roadside assistance: what and where, then the dispatch through the routing score."""

from typing import Annotated, Literal

from pydantic import Field

from apps.agent.numbers import spoken_duration_minutes
from apps.agent.tools.account import customer_for
from apps.agent.tools.registry import ToolContext, ToolInvalid, ToolRefused, sandboxed, tool
from apps.agent.workflows.roadside.facts import Dispatch, Incident, RoadsideFacts
from apps.calls.models import Call
from apps.dispatch.models import Specialization
from apps.dispatch.places import locate
from apps.dispatch.services import dispatch_create, dispatch_rank


def _from_caller(ctx: ToolContext, text: str) -> bool:
    """Most of the words the agent passes on must be the caller's own."""
    words = [w for w in text.lower().replace(",", " ").split() if len(w) > 2]
    heard = ctx.caller_text.lower()
    return bool(words) and sum(w in heard for w in words) >= max(1, len(words) * 2 // 3)


@tool(description="Record the vehicle the caller describes, when the one on file is not it or none is on file.")
def record_vehicle(ctx: ToolContext, description: Annotated[str, Field(min_length=2, max_length=120)]) -> dict:
    if not _from_caller(ctx, description):
        raise ToolInvalid("description", "use the caller's own description of the vehicle")
    RoadsideFacts.of(ctx.state).vehicle = {"description": description, "confirmed": True}
    return {"vehicle": description}


@tool(
    description=(
        "Record where the caller is, what happened and how urgent it is. location: the caller's words (road, "
        "exit, city). severity: 'emergency' if unsafe (highway shoulder, accident, smoke, children in the car), "
        "'urgent' if stuck but safe, 'standard' otherwise."
    ),
)
def capture_incident(
    ctx: ToolContext,
    location: Annotated[str, Field(min_length=3, max_length=255)],
    issue: Specialization,
    severity: Literal["emergency", "urgent", "standard"],
) -> dict:
    if not _from_caller(ctx, location):
        raise ToolInvalid("location", "use the caller's own words for where they are")
    customer = customer_for(ctx)
    home_city = (customer.profile.get("address") or {}).get("city")
    place = locate(location, fallback=home_city)
    if place is None:
        raise ToolInvalid("location", "could not place this on the map: ask for the city or the nearest exit")
    incident: Incident = {
        "location": location,
        "place": place.name,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "issue": str(issue),
        "severity": severity,
    }
    RoadsideFacts.of(ctx.state).incident = incident
    ctx.state.confirmations["incident"] = False  # read back, it needs the caller's yes before a dispatch
    return {"location": location, "near": place.name, "issue": str(issue), "severity": severity}


@tool(
    description=(
        "Send the best technician to the recorded incident and get the ETA, once the caller has heard the "
        "location and the problem read back and said yes."
    ),
    side_effect=True,
)
def dispatch_technician(ctx: ToolContext) -> dict:
    facts = RoadsideFacts.of(ctx.state)
    incident = facts.incident
    if not incident:
        raise ToolRefused("record the location and the problem with capture_incident first")
    if not ctx.state.confirmations.get("incident"):
        raise ToolRefused("read the location and the problem back and get a clear yes first")
    customer = customer_for(ctx)
    place = locate(incident["place"])
    if ctx.test:
        return _dispatch_sandboxed(ctx, incident)
    dispatch = dispatch_create(
        call=Call.objects.get(pk=ctx.call_id),
        customer=customer,
        location_text=incident["location"],
        place=place,
        issue=incident["issue"],
        severity=incident["severity"],
        actor=ctx.actor,
    )
    if dispatch.technician is None:
        facts.dispatch = {"dispatched": False}
        ctx.state.handoff = {"reason": "no technician is free nearby"}  # a person arranges help
        return {"dispatched": False, "reason": "no technician is free nearby"}
    assert dispatch.eta_minutes is not None  # dispatch_create sets a technician and its ETA together
    result: Dispatch = {
        "dispatched": True,
        "dispatch_id": dispatch.pk,
        "technician": dispatch.technician.name.split()[0],
        "eta_minutes": dispatch.eta_minutes,
        "eta_spoken": spoken_duration_minutes(dispatch.eta_minutes),
    }
    facts.dispatch = result
    return dict(result)


def _dispatch_sandboxed(ctx: ToolContext, incident: Incident) -> dict:
    """A test call hears who would come, from the real ranking, and nobody is sent."""
    ranked = dispatch_rank(
        latitude=incident["latitude"],
        longitude=incident["longitude"],
        issue=incident["issue"],
        severity=incident["severity"],
    )
    best = ranked[0] if ranked else None
    effect = sandboxed(
        ctx,
        "dispatch_create",
        technician=best.technician.name if best else None,
        eta_minutes=best.eta_minutes if best else None,
        location=incident["location"],
        issue=incident["issue"],
        severity=incident["severity"],
    )
    facts = RoadsideFacts.of(ctx.state)
    if best is None:
        facts.dispatch = {"dispatched": False}
        ctx.state.handoff = {"reason": "no technician is free nearby"}
        return {"dispatched": False, "reason": "no technician is free nearby", **effect}
    result: Dispatch = {
        "dispatched": True,
        "dispatch_id": None,
        "technician": best.technician.name.split()[0],
        "eta_minutes": best.eta_minutes,
        "eta_spoken": spoken_duration_minutes(best.eta_minutes),
    }
    facts.dispatch = result
    return {**result, **effect}
