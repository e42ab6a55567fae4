"""Treatment series: proposed from a template with replacements, then booked all or nothing, across DST."""

from __future__ import annotations

from datetime import UTC, date, time

import pytest

from scheduling import selectors, series, services
from scheduling.models import Appointment, RemsEnrollment, TreatmentSeries
from tests.factories import NOW, NY, local, make_patient

pytestmark = pytest.mark.django_db

MONDAY_BEFORE_DST = date(2027, 3, 8)  # America/New_York springs forward on Sunday 2027-03-14
MON_WED_FRI = [0, 2, 4]


def propose(
    clinic,
    patient,
    *,
    template=series.IV_INDUCTION,
    kind=None,
    start_date=MONDAY_BEFORE_DST,
    weekdays=MON_WED_FRI,
):
    return selectors.propose_treatment_series(
        patient=patient,
        location=clinic.location,
        treatment_type=kind or clinic.iv,
        template=template,
        start_date=start_date,
        weekdays=weekdays,
        local_time=time(9),
        now=NOW,
    )


def choices(proposal):
    return [
        services.SeriesSessionChoice(
            index=p.index,
            start=p.option.start,
            resource_id=p.option.resource_id,
            clinician_id=p.option.clinician_id,
            note=p.note,
        )  # fmt: skip
        for p in proposal
    ]


def book(clinic, patient, proposal, front_desk, *, template=series.IV_INDUCTION, kind=None):
    return services.book_series(
        patient=patient,
        treatment_type=kind or clinic.iv,
        location=clinic.location,
        template_code=template.code,
        weekdays=MON_WED_FRI,
        local_time=time(9),
        sessions=choices(proposal),
        booked_by=front_desk,
        now=NOW,
    )


def test_a_mon_wed_fri_series_across_spring_forward_stays_at_nine_local(clinic, front_desk):
    patient = make_patient()
    proposal = propose(clinic, patient)
    assert [p.replaced for p in proposal] == [False] * 6
    treatment_series = book(clinic, patient, proposal, front_desk)

    sessions = list(treatment_series.appointments.order_by("start_at"))
    assert [a.start_at.astimezone(NY).strftime("%a %d %H:%M") for a in sessions] == [
        "Mon 08 09:00", "Wed 10 09:00", "Fri 12 09:00", "Mon 15 09:00", "Wed 17 09:00", "Fri 19 09:00",
    ]  # fmt: skip
    # The same wall-clock time is a different UTC time after the change.
    assert {a.start_at.astimezone(UTC).hour for a in sessions[:3]} == {14}
    assert {a.start_at.astimezone(UTC).hour for a in sessions[3:]} == {13}
    assert [a.series_index for a in sessions] == [1, 2, 3, 4, 5, 6]
    assert selectors.overlapping_active_allocations() == []


def test_a_taken_session_is_replaced_by_the_nearest_free_time(clinic, book_one, front_desk):
    wednesday = date(2027, 3, 10)
    for n in range(3):  # every clinician is dosing 09:15-10:00 on the Wednesday
        book_one(make_patient(), local(wednesday, 9), chair=n, clinician=n)
    patient = make_patient()
    proposal = propose(clinic, patient)
    second = proposal[1]
    assert second.replaced
    assert second.requested_start == local(wednesday, 9)
    assert second.start == local(wednesday, 8, 15)  # 45 min either side; ties go to the earlier
    assert "taken" in second.reason
    assert [p.replaced for p in proposal if p.index != 2] == [False] * 5
    book(clinic, patient, proposal, front_desk)
    assert Appointment.objects.filter(patient=patient).count() == 6


def test_a_series_is_booked_all_or_nothing(clinic, book_one, front_desk):
    patient = make_patient()
    proposal = propose(clinic, patient)
    # Someone takes the fifth session's chair and clinician between the proposal and the confirmation.
    fifth = proposal[4].option
    book_one(make_patient(), fifth.start, chair=0, clinician=0)
    with pytest.raises(services.BookingConflict) as caught:
        book(clinic, patient, proposal, front_desk)
    assert caught.value.message.startswith("Session 5")
    assert "Chair 1 is already booked" in caught.value.message
    assert not TreatmentSeries.objects.exists()
    assert not Appointment.objects.filter(patient=patient).exists()


def test_moving_one_session_leaves_the_rest_in_place(clinic, front_desk):
    patient = make_patient()
    treatment_series = book(clinic, patient, propose(clinic, patient), front_desk)
    sessions = list(treatment_series.appointments.order_by("start_at"))
    before = [a.start_at for a in sessions]
    services.reschedule_appointment(
        appointment=sessions[2], start=local(date(2027, 3, 12), 13), rescheduled_by=front_desk, now=NOW
    )
    after = [a.start_at for a in treatment_series.appointments.order_by("series_index")]
    assert after[2] == local(date(2027, 3, 12), 13)
    assert after[:2] + after[3:] == before[:2] + before[3:]


def test_a_spravato_induction_needs_rems_and_books_twelve_sessions(clinic, front_desk):
    patient = make_patient()
    proposal = propose(
        clinic, patient, template=series.SPRAVATO_INDUCTION, kind=clinic.spravato, weekdays=[0, 3]
    )
    assert len(proposal) == 12
    with pytest.raises(services.BookingRefused, match="Session 1 .*REMS"):
        services.book_series(
            patient=patient, treatment_type=clinic.spravato, location=clinic.location,
            template_code=series.SPRAVATO_INDUCTION.code, weekdays=[0, 3], local_time=time(9),
            sessions=choices(proposal), booked_by=front_desk, now=NOW,
        )  # fmt: skip
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 2, 1))
    treatment_series = services.book_series(
        patient=patient, treatment_type=clinic.spravato, location=clinic.location,
        template_code=series.SPRAVATO_INDUCTION.code, weekdays=[0, 3], local_time=time(9),
        sessions=choices(proposal), booked_by=front_desk, now=NOW,
    )  # fmt: skip
    assert treatment_series.appointments.count() == 12


def test_a_template_for_another_modality_is_refused(clinic, front_desk):
    patient = make_patient()
    proposal = propose(clinic, patient)
    with pytest.raises(services.BookingRefused, match="not a course of"):
        book(clinic, patient, proposal, front_desk, template=series.SPRAVATO_INDUCTION)


def test_weekdays_that_break_the_template_are_refused_with_a_message(clinic):
    with pytest.raises(ValueError, match="choose 3 different weekdays"):
        propose(clinic, make_patient(), weekdays=[0, 2])


def test_a_series_across_fall_back_stays_at_nine_local(clinic, front_desk):
    patient = make_patient()
    proposal = propose(clinic, patient, start_date=date(2027, 11, 1))  # New York falls back on Sun, Nov 7
    treatment_series = book(clinic, patient, proposal, front_desk)
    sessions = list(treatment_series.appointments.order_by("start_at"))
    assert {a.start_at.astimezone(NY).time() for a in sessions} == {time(9)}
    assert [a.start_at.astimezone(UTC).hour for a in sessions] == [13, 13, 13, 14, 14, 14]
