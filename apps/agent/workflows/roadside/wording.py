"""Roadside, offline: what the agent says in each step when no model answers. Nothing here speaks
of an account: the closing names the technician on the way. Each reply is given fullest first
(`Wording.fit`): on the phone, the first within VOICE_WORD_LIMIT words as spoken."""

from apps.agent.workflows import shared
from apps.agent.workflows.base import Wording
from apps.agent.workflows.roadside.facts import RoadsideFacts as F

# The problem as read back to the caller, by the dispatch Specialization capture_incident recorded.
PROBLEMS = {
    "towing": "a car that needs towing",
    "battery": "a battery problem",
    "tire": "a flat tire",
    "lockout": "the keys locked in",
    "fuel": "no fuel",
    "engine": "an engine problem",
    "ev": "an electric car out of charge",
    "accident": "an accident",
}
SAFETY = "Please stay somewhere safe, away from traffic."
NOT_ON_THE_MAP = "I couldn't find that on the map. Which city are you in, or what's the nearest exit?"
_PREPOSITIONS = {"in", "on", "at", "near", "by", "off", "outside", "behind"}


def _place(location: str) -> str:
    """The caller's words for the place, read back mid-sentence ("In the Safeway lot" -> "in the ...")."""
    first = location.split(maxsplit=1)[0] if location.strip() else ""
    return location[0].lower() + location[1:] if first.lower() in _PREPOSITIONS else location


def say_vehicle(w: Wording) -> str:
    vehicle, facts = w.customer.on_file.get("vehicle"), F.of(w.state)
    if vehicle and facts.vehicle is None and not facts.has(F.vehicle_rejected):
        return f"Is this about your {vehicle}?"
    return "What vehicle are you driving today?"


def say_incident(w: Wording) -> str:
    """Asks for what is still missing, and notes what was asked: the answer to "where are you?" is the place."""
    facts = F.of(w.state)
    if w.last.get("capture_incident", {}).get("status") == "validation_error":
        return NOT_ON_THE_MAP
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


def say_read_back(w: Wording) -> str:
    """Where and what, as recorded, for the caller's yes before anyone is sent."""
    incident = F.of(w.state).incident
    assert incident is not None  # the step is entered only with the incident recorded (incident_known)
    if w.last.get("capture_incident", {}).get("status") == "validation_error":
        return NOT_ON_THE_MAP  # the corrected place: the one recorded stays until a new one is found
    problem, place = PROBLEMS.get(incident["issue"], "a breakdown"), _place(incident["location"])
    return w.fit(
        f"Let me confirm: {place}, with {problem}. Is that right?",
        f"Let me confirm: {place}. Is that right?",
        f"Let me confirm: near {incident['place']}, with {problem}. Is that right?",
    )


def say_eta(w: Wording) -> str:
    facts = F.of(w.state)
    dispatch, incident = facts.dispatch, facts.incident
    assert dispatch is not None  # the step follows the dispatch (dispatched)
    tech, eta = dispatch["technician"], dispatch["eta_spoken"]
    safety = f" {SAFETY}" if incident and incident["severity"] == "emergency" else ""
    return w.fit(
        f"{tech} is on the way and should arrive in {eta}.{safety} Is there anything else I can help with?",
        f"{tech} is on the way, arriving in {eta}.{safety} Anything else I can help with?",
        f"{tech} is on the way, arriving in {eta}.{' Stay safe, away from traffic.' if safety else ''} Anything else?",
    )


def say_anything_else(w: Wording) -> str:
    if w.state.replies_in_step == 0:
        return "Is there anything else I can help with?"
    dispatch = F.of(w.state).dispatch
    technician = dispatch.get("technician") if dispatch else None
    on_the_way = f"{technician} is on the way." if technician else "Your technician is on the way."
    return f"{on_the_way} I can also connect you with a specialist. Is there anything else I can help with?"


def say_goodbye(w: Wording) -> str:
    """Goodbye; first who is on the way, if the dispatch ran this very turn (the caller said yes to
    the read-back and goodbye in one breath: they have not heard the ETA yet)."""
    bye, dispatch = shared.say_goodbye(w), F.of(w.state).dispatch
    if w.last.get("dispatch_technician", {}).get("status") != "ok" or not (dispatch and dispatch["dispatched"]):
        return bye
    return w.fit(
        f"{dispatch['technician']} is on the way, arriving in {dispatch['eta_spoken']}. {bye}",
        f"{dispatch['technician']} is on the way, arriving in {dispatch['eta_spoken']}. Goodbye.",
    )
