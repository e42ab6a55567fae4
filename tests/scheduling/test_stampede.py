"""No double-booking under real concurrency, and under random sequences of book / cancel / reschedule.

Engineering guide section 2: many threads, each with its own database connection, book the same chair at the
same time; exactly one wins, the others hear which resource is taken, and a self-join finds no overlapping
active allocations.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from scheduling import selectors, services
from scheduling.models import Allocation, Appointment
from tests.factories import A_WEDNESDAY, NOW, NY, Clinic, build_clinic, local, make_patient, treatment_type
from tests.support import owner_settings

THREADS = 50


@pytest.mark.django_db(transaction=True)
def test_fifty_threads_booking_the_same_chair_and_time_exactly_one_wins(front_desk):
    clinic = Clinic(*build_clinic(chairs=1, clinicians=1))
    iv = treatment_type("iv-ketamine")
    patients = [make_patient(first=f"Stampede{n}") for n in range(THREADS)]
    chair, clinician = clinic.chairs[0], clinic.clinicians[0]
    start = local(A_WEDNESDAY, 10)
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()
    booked: list[int] = []
    conflicts: list[services.BookingConflict] = []
    errors: list[BaseException] = []

    def attempt(patient) -> None:
        try:
            connection.ensure_connection()  # this thread's own connection, opened before the race starts
            barrier.wait(timeout=60)
            appointment = services.book_appointment(
                patient=patient,
                treatment_type=iv,
                location=clinic.location,
                start=start,
                resource=chair,
                clinician=clinician,
                booked_by=front_desk,
                now=NOW,
            )
            with lock:
                booked.append(appointment.pk)
        except services.BookingConflict as conflict:
            with lock:
                conflicts.append(conflict)
        except BaseException as exc:  # noqa: BLE001 (reported below, with the test's failure)
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(patient,)) for patient in patients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == [], errors[:3]
    assert len(booked) == 1
    assert len(conflicts) == THREADS - 1
    for conflict in conflicts:
        assert conflict.taken_kind in {"resource", "clinician"}
        assert "Chair 1 is already booked" in conflict.message or "Clin Ician" in conflict.message
        assert conflict.status_code == 409
    assert Appointment.objects.count() == 1
    assert Allocation.objects.filter(active=True, resource=chair).count() == 1
    assert selectors.overlapping_active_allocations() == []


# --- A state machine of random changes --------------------------------------------------------------------------

# Starts on the quarter hour from 08:00 to 16:00 on two days, so every session fits inside opening hours
# (08:00-18:00) and every failure is a conflict, never a gate.
STARTS = [
    local(A_WEDNESDAY + timedelta(days=day), 8) + timedelta(minutes=15 * q)
    for day in (0, 1)
    for q in range(33)
]


def _overlaps(a, b) -> bool:
    return a[0] < b[1] and b[0] < a[1]


class BookingMachine(RuleBasedStateMachine):
    """Random book / cancel / reschedule across 3 chairs, 2 clinicians and 4 patients.

    A plain-Python model of who holds what predicts each outcome; the database must agree exactly (no missed
    conflict, no false one), and the self-join must always find no overlapping active allocations.
    """

    clinic: Clinic
    patients: list
    desk = None

    appointments = Bundle("appointments")

    def __init__(self) -> None:
        super().__init__()
        # Each example runs inside a savepoint that is rolled back at teardown: a fresh schedule every time.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.iv = treatment_type("iv-ketamine")
        self.held: dict[int, dict] = {}  # appointment id -> its holds, for active appointments

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _holds(self, start, chair, clinician, patient):
        holds = services.session_holds(self.iv, start)
        return {
            "chair": (chair.pk, holds.start, holds.end),
            "patient": (patient.pk, holds.start, holds.end),
            "clinician": [(clinician.pk, lo, hi) for lo, hi in holds.clinician_spans],
            # An infusion also holds the patient's local day: one a day (DayHold).
            "day": (patient.pk, holds.start.astimezone(NY).date()),
        }

    def _predict_conflict(self, new: dict, ignore: int | None = None) -> bool:
        for appointment_id, old in self.held.items():
            if appointment_id == ignore:
                continue
            for kind in ("chair", "patient"):
                if old[kind][0] == new[kind][0] and _overlaps(old[kind][1:], new[kind][1:]):
                    return True
            if old["day"] == new["day"]:
                return True
            for a in old["clinician"]:
                for b in new["clinician"]:
                    if a[0] == b[0] and _overlaps(a[1:], b[1:]):
                        return True
        return False

    @rule(
        target=appointments,
        start=st.sampled_from(STARTS),
        chair=st.integers(0, 2),
        clinician=st.integers(0, 1),
        patient=st.integers(0, 3),
    )
    def book(self, start, chair, clinician, patient):
        chair_row, clinician_row = self.clinic.chairs[chair], self.clinic.clinicians[clinician]
        patient_row = self.patients[patient]
        new = self._holds(start, chair_row, clinician_row, patient_row)
        expect_conflict = self._predict_conflict(new)
        try:
            appointment = services.book_appointment(
                patient=patient_row,
                treatment_type=self.iv,
                location=self.clinic.location,
                start=start,
                resource=chair_row,
                clinician=clinician_row,
                booked_by=self.desk,
                now=NOW,
                with_alternatives=False,
            )
        except services.BookingConflict:
            assert expect_conflict, "the database refused a booking the model says is free"
            return None
        assert not expect_conflict, "the database accepted an overlapping booking"
        self.held[appointment.pk] = new
        return appointment.pk

    @rule(appointment_id=consumes(appointments))
    def cancel(self, appointment_id):
        if appointment_id is None:
            return
        appointment = Appointment.objects.get(pk=appointment_id)
        services.cancel_appointment(
            appointment=appointment, reason="Random cancel", cancelled_by=self.desk, now=NOW
        )
        self.held.pop(appointment_id, None)

    @rule(
        appointment_id=appointments,
        start=st.sampled_from(STARTS),
        chair=st.integers(0, 2),
        clinician=st.integers(0, 1),
    )
    def reschedule(self, appointment_id, start, chair, clinician):
        if appointment_id is None or appointment_id not in self.held:
            return
        appointment = Appointment.objects.get(pk=appointment_id)
        chair_row, clinician_row = self.clinic.chairs[chair], self.clinic.clinicians[clinician]
        new = self._holds(start, chair_row, clinician_row, appointment.patient)
        expect_conflict = self._predict_conflict(new, ignore=appointment_id)
        try:
            services.reschedule_appointment(
                appointment=appointment,
                start=start,
                resource=chair_row,
                clinician=clinician_row,
                rescheduled_by=self.desk,
                now=NOW,
            )
        except services.BookingConflict:
            assert expect_conflict, "the database refused a move the model says is free"
            return
        assert not expect_conflict, "the database accepted an overlapping move"
        self.held[appointment_id] = new

    @invariant()
    def no_overlapping_active_allocations(self):
        assert selectors.overlapping_active_allocations() == []

    @invariant()
    def database_holds_what_the_model_holds(self):
        active = set(
            Allocation.objects.filter(active=True).values_list("appointment_id", flat=True).distinct()
        )
        assert active == set(self.held)


def test_random_book_cancel_reschedule_never_double_books(db, front_desk):
    clinic = Clinic(*build_clinic(chairs=3, clinicians=2))
    BookingMachine.clinic = clinic
    BookingMachine.patients = [make_patient(first=f"Random{n}") for n in range(4)]
    BookingMachine.desk = front_desk
    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_a_real_deadlock_from_postgresql_is_treated_as_a_booking_clash(transactional_db):
    """Two bookings whose inserts wait on each other end in a PostgreSQL deadlock (SQLSTATE 40P01) for one of them;
    the booking service must answer that person as a conflict, not a 500. Here a real deadlock is made with two
    connections locking two rows in opposite order, and the service's classifier must recognise it."""
    import psycopg2
    from django.db import OperationalError

    from scheduling.services.holds import _is_exclusion_violation

    # As the owner: the app's role may create no table, and this one only serves to make a real deadlock.
    db = owner_settings()
    params = {
        "dbname": db["NAME"],
        "user": db["USER"] or "postgres",
        "host": db["HOST"] or None,
        "port": db["PORT"] or None,
        "password": db["PASSWORD"] or None,
    }
    setup = psycopg2.connect(**params)
    setup.autocommit = True
    with setup.cursor() as cur:
        cur.execute(
            "CREATE TABLE deadlock_probe (id int PRIMARY KEY, v int); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)"
        )
    first, second = psycopg2.connect(**params), psycopg2.connect(**params)
    errors: list[Exception] = []
    try:
        a, b = first.cursor(), second.cursor()
        a.execute("UPDATE deadlock_probe SET v = 1 WHERE id = 1")
        b.execute("UPDATE deadlock_probe SET v = 1 WHERE id = 2")

        def cross(conn, cursor, row):
            # The side PostgreSQL aborts rolls back at once, releasing its lock so the other side can finish.
            try:
                cursor.execute("UPDATE deadlock_probe SET v = 2 WHERE id = %s", [row])
            except psycopg2.Error as exc:
                errors.append(exc)
                conn.rollback()

        waiter = threading.Thread(target=cross, args=(first, a, 2))
        waiter.start()
        cross(second, b, 1)
        waiter.join(30)
        assert not waiter.is_alive()
    finally:
        for conn in (first, second):
            conn.rollback()
            conn.close()
        with setup.cursor() as cur:
            cur.execute("DROP TABLE deadlock_probe")
        setup.close()
    (deadlock,) = errors
    assert deadlock.pgcode == "40P01"
    wrapped = OperationalError(str(deadlock))
    wrapped.__cause__ = deadlock
    assert _is_exclusion_violation(wrapped)
