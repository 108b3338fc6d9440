"""Roadside dispatch: rank the technicians for a breakdown and send the best one."""

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from apps.calls.models import Call
from apps.core.errors import Conflict, InvalidReference
from apps.core.services import Actor, audit_record
from apps.customers.models import Customer
from apps.dispatch.models import Availability, Dispatch, DispatchStatus, Severity, Specialization, Technician
from apps.dispatch.places import Place, distance_km

# The routing score (product spec): score = 0.6·distance + 0.3·specialization + 0.1·availability,
# each part in 0..1, times SPECIALIST_EMERGENCY_MULTIPLIER for a specialist on an emergency.
DISTANCE_WEIGHT = 0.6  # getting there soon matters most to someone stuck at the roadside
SPECIALIZATION_WEIGHT = 0.3  # the right skills avoid a second truck
AVAILABILITY_WEIGHT = 0.1  # a busy technician can still come, after the current job
SPECIALIST_EMERGENCY_MULTIPLIER = 1.2  # in an emergency, a specialist is worth a longer drive
MAX_DISTANCE_KM = 150.0  # distance scores 0 from here on; farther technicians are still ranked, last
SERVICE_RADIUS_KM = 300.0  # beyond this nobody is sent: a person arranges help instead
SPECIALIST_SCORE = 1.0  # the issue is one of the technician's specializations
TOW_SCORE = 0.5  # no specialist, but a tow solves it (TOW_SOLVES)
TOW_SOLVES = frozenset({Specialization.ACCIDENT, Specialization.ENGINE})  # issues a tow truck can take away
AVAILABLE_SCORE = 1.0  # free now
BUSY_SCORE = 0.3  # on a job; comes after it
ETA_BASE_MINUTES = 10  # getting going: acknowledging, reaching the vehicle
ETA_SPEED_KMH = 50.0  # average road speed, urban and highway mixed
ETA_BUSY_EXTRA_MINUTES = 30  # finishing the current job first
BREAKDOWN_CANDIDATES = 5  # how many of the ranked candidates a dispatch keeps, for supervisors
MAX_RERANKS = 5  # how often to re-rank when other dispatches keep taking the top technician


class LocationUnknown(InvalidReference):
    def __init__(self, message: str = "I could not place that location on the map.") -> None:
        super().__init__("location", message)


@dataclass(frozen=True)
class Candidate:
    technician: Technician
    distance_km: float
    distance_score: float
    specialization_score: float
    availability_score: float
    specialist_bonus: bool
    score: float
    eta_minutes: int


def _specialization_score(issue: str, specializations: list[str]) -> float:
    if issue in specializations:
        return SPECIALIST_SCORE
    if issue in TOW_SOLVES and Specialization.TOWING in specializations:
        return TOW_SCORE
    return 0.0


def _eta_minutes(distance: float, busy: bool) -> int:
    driving = distance / ETA_SPEED_KMH * 60
    # Rounded before the ceiling so float noise (24.000000000000004) does not add a minute.
    return math.ceil(round(ETA_BASE_MINUTES + driving, 6)) + (ETA_BUSY_EXTRA_MINUTES if busy else 0)


def _candidate(technician: Technician, *, latitude: float, longitude: float, issue: str, severity: str) -> Candidate:
    distance = distance_km(latitude, longitude, float(technician.latitude), float(technician.longitude))
    busy = technician.availability == Availability.BUSY
    distance_score = max(0.0, 1 - distance / MAX_DISTANCE_KM)
    specialization_score = _specialization_score(issue, technician.specializations)
    availability_score = BUSY_SCORE if busy else AVAILABLE_SCORE
    specialist_bonus = issue in technician.specializations and severity == Severity.EMERGENCY
    score = (
        DISTANCE_WEIGHT * distance_score
        + SPECIALIZATION_WEIGHT * specialization_score
        + AVAILABILITY_WEIGHT * availability_score
    )
    if specialist_bonus:
        score *= SPECIALIST_EMERGENCY_MULTIPLIER
    return Candidate(
        technician=technician,
        distance_km=distance,
        distance_score=distance_score,
        specialization_score=specialization_score,
        availability_score=availability_score,
        specialist_bonus=specialist_bonus,
        score=score,
        eta_minutes=_eta_minutes(distance, busy),
    )


def dispatch_rank(
    *,
    latitude: float,
    longitude: float,
    issue: str,
    severity: str,
    technicians: Iterable[Technician] | None = None,
) -> list[Candidate]:
    """Every technician on duty within the service radius, best first: score, then the nearer, then the lower id."""
    if technicians is None:
        technicians = Technician.objects.exclude(availability=Availability.OFF_DUTY)
    candidates = [
        candidate
        for technician in technicians
        if technician.availability != Availability.OFF_DUTY
        and (
            candidate := _candidate(
                technician, latitude=float(latitude), longitude=float(longitude), issue=issue, severity=severity
            )
        ).distance_km
        <= SERVICE_RADIUS_KM
    ]
    # Scores are compared to 9 decimals, so float noise never puts a farther technician first.
    candidates.sort(key=lambda c: (-round(c.score, 9), c.distance_km, c.technician.pk))
    return candidates


def _candidate_json(candidate: Candidate) -> dict[str, Any]:
    technician = candidate.technician
    return {
        "technician_id": technician.pk,
        "name": technician.name,
        "availability": technician.availability,
        "specializations": list(technician.specializations),
        "distance_km": round(candidate.distance_km, 2),
        "distance_score": round(candidate.distance_score, 4),
        "specialization_score": round(candidate.specialization_score, 4),
        "availability_score": round(candidate.availability_score, 4),
        "specialist_bonus": candidate.specialist_bonus,
        "score": round(candidate.score, 4),
        "eta_minutes": candidate.eta_minutes,
    }


def dispatch_breakdown(ranked: list[Candidate], *, reranks: int = 0) -> dict[str, Any]:
    """Why a technician was chosen: the weights and the top candidates with their scores."""
    return {
        "considered": len(ranked),
        "reranks": reranks,
        "weights": {
            "distance": DISTANCE_WEIGHT,
            "specialization": SPECIALIZATION_WEIGHT,
            "availability": AVAILABILITY_WEIGHT,
            "specialist_emergency_multiplier": SPECIALIST_EMERGENCY_MULTIPLIER,
            "max_distance_km": MAX_DISTANCE_KM,
        },
        "candidates": [_candidate_json(candidate) for candidate in ranked[:BREAKDOWN_CANDIDATES]],
    }


def _ranking_inputs(technician: Technician) -> tuple[Any, ...]:
    return (technician.availability, technician.latitude, technician.longitude, technician.specializations)


def _claim_best(*, place: Place, issue: str, severity: str) -> tuple[Candidate | None, list[Candidate], int]:
    """The top candidate with its row locked as it was ranked; the ranking; how many re-ranks it took.

    Ranking reads without locks; then the top technician's row is locked. If another dispatch changed it
    in between (took them, most likely), the ranking is stale: rank again with what is committed now.
    """
    for attempt in range(MAX_RERANKS):
        ranked = dispatch_rank(latitude=place.latitude, longitude=place.longitude, issue=issue, severity=severity)
        if not ranked:
            return None, ranked, attempt
        top = ranked[0]
        locked = Technician.objects.select_for_update().filter(pk=top.technician.pk).first()
        if locked is not None and _ranking_inputs(locked) == _ranking_inputs(top.technician):
            return top, ranked, attempt
    raise Conflict("Technicians are being assigned too fast to pick one; please try again.")


def dispatch_create(
    *,
    call: Call,
    customer: Customer,
    location_text: str,
    place: Place | None,
    issue: str,
    severity: str,
    actor: Actor,
) -> Dispatch:
    """Send the best technician to a breakdown, once per call; a second call returns the first dispatch."""
    existing = Dispatch.objects.filter(call=call).first()
    if existing is not None:
        return existing
    if call.customer_id is not None and call.customer_id != customer.pk:
        raise InvalidReference("customer", "That customer is not the one on this call.")
    if issue not in Specialization.values:
        raise InvalidReference("issue", f"Unknown issue {issue!r}. Known: {', '.join(Specialization.values)}.")
    if severity not in Severity.values:
        raise InvalidReference("severity", f"Unknown severity {severity!r}. Known: {', '.join(Severity.values)}.")
    if place is None:
        raise LocationUnknown()
    try:
        with transaction.atomic():
            return _dispatch_new(
                call=call,
                customer=customer,
                location_text=location_text,
                place=place,
                issue=issue,
                severity=severity,
                actor=actor,
            )
    except IntegrityError:
        # Another request dispatched for this call first; its dispatch is the answer.
        existing = Dispatch.objects.filter(call=call).first()
        if existing is None:
            raise
        return existing


def _dispatch_new(
    *, call: Call, customer: Customer, location_text: str, place: Place, issue: str, severity: str, actor: Actor
) -> Dispatch:
    chosen, ranked, reranks = _claim_best(place=place, issue=issue, severity=severity)
    technician = chosen.technician if chosen is not None else None
    dispatch = Dispatch.objects.create(
        call=call,
        customer=customer,
        technician=technician,
        location_text=location_text[:255],
        place_name=place.name[:100],
        latitude=Decimal(str(place.latitude)).quantize(Decimal("0.000001")),
        longitude=Decimal(str(place.longitude)).quantize(Decimal("0.000001")),
        issue=issue,
        severity=severity,
        status=DispatchStatus.DISPATCHED if chosen is not None else DispatchStatus.NO_TECHNICIAN,
        eta_minutes=chosen.eta_minutes if chosen is not None else None,
        distance_km=Decimal(str(chosen.distance_km)).quantize(Decimal("0.01")) if chosen is not None else None,
        score=Decimal(str(chosen.score)).quantize(Decimal("0.0001")) if chosen is not None else None,
        breakdown=dispatch_breakdown(ranked, reranks=reranks),
    )
    if technician is not None and technician.availability != Availability.BUSY:
        technician.availability = Availability.BUSY
        technician.save(update_fields=["availability", "updated_at"])
    audit_record(
        actor=actor,
        action="dispatch.create",
        obj=dispatch,
        details={
            "call": call.pk,
            "status": dispatch.status,
            "technician": technician.pk if technician is not None else None,
            "place": place.name,
            "issue": issue,
            "severity": severity,
            "eta_minutes": dispatch.eta_minutes,
            "distance_km": dispatch.distance_km,
            "score": dispatch.score,
            "considered": len(ranked),
        },
    )
    return dispatch


CLOSABLE = (DispatchStatus.DISPATCHED,)


@transaction.atomic
def dispatch_close(*, dispatch_id: int, status: str, actor) -> bool:
    """Mark a dispatched job completed or cancelled, and free its technician unless another job holds them.

    Returns False (and changes nothing) when the job was already closed.
    """
    if status not in (DispatchStatus.COMPLETED, DispatchStatus.CANCELLED):
        raise InvalidReference("status", "A dispatch is closed as completed or cancelled.")
    dispatch = Dispatch.objects.select_for_update().filter(pk=dispatch_id, status__in=CLOSABLE).first()
    if dispatch is None:
        return False
    dispatch.status = status
    dispatch.save(update_fields=["status", "updated_at"])
    if dispatch.technician_id:
        technician = Technician.objects.select_for_update().get(pk=dispatch.technician_id)
        still_busy = Dispatch.objects.filter(technician=technician, status=DispatchStatus.DISPATCHED).exists()
        if technician.availability == Availability.BUSY and not still_busy:
            technician.availability = Availability.AVAILABLE
            technician.save(update_fields=["availability", "updated_at"])
    audit_record(actor=actor, action=f"dispatch.{status}", obj=dispatch)
    return True


@transaction.atomic
def technician_create(
    *,
    name: str,
    phone: str,
    base_location: str,
    latitude: Decimal,
    longitude: Decimal,
    specializations: list[str],
    actor,
) -> Technician:
    """A technician on the roster, available (supervisors otherwise add them in the admin)."""
    technician = Technician(
        name=name,
        phone=phone,
        base_location=base_location,
        latitude=latitude,
        longitude=longitude,
        specializations=specializations,
    )
    technician.full_clean()
    technician.save()
    audit_record(actor=actor, action="technician.create", obj=technician)
    return technician
