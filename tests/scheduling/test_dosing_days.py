"""Dosing sessions spaced per patient, by the database: one IV infusion a local day, a Spravato session's minimum
spacing, on every path that books or moves a session (booking, series, waitlist, reschedule, cover), each refusal
naming the other session. And the booking paths' bad input: the horizon, a series in the past."""

from __future__ import annotations

import importlib
from datetime import date, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateRange
from django.test import override_settings

from scheduling import selectors, series, services
from scheduling.models import (
    Appointment,
    DayHold,
    RemsEnrollment,
    TreatmentSeries,
    WaitlistEntry,
    default_min_days_apart,
)
from tests.factories import A_WEDNESDAY, NOW, NY, local, make_patient

pytestmark = pytest.mark.django_db

THURSDAY = A_WEDNESDAY + timedelta(days=1)
MONDAY = date(2027, 3, 8)


def _active_days(patient) -> list[tuple[date | None, date | None]]:
    return sorted(
        (hold.days.lower, hold.days.upper) for hold in DayHold.objects.filter(patient=patient, active=True)
    )


def _spravato_patient(**names):
    patient = make_patient(**names)
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    return patient


# --- One infusion a local day -----------------------------------------------------------------------------------


def test_a_second_infusion_the_same_local_day_is_refused_naming_the_first(clinic, book):
    patient = make_patient(first="Ria", last="Okafor")
    book(patient, local(A_WEDNESDAY, 9))
    assert _active_days(patient) == [(A_WEDNESDAY, THURSDAY)]

    # Hours apart, another chair and clinician: nothing overlaps, but it is the same day.
    with pytest.raises(services.BookingConflict) as caught:
        book(patient, local(A_WEDNESDAY, 14), chair=1, clinician=1)
    conflict = caught.value
    assert conflict.status_code == 409
    assert conflict.taken_kind == "patient"
    assert conflict.message.startswith(
        "Ria Okafor already has IV ketamine infusion on Wed, Mar 3, 2027, 9:00 AM EST: one dosing session a day."
    )
    # The nearest free times offered are on other days.
    assert conflict.alternatives
    assert all(option.start.astimezone(NY).date() != A_WEDNESDAY for option in conflict.alternatives)
    assert Appointment.objects.filter(patient=patient).count() == 1
    assert _active_days(patient) == [(A_WEDNESDAY, THURSDAY)]

    # The next day is another day.
    book(patient, local(THURSDAY, 9), chair=1, clinician=1)
    assert Appointment.objects.filter(patient=patient).count() == 2


def test_with_the_chair_left_to_the_system_the_refusal_still_names_the_other_session(clinic, book):
    patient = make_patient(first="Ria", last="Okafor")
    book(patient, local(A_WEDNESDAY, 9))
    with pytest.raises(
        services.BookingConflict, match="already has IV ketamine infusion on Wed, Mar 3, 2027"
    ):
        book(patient, local(A_WEDNESDAY, 15), chair=None, clinician=None)
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_the_day_is_the_locations_local_day_not_utcs(clinic, book):
    patient = make_patient()
    # 17:00 in New York on Wednesday is 10:00 PM UTC; 08:00 on Thursday is 1:00 PM UTC. Two local days.
    clinic.location.opening_hours.update(closes=time(19))
    book(patient, local(A_WEDNESDAY, 16, 30))
    book(patient, local(THURSDAY, 8), chair=1, clinician=1)
    assert _active_days(patient) == [(A_WEDNESDAY, THURSDAY), (THURSDAY, THURSDAY + timedelta(days=1))]


def test_the_database_refuses_a_second_dosing_day_hold_whatever_the_application_does(clinic, book):
    patient = make_patient()
    first = book(patient, local(A_WEDNESDAY, 9))
    with pytest.raises(IntegrityError, match="dayhold_patient_dosing_spaced"), transaction.atomic():
        DayHold.objects.create(
            appointment=first, patient=patient, days=DateRange(A_WEDNESDAY, THURSDAY, "[)")
        )
    # An empty range would overlap nothing: refused too.
    with pytest.raises(IntegrityError, match="dayhold_days_not_empty"), transaction.atomic():
        DayHold.objects.create(appointment=first, patient=patient, days=DateRange(THURSDAY, THURSDAY, "[)"))
    # An inactive hold (a cancelled session's) does not count.
    DayHold.objects.create(
        appointment=first, patient=patient, days=DateRange(A_WEDNESDAY, THURSDAY, "[)"), active=False
    )


def test_a_consultation_the_same_day_as_an_infusion_is_allowed(clinic, book, front_desk):
    patient = make_patient()
    book(patient, local(A_WEDNESDAY, 9))
    consultation = services.book_appointment(
        patient=patient,
        treatment_type=clinic.consultation,
        location=clinic.location,
        start=local(A_WEDNESDAY, 14),
        resource=clinic.room,
        clinician=clinic.clinicians[1],
        booked_by=front_desk,
        now=NOW,
    )
    assert consultation.pk
    assert _active_days(patient) == [(A_WEDNESDAY, THURSDAY)]  # a consultation holds no dosing day


def test_a_cancelled_or_no_show_infusion_frees_its_day(clinic, book, front_desk):
    patient = make_patient()
    first = book(patient, local(A_WEDNESDAY, 9))
    services.cancel_appointment(appointment=first, reason="Patient request", cancelled_by=front_desk, now=NOW)
    assert _active_days(patient) == []
    second = book(patient, local(A_WEDNESDAY, 14), chair=1, clinician=1)
    services.mark_no_show(appointment=second, marked_by=front_desk, now=local(A_WEDNESDAY, 15))
    assert _active_days(patient) == []
    book(patient, local(A_WEDNESDAY, 16), chair=2, clinician=2, now=local(A_WEDNESDAY, 15))


# --- Spravato's spacing -------------------------------------------------------------------------------------------


def test_spravato_keeps_the_next_dosing_session_its_days_apart(clinic, book):
    patient = _spravato_patient(first="Lee", last="Marsh")
    spravato = clinic.spravato
    assert spravato.min_days_apart == 2  # SCHEDULING_SPRAVATO_MIN_DAYS_APART's default
    book(patient, local(MONDAY, 9), kind=spravato)
    assert _active_days(patient) == [(MONDAY, MONDAY + timedelta(days=2))]

    tuesday = MONDAY + timedelta(days=1)
    with pytest.raises(services.BookingConflict) as caught:
        book(patient, local(tuesday, 9), kind=spravato)
    assert caught.value.message.startswith(
        "Lee Marsh already has Spravato 56 mg on Mon, Mar 8, 2027, 9:00 AM EST: after Spravato 56 mg the next "
        "dosing session is at least 2 days later."
    )
    # Any dosing session: an IV infusion the day after a Spravato session is refused too.
    with pytest.raises(services.BookingConflict, match="already has Spravato 56 mg on Mon, Mar 8, 2027"):
        book(patient, local(tuesday, 13), chair=1, clinician=1)
    # A session before it is spaced by its own type: a Spravato session on Sunday would reach Monday.
    with pytest.raises(services.BookingConflict, match="after Spravato 56 mg the next dosing session"):
        book(patient, local(MONDAY - timedelta(days=1), 9), kind=spravato)
    # Wednesday is two days later.
    book(patient, local(MONDAY + timedelta(days=2), 9), kind=spravato)
    assert Appointment.objects.filter(patient=patient).count() == 2


def test_the_spravato_spacing_is_the_clinics_setting(settings):
    settings.SCHEDULING_SPRAVATO_MIN_DAYS_APART = 3
    assert default_min_days_apart("spravato") == 3
    assert default_min_days_apart("iv") == 1
    with override_settings(SCHEDULING_SPRAVATO_MIN_DAYS_APART=2):
        assert default_min_days_apart("spravato") == 2


def test_availability_offers_no_day_inside_the_spacing(clinic, book):
    patient = _spravato_patient()
    book(patient, local(MONDAY, 9), kind=clinic.spravato)
    days = {
        option.start.astimezone(NY).date()
        for option in selectors.available_slots(
            location=clinic.location, treatment_type=clinic.spravato, date_from=MONDAY - timedelta(days=2),
            date_to=MONDAY + timedelta(days=3), now=NOW, patient=patient,
        )
    }  # fmt: skip
    assert days == {MONDAY - timedelta(days=2), MONDAY + timedelta(days=2), MONDAY + timedelta(days=3)}


# --- Reschedule, cover, waitlist, series ------------------------------------------------------------------------


def test_a_reschedule_onto_the_day_of_another_infusion_is_refused_and_changes_nothing(
    clinic, book, front_desk
):
    patient = make_patient(first="Ria", last="Okafor")
    book(patient, local(A_WEDNESDAY, 9))
    moving = book(patient, local(THURSDAY, 9))
    with pytest.raises(
        services.BookingConflict, match="already has IV ketamine infusion on Wed, Mar 3, 2027"
    ):
        services.reschedule_appointment(
            appointment=moving, start=local(A_WEDNESDAY, 14), rescheduled_by=front_desk, now=NOW
        )
    moving.refresh_from_db()
    assert moving.start_at == local(THURSDAY, 9)
    assert _active_days(patient) == [(A_WEDNESDAY, THURSDAY), (THURSDAY, THURSDAY + timedelta(days=1))]
    # Within its own day it moves freely (its own hold does not count against it).
    moved = services.reschedule_appointment(
        appointment=moving, start=local(THURSDAY, 14), rescheduled_by=front_desk, now=NOW
    )
    assert moved.start_at == local(THURSDAY, 14)
    assert DayHold.objects.filter(appointment=moving, active=True).count() == 1


def test_cover_keeps_one_dosing_day_for_the_session(clinic, book):
    patient = make_patient()
    appointment = book(patient, local(A_WEDNESDAY, 9))
    covered = services.reassign_clinician(appointment=appointment, clinician=clinic.clinicians[2], now=NOW)
    assert covered.clinician == clinic.clinicians[2]
    assert _active_days(patient) == [(A_WEDNESDAY, THURSDAY)]


def test_the_waitlist_neither_offers_nor_books_a_second_infusion_that_day(clinic, book, front_desk):
    patient = make_patient(first="Gus", last="Petrov")
    book(patient, local(A_WEDNESDAY, 9))
    entry = services.add_to_waitlist(
        patient=patient, location=clinic.location, treatment_type=clinic.iv, earliest_date=A_WEDNESDAY,
        latest_date=THURSDAY, added_by=front_desk,
    )  # fmt: skip
    match = selectors.waitlist_matches(clinic.location, now=NOW)[0]
    assert match.option is not None
    assert match.option.start.astimezone(NY).date() == THURSDAY  # Wednesday has chairs, but not for Gus

    with pytest.raises(services.BookingConflict, match="Gus Petrov already has IV ketamine infusion on Wed"):
        services.book_from_waitlist(entry=entry, start=local(A_WEDNESDAY, 14), booked_by=front_desk, now=NOW)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.WAITING
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_a_series_proposal_never_moves_a_session_onto_a_day_with_another_infusion(clinic, book, front_desk):
    patient = make_patient()
    book(patient, local(MONDAY, 10))  # the patient's own infusion on the series' first Monday
    proposal = selectors.propose_treatment_series(
        patient=patient, location=clinic.location, treatment_type=clinic.iv, template=series.IV_INDUCTION,
        start_date=MONDAY, weekdays=[0, 2, 4], local_time=time(9), now=NOW,
    )  # fmt: skip
    assert all(p.option for p in proposal)
    days = [p.option.start.astimezone(NY).date() for p in proposal]
    assert MONDAY not in days
    assert len(set(days)) == len(days)
    treatment_series = services.book_series(
        patient=patient, treatment_type=clinic.iv, location=clinic.location, template_code="iv_ketamine_induction",
        weekdays=[0, 2, 4], local_time=time(9), booked_by=front_desk, now=NOW,
        sessions=[
            services.SeriesSessionChoice(
                index=p.index, start=p.option.start, resource_id=p.option.resource_id,
                clinician_id=p.option.clinician_id,
            )
            for p in proposal
        ],
    )  # fmt: skip
    assert treatment_series.appointments.count() == len(proposal)


def test_a_series_session_on_a_day_with_another_infusion_books_nothing(clinic, book, front_desk):
    patient = make_patient()
    book(patient, local(MONDAY, 14))
    with pytest.raises(
        services.BookingConflict, match="Session 1 .*already has IV ketamine infusion on Mon, Mar 8"
    ):
        services.book_series(
            patient=patient, treatment_type=clinic.iv, location=clinic.location,
            template_code="iv_ketamine_induction", weekdays=[0, 2, 4], local_time=time(9), booked_by=front_desk,
            now=NOW,
            sessions=[
                services.SeriesSessionChoice(index=1, start=local(MONDAY, 9)),
                services.SeriesSessionChoice(index=2, start=local(MONDAY + timedelta(days=2), 9)),
            ],
        )  # fmt: skip
    assert not TreatmentSeries.objects.exists()
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_a_series_naming_a_chair_the_clinic_does_not_have_books_nothing(clinic, front_desk):
    patient = make_patient()
    with pytest.raises(services.BookingRefused, match="Session 1 names a chair, room or clinician"):
        services.book_series(
            patient=patient, treatment_type=clinic.iv, location=clinic.location,
            template_code="iv_ketamine_induction", weekdays=[0, 2, 4], local_time=time(9), booked_by=front_desk,
            now=NOW,
            sessions=[services.SeriesSessionChoice(index=1, start=local(MONDAY, 9), resource_id=999999)],
        )  # fmt: skip
    assert not TreatmentSeries.objects.exists()
    assert not Appointment.objects.exists()


def test_a_series_proposal_in_the_past_is_refused_with_a_message(clinic):
    with pytest.raises(ValueError, match="cannot start in the past"):
        selectors.propose_treatment_series(
            patient=make_patient(), location=clinic.location, treatment_type=clinic.iv,
            template=series.IV_INDUCTION, start_date=date(2026, 1, 5), weekdays=[0, 2, 4], local_time=time(9),
            now=NOW,
        )  # fmt: skip


# --- The horizon --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("year", [1, 9999])
def test_a_start_in_a_year_the_clinic_cannot_book_is_refused_not_an_error(clinic, book, year):
    start = local(date(year, 6, 1), 9)
    with pytest.raises(services.BookingRefused, match=f"{year} is not a year the clinic books"):
        book(make_patient(), start)
    with pytest.raises(services.BookingRefused, match=f"{year} is not a year"):
        book(make_patient(), start, chair=None, clinician=None)
    assert not Appointment.objects.exists()


def test_a_start_beyond_the_booking_horizon_is_refused(clinic, book, front_desk, settings):
    settings.SCHEDULING_BOOKING_HORIZON_DAYS = 30
    patient = make_patient()
    with pytest.raises(
        services.BookingRefused, match="too far ahead: sessions are booked up to 30 days ahead"
    ):
        book(patient, local(date(2027, 4, 5), 9))
    appointment = book(patient, local(A_WEDNESDAY, 9))
    with pytest.raises(services.BookingRefused, match="too far ahead"):
        services.reschedule_appointment(
            appointment=appointment, start=local(date(2027, 4, 5), 9), rescheduled_by=front_desk, now=NOW
        )
    appointment.refresh_from_db()
    assert appointment.start_at == local(A_WEDNESDAY, 9)
    assert Appointment.objects.count() == 1


# --- The migration ------------------------------------------------------------------------------------------------


def test_the_migration_gives_live_dosing_sessions_day_holds_and_skips_an_old_clash(clinic, book, front_desk):
    from django.db import connection

    backfill = importlib.import_module("scheduling.migrations.0013_dosing_day_holds").BACKFILL
    patient = make_patient()
    first = book(patient, local(A_WEDNESDAY, 9))
    clash = book(patient, local(THURSDAY, 9))
    cancelled = book(make_patient(), local(A_WEDNESDAY, 9), chair=1, clinician=1)
    services.cancel_appointment(
        appointment=cancelled, reason="Patient request", cancelled_by=front_desk, now=NOW
    )
    consultation = services.book_appointment(
        patient=patient, treatment_type=clinic.consultation, location=clinic.location,
        start=local(THURSDAY + timedelta(days=1), 9), resource=clinic.room, clinician=clinic.clinicians[2],
        booked_by=front_desk, now=NOW,
    )  # fmt: skip
    # As before the rule: no day holds, and a second infusion on Wednesday.
    DayHold.objects.all().delete()
    Appointment.objects.filter(pk=clash.pk).update(
        start_at=local(A_WEDNESDAY, 14), end_at=local(A_WEDNESDAY, 16)
    )

    with connection.cursor() as cursor:
        cursor.execute(backfill)

    held = list(DayHold.objects.values_list("appointment_id", "days", "active"))
    assert held == [(first.pk, DateRange(A_WEDNESDAY, THURSDAY, "[)"), True)]
    assert consultation.pk not in {row[0] for row in held}
