"""The live day view: the poll answered 304 while nothing changed and the new grid once something did, and the
booking panel an empty cell opens (patients found by a posted search, the gates' verdict, booking, a clash)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from clinic.local_time import format_in_zone
from scheduling import services
from scheduling.models import Appointment, FrontDeskAssignment, RemsEnrollment
from tests.factories import A_WEDNESDAY, NOW, build_clinic, local, make_patient

pytestmark = pytest.mark.django_db

MONDAY_MORNING = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def live_url(clinic, day=A_WEDNESDAY) -> str:
    return reverse("scheduling:day_live") + f"?location={clinic.location.pk}&date={day.isoformat()}"


def cell(clinic, *, chair=0, start=None) -> dict:
    start = start or local(A_WEDNESDAY, 9)
    return {
        "location": clinic.location.pk,
        "resource": clinic.chairs[chair].pk,
        "start": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ"),
    }


# --- Live updates ------------------------------------------------------------------------------------------------


def test_the_poll_says_nothing_changed_with_304_until_another_desk_books(desk, clinic, book, front_desk):
    first = desk.get(live_url(clinic))
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag and "private" in first["Cache-Control"]
    # The page itself carries the same token, so its first poll is already a 304.
    page = desk.get(
        reverse("scheduling:day") + f"?location={clinic.location.pk}&date={A_WEDNESDAY.isoformat()}"
    )
    assert f'data-etag="{etag.replace(chr(34), "&quot;")}"' in page.content.decode()

    unchanged = desk.get(live_url(clinic), HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    patient = make_patient(first="Other", last="Deskbooked", location=clinic.location)
    book(patient, local(A_WEDNESDAY, 10), chair=2)
    changed = desk.get(live_url(clinic), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert "Other Deskbooked" in changed.content.decode()
    assert desk.get(live_url(clinic), HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_a_status_change_or_a_cancellation_changes_the_etag(desk, clinic, book, front_desk):
    patient = make_patient(first="Sam", last="Status", location=clinic.location)
    appointment = book(patient, local(A_WEDNESDAY, 10), chair=1)
    before = desk.get(live_url(clinic))["ETag"]
    services.cancel_appointment(appointment=appointment, cancelled_by=front_desk, reason="Ill", now=NOW)
    after = desk.get(live_url(clinic), HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200
    assert "Cancelled" in after.content.decode()
    # Another day's change leaves this day alone.
    other = make_patient(first="Next", last="Day", location=clinic.location)
    book(other, local(A_WEDNESDAY.replace(day=4), 10), chair=1)
    assert desk.get(live_url(clinic), HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 304


def test_polling_never_keeps_an_idle_desk_signed_in(client, front_desk, clinic, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 15
    client.force_login(front_desk)
    passive = {"HTTP_X_CLINIC_PASSIVE": "1"}
    with time_machine.travel(MONDAY_MORNING, tick=False) as clock:
        assert client.get(live_url(clinic)).status_code == 200  # the page opened: the desk was there
        for _ in range(7):  # 14 minutes of polls and nobody at the desk
            clock.shift(120)
            assert client.get(live_url(clinic), **passive).status_code == 200
        clock.shift(120)  # 16 minutes since the desk last did anything
        signed_out = client.get(live_url(clinic), **passive)
    assert signed_out.status_code == 302
    assert "/accounts/login/" in signed_out["Location"]


def test_a_person_at_the_desk_stays_signed_in(client, front_desk, clinic, settings):
    settings.STAFF_SESSION_IDLE_MINUTES = 15
    client.force_login(front_desk)
    with time_machine.travel(MONDAY_MORNING, tick=False) as clock:
        for _ in range(8):
            clock.shift(120)
            assert client.get(live_url(clinic)).status_code == 200


def test_the_unchanged_poll_is_cheap(desk, clinic, django_assert_max_num_queries):
    etag = desk.get(live_url(clinic))["ETag"]
    # The session's user, the locations this person may see, and the day's version.
    with django_assert_max_num_queries(3):
        assert desk.get(live_url(clinic), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_a_location_out_of_reach_is_a_404_on_the_poll(client, front_desk, clinic, settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    elsewhere = build_clinic()[0]
    FrontDeskAssignment.objects.create(user=front_desk, location=elsewhere)
    client.force_login(front_desk)
    assert client.get(live_url(clinic)).status_code == 404


def test_empty_cells_link_to_the_panel_for_front_desk_only(desk, clinic, client, clinician):
    url = reverse("scheduling:day") + f"?location={clinic.location.pk}&date={A_WEDNESDAY.isoformat()}"
    page = desk.get(url).content.decode()
    assert page.count("data-slot") > 100
    assert "Book Chair" in page
    past = reverse("scheduling:day") + f"?location={clinic.location.pk}&date=2027-02-01"
    assert "data-slot" not in desk.get(past).content.decode()  # nobody books a day that is over
    client.force_login(clinician)
    assert "data-slot" not in client.get(url).content.decode()


def test_a_spravato_session_without_rems_enrollment_says_so_on_the_grid(desk, clinic, book):
    patient = make_patient(first="Rae", last="Lapsed", location=clinic.location)
    enrollment = RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 2, 1))
    book(patient, local(A_WEDNESDAY, 9), chair=1, kind=clinic.spravato)
    url = reverse("scheduling:day") + f"?location={clinic.location.pk}&date={A_WEDNESDAY.isoformat()}"
    assert "No REMS enrollment" not in desk.get(url).content.decode()
    enrollment.delete()  # recorded in error, say
    assert "No REMS enrollment" in desk.get(url).content.decode()


# --- The booking panel -------------------------------------------------------------------------------------------


def test_the_panel_takes_chair_and_time_from_the_cell(desk, clinic):
    response = desk.get(reverse("scheduling:book_cell"), cell(clinic, chair=1), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    when = format_in_zone(local(A_WEDNESDAY, 9), clinic.location.tz)
    assert f"Book {clinic.chairs[1].name}, {when}" in body
    assert "<html" not in body  # the panel alone, for the page to show
    assert f'name="resource" value="{clinic.chairs[1].pk}"' in body
    # Only treatments given in a chair are offered for a chair's cell.
    assert "IV ketamine infusion" in body and "Consultation" not in body


def test_without_javascript_the_panel_is_a_page_and_searches_by_post(desk, clinic):
    make_patient(first="Page", last="Only", location=clinic.location)
    page = desk.get(reverse("scheduling:book_cell"), cell(clinic))
    assert page.status_code == 200
    assert "<html" in page.content.decode() and 'name="q"' in page.content.decode()
    found = desk.post(reverse("scheduling:book_cell"), {**cell(clinic), "q": "only", "action": "search"})
    assert found.status_code == 200
    assert "<html" in found.content.decode() and "Only, Page" in found.content.decode()


def test_a_cell_that_cannot_be_read_is_a_clear_400(desk, clinic):
    bad = {**cell(clinic), "start": "soon"}
    response = desk.get(reverse("scheduling:book_cell"), bad, **HTMX)
    assert response.status_code == 400
    assert "That cell could not be read" in response.content.decode()


def test_the_search_is_posted_and_offers_only_patients_the_desk_may_see(client, front_desk, clinic, settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    elsewhere = build_clinic()[0]
    mine = make_patient(first="Robin", last="Searchable", location=clinic.location)
    hidden = make_patient(first="Robin", last="Elsewhere", location=elsewhere)
    client.force_login(front_desk)
    url = reverse("scheduling:book_cell")
    response = client.post(url, {**cell(clinic), "q": "robin", "action": "search"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Searchable, Robin" in body and f'id="book-patient-{mine.pk}"' in body
    assert "Elsewhere" not in body and f'id="book-patient-{hidden.pk}"' not in body
    # The term is never read from the address: a GET with it finds nobody.
    assert "Searchable" not in client.get(url, {**cell(clinic), "q": "robin"}, **HTMX).content.decode()
    # Naming the hidden patient's id directly is a 404, not a verdict about them.
    assert (
        client.post(
            url, {**cell(clinic), "patient": hidden.pk, "treatment_type": clinic.iv.pk, "action": "check"}
        )
    ).status_code == 404


def test_the_search_term_never_reaches_a_url(desk, clinic):
    """The panel's form posts to an address with no query string; the browser journey checks every request."""
    make_patient(first="Quinn", last="Privacy", location=clinic.location)
    body = desk.get(reverse("scheduling:book_cell"), cell(clinic), **HTMX).content.decode()
    form = body[body.index("<form") : body.index("</form>")]
    assert 'method="post"' in form
    assert f'action="{reverse("scheduling:book_cell")}"' in form
    assert 'name="q"' in form
    searched = desk.post(
        reverse("scheduling:book_cell"), {**cell(clinic), "q": "Privacy", "action": "search"}
    )
    assert searched.status_code == 200
    assert "Privacy, Quinn" in searched.content.decode()


def test_the_search_term_never_reaches_a_log(desk, clinic, caplog):
    make_patient(first="Zebedee", last="Quillfeather", location=clinic.location)
    url = reverse("scheduling:book_cell")
    with caplog.at_level(logging.DEBUG):
        desk.post(url, {**cell(clinic), "q": "Quillfeather", "action": "search"}, **HTMX)
        # Refusals are logged (a 400, a 404): still without the term.
        desk.post(url, {**cell(clinic), "q": "Quillfeather", "action": "book"}, **HTMX)
        desk.post(url, {**cell(clinic), "q": "Quillfeather", "patient": 999999, "action": "check"}, **HTMX)
    assert caplog.records, "expected the 400 and 404 to be logged"
    assert "Quillfeather" not in caplog.text and "Zebedee" not in caplog.text


def test_the_verdict_clear_to_book(desk, clinic):
    patient = make_patient(first="Cleo", last="Cleared", location=clinic.location)
    response = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic), "patient": patient.pk, "treatment_type": clinic.iv.pk, "action": "check"},
        **HTMX,
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Clear to book" in body
    assert not Appointment.objects.filter(patient=patient).exists()  # a check writes nothing


def test_a_returning_patients_usual_treatment_is_chosen_first(desk, clinic, book):
    patient = make_patient(first="Ret", last="Urning", location=clinic.location)
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 2, 1))
    book(patient, local(A_WEDNESDAY.replace(day=8), 9), chair=3, kind=clinic.spravato)  # days apart
    body = desk.post(
        reverse("scheduling:book_cell"), {**cell(clinic), "patient": patient.pk, "action": "check"}, **HTMX
    ).content.decode()
    assert f'<option value="{clinic.spravato.pk}" selected>' in body
    assert "Clear to book" in body
    # A new patient has no usual treatment: nothing is chosen for them, and no verdict is given yet.
    new = make_patient(first="New", last="Comer", location=clinic.location)
    body = desk.post(
        reverse("scheduling:book_cell"), {**cell(clinic), "patient": new.pk, "action": "check"}, **HTMX
    ).content.decode()
    assert " selected>" not in body and "Clear to book" not in body


def test_the_verdict_not_cleared(desk, clinic):
    patient = make_patient(first="Nora", last="Notcleared", eligible=False, location=clinic.location)
    body = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic), "patient": patient.pk, "treatment_type": clinic.iv.pk, "action": "check"},
        **HTMX,
    ).content.decode()
    assert "Not allowed:" in body and "cannot be booked for IV ketamine infusion" in body
    assert "Clear to book" not in body


def test_the_verdict_rems_enrollment_missing(desk, clinic):
    patient = make_patient(first="Remy", last="Unenrolled", location=clinic.location)
    url = reverse("scheduling:book_cell")
    data = {**cell(clinic), "patient": patient.pk, "treatment_type": clinic.spravato.pk, "action": "check"}
    assert "no Spravato REMS enrollment on record" in desk.post(url, data, **HTMX).content.decode()
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 2, 1))
    assert "Clear to book" in desk.post(url, data, **HTMX).content.decode()


def test_the_verdict_warns_of_another_session_that_day(desk, clinic, book):
    patient = make_patient(first="Ivy", last="Twice", location=clinic.location)
    book(patient, local(A_WEDNESDAY, 9), chair=3)
    body = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic, chair=0, start=local(A_WEDNESDAY, 14)), "patient": patient.pk,
         "treatment_type": clinic.iv.pk, "action": "check"},
        **HTMX,
    ).content.decode()  # fmt: skip
    assert "Another session that day:" in body and "IV ketamine infusion" in body


def test_booking_from_the_panel_books_through_the_service(desk, clinic, front_desk):
    patient = make_patient(first="Bea", last="Booked", location=clinic.location)
    response = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic, chair=2), "patient": patient.pk, "treatment_type": clinic.iv.pk, "action": "book"},
        **HTMX,
    )
    assert response.status_code == 201
    appointment = Appointment.objects.get(patient=patient)
    assert appointment.resource == clinic.chairs[2]
    assert appointment.start_at == local(A_WEDNESDAY, 9)
    assert appointment.created_by == front_desk
    assert appointment.reminders.exists()  # the service's outbox rows came with it
    assert "Booked IV ketamine infusion for Bea Booked" in response.content.decode()


def test_booking_without_javascript_goes_back_to_the_day(desk, clinic):
    patient = make_patient(first="Nojs", last="Desk", location=clinic.location)
    response = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic), "patient": patient.pk, "treatment_type": clinic.iv.pk, "action": "book"},
    )
    assert response.status_code == 302
    assert f"date={A_WEDNESDAY.isoformat()}" in response["Location"]
    assert Appointment.objects.filter(patient=patient).count() == 1


def test_a_clash_comes_back_as_the_409_message_in_the_panel(desk, clinic, book):
    first = make_patient(first="Early", last="Bird", location=clinic.location)
    book(first, local(A_WEDNESDAY, 9), chair=0)
    late = make_patient(first="Late", last="Comer", location=clinic.location)
    response = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic, chair=0), "patient": late.pk, "treatment_type": clinic.iv.pk, "action": "book"},
        **HTMX,
    )
    assert response.status_code == 409
    assert "is already booked" in response.content.decode() or "is not free" in response.content.decode()
    assert not Appointment.objects.filter(patient=late).exists()


def test_booking_without_a_patient_is_a_message_and_nothing_written(desk, clinic):
    response = desk.post(
        reverse("scheduling:book_cell"),
        {**cell(clinic), "treatment_type": clinic.iv.pk, "action": "book"},
        **HTMX,
    )
    assert response.status_code == 400
    assert "Choose a patient and a treatment" in response.content.decode()
    assert not Appointment.objects.exists()


def test_a_clinician_may_not_open_the_panel(client, clinician, clinic):
    client.force_login(clinician)
    assert client.get(reverse("scheduling:book_cell"), cell(clinic)).status_code in (403, 404)
