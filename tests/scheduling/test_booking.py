"""Booking through the services against real PostgreSQL: the allocation rows, the gates, the conflicts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from scheduling import selectors, services
from scheduling.models import Allocation, Appointment, ClinicianTimeOff, Closure, RemsEnrollment
from tests.factories import A_WEDNESDAY, NOW, NY, give_cleared_intake, local, make_patient, ready_to_dose

pytestmark = pytest.mark.django_db


def test_a_booking_holds_chair_patient_and_clinician_for_their_spans(clinic, book):
    patient = make_patient()
    appointment = book(patient, local(A_WEDNESDAY, 9))

    assert appointment.status == Appointment.Status.BOOKED
    assert appointment.end_at - appointment.start_at == timedelta(minutes=120)
    spans = {
        (a.kind, a.span.lower.astimezone(NY).time(), a.span.upper.astimezone(NY).time())
        for a in appointment.allocations.all()
    }
    assert spans == {
        ("resource", time(9), time(11)),
        ("patient", time(9), time(11)),
        ("clinician", time(9, 15), time(10)),  # dosing window only
    }


def test_spravato_holds_the_clinician_for_dosing_and_again_for_discharge(clinic, book):
    patient = make_patient()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    appointment = book(patient, local(A_WEDNESDAY, 9), kind=clinic.spravato)

    clinician_spans = sorted(
        (a.span.lower.astimezone(NY).time(), a.span.upper.astimezone(NY).time())
        for a in appointment.allocations.filter(kind="clinician")
    )
    assert clinician_spans == [(time(9, 10), time(9, 25)), (time(11, 30), time(11, 40))]
    # Between dosing and discharge the clinician is free to dose someone in another chair.
    other = book(make_patient(), local(A_WEDNESDAY, 9, 30), chair=1)
    assert other.clinician == appointment.clinician


def test_the_same_chair_at_an_overlapping_time_is_a_conflict_naming_the_chair(clinic, book):
    book(make_patient(), local(A_WEDNESDAY, 9))
    with pytest.raises(services.BookingConflict) as caught:
        book(make_patient(), local(A_WEDNESDAY, 10), clinician=1)
    conflict = caught.value
    assert conflict.taken_kind == "resource"
    assert "Chair 1 is already booked" in conflict.message
    assert conflict.status_code == 409
    # The nearest alternatives are offered, and each really is free.
    assert conflict.alternatives
    assert conflict.alternatives[0].resource_id == clinic.chairs[0].pk  # same chair first
    assert Appointment.objects.count() == 1


def test_the_same_clinician_in_their_dosing_window_is_a_conflict_naming_them(clinic, book):
    book(make_patient(), local(A_WEDNESDAY, 9))
    with pytest.raises(services.BookingConflict) as caught:
        book(make_patient(), local(A_WEDNESDAY, 9, 30), chair=1, clinician=0)
    assert caught.value.taken_kind == "clinician"
    assert "Clin Ician1" in caught.value.message


def test_the_same_patient_twice_at_once_is_a_conflict_naming_the_patient(clinic, book, front_desk):
    patient = make_patient(first="Dana", last="Whitfield")
    book(patient, local(A_WEDNESDAY, 9))
    # A consultation (not a dosing session, so the one-a-day rule does not answer first) during the infusion.
    with pytest.raises(services.BookingConflict) as caught:
        services.book_appointment(
            patient=patient,
            treatment_type=clinic.consultation,
            location=clinic.location,
            start=local(A_WEDNESDAY, 10),
            resource=clinic.room,
            clinician=clinic.clinicians[1],
            booked_by=front_desk,
            now=NOW,
        )
    assert caught.value.taken_kind == "patient"
    assert "Dana Whitfield already has another session" in caught.value.message


def test_adjacent_sessions_on_one_chair_are_allowed(clinic, book):
    book(make_patient(), local(A_WEDNESDAY, 9))
    second = book(make_patient(), local(A_WEDNESDAY, 11))  # [09:00,11:00) then [11:00,13:00)
    assert second.pk
    assert selectors.overlapping_active_allocations() == []


def test_zero_length_and_reversed_spans_are_refused_with_a_message(clinic, book):
    start = local(A_WEDNESDAY, 9)
    with pytest.raises(services.BookingRefused, match="no length"):
        book(make_patient(), start, end=start)
    with pytest.raises(services.BookingRefused, match="ends before it starts"):
        book(make_patient(), start, end=start - timedelta(hours=1))
    assert not Appointment.objects.exists()


def test_the_database_itself_refuses_an_empty_or_overlapping_span(clinic, book):
    """The constraints are the guarantee, whatever the application does (engineering guide 2)."""
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    chair = clinic.chairs[0]
    moment = local(A_WEDNESDAY, 12)
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Allocation.objects.create(
            appointment=appointment,
            kind="resource",
            resource=chair,
            span=DateTimeTZRange(moment, moment, "[)"),
        )
    assert caught.value.__cause__.pgcode == "23514"  # check_violation: an empty range overlaps nothing
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Allocation.objects.create(
            appointment=appointment,
            kind="resource",
            resource=chair,
            span=DateTimeTZRange(local(A_WEDNESDAY, 10), local(A_WEDNESDAY, 12), "[)"),
        )
    assert caught.value.__cause__.pgcode == "23P01"  # exclusion_violation
    # An inactive hold does not count.
    Allocation.objects.create(
        appointment=appointment,
        kind="resource",
        resource=chair,
        active=False,
        span=DateTimeTZRange(local(A_WEDNESDAY, 10), local(A_WEDNESDAY, 12), "[)"),
    )


def test_the_exclusion_constraints_need_no_extension():
    with connection.cursor() as cursor:
        cursor.execute("SELECT extname FROM pg_extension WHERE extname = 'btree_gist'")
        assert cursor.fetchall() == []
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'x' "
            "AND conrelid = 'scheduling_allocation'::regclass ORDER BY conname"
        )
        rows = cursor.fetchall()
    assert [name for name, _ in rows] == [
        "allocation_clinician_not_double_booked",
        "allocation_patient_not_double_booked",
        "allocation_resource_not_double_booked",
    ]
    assert all("int8range" in definition and "&&" in definition for _, definition in rows)


def test_no_chair_given_takes_the_first_free_one(clinic, book):
    book(make_patient(), local(A_WEDNESDAY, 9))
    second = book(make_patient(), local(A_WEDNESDAY, 9), chair=None, clinician=None)
    assert second.resource == clinic.chairs[1]
    assert second.clinician == clinic.clinicians[1]


# --- Gates ----------------------------------------------------------------------------------------------------


def test_a_patient_without_a_cleared_intake_cannot_be_booked_for_treatment(clinic, book):
    patient = make_patient(eligible=False)
    with pytest.raises(services.BookingRefused, match="has not submitted their intake"):
        book(patient, local(A_WEDNESDAY, 9))
    # ... but may come in for a consultation.
    assert book(patient, local(A_WEDNESDAY, 9), kind=clinic.consultation, chair=None, clinician=None).pk


def test_a_hard_stop_finding_blocks_that_modality(clinic, book):
    from intake.models import IntakeSubmission

    patient = make_patient(eligible=False)
    IntakeSubmission.objects.create(
        kind="intake",
        patient=patient,
        submitted_at=datetime(2027, 1, 2, tzinfo=UTC),
        answers={},
        findings=[{"label": "Uncontrolled hypertension", "severity": "hard_stop", "modality": "iv"}],
    )
    with pytest.raises(services.BookingRefused, match="Uncontrolled hypertension"):
        book(patient, local(A_WEDNESDAY, 9))


def test_spravato_needs_rems_enrollment_before_the_session(clinic, book):
    patient = make_patient()
    with pytest.raises(services.BookingRefused, match="REMS enrollment"):
        book(patient, local(A_WEDNESDAY, 9), kind=clinic.spravato)
    RemsEnrollment.objects.create(patient=patient, enrolled_on=A_WEDNESDAY + timedelta(days=1))
    with pytest.raises(services.BookingRefused, match="after this session"):
        book(patient, local(A_WEDNESDAY, 9), kind=clinic.spravato)
    services.record_rems_enrollment(patient=patient, enrolled_on=A_WEDNESDAY, recorded_by=None)
    assert book(patient, local(A_WEDNESDAY, 9), kind=clinic.spravato).pk


def test_no_booking_in_the_past(clinic, book):
    with pytest.raises(services.BookingRefused, match="in the past"):
        book(make_patient(), local(A_WEDNESDAY, 9), now=local(A_WEDNESDAY, 9, 1))


def test_no_booking_outside_opening_hours(clinic, book):
    with pytest.raises(services.BookingRefused, match="outside opening hours"):
        book(make_patient(), local(A_WEDNESDAY, 17))  # would end at 19:00, the clinic closes at 18:00
    with pytest.raises(services.BookingRefused, match="outside opening hours"):
        book(make_patient(), local(A_WEDNESDAY, 7))


def test_no_booking_on_a_closure(clinic, book):
    Closure.objects.create(location=clinic.location, date=A_WEDNESDAY, reason="Staff training")
    with pytest.raises(services.BookingRefused, match="closed on Wed, Mar 3, 2027 .Staff training"):
        book(make_patient(), local(A_WEDNESDAY, 9))


def test_no_booking_with_a_clinician_on_time_off(clinic, book):
    ClinicianTimeOff.objects.create(
        clinician=clinic.clinicians[0], starts_at=local(A_WEDNESDAY, 0), ends_at=local(A_WEDNESDAY, 23)
    )
    with pytest.raises(services.BookingRefused, match="time off"):
        book(make_patient(), local(A_WEDNESDAY, 9))
    # Left to the system, another clinician is chosen.
    assert book(make_patient(), local(A_WEDNESDAY, 9), clinician=None).clinician == clinic.clinicians[1]


def test_a_room_treatment_refuses_a_chair(clinic, book):
    with pytest.raises(services.BookingRefused, match="needs a consultation room"):
        book(make_patient(), local(A_WEDNESDAY, 9), kind=clinic.consultation)


# --- Changes --------------------------------------------------------------------------------------------------


def test_reschedule_moves_the_holds_and_frees_the_old_time(clinic, book, front_desk):
    patient = make_patient()
    appointment = book(patient, local(A_WEDNESDAY, 9))
    services.confirm_appointment(appointment=appointment, confirmed_by=front_desk, now=NOW)
    moved = services.reschedule_appointment(
        appointment=appointment, start=local(A_WEDNESDAY, 9, 30), rescheduled_by=front_desk, now=NOW
    )
    assert moved.start_at == local(A_WEDNESDAY, 9, 30)
    assert moved.status == Appointment.Status.BOOKED  # the patient confirms the new time again
    assert moved.allocations.filter(active=True).count() == 3
    # Left to the system, the session keeps its chair and clinician (overlapping its own old time is fine).
    assert (moved.resource, moved.clinician) == (clinic.chairs[0], clinic.clinicians[0])
    # Chair 1 is free again from 11:30; the old 09:00-09:30 is no longer held.
    assert book(make_patient(), local(A_WEDNESDAY, 11, 30)).pk
    assert not Allocation.objects.filter(
        appointment=appointment, active=True, span__contains=local(A_WEDNESDAY, 9, 10)
    ).exists()
    assert selectors.overlapping_active_allocations() == []


def test_a_failed_reschedule_leaves_the_session_where_it_was(clinic, book, front_desk):
    first = book(make_patient(), local(A_WEDNESDAY, 9))
    book(make_patient(), local(A_WEDNESDAY, 13))
    with pytest.raises(services.BookingConflict, match="Chair 1 is already booked"):
        services.reschedule_appointment(
            appointment=first, start=local(A_WEDNESDAY, 12), rescheduled_by=front_desk, now=NOW,
            resource=clinic.chairs[0], clinician=clinic.clinicians[1],
        )  # fmt: skip
    first.refresh_from_db()
    assert first.start_at == local(A_WEDNESDAY, 9)
    assert first.allocations.filter(active=True).count() == 3


def test_cancel_needs_a_reason_and_frees_the_chair(clinic, book, front_desk):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    with pytest.raises(services.BookingRefused, match="reason"):
        services.cancel_appointment(appointment=appointment, reason="  ", cancelled_by=front_desk, now=NOW)
    cancelled = services.cancel_appointment(
        appointment=appointment, reason="Feeling unwell", cancelled_by=front_desk, now=NOW
    )
    assert cancelled.status == Appointment.Status.CANCELLED
    assert cancelled.late_cancellation is False  # two days ahead
    assert not cancelled.allocations.filter(active=True).exists()
    assert book(make_patient(), local(A_WEDNESDAY, 9)).pk


def test_cancel_inside_the_notice_window_is_marked_late(clinic, book, front_desk, settings):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    late = services.cancel_appointment(
        appointment=appointment,
        reason="Car trouble",
        cancelled_by=front_desk,
        now=local(A_WEDNESDAY, 9) - timedelta(hours=23),
    )
    assert late.late_cancellation is True
    settings.SCHEDULING_LATE_CANCEL_HOURS = 48
    other = book(make_patient(), local(A_WEDNESDAY, 13))
    assert services.cancel_appointment(
        appointment=other,
        reason="Travel",
        cancelled_by=front_desk,
        now=local(A_WEDNESDAY, 13) - timedelta(hours=47),
    ).late_cancellation


def test_no_show_only_after_the_start_and_frees_the_chair(clinic, book, front_desk):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    with pytest.raises(services.InvalidTransition, match="before its start"):
        services.mark_no_show(appointment=appointment, marked_by=front_desk, now=NOW)
    gone = services.mark_no_show(appointment=appointment, marked_by=front_desk, now=local(A_WEDNESDAY, 9, 20))
    assert gone.status == Appointment.Status.NO_SHOW
    assert not gone.allocations.filter(active=True).exists()


def test_the_session_runs_through_its_states_in_order(clinic, book, front_desk, clinician):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    at = local(A_WEDNESDAY, 8, 50)
    with pytest.raises(services.InvalidTransition, match="booked: it cannot be marked discharged"):
        services.discharge(appointment=appointment, discharged_by=front_desk, now=at)
    services.confirm_appointment(appointment=appointment, confirmed_by=front_desk, now=NOW)
    ready_to_dose(appointment, by=front_desk, now=at)
    services.start_session(appointment=appointment, started_by=front_desk, now=at)
    services.record_dose(
        appointment=appointment, dose_mg=Decimal("35"), weight_kg=Decimal("70"), lot_number="K123",
        started_at=at, recorded_by=clinician, now=at,
    )  # fmt: skip
    services.record_vitals(
        appointment=appointment, phase="at_40_min", systolic=134, diastolic=86, heart_rate=76, spo2=98,
        recorded_by=front_desk, now=at + timedelta(minutes=40),
    )  # fmt: skip
    services.start_recovery(appointment=appointment, by=front_desk, now=at + timedelta(minutes=45))
    services.record_vitals(
        appointment=appointment, phase="pre_discharge", systolic=124, diastolic=80, heart_rate=70, spo2=98,
        recorded_by=front_desk, now=at + timedelta(minutes=95),
    )  # fmt: skip
    done = services.discharge(
        appointment=appointment,
        discharged_by=front_desk,
        now=at + timedelta(minutes=100),
        escort_present=True,
    )
    assert done.status == Appointment.Status.DISCHARGED
    assert done.discharged_at == at + timedelta(minutes=100)
    assert done.session_record.dose_mg_per_kg == Decimal("0.500")
    with pytest.raises(services.InvalidTransition, match="cannot be cancelled"):
        services.cancel_appointment(appointment=done, reason="x", cancelled_by=front_desk, now=at)


def test_spravato_discharge_waits_for_120_minutes_of_observation(clinic, book, front_desk, clinician):
    patient = make_patient()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    appointment = book(patient, local(A_WEDNESDAY, 9), kind=clinic.spravato)
    dosed = local(A_WEDNESDAY, 9, 15)
    ready_to_dose(appointment, by=front_desk, now=dosed)
    services.start_session(appointment=appointment, started_by=front_desk, now=dosed)
    services.record_dose(
        appointment=appointment,
        dose_mg=Decimal("56"),
        lot_number="S-1",
        started_at=dosed,
        recorded_by=clinician,
        now=dosed,
    )
    services.record_vitals(
        appointment=appointment, phase="at_40_min", systolic=134, diastolic=86, heart_rate=76, spo2=98,
        recorded_by=front_desk, now=dosed + timedelta(minutes=40),
    )  # fmt: skip
    services.start_recovery(appointment=appointment, by=front_desk, now=dosed + timedelta(minutes=50))
    services.record_vitals(
        appointment=appointment, phase="pre_discharge", systolic=124, diastolic=80, heart_rate=70, spo2=98,
        recorded_by=front_desk, now=dosed + timedelta(minutes=110),
    )  # fmt: skip
    with pytest.raises(services.InvalidTransition, match="at least 120 minutes"):
        services.discharge(
            appointment=appointment,
            discharged_by=front_desk,
            now=dosed + timedelta(minutes=119),
            escort_present=True,
        )
    assert (
        services.discharge(
            appointment=appointment,
            discharged_by=front_desk,
            now=dosed + timedelta(minutes=120),
            escort_present=True,
        ).status
        == Appointment.Status.DISCHARGED
    )


# --- Availability through the selectors -------------------------------------------------------------------------


def test_available_slots_skip_busy_clinicians_and_the_patients_own_bookings(clinic, book):
    patient = make_patient()
    for n in range(3):
        book(make_patient(), local(A_WEDNESDAY, 8), chair=n, clinician=n)
    slots = selectors.available_slots(
        location=clinic.location, treatment_type=clinic.iv, date_from=A_WEDNESDAY, date_to=A_WEDNESDAY, now=NOW,
        patient=patient,
    )  # fmt: skip
    # All three clinicians dose 08:15-09:00, so the next session's dosing can start at 09:00: a start at 08:45.
    assert slots[0].start == local(A_WEDNESDAY, 8, 45)
    assert slots[0].resource_id == clinic.chairs[3].pk
    book(patient, local(A_WEDNESDAY, 13), chair=4, clinician=0)
    after = selectors.available_slots(
        location=clinic.location, treatment_type=clinic.iv, date_from=A_WEDNESDAY, date_to=A_WEDNESDAY, now=NOW,
        patient=patient,
    )  # fmt: skip
    assert after == []  # one infusion a local day: none is offered to this patient on Wednesday any more
    # A consultation is not a dosing session: offered around the infusion, never during it.
    consultations = selectors.available_slots(
        location=clinic.location, treatment_type=clinic.consultation, date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY, now=NOW, patient=patient,
    )  # fmt: skip
    assert not any(local(A_WEDNESDAY, 12) < s.start < local(A_WEDNESDAY, 15) for s in consultations)
    assert any(s.start == local(A_WEDNESDAY, 12) for s in consultations)  # ends as the infusion starts
    assert any(s.start == local(A_WEDNESDAY, 15) for s in consultations)  # adjacent to the patient's own


def test_availability_is_a_fixed_number_of_queries(clinic, book, django_assert_max_num_queries):
    for day in range(10):
        book(make_patient(), local(A_WEDNESDAY + timedelta(days=day), 9))
    iv = clinic.iv
    # The location's calendar (hours, closures, chairs, clinicians' hours and time off) and the allocations.
    with django_assert_max_num_queries(2):
        slots = selectors.available_slots(
            location=clinic.location, treatment_type=iv, date_from=A_WEDNESDAY,
            date_to=A_WEDNESDAY + timedelta(days=30), now=NOW,
        )  # fmt: skip
    assert slots


def test_next_available_for_a_patient(clinic, book):
    patient = make_patient()
    slot = selectors.next_available_slot(
        location=clinic.location, treatment_type=clinic.iv, now=NOW, patient=patient
    )
    assert slot is not None
    assert slot.start >= NOW


def test_a_booked_offer_from_availability_always_succeeds(clinic, book):
    patient = make_patient()
    options = selectors.available_slots(
        location=clinic.location,
        treatment_type=clinic.spravato,
        date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY,
        now=NOW,
        patient=patient,
    )
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    option = options[len(options) // 2]
    appointment = services.book_appointment(
        patient=patient, treatment_type=clinic.spravato, location=clinic.location, start=option.start,
        resource=clinic.chairs[0].__class__.objects.get(pk=option.resource_id),
        clinician=clinic.clinicians[0].__class__.objects.get(pk=option.clinician_id), booked_by=None, now=NOW,
    )  # fmt: skip
    assert appointment.pk


def test_appointment_for_user_is_a_404_for_another_patient(clinic, book, patient, second_patient, front_desk):
    from django.http import Http404

    mine = patient.patient
    give_cleared_intake(mine)
    appointment = book(mine, local(A_WEDNESDAY, 9))
    assert selectors.appointment_for_user(patient, appointment.pk) == appointment
    assert selectors.appointment_for_user(front_desk, appointment.pk) == appointment
    with pytest.raises(Http404):
        selectors.appointment_for_user(second_patient, appointment.pk)
    with pytest.raises(Http404):
        selectors.appointment_for_user(front_desk, 999_999)


def test_upcoming_appointments_for_patient(clinic, book, front_desk):
    patient = make_patient()
    first = book(patient, local(A_WEDNESDAY, 9))
    second = book(patient, local(A_WEDNESDAY + timedelta(days=2), 9))
    cancelled = book(patient, local(A_WEDNESDAY + timedelta(days=4), 9))
    services.cancel_appointment(appointment=cancelled, reason="Travel", cancelled_by=front_desk, now=NOW)
    assert selectors.upcoming_appointments_for_patient(patient, now=NOW) == [first, second]
    assert selectors.upcoming_appointments_for_patient(patient, now=local(A_WEDNESDAY, 12)) == [second]


def test_booking_on_a_dst_day_keeps_local_time(clinic, book):
    spring = date(2027, 3, 14)
    appointment = book(make_patient(), local(spring, 9))
    assert appointment.start_at.astimezone(UTC).hour == 13  # 9:00 AM EDT
    assert appointment.end_at - appointment.start_at == timedelta(minutes=120)


def test_late_cancellation_counts_elapsed_hours_across_spring_forward(clinic, book, front_desk):
    sunday = date(2027, 3, 14)
    appointment = book(make_patient(), local(sunday, 9))
    saturday_nine = local(date(2027, 3, 13), 9)  # 24 wall-clock hours before, but only 23 real hours
    assert appointment.start_at - saturday_nine == timedelta(hours=23)
    cancelled = services.cancel_appointment(
        appointment=appointment, reason="Patient request", cancelled_by=front_desk, now=saturday_nine
    )
    assert cancelled.late_cancellation is True


def test_booking_on_the_fall_back_day(clinic, book):
    fall_back = date(2027, 11, 7)
    appointment = book(make_patient(), local(fall_back, 9))
    assert appointment.start_at.astimezone(UTC).hour == 14  # 9:00 AM EST
    # 01:30 happens twice that night; the clinic is closed then anyway.
    with pytest.raises(services.BookingRefused, match="outside opening hours"):
        book(make_patient(), local(fall_back, 1, 30), chair=1)
