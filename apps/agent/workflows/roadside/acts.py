"""Roadside, offline: the tool calls a caller's words ask for: another vehicle than the one on
file, the incident (where, what, how urgent) once all three are known, and the incident again when
the caller corrects what was read back."""

import re

from apps.agent.workflows.base import Action, Heard
from apps.agent.workflows.roadside.facts import RoadsideFacts
from apps.agent.workflows.roadside.listeners import incident_changed

VEHICLE_MAKES = [
    "acura",
    "audi",
    "bmw",
    "buick",
    "cadillac",
    "chevrolet",
    "chevy",
    "chrysler",
    "dodge",
    "fiat",
    "ford",
    "genesis",
    "gmc",
    "honda",
    "hyundai",
    "infiniti",
    "jaguar",
    "jeep",
    "kia",
    "lexus",
    "lincoln",
    "mazda",
    "mercedes",
    "mini",
    "mitsubishi",
    "nissan",
    "porsche",
    "ram",
    "rivian",
    "subaru",
    "tesla",
    "toyota",
    "volkswagen",
    "vw",
    "volvo",
]
_MAKE = re.compile(rf"\b({'|'.join(VEHICLE_MAKES)})\b(\s+[a-z0-9-]+)?", re.IGNORECASE)
INCIDENT = ("location", "issue", "severity")
SEVERITIES = ("standard", "urgent", "emergency")  # least urgent first


def vehicle_heard(h: Heard) -> list[Action]:
    """Not the vehicle on file: the make (and model) the caller names."""
    if h.u.affirm is not True and (match := _MAKE.search(h.u.text)):
        return [("record_vehicle", {"description": match.group(0).strip()})]
    return []


def incident_heard(h: Heard) -> list[Action]:
    """Where, what and how urgent, gathered across turns; the answer to what was asked counts."""
    state, u = h.state, h.u
    asked, slots = RoadsideFacts.of(state).asked, state.slots
    if u.location:
        slots["location"] = u.location
    elif asked == "location" and len(u.text.split()) >= 2:
        slots["location"] = u.text.strip(" .!?")  # the answer to "where are you?" is the place
    if u.issue:
        slots["issue"] = u.issue
    if u.severity:
        slots["severity"] = u.severity
    elif asked == "safety" and u.affirm is not None:
        slots["severity"] = "urgent" if u.affirm else "emergency"
    if all(slots.get(name) for name in INCIDENT):
        return [("capture_incident", {name: slots[name] for name in INCIDENT})]
    return []


def corrected_incident_heard(h: Heard) -> list[Action]:
    """During the read-back: a yes or no is the listener's; another place or problem is recorded
    again (and read back again)."""
    state, u = h.state, h.u
    incident = RoadsideFacts.of(state).incident
    if not incident or not incident_changed(state, u):
        return []
    severity = u.severity or incident["severity"]
    if not u.location:  # the same place: another problem never makes it less urgent
        severity = max(severity, incident["severity"], key=SEVERITIES.index)
    values = {
        "location": u.location or incident["location"],
        "issue": u.issue or incident["issue"],
        "severity": severity,
    }
    state.slots.update(values)
    return [("capture_incident", values)]
