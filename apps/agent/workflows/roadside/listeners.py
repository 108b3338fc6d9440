"""Roadside: the conditions its transitions check, and the listener that reads the caller's yes
or no to the vehicle on file."""

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


def dispatched(s: S) -> bool:
    dispatch = F.of(s).dispatch
    return bool(dispatch and dispatch["dispatched"])


def eta_given(s: S) -> bool:
    return dispatched(s) and s.replies_in_step >= 1
