"""Races the database decides: a second infusion the same day booked at the same moment, reschedules against new
bookings for one chair and time, and a transaction PostgreSQL aborts (at a statement or at COMMIT) retried and then
answered as a conflict. Real threads, each with its own connection, against the real PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, connections, transaction

from scheduling import selectors, services
from scheduling.models import Allocation, Appointment, DayHold
from scheduling.services.holds import ABORT_RETRIES, retry_aborted
from tests.factories import A_WEDNESDAY, NOW, Clinic, build_clinic, local, make_patient, treatment_type

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls: list[Callable[[], object]]) -> tuple[list[object], list[services.BookingConflict], list]:
    """Run every call at once, each in its own thread and connection: (results, conflicts, other errors)."""
    barrier = threading.Barrier(len(calls))
    lock = threading.Lock()
    won: list[object] = []
    conflicts: list[services.BookingConflict] = []
    errors: list[BaseException] = []

    def run(call) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            result = call()
            with lock:
                won.append(result)
        except services.BookingConflict as conflict:
            with lock:
                conflicts.append(conflict)
        except BaseException as exc:  # noqa: BLE001 (reported with the test's failure)
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return won, conflicts, errors


def test_two_desks_booking_one_patient_twice_the_same_day_at_once_one_wins(front_desk):
    clinic = Clinic(*build_clinic(chairs=2, clinicians=2))
    iv = treatment_type("iv-ketamine")
    for round_ in range(8):
        day = A_WEDNESDAY + timedelta(days=round_)
        patient = make_patient(first="Racer", last=f"Round{round_}")

        def booking(hour: int, n: int, patient=patient, day=day):
            return lambda: services.book_appointment(
                patient=patient, treatment_type=iv, location=clinic.location, start=local(day, hour),
                resource=clinic.chairs[n], clinician=clinic.clinicians[n], booked_by=front_desk, now=NOW,
            )  # fmt: skip

        # 09:00 in one chair and 14:00 in the other: nothing overlaps but the day.
        won, conflicts, errors = _race([booking(9, 0), booking(14, 1)])
        assert errors == [], errors
        assert len(won) == 1 and len(conflicts) == 1, (won, conflicts)
        winner = won[0]
        assert conflicts[0].status_code == 409
        when = services.format_local(winner.start_at, clinic.location)
        assert f"already has IV ketamine infusion on {when}: one dosing session a day" in conflicts[0].message
        assert Appointment.objects.filter(patient=patient).count() == 1
        assert DayHold.objects.filter(patient=patient, active=True).count() == 1


def test_reschedules_racing_new_bookings_for_one_chair_and_time_one_wins_the_rest_409(front_desk):
    clinic = Clinic(*build_clinic(chairs=4, clinicians=3))
    iv = treatment_type("iv-ketamine")
    target_chair = clinic.chairs[0]
    for round_ in range(8):
        day = A_WEDNESDAY + timedelta(days=round_)
        target = local(day, 12)
        # Three sessions at 08:00 in chairs 2-4, each to be moved to 12:00 in chair 1 ...
        movers = [
            services.book_appointment(
                patient=make_patient(),
                treatment_type=iv,
                location=clinic.location,
                start=local(day, 8),
                resource=clinic.chairs[n + 1],
                clinician=clinic.clinicians[n],
                booked_by=front_desk,
                now=NOW,
            )  # fmt: skip
            for n in range(3)
        ]
        # ... while three desks book new patients there.
        newcomers = [make_patient() for _ in range(3)]
        calls: list[Callable[[], object]] = [
            lambda a=appointment, target=target: services.reschedule_appointment(
                appointment=a,
                start=target,
                resource=target_chair,
                clinician=a.clinician,
                rescheduled_by=front_desk,
                now=NOW,
            )  # fmt: skip
            for appointment in movers
        ] + [
            lambda p=patient, n=n, target=target: services.book_appointment(
                patient=p,
                treatment_type=iv,
                location=clinic.location,
                start=target,
                resource=target_chair,
                clinician=clinic.clinicians[n],
                booked_by=front_desk,
                now=NOW,
            )  # fmt: skip
            for n, patient in enumerate(newcomers)
        ]
        won, conflicts, errors = _race(calls)
        assert errors == [], errors
        assert len(won) == 1, (round_, won, [c.message for c in conflicts])
        assert len(conflicts) == len(calls) - 1
        assert all(conflict.status_code == 409 for conflict in conflicts)
        held = Allocation.objects.filter(resource=target_chair, active=True, span__contains=target)
        assert held.count() == 1
        assert held.get().appointment_id == won[0].pk
        # The moves that lost left their sessions where they were.
        for appointment in movers:
            appointment.refresh_from_db()
            if appointment.pk != won[0].pk:
                assert appointment.start_at == local(day, 8)
    assert selectors.overlapping_active_allocations() == []


# --- Aborted transactions ---------------------------------------------------------------------------------------

# A real PostgreSQL error with the SQLSTATE of a serialization failure, raised at COMMIT by a deferred constraint
# trigger, as a deferred foreign-key check that lost a deadlock is: only while probe.fail is 'on'.
ABORT_AT_COMMIT = [
    "DROP TABLE IF EXISTS pg_temp.abort_probe",
    "CREATE TEMP TABLE abort_probe (n int)",
    """CREATE OR REPLACE FUNCTION pg_temp.abort_probe_check() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('probe.fail', true) = 'on' THEN
            RAISE EXCEPTION 'probe aborted' USING ERRCODE = %s;
        END IF;
        RETURN NULL;
    END $$""",
    "CREATE CONSTRAINT TRIGGER abort_probe_check AFTER INSERT ON abort_probe DEFERRABLE INITIALLY DEFERRED "
    "FOR EACH ROW EXECUTE FUNCTION pg_temp.abort_probe_check()",
]


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_a_transaction_aborted_at_commit_is_run_again_then_answered_as_a_conflict(sqlstate):
    with connection.cursor() as cursor:
        for statement in ABORT_AT_COMMIT:
            cursor.execute(statement.replace("%s", f"'{sqlstate}'"))
    attempts: list[int] = []

    @retry_aborted
    def change(*, aborts: int) -> int:
        with transaction.atomic():
            attempts.append(1)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('probe.fail', %s, false)", ["on" if len(attempts) <= aborts else "off"]
                )
                cursor.execute("INSERT INTO abort_probe VALUES (%s)", [len(attempts)])
        return len(attempts)

    assert change(aborts=2) == 3  # aborted at COMMIT twice; the third run committed
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(n) FROM abort_probe")
        assert cursor.fetchone()[0] == [3]  # the aborted runs left nothing behind

    attempts.clear()
    with pytest.raises(services.BookingConflict) as caught:
        change(aborts=99)
    assert len(attempts) == 1 + ABORT_RETRIES
    assert caught.value.status_code == 409
    assert "nothing was changed" in caught.value.message
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM abort_probe")
        assert cursor.fetchone()[0] == 1


def test_a_statement_aborted_by_a_deadlock_is_run_again():
    attempts: list[int] = []

    @retry_aborted
    def change() -> int:
        with transaction.atomic(), connection.cursor() as cursor:
            attempts.append(1)
            if len(attempts) == 1:
                cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'probe' USING ERRCODE = '40P01'; END $$")
        return len(attempts)

    assert change() == 2


def test_inside_a_callers_transaction_the_abort_is_left_to_the_caller():
    attempts: list[int] = []

    @retry_aborted
    def change() -> None:
        attempts.append(1)
        with connection.cursor() as cursor:
            cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'probe' USING ERRCODE = '40001'; END $$")

    with pytest.raises(OperationalError), transaction.atomic():
        change()
    assert attempts == [1]  # not re-run inside a transaction PostgreSQL has already aborted
