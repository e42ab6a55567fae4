"""The hot paths measured in bench/ keep their shape: a booking reads every gate in one query, availability and the
day view read in two, and what was changed to get there still behaves (sessions across midnight, the 24-hour cap, a
clash still in flight, alternatives after a conflict)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
import time_machine
from django.db import IntegrityError, connection, connections, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic import policies
from intake.eligibility import booking_eligibility
from scheduling import reminders, selectors, services
from scheduling.models import Allocation, Appointment
from tests.factories import A_WEDNESDAY, NOW, Clinic, build_clinic, local, make_patient, treatment_type

pytestmark = pytest.mark.django_db

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _statements(ctx: CaptureQueriesContext) -> list[str]:
    """The SQL a block ran, without transaction control (which differs between a test and a request)."""
    return [
        q["sql"].strip() for q in ctx.captured_queries if not q["sql"].strip().startswith(TRANSACTION_CONTROL)
    ]


def _book(clinic, front_desk, patient, start, *, chair=0, clinician=0, treatment_type=None, **extra):
    return services.book_appointment(
        patient=patient,
        treatment_type=treatment_type or clinic.iv,
        location=clinic.location,
        start=start,
        resource=clinic.chairs[chair],
        clinician=clinic.clinicians[clinician],
        booked_by=front_desk,
        now=NOW,
        **extra,
    )


# --- Query shapes ---------------------------------------------------------------------------------------------


def test_a_booking_reads_every_gate_in_one_query_and_a_loser_stops_at_its_first_write(
    clinic, front_desk, monkeypatch
):
    iv = clinic.iv  # read (or made) here, not inside the measured blocks
    winner, loser = make_patient(), make_patient()
    policies.saved_values()  # cached in Redis, as in a clinic that has been running: read once, here
    policy_reads = []
    read_policies = policies.saved_values
    monkeypatch.setattr(policies, "saved_values", lambda: policy_reads.append(1) or read_policies())

    with CaptureQueriesContext(connection) as won:
        appointment = _book(clinic, front_desk, winner, local(A_WEDNESDAY, 9), treatment_type=iv)
    statements = _statements(won)
    first_write = next(i for i, sql in enumerate(statements) if "INSERT INTO" in sql)
    # One read for every gate (location, clinician, REMS, eligibility, dosing days), then the holds.
    assert first_write == 1, statements[:first_write]
    # The lock wait, the new id, the infusion's day hold and its allocations: one query string.
    holds_write = statements[first_write].replace('"', "")
    assert holds_write.startswith("SELECT set_config('clinic.caller_lock_timeout'")
    assert "SELECT nextval(pg_get_serial_sequence('scheduling_appointment', 'id'))" in holds_write
    assert "WITH day_hold AS (INSERT INTO scheduling_dayhold" in holds_write
    assert ") INSERT INTO scheduling_allocation" in holds_write
    # Then the appointment and its reminder rows, one query string; nothing else.
    rows_write = statements[first_write + 1].replace('"', "")
    assert rows_write.startswith("INSERT INTO scheduling_appointment")
    assert "; INSERT INTO scheduling_reminder" in rows_write
    assert len(statements) == 3, statements
    assert appointment.allocations.filter(active=True).count() == 3
    assert appointment.reminders.filter(kind="confirmation").exists()
    assert len(policy_reads) == 1  # the three reminder policies, from one cache read
    # The short lock wait was the holds' own: the caller's setting is back.
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"

    taken = pytest.raises(services.BookingConflict, match="Chair 1 is already booked")
    with CaptureQueriesContext(connection) as lost, taken:
        _book(
            clinic,
            front_desk,
            loser,
            local(A_WEDNESDAY, 10),
            clinician=1,
            treatment_type=iv,
            with_alternatives=False,
        )
    statements = _statements(lost)
    assert len(statements) == 2, statements  # the gates, the refused holds (with the lock wait and id)
    assert len(policy_reads) == 1  # a loser plans no reminders
    assert not Appointment.objects.filter(patient=loser).exists()
    assert not Allocation.objects.filter(patient=loser).exists()


def test_a_booking_written_in_few_statements_is_audited_under_its_actor(clinic, front_desk):
    """The appointment row goes in with its reminders in one query string, after the holds' own: the audit trail
    still names who booked it, and a booking that lost left nothing in it."""
    from clinic.audit import acting_as
    from clinic.models import AuditEvent

    winner, loser = make_patient(), make_patient()
    with acting_as(actor_id=front_desk.pk, actor_ip="10.0.0.7", context="web POST scheduling:book"):
        appointment = _book(clinic, front_desk, winner, local(A_WEDNESDAY, 9))
        with pytest.raises(services.BookingConflict):
            _book(clinic, front_desk, loser, local(A_WEDNESDAY, 10), clinician=1, with_alternatives=False)
    (event,) = AuditEvent.objects.filter(table_name="scheduling_appointment", action="INSERT")
    assert event.row_pk == str(appointment.pk) and event.patient_id == winner.pk
    assert (event.actor_id, str(event.actor_ip), event.context) == (
        front_desk.pk,
        "10.0.0.7",
        "web POST scheduling:book",
    )
    assert event.new_data["created_by_id"] == front_desk.pk and event.new_data["status"] == "booked"
    appointment.refresh_from_db()
    assert appointment.created_at is not None and appointment.updated_at is not None
    assert not AuditEvent.objects.filter(patient_id=loser.pk, table_name__startswith="scheduling_").exists()


def test_the_eligibility_gate_is_one_query(clinic, django_assert_num_queries):
    patient = make_patient()
    with django_assert_num_queries(1):
        assert booking_eligibility(patient=patient, modality="iv", now=NOW).allowed
    with django_assert_num_queries(0):
        assert booking_eligibility(patient=patient, modality="consultation", now=NOW).allowed


def test_the_booking_facts_read_time_off_hours_and_rems(clinic):
    from scheduling.models import ClinicianTimeOff, RemsEnrollment

    patient = make_patient()
    clinician = clinic.clinicians[0]
    off = ClinicianTimeOff.objects.create(
        clinician=clinician, starts_at=local(A_WEDNESDAY, 12), ends_at=local(A_WEDNESDAY, 14)
    )
    RemsEnrollment.objects.create(patient=patient, enrolled_on=A_WEDNESDAY)
    facts = selectors.booking_facts(
        location_id=clinic.location.pk, clinician_id=clinician.pk, patient_id=patient.pk, day=A_WEDNESDAY,
        since=local(A_WEDNESDAY, 13), until=local(A_WEDNESDAY, 15), now=NOW,
    )  # fmt: skip
    assert facts.closure_reason is None
    assert [(o.hour, c.hour) for o, c in facts.opening_hours] == [(8, 18)]
    assert facts.clinician_works_here and [(s.hour, e.hour) for s, e in facts.clinician_hours] == [(8, 18)]
    assert [(span.start, span.end) for span in facts.clinician_time_off] == [(off.starts_at, off.ends_at)]
    assert facts.rems_enrolled_on == A_WEDNESDAY
    assert facts.eligibility.decision is not None and "iv" in facts.eligibility.decision.allows
    elsewhere = selectors.booking_facts(
        location_id=clinic.location.pk, clinician_id=clinician.pk, patient_id=patient.pk, day=A_WEDNESDAY,
        since=local(A_WEDNESDAY, 15), until=local(A_WEDNESDAY, 16), now=NOW,
    )  # fmt: skip
    assert elsewhere.clinician_time_off == []


# --- The day view -----------------------------------------------------------------------------------------------


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        yield client


def _overnight_session(clinic, *, starts: datetime, hours: int) -> Appointment:
    """A session written directly (booking refuses one outside opening hours; an extended one may still run late)."""
    appointment = Appointment.objects.create(
        patient=make_patient(first="Night", last="Owl"),
        location=clinic.location,
        treatment_type=clinic.iv,
        resource=clinic.chairs[2],
        clinician=clinic.clinicians[2],
        start_at=starts,
        end_at=starts + timedelta(hours=hours),
    )
    Allocation.objects.create(
        appointment=appointment, kind="resource", resource=clinic.chairs[2],
        span=DateTimeTZRange(appointment.start_at, appointment.end_at),
    )  # fmt: skip
    return appointment


def test_a_session_running_past_midnight_shows_on_both_days(desk, clinic):
    _overnight_session(clinic, starts=local(A_WEDNESDAY, 22), hours=3)  # 22:00 Wed to 01:00 Thu
    url = reverse("scheduling:day") + f"?location={clinic.location.pk}"
    for day in ("2027-03-03", "2027-03-04"):
        html = desk.get(f"{url}&date={day}").content.decode()
        assert "10:00 PM–1:00 AM" in html, day
        assert "Night Owl" in html, day
    thursday = selectors.day_schedule(clinic.location, A_WEDNESDAY + timedelta(days=1))
    # The grid starts at Thursday's midnight, with the session in its first row, and never reaches into Wednesday.
    assert thursday.rows[0].at == local(A_WEDNESDAY + timedelta(days=1), 0)
    column = [c.pk for c in thursday.resources].index(clinic.chairs[2].pk)
    first = thursday.rows[0].cells[column]
    assert first.entry is not None and first.rows == 4  # 00:00-01:00 in 15-minute rows
    assert all(row.at >= local(A_WEDNESDAY + timedelta(days=1), 0) for row in thursday.rows)
    # The week view and tomorrow's list read the same bounded range.
    assert (
        selectors.appointments_between(
            clinic.location,
            local(A_WEDNESDAY + timedelta(days=1), 0),
            local(A_WEDNESDAY + timedelta(days=2), 0),
        ).count()
        == 1
    )


def test_the_day_view_shows_statuses_in_words_and_escapes_names(desk, clinic, front_desk):
    patient = make_patient(first="<b>Ana</b>", last="O'Neil & Co")
    appointment = _book(clinic, front_desk, patient, local(A_WEDNESDAY, 9))
    services.confirm_appointment(appointment=appointment, confirmed_by=front_desk, now=NOW)
    cancelled = _book(clinic, front_desk, make_patient(first="Cal", last="Cancel"), local(A_WEDNESDAY, 13))
    services.cancel_appointment(appointment=cancelled, reason="Unwell", cancelled_by=front_desk, now=NOW)
    html = desk.get(
        reverse("scheduling:day") + f"?location={clinic.location.pk}&date=2027-03-03"
    ).content.decode()
    assert "<b>Ana</b>" not in html
    assert "&lt;b&gt;Ana&lt;/b&gt; O&#x27;Neil &amp; Co" in html
    assert html.count(f'href="{reverse("scheduling:appointment_detail", args=[appointment.pk])}"') == 2
    assert '<span class="fw-semibold">Confirmed</span>' in html
    assert "Cancelled and no-shows on this day" in html and "Cal Cancel" in html and "(Unwell)" in html


@pytest.mark.parametrize("bad", ["abc", "99999999", "-1"])
def test_a_bad_location_on_the_day_view_is_a_404(desk, clinic, bad):
    assert desk.get(reverse("scheduling:day") + f"?location={bad}").status_code == 404


def test_the_day_view_with_no_location_set_up(desk):
    response = desk.get(reverse("scheduling:day"))
    assert response.status_code == 200
    assert "scheduling/no_location.html" in [t.name for t in response.templates]


# --- The 24-hour cap that bounds the schedule reads ------------------------------------------------------------------


def test_a_session_longer_than_a_day_is_refused_and_the_database_agrees(clinic, front_desk):
    start = local(A_WEDNESDAY, 9)
    with pytest.raises(services.BookingRefused, match="longer than 24 hours"):
        _book(clinic, front_desk, make_patient(), start, end=start + timedelta(hours=24, minutes=1))
    assert not Appointment.objects.exists()
    with pytest.raises(IntegrityError, match="appointment_at_most_a_day_long"), transaction.atomic():
        _overnight_session(clinic, starts=start, hours=25)


# --- A clash still in flight ------------------------------------------------------------------------------------


@pytest.fixture
def other_desk():
    """A second connection, as another desk's booking: it inserts a clashing hold and keeps its transaction open."""
    db = connection.settings_dict
    conn = psycopg2.connect(
        dbname=db["NAME"], user=db["USER"] or "postgres", host=db["HOST"] or None, port=db["PORT"] or None
    )
    yield conn
    conn.rollback()
    conn.close()


def _hold_in_flight(conn, chair, start: datetime, end: datetime) -> None:
    with conn.cursor() as cur:
        # The appointment id is never checked: the foreign key is deferred to a commit that never comes.
        cur.execute(
            "INSERT INTO scheduling_allocation (appointment_id, kind, resource_id, span, active) "
            "VALUES (-1, 'resource', %s, tstzrange(%s, %s, '[)'), true)",
            [chair.pk, start, end],
        )


def test_a_booking_that_meets_a_clash_still_in_flight_waits_and_gets_the_time_if_it_is_freed(
    clinic, front_desk, other_desk
):
    start = local(A_WEDNESDAY, 9)
    _hold_in_flight(other_desk, clinic.chairs[0], start, start + timedelta(hours=1))
    # Longer than the first try's short wait: the second try queues, then waits for the other desk to finish.
    release = threading.Timer(0.3, other_desk.rollback)
    release.start()
    try:
        appointment = _book(clinic, front_desk, make_patient(), start)
    finally:
        release.join()
    assert appointment.allocations.filter(active=True).count() == 3
    assert selectors.overlapping_active_allocations() == []
    with connection.cursor() as cursor:  # neither try leaves its lock wait behind in the caller's transaction
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_reschedule_that_meets_a_clash_still_in_flight_waits_for_it(clinic, front_desk, other_desk):
    appointment = _book(clinic, front_desk, make_patient(), local(A_WEDNESDAY, 9))
    new_start = local(A_WEDNESDAY, 13)
    _hold_in_flight(other_desk, clinic.chairs[0], new_start, new_start + timedelta(hours=1))
    release = threading.Timer(0.3, other_desk.rollback)
    release.start()
    try:
        moved = services.reschedule_appointment(
            appointment=appointment, start=new_start, rescheduled_by=front_desk, now=NOW,
            resource=clinic.chairs[0], clinician=clinic.clinicians[0],
        )  # fmt: skip
    finally:
        release.join()
    assert moved.start_at == new_start
    assert moved.allocations.filter(active=True).count() == 3


def test_second_tries_queue_in_one_order_for_chair_clinician_and_patient():
    keys = services.hold_queue_keys(resource_id=7, clinician_id=7, patient_id=7)
    assert keys == sorted(keys) and len(set(keys)) == 3  # one lock per kind of thing, even for equal ids
    assert services.hold_queue_keys(resource_id=1, clinician_id=2, patient_id=3) == sorted(
        services.hold_queue_keys(patient_id=3, clinician_id=2, resource_id=1)
    )


@pytest.mark.django_db(transaction=True)
def test_a_desk_that_waits_for_a_slow_winner_gets_a_conflict_once_it_commits(front_desk, monkeypatch):
    """Two desks book the same chair; the first is slow to commit (its holds are in, its reminder planning takes
    a while). The second waits past its short first try, queues, and answers 409 once the first has committed."""
    clinic = Clinic(*build_clinic(chairs=1, clinicians=2))
    iv = treatment_type("iv-ketamine")
    first, second = make_patient(first="First"), make_patient(first="Second")
    start = local(A_WEDNESDAY, 9)
    holds_in = threading.Event()
    plan = reminders.new_booking_reminders

    def slow_plan(appointment, **kwargs):
        if threading.current_thread().name == "slow-desk":
            holds_in.set()
            time.sleep(0.5)  # the holds are in and not committed while the other desk books
        return plan(appointment, **kwargs)

    monkeypatch.setattr(reminders, "new_booking_reminders", slow_plan)
    booked = {}

    def slow_desk() -> None:
        try:
            booked["first"] = services.book_appointment(
                patient=first, treatment_type=iv, location=clinic.location, start=start,
                resource=clinic.chairs[0], clinician=clinic.clinicians[0], booked_by=front_desk, now=NOW,
            )  # fmt: skip
        finally:
            connections.close_all()

    desk = threading.Thread(target=slow_desk, name="slow-desk")
    desk.start()
    assert holds_in.wait(30)
    with pytest.raises(services.BookingConflict) as caught:
        services.book_appointment(
            patient=second, treatment_type=iv, location=clinic.location, start=start,
            resource=clinic.chairs[0], clinician=clinic.clinicians[1], booked_by=front_desk, now=NOW,
        )  # fmt: skip
    desk.join(30)
    assert caught.value.status_code == 409
    assert caught.value.taken_kind == "resource" and "Chair 1 is already booked" in caught.value.message
    assert Appointment.objects.get().pk == booked["first"].pk
    assert not Allocation.objects.filter(patient=second).exists()
    assert selectors.overlapping_active_allocations() == []


# --- Conflicts are still answered with alternatives --------------------------------------------------------------


def test_a_conflict_inside_a_callers_transaction_still_offers_alternatives_and_leaves_it_usable(
    clinic, front_desk
):
    _book(clinic, front_desk, make_patient(), local(A_WEDNESDAY, 9))
    with transaction.atomic():
        with pytest.raises(services.BookingConflict) as caught:
            _book(clinic, front_desk, make_patient(), local(A_WEDNESDAY, 10), clinician=1)
        assert caught.value.alternatives
        assert caught.value.alternatives[0].resource_id == clinic.chairs[0].pk  # the same chair first
        # The caller's transaction goes on: the failed booking was rolled back to its own savepoint.
        assert Appointment.objects.count() == 1
