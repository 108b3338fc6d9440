"""Roadside assistance.

Identify the caller by caller ID, confirm the vehicle on file (never ask again for what is known),
collect the location, the problem and how urgent it is, read the location and the problem back and
get a yes (a no asks again where the caller is), dispatch through the routing score, give the ETA,
then wrap up.
"""

from apps.agent.workflows import shared
from apps.agent.workflows.base import Required, Step, Transition, Workflow
from apps.agent.workflows.roadside import acts, rules, wording
from apps.agent.workflows.roadside.listeners import (
    dispatched,
    eta_given,
    incident_answer,
    incident_confirmed,
    incident_known,
    incident_withdrawn,
    vehicle_answer,
    vehicle_known,
)
from apps.agent.workflows.shared import HANDOFF_TOOL, caller_done, closing_answer, identified

ROADSIDE = Workflow(
    name="roadside",
    description="Roadside assistance: confirm the vehicle, locate the caller, dispatch, give the ETA.",
    start={"inbound": "identify", "outbound": "identify"},
    greetings={
        # At most 25 words on the phone with a three-word vehicle ("Jeep Grand Cherokee").
        "inbound": "You've reached {company} roadside assistance. {disclosure} {vehicle_question}",
    },
    rules=rules.RULES,
    steps=(
        shared.identify(
            goal="Know which member is calling.",
            instructions=(
                "Caller ID did not match a member. Ask for their full name and membership or account number, "
                "then use find_account."
            ),
            then=Transition("confirm_vehicle", identified, "the member was found"),
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
            say=wording.say_vehicle,
            act=acts.vehicle_heard,
        ),
        Step(
            name="collect_incident",
            goal="Where they are, what happened, and how urgent it is.",
            instructions=(
                "Ask where they are (road, nearest exit or cross street, city), what happened, and whether they "
                "are somewhere safe. Ask only for what you do not know yet. Then use capture_incident."
            ),
            tools=("capture_incident", HANDOFF_TOOL),
            transitions=(Transition("confirm_incident", incident_known, "location, problem and severity known"),),
            say=wording.say_incident,
            act=acts.incident_heard,
        ),
        Step(
            name="confirm_incident",
            goal="Read the location and the problem back, get a clear yes, then send the best technician.",
            instructions=(
                "Read back where the caller is and what happened, exactly as recorded, and ask them to confirm. "
                "Only after a clear yes is a technician sent (dispatch_technician). If they correct the place or "
                "the problem, record it again with capture_incident and read it back again."
            ),
            tools=("capture_incident", "dispatch_technician", HANDOFF_TOOL),
            confirmations=("incident",),
            listen=incident_answer,
            required=(Required("dispatch_technician", incident_confirmed, "the caller confirmed where and what"),),
            transitions=(
                Transition("inform_eta", dispatched, "a technician is on the way"),
                Transition("collect_incident", incident_withdrawn, "the caller did not confirm the location"),
            ),
            say=wording.say_read_back,
            act=acts.corrected_incident_heard,
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
            say=wording.say_eta,
        ),
        shared.wrap_up(
            instructions=(
                "Answer anything else they need. Only when the caller says goodbye, thank them and say goodbye."
            ),
            say=wording.say_anything_else,
        ),
        shared.closed(say=wording.say_goodbye),
    ),
)
