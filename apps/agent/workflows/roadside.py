"""Roadside assistance.

Identify the caller by caller ID, confirm the vehicle on file (never ask again for what is known),
collect the location, the problem and how urgent it is, dispatch through the routing score, give
the ETA, then wrap up.
"""

from apps.agent.state import ConversationState as S
from apps.agent.workflows.base import Required, Step, Transition, Wording, Workflow
from apps.agent.workflows.collections import (
    HANDOFF_TOOL,
    caller_done,
    closing_answer,
    identified,
    say_goodbye,
    say_identify,
)


def vehicle_known(s: S) -> bool:
    vehicle = s.fact("vehicle") or {}
    return bool(vehicle.get("confirmed"))


def vehicle_answer(s: S, u) -> None:
    on_file = s.fact("vehicle_on_file")
    if on_file and u.affirm is True:
        s.facts["vehicle"] = {"description": on_file, "confirmed": True}
    elif u.affirm is False:
        s.facts["vehicle_rejected"] = True


def incident_known(s: S) -> bool:
    return bool(s.fact("incident"))


def dispatched(s: S) -> bool:
    return bool((s.fact("dispatch") or {}).get("dispatched"))


def eta_given(s: S) -> bool:
    return dispatched(s) and s.replies_in_step >= 1


# --- offline wording: what the agent says in each step when no model answers ----------------


def say_vehicle(w: Wording) -> str:
    vehicle = w.customer.on_file.get("vehicle")
    if vehicle and w.state.fact("vehicle") is None and "vehicle_rejected" not in w.state.facts:
        return f"Is this about your {vehicle}?"
    return "What vehicle are you driving today?"


def say_incident(w: Wording) -> str:
    """Asks for what is still missing, and notes what was asked: the answer to "where are you?" is the place."""
    state = w.state
    if w.last.get("capture_incident", {}).get("status") == "validation_error":
        return "I couldn't find that on the map. Which city are you in, or what's the nearest exit?"
    slots = state.slots
    if not slots.get("location") and not slots.get("issue"):
        return "Thanks. Where are you right now, and what's going on with the car?"
    if not slots.get("location"):
        state.facts["asked"] = "location"
        return "Where are you right now? The road, the nearest exit or cross street, and the city, please."
    if not slots.get("issue"):
        state.facts["asked"] = "issue"
        return "What's happening with the car?"
    state.facts["asked"] = "safety"
    return "Are you in a safe place, away from traffic?"


def say_eta(w: Wording) -> str:
    dispatch = w.state.fact("dispatch") or {}
    incident = w.state.fact("incident") or {}
    text = f"{dispatch['technician']} is on the way and should arrive in {dispatch['eta_spoken']}."
    if incident.get("severity") == "emergency":
        text += " Please stay somewhere safe, away from traffic."
    return text + " Is there anything else I can help with?"


def say_anything_else(w: Wording) -> str:
    if w.state.replies_in_step == 0:
        return "Is there anything else I can help with?"
    technician = (w.state.fact("dispatch") or {}).get("technician")
    on_the_way = f"{technician} is on the way." if technician else "Your technician is on the way."
    return f"{on_the_way} I can also connect you with a specialist. Is there anything else I can help with?"


ROADSIDE = Workflow(
    name="roadside",
    description="Roadside assistance: confirm the vehicle, locate the caller, dispatch, give the ETA.",
    start={"inbound": "identify", "outbound": "identify"},
    greetings={
        "inbound": "Thanks for calling {company} roadside assistance. {disclosure} {vehicle_question}",
    },
    steps=(
        Step(
            name="identify",
            goal="Know which member is calling.",
            instructions=(
                "Caller ID did not match a member. Ask for their full name and membership or account number, "
                "then use find_account."
            ),
            tools=("find_account", HANDOFF_TOOL),
            transitions=(Transition("confirm_vehicle", identified, "the member was found"),),
            say=say_identify,
        ),
        Step(
            name="confirm_vehicle",
            goal="Confirm the vehicle on file.",
            instructions=(
                "Confirm the vehicle on file by make and model (for example: is this about your Honda Civic?). "
                "If it is another vehicle, or none is on file, ask what they are driving and use record_vehicle."
            ),
            tools=("record_vehicle", HANDOFF_TOOL),
            listen=vehicle_answer,
            transitions=(Transition("collect_incident", vehicle_known, "the vehicle is confirmed"),),
            say=say_vehicle,
        ),
        Step(
            name="collect_incident",
            goal="Where they are, what happened, and how urgent it is.",
            instructions=(
                "Ask where they are (road, nearest exit or cross street, city), what happened, and whether they "
                "are somewhere safe. Ask only for what you do not know yet. Then use capture_incident."
            ),
            tools=("capture_incident", HANDOFF_TOOL),
            transitions=(Transition("dispatch", incident_known, "location, problem and severity known"),),
            say=say_incident,
        ),
        Step(
            name="dispatch",
            goal="Send the best technician.",
            instructions="Dispatch a technician with dispatch_technician.",
            tools=("dispatch_technician", HANDOFF_TOOL),
            required=(Required("dispatch_technician", reason="no ETA before the dispatch"),),
            transitions=(Transition("inform_eta", dispatched, "a technician is on the way"),),
        ),
        Step(
            name="inform_eta",
            goal="Give the ETA.",
            instructions=(
                "Tell the caller the technician's first name and the ETA exactly as the dispatch says. For an "
                "emergency, tell them to stay in a safe place away from traffic. Then ask if there is anything else."
            ),
            tools=(HANDOFF_TOOL,),
            listen=closing_answer,
            transitions=(
                Transition("closed", caller_done, "the caller said goodbye"),
                Transition("wrap_up", eta_given, "the ETA was given"),
            ),
            say=say_eta,
        ),
        Step(
            name="wrap_up",
            goal="Close the call properly.",
            instructions=(
                "Answer anything else they need. Only when the caller says goodbye, thank them and say goodbye."
            ),
            tools=(HANDOFF_TOOL,),
            listen=closing_answer,
            transitions=(Transition("closed", caller_done, "the caller said goodbye"),),
            say=say_anything_else,
        ),
        Step(
            name="closed",
            goal="Goodbye.",
            instructions="Thank the caller and say goodbye.",
            terminal=True,
            say=say_goodbye,
        ),
    ),
)
