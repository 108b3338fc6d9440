"""Roadside, offline: what the agent says in each step when no model answers. Nothing here speaks
of an account: the closing names the technician on the way."""

from apps.agent.workflows.base import Wording
from apps.agent.workflows.roadside.facts import RoadsideFacts as F


def say_vehicle(w: Wording) -> str:
    vehicle, facts = w.customer.on_file.get("vehicle"), F.of(w.state)
    if vehicle and facts.vehicle is None and not facts.has(F.vehicle_rejected):
        return f"Is this about your {vehicle}?"
    return "What vehicle are you driving today?"


def say_incident(w: Wording) -> str:
    """Asks for what is still missing, and notes what was asked: the answer to "where are you?" is the place."""
    facts = F.of(w.state)
    if w.last.get("capture_incident", {}).get("status") == "validation_error":
        return "I couldn't find that on the map. Which city are you in, or what's the nearest exit?"
    slots = w.state.slots
    if not slots.get("location") and not slots.get("issue"):
        return "Thanks. Where are you right now, and what's going on with the car?"
    if not slots.get("location"):
        facts.asked = "location"
        return "Where are you right now? The road, the nearest exit or cross street, and the city, please."
    if not slots.get("issue"):
        facts.asked = "issue"
        return "What's happening with the car?"
    facts.asked = "safety"
    return "Are you in a safe place, away from traffic?"


def say_eta(w: Wording) -> str:
    facts = F.of(w.state)
    dispatch, incident = facts.dispatch, facts.incident
    assert dispatch is not None  # the step follows the dispatch (dispatched)
    text = f"{dispatch['technician']} is on the way and should arrive in {dispatch['eta_spoken']}."
    if incident and incident["severity"] == "emergency":
        text += " Please stay somewhere safe, away from traffic."
    return text + " Is there anything else I can help with?"


def say_anything_else(w: Wording) -> str:
    if w.state.replies_in_step == 0:
        return "Is there anything else I can help with?"
    dispatch = F.of(w.state).dispatch
    technician = dispatch.get("technician") if dispatch else None
    on_the_way = f"{technician} is on the way." if technician else "Your technician is on the way."
    return f"{on_the_way} I can also connect you with a specialist. Is there anything else I can help with?"
