"""Front-desk pages through Django's test client: role gates, booking flows, 409 on conflict, query budgets."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling import selectors, services
from scheduling.models import Allocation, Appointment, RemsEnrollment, TreatmentSeries
from tests.factories import A_WEDNESDAY, NY, give_cleared_intake, local, make_patient

pytestmark = pytest.mark.django_db

# The pages read the real clock: travel to a fixed Monday morning, two days before A_WEDNESDAY.
MONDAY_MORNING = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def test_front_desk_home_is_the_day_view(desk, clinic, book):
    book(make_patient(first="Alex", last="Morgan"), local(date(2027, 3, 1), 9))
    response = desk.get(reverse("scheduling:today"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mon, Mar 1, 2027" in html
    assert "Alex Morgan" in html
    assert "Chair 1" in html and "Chair 6" in html
    assert "Booked" in html  # the status in words, not only colour
    assert "9:00 AM–11:00 AM" in html


def test_pages_are_404_for_patients_and_other_patients_appointments(client, clinic, book, patient):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    client.force_login(patient)
    for name, args in [
        ("scheduling:today", []),
        ("scheduling:day", []),
        ("scheduling:week", []),
        ("scheduling:patient_search", []),
        ("scheduling:appointment_detail", [appointment.pk]),
        ("scheduling:appointment_ics", [appointment.pk]),
        ("scheduling:book", [appointment.patient_id]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 404, name


def test_a_patient_downloads_their_own_ics_without_treatment_details(client, clinic, book, patient):
    mine = patient.patient
    give_cleared_intake(mine)
    appointment = book(mine, local(A_WEDNESDAY, 9))
    client.force_login(patient)
    response = client.get(reverse("scheduling:appointment_ics", args=[appointment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert "DTSTART:20270303T140000Z" in body
    assert "infusion" not in body.lower() and "ketamine" not in body.lower()


def test_clinicians_see_the_day_but_not_front_desk_home(client, clinic, clinician):
    client.force_login(clinician)
    assert client.get(reverse("scheduling:today")).status_code == 404
    assert client.get(reverse("scheduling:day")).status_code == 200


def test_patient_search_is_a_post_so_names_stay_out_of_urls(desk, clinic):
    make_patient(first="Bea", last="Lindqvist")
    response = desk.post(reverse("scheduling:patient_search"), {"q": "lindq"})
    assert response.status_code == 200
    assert "Lindqvist, Bea" in response.content.decode()
    empty = desk.post(reverse("scheduling:patient_search"), {"q": ""})
    assert "Please check" in empty.content.decode()


def test_book_a_single_session_end_to_end(desk, clinic):
    patient = make_patient()
    iv = clinic.iv
    query = {"treatment_type": iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    page = desk.get(reverse("scheduling:book", args=[patient.pk]), query)
    assert page.status_code == 200
    keys = re.findall(r'name="slot" value="([^"]+)"', page.content.decode())
    assert keys, "free times are offered as radio buttons"
    nine = next(k for k in keys if k.startswith(local(A_WEDNESDAY, 9).astimezone(UTC).isoformat()))
    response = desk.post(reverse("scheduling:book", args=[patient.pk]), {**query, "slot": nine, "notes": ""})
    assert response.status_code == 302
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.start_at == local(A_WEDNESDAY, 9)
    assert response["Location"] == reverse("scheduling:appointment_detail", args=[appointment.pk])


def test_a_taken_time_answers_409_with_the_taken_chair_and_alternatives(desk, clinic, book):
    patient = make_patient()
    iv = clinic.iv
    query = {"treatment_type": iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    page = desk.get(reverse("scheduling:book", args=[patient.pk]), query)
    nine = next(
        k for k in re.findall(r'name="slot" value="([^"]+)"', page.content.decode())
        if k.startswith(local(A_WEDNESDAY, 9).astimezone(UTC).isoformat())
    )  # fmt: skip
    book(make_patient(), local(A_WEDNESDAY, 9))  # someone else takes it meanwhile (chair 1, clinician 1)
    response = desk.post(reverse("scheduling:book", args=[patient.pk]), {**query, "slot": nine})
    assert response.status_code == 409
    html = response.content.decode()
    assert "That time is no longer free" in html
    assert "Chair 1 is already booked" in html
    assert "Nearest free times" in html
    api = desk.post(
        reverse("scheduling:book", args=[patient.pk]), {**query, "slot": nine}, HTTP_ACCEPT="application/json"
    )
    assert api.status_code == 409
    assert api.json()["taken"] == "Chair 1"
    assert api.json()["alternatives"]


def test_a_garbage_slot_is_a_400_with_a_message_not_a_500(desk, clinic):
    patient = make_patient()
    query = {"treatment_type": clinic.iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()}
    response = desk.post(reverse("scheduling:book", args=[patient.pk]), {**query, "slot": "nonsense|x|y"})
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_book_a_series_propose_then_confirm(desk, clinic):
    patient = make_patient()
    form = {
        "template": "iv_ketamine_induction",
        "treatment_type": clinic.iv.pk,
        "location": clinic.location.pk,
        "start_date": "2027-03-08",
        "weekdays": ["0", "2", "4"],
        "local_time": "09:00",
    }
    proposal = desk.post(reverse("scheduling:book_series", args=[patient.pk]), form)
    assert proposal.status_code == 200
    html = proposal.content.decode()
    assert "Book all 6 sessions" in html
    assert "Mon, Mar 15, 2027, 9:00 AM EDT" in html  # after the DST change, still 09:00 local
    assert not Appointment.objects.exists()  # nothing is booked by proposing
    token = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
    response = desk.post(reverse("scheduling:book_series", args=[patient.pk]), {"proposal": token})
    assert response.status_code == 302
    assert Appointment.objects.filter(patient=patient).count() == 6
    assert {a.start_at.astimezone(NY).time() for a in Appointment.objects.filter(patient=patient)} == {
        time(9)
    }


def test_series_confirm_after_a_clash_books_nothing_and_proposes_again(desk, clinic, book):
    patient = make_patient()
    form = {
        "template": "iv_ketamine_induction", "treatment_type": clinic.iv.pk, "location": clinic.location.pk,
        "start_date": "2027-03-08", "weekdays": ["0", "2", "4"], "local_time": "09:00",
    }  # fmt: skip
    html = desk.post(reverse("scheduling:book_series", args=[patient.pk]), form).content.decode()
    token = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
    book(make_patient(), local(date(2027, 3, 12), 9))  # chair 1 / clinician 1 on session 3, taken meanwhile
    response = desk.post(reverse("scheduling:book_series", args=[patient.pk]), {"proposal": token})
    assert response.status_code == 409
    assert "Session 3" in response.content.decode()
    assert not TreatmentSeries.objects.exists()
    assert not Appointment.objects.filter(patient=patient).exists()


def test_a_tampered_series_proposal_is_refused(desk, clinic):
    patient = make_patient()
    response = desk.post(reverse("scheduling:book_series", args=[patient.pk]), {"proposal": "forged"})
    assert response.status_code == 302
    assert not Appointment.objects.exists()


def test_series_with_wrong_weekdays_shows_the_error_next_to_the_field(desk, clinic):
    patient = make_patient()
    response = desk.post(
        reverse("scheduling:book_series", args=[patient.pk]),
        {"template": "iv_ketamine_induction", "treatment_type": clinic.iv.pk, "location": clinic.location.pk,
         "start_date": "2027-03-08", "weekdays": ["0"], "local_time": "09:00"},
    )  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "choose 3 different weekdays" in html
    assert 'href="#id_weekdays' in html  # the summary links to the field


def test_reschedule_cancel_and_no_show_pages(desk, clinic, book, front_desk):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    page = desk.get(reverse("scheduling:reschedule", args=[appointment.pk]))
    assert page.status_code == 200
    keys = re.findall(r'name="slot" value="([^"]+)"', page.content.decode())
    one_pm = next(k for k in keys if k.startswith(local(A_WEDNESDAY, 13).astimezone(UTC).isoformat()))
    moved = desk.post(
        reverse("scheduling:reschedule", args=[appointment.pk]),
        {"date": A_WEDNESDAY.isoformat(), "slot": one_pm},
    )
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start_at == local(A_WEDNESDAY, 13)

    missing = desk.post(reverse("scheduling:cancel", args=[appointment.pk]), {"reason": ""})
    assert missing.status_code == 400
    cancelled = desk.post(reverse("scheduling:cancel", args=[appointment.pk]), {"reason": "Patient unwell"})
    assert cancelled.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.cancellation_reason == "Patient unwell"
    assert not Allocation.objects.filter(appointment=appointment, active=True).exists()

    other = book(make_patient(), local(date(2027, 3, 1), 8))
    with time_machine.travel(local(date(2027, 3, 1), 8, 30), tick=False):
        desk.logout()  # staff sessions expire after idle time and this jump is longer: a fresh sign-in
        desk.force_login(front_desk)
        desk.post(reverse("scheduling:no_show", args=[other.pk]))
    other.refresh_from_db()
    assert other.status == "no_show"


def test_an_invalid_transition_is_refused_with_a_message(desk, clinic, book):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    response = desk.post(
        reverse("scheduling:transition", args=[appointment.pk]), {"to": "discharged"}, follow=True
    )
    assert "cannot be marked discharged" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "booked"
    api = desk.post(
        reverse("scheduling:transition", args=[appointment.pk]),
        {"to": "discharged"},
        HTTP_ACCEPT="application/json",
    )
    assert api.status_code == 409


def test_unconfirmed_list_for_tomorrow(desk, clinic, book, front_desk):
    tuesday = date(2027, 3, 2)
    waiting = book(make_patient(first="Carlos", last="Mendes"), local(tuesday, 9))
    confirmed = book(make_patient(first="Hana", last="Sato"), local(tuesday, 9), chair=1, clinician=1)
    services.confirm_appointment(appointment=confirmed, confirmed_by=front_desk)
    html = desk.get(reverse("scheduling:unconfirmed")).content.decode()
    assert "Carlos Mendes" in html
    assert "Hana Sato" not in html
    desk.post(reverse("scheduling:transition", args=[waiting.pk]), {"to": "confirmed"})
    waiting.refresh_from_db()
    assert waiting.status == "confirmed"


def test_patient_detail_and_rems_recording(desk, clinic):
    patient = make_patient(first="Dana", last="Whitfield")
    page = desk.get(reverse("scheduling:patient_detail", args=[patient.pk]))
    assert "Not recorded" in page.content.decode()
    desk.post(reverse("scheduling:record_rems", args=[patient.pk]), {"enrolled_on": "2027-02-01"})
    assert RemsEnrollment.objects.get(patient=patient).enrolled_on == date(2027, 2, 1)


def test_every_page_renders_for_front_desk(desk, clinic, book):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    for url in [
        reverse("scheduling:week"),
        reverse("scheduling:day") + f"?location={clinic.location.pk}&date=2027-03-03",
        reverse("scheduling:unconfirmed"),
        reverse("scheduling:patient_search"),
        reverse("scheduling:book", args=[appointment.patient_id]),
        reverse("scheduling:book_series", args=[appointment.patient_id]),
        reverse("scheduling:appointment_detail", args=[appointment.pk]),
        reverse("scheduling:cancel", args=[appointment.pk]),
        reverse("scheduling:reschedule", args=[appointment.pk]),
        reverse("scheduling:session_day", args=[appointment.pk]),
        reverse("scheduling:session_summary", args=[appointment.pk]),
        reverse("scheduling:patient_detail", args=[appointment.patient_id]),
        reverse("scheduling:waitlist"),
        reverse("scheduling:rems_forms_due"),
    ]:
        response = desk.get(url)
        assert response.status_code == 200, url
        assert b'<main id="main"' in response.content


# --- Query budgets with a year of appointments on six chairs ------------------------------------------------------


@pytest.fixture
def a_year_of_sessions(clinic, front_desk):
    """Four sessions a day on each of six chairs for a year, written directly (the services are tested above)."""
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    iv = clinic.iv
    patients = [make_patient() for _ in range(24)]
    appointments, day = [], date(2026, 9, 1)
    while day < date(2027, 9, 1):
        for chair_index, chair in enumerate(clinic.chairs):
            for slot in range(4):
                start = local(day, 8) + timedelta(hours=2 * slot + (chair_index % 2))
                appointments.append(
                    Appointment(
                        patient=patients[(chair_index * 4 + slot) % 24],
                        location=clinic.location,
                        treatment_type=iv,
                        resource=chair,
                        clinician=clinic.clinicians[chair_index % 3],
                        start_at=start,
                        end_at=start + timedelta(minutes=110),
                    )  # fmt: skip
                )
        day += timedelta(days=1)
    Appointment.objects.bulk_create(appointments, batch_size=2000)
    Allocation.objects.bulk_create(
        (
            Allocation(
                appointment=a,
                kind="resource",
                resource_id=a.resource_id,
                span=DateTimeTZRange(a.start_at, a.end_at),
            )
            for a in appointments
        ),
        batch_size=2000,
    )
    return len(appointments)


def test_day_and_week_views_stay_within_a_query_budget(
    desk, clinic, a_year_of_sessions, django_assert_max_num_queries
):
    assert a_year_of_sessions > 8000
    location = clinic.location.pk
    desk.get(reverse("scheduling:week") + f"?location={location}")  # the session's first save, after sign-in
    # The signed-in user, the active locations (the picker and the chosen one), and the day: its sessions with the
    # calendar and every name the page shows, in one query.
    with django_assert_max_num_queries(3):
        day = desk.get(reverse("scheduling:day") + f"?location={location}&date=2027-03-03")
    assert day.status_code == 200
    assert day.content.decode().count('class="appt appt-booked"') >= 24
    with django_assert_max_num_queries(12):
        week = desk.get(reverse("scheduling:week") + f"?location={location}&start=2027-03-01")
    assert week.status_code == 200
    with django_assert_max_num_queries(12):
        assert desk.get(reverse("scheduling:unconfirmed") + f"?location={location}").status_code == 200
    with django_assert_max_num_queries(3):
        assert desk.get(reverse("scheduling:today")).status_code == 200


def test_availability_for_a_month_with_a_full_year_booked_is_two_queries(
    clinic, a_year_of_sessions, django_assert_max_num_queries
):
    iv = clinic.iv
    with django_assert_max_num_queries(2):
        selectors.available_slots(
            location=clinic.location, treatment_type=iv, date_from=date(2027, 3, 1), date_to=date(2027, 3, 31),
            now=MONDAY_MORNING,
        )  # fmt: skip


def test_the_patient_portal_partial_lists_upcoming_sessions_with_preparation(clinic, book, patient):
    from django.template.loader import render_to_string

    mine = patient.patient
    give_cleared_intake(mine)
    book(mine, local(A_WEDNESDAY, 9))
    html = render_to_string(
        "scheduling/_patient_upcoming.html",
        {"appointments": selectors.upcoming_appointments_for_patient(mine, now=MONDAY_MORNING)},
    )
    assert "Wed, Mar 3, 2027, 9:00 AM EST" in html
    assert "Do not eat for 6 hours" in html  # the preparation instructions
    assert "Add to my calendar" in html
    empty = render_to_string("scheduling/_patient_upcoming.html", {"appointments": []})
    assert "You have no upcoming appointments." in empty


def test_a_day_with_no_free_time_points_to_the_next_available(desk, clinic):
    from scheduling.models import Closure

    Closure.objects.create(location=clinic.location, date=A_WEDNESDAY, reason="Training")
    patient = make_patient()
    page = desk.get(
        reverse("scheduling:book", args=[patient.pk]),
        {"treatment_type": clinic.iv.pk, "location": clinic.location.pk, "date": A_WEDNESDAY.isoformat()},
    )
    html = page.content.decode()
    assert "No free time on this day" in html
    assert "Next available:</strong> Thu, Mar 4, 2027, 8:00 AM EST" in html
    assert "date=2027-03-04" in html
