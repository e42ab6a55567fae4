"""What the booking pages do with bad or odd input: a chair or clinician that does not exist, a time outside the
clinic's horizon, a series in the past (each a 400 with a message, nothing written), a second infusion the same day
(a 409 naming the other session), and the days the forms start on (the clinic's local day, not UTC's)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Appointment, TreatmentSeries
from tests.factories import A_WEDNESDAY, NY, local, make_patient

pytestmark = pytest.mark.django_db

MONDAY_MORNING = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def _offered_nine(desk, patient, query) -> str:
    page = desk.get(reverse("scheduling:book", args=[patient.pk]), query)
    return next(
        k for k in re.findall(r'name="slot" value="([^"]+)"', page.content.decode())
        if k.startswith(local(A_WEDNESDAY, 9).astimezone(UTC).isoformat())
    )  # fmt: skip


@pytest.mark.parametrize("which", ["chair", "clinician"])
@pytest.mark.parametrize("bad_id", ["999999", "-1", str(2**63), str(2**64), "0"])
def test_a_chair_or_clinician_that_does_not_exist_is_a_400_and_nothing_is_written(
    desk, clinic, which, bad_id
):
    patient = make_patient()
    query = {"treatment_type": clinic.iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    with time_machine.travel(MONDAY_MORNING, tick=False):
        start, chair, clinician = _offered_nine(desk, patient, query).split("|")
        slot = f"{start}|{bad_id}|{clinician}" if which == "chair" else f"{start}|{chair}|{bad_id}"
        response = desk.post(reverse("scheduling:book", args=[patient.pk]), {**query, "slot": slot})
        api = desk.post(
            reverse("scheduling:book", args=[patient.pk]),
            {**query, "slot": slot},
            HTTP_ACCEPT="application/json",
        )
    assert response.status_code == 400
    assert "one of the free times listed" in response.content.decode()
    assert api.status_code == 400
    assert not Appointment.objects.exists()


def test_a_reschedule_to_a_chair_that_does_not_exist_is_a_400_and_changes_nothing(desk, clinic, book):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    with time_machine.travel(MONDAY_MORNING, tick=False):
        start = local(A_WEDNESDAY, 14).astimezone(UTC).isoformat()
        clinician = clinic.clinicians[0].pk
        response = desk.post(
            reverse("scheduling:reschedule", args=[appointment.pk]), {"slot": f"{start}|999999|{clinician}"}
        )
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.start_at == local(A_WEDNESDAY, 9)
    assert appointment.resource == clinic.chairs[0]


@pytest.mark.parametrize("start", ["9999-12-31T09:00:00-05:00", "0001-01-01T09:00:00-05:00"])
def test_a_slot_in_year_9999_or_year_1_is_a_400(desk, clinic, start):
    patient = make_patient()
    query = {"treatment_type": clinic.iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    slot = f"{start}|{clinic.chairs[0].pk}|{clinic.clinicians[0].pk}"
    with time_machine.travel(MONDAY_MORNING, tick=False):
        response = desk.post(reverse("scheduling:book", args=[patient.pk]), {**query, "slot": slot})
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_a_slot_beyond_the_booking_horizon_is_a_400_with_the_last_bookable_day(desk, clinic, settings):
    settings.SCHEDULING_BOOKING_HORIZON_DAYS = 30
    patient = make_patient()
    query = {"treatment_type": clinic.iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    far = local(date(2027, 6, 2), 9).astimezone(UTC).isoformat()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        response = desk.post(
            reverse("scheduling:book", args=[patient.pk]),
            {**query, "slot": f"{far}|{clinic.chairs[0].pk}|{clinic.clinicians[0].pk}"},
        )
    assert response.status_code == 400
    assert "too far ahead: sessions are booked up to 30 days ahead (until Wed, Mar 31, 2027)" in (
        response.content.decode()
    )
    assert not Appointment.objects.exists()


def test_a_second_infusion_the_same_day_is_a_409_naming_the_first(desk, clinic, book):
    patient = make_patient(first="Ria", last="Okafor")
    book(patient, local(A_WEDNESDAY, 14), chair=1, clinician=1)
    query = {"treatment_type": clinic.iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    slot = (
        f"{local(A_WEDNESDAY, 9).astimezone(UTC).isoformat()}|{clinic.chairs[0].pk}|{clinic.clinicians[0].pk}"
    )
    with time_machine.travel(MONDAY_MORNING, tick=False):
        page = desk.get(reverse("scheduling:book", args=[patient.pk]), query)
        response = desk.post(reverse("scheduling:book", args=[patient.pk]), {**query, "slot": slot})
        api = desk.post(
            reverse("scheduling:book", args=[patient.pk]),
            {**query, "slot": slot},
            HTTP_ACCEPT="application/json",
        )
    assert 'name="slot"' not in page.content.decode()  # no time that day is offered to Ria
    assert response.status_code == 409
    assert (
        "Ria Okafor already has IV ketamine infusion on Wed, Mar 3, 2027, 2:00 PM EST"
        in response.content.decode()
    )
    assert api.status_code == 409
    assert api.json()["taken_kind"] == "patient"
    assert Appointment.objects.filter(patient=patient).count() == 1


# --- Series -------------------------------------------------------------------------------------------------------


def _series_form(clinic, start_date: str) -> dict:
    return {
        "template": "iv_ketamine_induction", "treatment_type": clinic.iv.pk, "location": clinic.location.pk,
        "start_date": start_date, "weekdays": ["0", "2", "4"], "local_time": "09:00",
    }  # fmt: skip


def test_a_series_starting_in_the_past_is_a_400_with_a_message(desk, clinic):
    patient = make_patient()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        response = desk.post(
            reverse("scheduling:book_series", args=[patient.pk]), _series_form(clinic, "2027-02-01")
        )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The first week cannot start in the past: choose Mon, Mar 1, 2027 or later" in html
    assert not TreatmentSeries.objects.exists()
    assert not Appointment.objects.exists()


def test_a_series_beyond_the_horizon_is_a_400(desk, clinic, settings):
    settings.SCHEDULING_BOOKING_HORIZON_DAYS = 30
    patient = make_patient()
    with time_machine.travel(MONDAY_MORNING, tick=False):
        response = desk.post(
            reverse("scheduling:book_series", args=[patient.pk]), _series_form(clinic, "2027-06-07")
        )
    assert response.status_code == 400
    assert "The first week is too far ahead" in response.content.decode()


# --- The forms' days ----------------------------------------------------------------------------------------------

# Sunday 7 March 2027, 20:00 in New York: already Monday 01:00 in UTC.
SUNDAY_EVENING_NY = datetime(2027, 3, 7, 20, 0, tzinfo=NY)


def test_the_booking_forms_start_on_tomorrow_at_the_clinic_not_in_utc(desk, clinic):
    patient = make_patient(location=clinic.location)
    with time_machine.travel(SUNDAY_EVENING_NY, tick=False):
        book_page = desk.get(reverse("scheduling:book", args=[patient.pk]))
        series_page = desk.get(reverse("scheduling:book_series", args=[patient.pk]))
    monday = date(2027, 3, 8)
    assert SUNDAY_EVENING_NY.astimezone(UTC).date() + timedelta(days=1) != monday  # UTC's tomorrow is Tuesday
    assert book_page.context["search_form"]["date"].value() == monday
    assert series_page.context["form"]["start_date"].value() == monday
    assert 'value="2027-03-08"' in book_page.content.decode()
