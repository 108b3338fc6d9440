"""Roadside: the conditions its transitions check, and the listeners that read the caller's yes or
no to the vehicle on file, and to the location and problem read back before the dispatch."""

from apps.agent.nlu import Understanding
from apps.agent.state import ConversationState as S
from apps.agent.workflows.roadside.facts import RoadsideFacts as F


def vehicle_known(s: S) -> bool:
    vehicle = F.of(s).vehicle
    return bool(vehicle and vehicle.get("confirmed"))


def vehicle_answer(s: S, u: Understanding) -> None:
    facts = F.of(s)
    on_file = facts.vehicle_on_file
    if on_file and u.affirm is True:
        facts.vehicle = {"description": on_file, "confirmed": True}
    elif u.affirm is False:
        facts.vehicle_rejected = True


def incident_known(s: S) -> bool:
    return bool(F.of(s).incident)


def incident_confirmed(s: S) -> bool:
    return s.confirmations.get("incident") is True


def incident_withdrawn(s: S) -> bool:
    return not F.of(s).incident


def incident_changed(s: S, u: Understanding) -> bool:
    """The caller names another place or problem than the one read back: it is recorded again
    (`acts.corrected_incident_heard`) and read back again."""
    incident = F.of(s).incident
    if not incident:
        return False
    other_place = u.location is not None and u.location.strip().lower() != incident["location"].strip().lower()
    return other_place or (u.issue is not None and u.issue != incident["issue"])


def incident_answer(s: S, u: Understanding) -> None:
    """The location and problem read back: a yes lets the dispatch run; a plain no takes the call
    back to asking where the caller is."""
    if incident_changed(s, u):
        return
    if u.affirm is True:
        s.confirmations["incident"] = True
    elif u.affirm is False:
        s.confirmations["incident"] = False
        del F.of(s).incident
        s.slots.pop("location", None)


def dispatched(s: S) -> bool:
    dispatch = F.of(s).dispatch
    return bool(dispatch and dispatch["dispatched"])


def eta_given(s: S) -> bool:
    return dispatched(s) and s.replies_in_step >= 1
