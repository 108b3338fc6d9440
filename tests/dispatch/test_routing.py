"""The routing score, the ETA and the dispatch service.

Technicians stand due north of the breakdown on its meridian (longitude -122.27), so each distance is
the arc 6371 km * Δlatitude in radians: 0.045° = 5.003772 km, 0.09° = 10.007543 km, 0.18° = 20.015087 km,
0.7° = 77.836449 km, 2° = 222.389853 km. Expected scores below are worked from those by hand:
score = 0.6 * (1 - d/150) + 0.3 * specialization + 0.1 * availability, * 1.2 for a specialist on an emergency.
"""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, transaction

from apps.core.errors import InvalidReference
from apps.core.models import AuditEvent
from apps.dispatch.models import Dispatch, Technician
from apps.dispatch.places import Place
from apps.dispatch.services import LocationUnknown, _eta_minutes, dispatch_create, dispatch_rank
from tests.factories import CallFactory, CustomerFactory, DispatchFactory, TechnicianFactory

BREAKDOWN = Place("Test point, CA", 37.8, -122.27)
LNG = Decimal("-122.270000")


def north(dlat: str, **fields) -> Technician:
    """A technician `dlat` degrees due north of the breakdown."""
    return TechnicianFactory(latitude=Decimal("37.8") + Decimal(dlat), longitude=LNG, **fields)


def rank(issue: str, severity: str, technicians=None):
    return dispatch_rank(
        latitude=BREAKDOWN.latitude,
        longitude=BREAKDOWN.longitude,
        issue=issue,
        severity=severity,
        technicians=technicians,
    )


@pytest.fixture
def crew(db):
    """A far busy battery specialist, a near available generalist, a tow truck between, one off duty."""
    return {
        "specialist": north("0.7", name="Far specialist", specializations=["battery"], availability="busy"),
        "generalist": north("0.045", name="Near generalist", specializations=["tire"]),
        "tow": north("0.09", name="Tow truck", specializations=["towing"]),
        "off_duty": north("0", name="Off duty", specializations=["battery", "towing"], availability="off_duty"),
    }


# --- the score --------------------------------------------------------------------------------------


def test_rank_components_for_an_emergency_specialist(crew):
    by_name = {c.technician.name: c for c in rank("battery", "emergency")}
    specialist = by_name["Far specialist"]
    assert specialist.distance_km == pytest.approx(77.836449, abs=1e-6)
    assert specialist.distance_score == pytest.approx(0.481090, abs=1e-6)  # 1 - 77.836449/150
    assert specialist.specialization_score == 1.0
    assert specialist.availability_score == 0.3
    assert specialist.specialist_bonus is True
    # (0.6 * 0.481090 + 0.3 * 1 + 0.1 * 0.3) * 1.2 = (0.288654 + 0.3 + 0.03) * 1.2
    assert specialist.score == pytest.approx(0.742385, abs=1e-6)
    assert specialist.eta_minutes == 134  # ceil(10 + 77.836449 / 50 * 60 = 103.40) + 30 busy

    generalist = by_name["Near generalist"]
    assert generalist.distance_km == pytest.approx(5.003772, abs=1e-6)
    assert generalist.specialization_score == 0.0
    assert generalist.availability_score == 1.0
    assert generalist.specialist_bonus is False
    assert generalist.score == pytest.approx(0.679985, abs=1e-6)  # 0.6 * 0.966642 + 0.1
    assert generalist.eta_minutes == 17  # ceil(10 + 6.0045)

    tow = by_name["Tow truck"]
    assert tow.specialization_score == 0.0  # a tow does not charge a battery
    assert tow.score == pytest.approx(0.659970, abs=1e-6)  # 0.6 * 0.933283 + 0.1
    assert tow.eta_minutes == 23  # ceil(10 + 12.009)


def test_emergency_bonus_puts_the_far_specialist_first(crew):
    ranked = rank("battery", "emergency")
    assert [c.technician.name for c in ranked] == ["Far specialist", "Near generalist", "Tow truck"]


def test_without_an_emergency_the_near_generalist_wins(crew):
    ranked = rank("battery", "urgent")
    assert [c.technician.name for c in ranked] == ["Near generalist", "Tow truck", "Far specialist"]
    specialist = ranked[-1]
    assert specialist.specialist_bonus is False
    assert specialist.score == pytest.approx(0.618654, abs=1e-6)  # 0.288654 + 0.3 + 0.03, no * 1.2


def test_off_duty_technicians_are_never_candidates(crew):
    names = {c.technician.name for c in rank("battery", "emergency")}
    assert "Off duty" not in names
    # Also when the caller passes the technicians in.
    passed = rank("battery", "emergency", technicians=list(crew.values()))
    assert [c.technician.name for c in passed] == ["Far specialist", "Near generalist", "Tow truck"]


def test_a_tow_truck_half_solves_engine_trouble_and_gets_no_bonus(crew):
    ranked = rank("engine", "emergency")
    assert [c.technician.name for c in ranked] == ["Tow truck", "Near generalist", "Far specialist"]
    tow = ranked[0]
    assert tow.specialization_score == 0.5
    assert tow.specialist_bonus is False  # partly qualified is not a specialist
    assert tow.score == pytest.approx(0.809970, abs=1e-6)  # 0.6 * 0.933283 + 0.3 * 0.5 + 0.1
    assert ranked[2].score == pytest.approx(0.318654, abs=1e-6)  # 0.288654 + 0 + 0.03


def test_a_near_busy_specialist_beats_a_nearer_free_generalist(db):
    """The spec's example: specialist 20 km away on a job, generalist 5 km away and free."""
    specialist = north("0.18", specializations=["battery"], availability="busy")
    generalist = north("0.045", specializations=["fuel"])
    for severity, expected in (("urgent", 0.849940), ("emergency", 1.019928)):
        ranked = rank("battery", severity)
        assert [c.technician for c in ranked] == [specialist, generalist]
        # 0.6 * (1 - 20.015087/150) + 0.3 + 0.03 = 0.849940; * 1.2 in an emergency
        assert ranked[0].score == pytest.approx(expected, abs=1e-6)
        assert ranked[0].eta_minutes == 65  # ceil(10 + 24.018) + 30
        assert ranked[1].score == pytest.approx(0.679985, abs=1e-6)


def test_beyond_max_distance_technicians_still_rank_with_zero_distance_score(db):
    far = north("2", specializations=["lockout"])
    (candidate,) = rank("lockout", "standard")
    assert candidate.technician == far
    assert candidate.distance_km == pytest.approx(222.389853, abs=1e-6)
    assert candidate.distance_score == 0.0
    assert candidate.score == pytest.approx(0.4, abs=1e-9)  # 0 + 0.3 * 1 + 0.1 * 1
    assert candidate.eta_minutes == 277  # ceil(10 + 266.868)


def test_equal_scores_go_to_the_lower_id(db):
    first = north("0.09", specializations=["fuel"])
    second = north("0.09", specializations=["fuel"])
    assert [c.technician for c in rank("fuel", "standard")] == [first, second]


def test_eta_whole_minutes_are_not_rounded_up():
    assert _eta_minutes(25.0, busy=False) == 40  # 10 + 30 exactly
    assert _eta_minutes(25.0, busy=True) == 70
    assert _eta_minutes(25.01, busy=False) == 41
    assert _eta_minutes(0.0, busy=False) == 10


def test_no_technicians_no_candidates(db):
    north("0", availability="off_duty")
    assert rank("battery", "emergency") == []


# --- dispatch_create --------------------------------------------------------------------------------


def create(call, place=BREAKDOWN, issue="battery", severity="emergency", **kwargs):
    return dispatch_create(
        call=call,
        customer=kwargs.pop("customer", call.customer),
        location_text=kwargs.pop("location_text", "I-880 near the Coliseum exit"),
        place=place,
        issue=issue,
        severity=severity,
        actor="agent",
    )


def test_dispatch_create_sends_the_top_candidate_and_records_why(crew):
    call = CallFactory()
    dispatch = create(call)

    dispatch.refresh_from_db()
    assert dispatch.call == call
    assert dispatch.customer == call.customer
    assert dispatch.technician == crew["specialist"]
    assert dispatch.status == "dispatched"
    assert dispatch.place_name == "Test point, CA"
    assert dispatch.latitude == Decimal("37.800000")
    assert dispatch.longitude == Decimal("-122.270000")
    assert dispatch.issue == "battery"
    assert dispatch.severity == "emergency"
    assert dispatch.eta_minutes == 134
    assert dispatch.distance_km == Decimal("77.84")
    assert dispatch.score == Decimal("0.7424")
    assert dispatch.breakdown["considered"] == 3
    assert dispatch.breakdown["reranks"] == 0
    assert dispatch.breakdown["weights"] == {
        "distance": 0.6,
        "specialization": 0.3,
        "availability": 0.1,
        "specialist_emergency_multiplier": 1.2,
        "max_distance_km": 150.0,
    }
    assert dispatch.breakdown["candidates"] == [
        {
            "technician_id": crew["specialist"].pk,
            "name": "Far specialist",
            "availability": "busy",
            "specializations": ["battery"],
            "distance_km": 77.84,
            "distance_score": 0.4811,
            "specialization_score": 1.0,
            "availability_score": 0.3,
            "specialist_bonus": True,
            "score": 0.7424,
            "eta_minutes": 134,
        },
        {
            "technician_id": crew["generalist"].pk,
            "name": "Near generalist",
            "availability": "available",
            "specializations": ["tire"],
            "distance_km": 5.0,
            "distance_score": 0.9666,
            "specialization_score": 0.0,
            "availability_score": 1.0,
            "specialist_bonus": False,
            "score": 0.68,
            "eta_minutes": 17,
        },
        {
            "technician_id": crew["tow"].pk,
            "name": "Tow truck",
            "availability": "available",
            "specializations": ["towing"],
            "distance_km": 10.01,
            "distance_score": 0.9333,
            "specialization_score": 0.0,
            "availability_score": 1.0,
            "specialist_bonus": False,
            "score": 0.66,
            "eta_minutes": 23,
        },
    ]
    (event,) = AuditEvent.objects.filter(action="dispatch.create")
    assert event.actor_label == "agent"
    assert event.object_type == "dispatch.dispatch"
    assert event.object_id == str(dispatch.pk)
    assert event.details == {
        "call": call.pk,
        "status": "dispatched",
        "technician": crew["specialist"].pk,
        "place": "Test point, CA",
        "issue": "battery",
        "severity": "emergency",
        "eta_minutes": 134,
        "distance_km": "77.84",
        "score": "0.7424",
        "considered": 3,
    }


def test_dispatch_create_marks_an_available_technician_busy(crew):
    dispatch = create(CallFactory(), severity="urgent")
    assert dispatch.technician == crew["generalist"]
    crew["generalist"].refresh_from_db()
    assert crew["generalist"].availability == "busy"
    assert dispatch.eta_minutes == 17  # quoted while they were free


def test_breakdown_keeps_the_top_five(db):
    for n in range(7):
        north(f"0.0{n + 1}", specializations=["fuel"])
    dispatch = create(CallFactory(), issue="fuel", severity="standard")
    assert dispatch.breakdown["considered"] == 7
    assert len(dispatch.breakdown["candidates"]) == 5
    scores = [c["score"] for c in dispatch.breakdown["candidates"]]
    assert scores == sorted(scores, reverse=True)


def test_dispatch_create_is_idempotent_per_call(crew):
    call = CallFactory()
    first = create(call, severity="urgent")
    second = create(call, severity="urgent")

    assert second.pk == first.pk
    assert second.technician == crew["generalist"]
    assert Dispatch.objects.count() == 1
    assert AuditEvent.objects.filter(action="dispatch.create").count() == 1
    # The second call did not take the next technician too.
    crew["tow"].refresh_from_db()
    assert crew["tow"].availability == "available"


def test_an_existing_dispatch_is_returned_unchanged(crew):
    existing = DispatchFactory()
    again = create(existing.call, place=None, issue="tire", severity="standard")
    assert again.pk == existing.pk
    assert again.issue == "battery"
    assert Dispatch.objects.count() == 1
    assert not AuditEvent.objects.filter(action="dispatch.create").exists()
    assert Technician.objects.filter(availability="available").count() == 2  # generalist and tow untouched


def test_no_eligible_technician_records_no_technician(db):
    north("0", specializations=["battery"], availability="off_duty")
    dispatch = create(CallFactory())

    dispatch.refresh_from_db()
    assert dispatch.status == "no_technician"
    assert dispatch.technician is None
    assert dispatch.eta_minutes is None
    assert dispatch.distance_km is None
    assert dispatch.score is None
    assert dispatch.place_name == "Test point, CA"
    assert dispatch.breakdown["considered"] == 0
    assert dispatch.breakdown["candidates"] == []
    event = AuditEvent.objects.get(action="dispatch.create")
    assert event.details["status"] == "no_technician"
    assert event.details["technician"] is None


def test_unknown_location_writes_nothing(crew):
    call = CallFactory()
    with pytest.raises(LocationUnknown) as raised:
        create(call, place=None)

    assert isinstance(raised.value, InvalidReference)
    assert raised.value.field == "location"
    assert raised.value.message == "I could not place that location on the map."
    assert raised.value.status_code == 422
    assert not Dispatch.objects.exists()
    assert not AuditEvent.objects.exists()
    assert Technician.objects.filter(availability="available").count() == 2


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("issue", {"issue": "flat tire"}), ("severity", {"severity": "critical"})],
)
def test_unknown_issue_or_severity_writes_nothing(crew, field, kwargs):
    with pytest.raises(InvalidReference) as raised:
        create(CallFactory(), **kwargs)
    assert raised.value.field == field
    assert not Dispatch.objects.exists()
    assert Technician.objects.filter(availability="available").count() == 2


def test_a_customer_not_on_the_call_is_refused(crew):
    call = CallFactory()
    with pytest.raises(InvalidReference) as raised:
        create(call, customer=CustomerFactory())
    assert raised.value.field == "customer"
    assert not Dispatch.objects.exists()


def test_a_call_from_an_unknown_number_can_be_dispatched_for_the_identified_customer(crew):
    customer = CustomerFactory()
    call = CallFactory(customer=None, from_number="+14155550199")
    dispatch = create(call, customer=customer)
    assert dispatch.customer == customer


def test_a_long_location_is_cut_to_fit(crew):
    dispatch = create(CallFactory(), location_text="x" * 300)
    dispatch.refresh_from_db()
    assert dispatch.location_text == "x" * 255


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------


def _wait_for_lock_waiters(count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction the activity view is a snapshot taken once; take a fresh one.
            cursor.execute("select pg_stat_clear_snapshot()")
            cursor.execute(
                "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
            time.sleep(0.02)
    raise AssertionError(f"{count} dispatches never queued on the technician's row lock")


def _race(calls, hold: Technician) -> list:
    """Dispatch every call in its own thread, after all of them have ranked and queue on `hold`'s row.

    The test holds that row's lock until then, so each thread's ranking sees `hold` as it was before
    any of them took it: the stale-ranking race happens every time, not one run in a thousand.
    """
    results: list = [None] * len(calls)

    def run(index: int, call) -> None:
        try:
            results[index] = create(call)
        except Exception as error:  # handed to the test thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    with transaction.atomic():
        Technician.objects.select_for_update().get(pk=hold.pk)
        for thread in threads:
            thread.start()
        _wait_for_lock_waiters(len(threads))
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    for result in results:
        if isinstance(result, Exception):
            raise result
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatches_at_once_never_share_the_free_technician():
    nearest = north("0", name="Nearest", specializations=["battery"])
    # Free and 10 km away, Backup outranks Nearest once Nearest is busy: 0.96 against 0.93 (* 1.2 both).
    backup = north("0.09", name="Backup", specializations=["battery"])
    calls = [CallFactory(), CallFactory()]

    results = _race(calls, hold=nearest)

    assert {d.call_id for d in results} == {c.pk for c in calls}
    assert sorted(d.technician.name for d in results) == ["Backup", "Nearest"]
    loser = next(d for d in results if d.technician == backup)
    assert loser.breakdown["reranks"] == 1
    assert loser.breakdown["candidates"][0]["technician_id"] == backup.pk
    assert loser.eta_minutes == 23
    assert set(Technician.objects.values_list("availability", flat=True)) == {"busy"}
    assert Dispatch.objects.count() == 2
    assert AuditEvent.objects.filter(action="dispatch.create").count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_only_technician_taken_meanwhile_is_still_sent_when_busy():
    """With nobody else on duty, the busy technician is still the best (and only) candidate."""
    only = north("0", name="Only", specializations=["battery"])
    calls = [CallFactory(), CallFactory()]

    results = _race(calls, hold=only)

    assert [d.technician for d in results] == [only, only]
    assert sorted(d.eta_minutes for d in results) == [10, 40]  # the second waits for the first job
    assert sorted(d.breakdown["reranks"] for d in results) == [0, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_call_dispatched_twice_at_once_sends_one_technician():
    nearest = north("0", name="Nearest", specializations=["battery"])
    backup = north("0.09", name="Backup", specializations=["battery"])
    call = CallFactory()

    first, second = _race([call, call], hold=nearest)

    assert first.pk == second.pk
    assert first.technician == nearest
    assert Dispatch.objects.count() == 1
    assert AuditEvent.objects.filter(action="dispatch.create").count() == 1
    backup.refresh_from_db()
    assert backup.availability == "available"  # the loser's claim was rolled back
