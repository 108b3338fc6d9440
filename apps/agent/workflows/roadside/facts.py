"""What a roadside call establishes, typed: the vehicle, the incident, the dispatch. Stored in the
state's facts under these names."""

from typing import NotRequired, TypedDict

from apps.agent.state import CallFacts, Fact


class Vehicle(TypedDict):
    description: str
    confirmed: bool


class Incident(TypedDict):
    """capture_incident's record: the caller's words for the place, and where the map put it."""

    location: str
    place: str
    latitude: float
    longitude: float
    issue: str  # a dispatch Specialization
    severity: str  # "emergency", "urgent" or "standard"


class Dispatch(TypedDict):
    """dispatch_technician's result; only `dispatched` when nobody was free."""

    dispatched: bool
    dispatch_id: NotRequired[int | None]
    technician: NotRequired[str]  # the first name, as said to the caller
    eta_minutes: NotRequired[int]
    eta_spoken: NotRequired[str]


class RoadsideFacts(CallFacts):
    __slots__ = ()

    vehicle: Fact[Vehicle | None] = Fact()
    # The caller said the vehicle on file is not the one (then they are asked which it is).
    vehicle_rejected: Fact[bool] = Fact(False)
    incident: Fact[Incident | None] = Fact()
    dispatch: Fact[Dispatch | None] = Fact()
    # What the offline engine last asked for ("location", "issue" or "safety"): the answer to
    # "where are you?" is the place, and a yes to "are you safe?" is the severity.
    asked: Fact[str | None] = Fact()
