"""The day with clinicians as columns (blocks sized to their holds: dosing, and Spravato's discharge check), and the
day sheet to print."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Appointment, FrontDeskAssignment, RemsEnrollment
from tests.factories import A_WEDNESDAY, NY, build_clinic, local, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def url(clinic, name="scheduling:day", **extra) -> str:
    query = "&".join(
        f"{k}={v}" for k, v in {"location": clinic.location.pk, "date": "2027-03-03", **extra}.items()
    )
    return f"{reverse(name)}?{query}"


def test_clinicians_as_columns_with_blocks_sized_to_their_holds(desk, clinic, book):
    spravato = make_patient(first="Sol", last="Spray")
    RemsEnrollment.objects.create(patient=spravato, enrolled_on=date(2027, 1, 5))
    book(spravato, local(A_WEDNESDAY, 9), chair=0, clinician=0, kind=clinic.spravato)
    book(make_patient(first="Ivy", last="Drip"), local(A_WEDNESDAY, 9), chair=1, clinician=1)

    response = desk.get(url(clinic, by="clinician"))

    assert response.status_code == 200
    schedule = response.context["schedule"]
    names = [column.name for column in schedule.resources]
    # Every clinician working here that day has a column (front desk books from its free cells).
    assert names == sorted(str(clinician) for clinician in clinic.clinicians)
    blocks = {
        (
            schedule.resources[col].name,
            cell.entry.patient_name,
            cell.entry.start_at.astimezone(NY).time(),
            cell.rows,
        )
        for row in schedule.rows
        for col, cell in enumerate(row.cells)
        if cell is not None and cell.entry is not None
    }
    first, second = str(clinic.clinicians[0]), str(clinic.clinicians[1])
    assert blocks == {
        (first, "Sol Spray", time(9, 10), 2),  # dosing 9:10-9:25 over the 9:00 and 9:15 rows
        (first, "Sol Spray", time(11, 30), 1),  # the discharge check 11:30-11:40
        (second, "Ivy Drip", time(9, 15), 3),  # IV dosing 9:15-10:00
    }
    html = response.content.decode()
    assert "discharge check" in html and "dosing" in html
    third = clinic.clinicians[2]
    # A free cell books that clinician at that time; the chair is left to the panel.
    assert (
        f'href="{reverse("scheduling:book_cell")}?location={clinic.location.pk}&amp;start=2027-03-03T14:00Z&amp;by=clinician&amp;clinician={third.pk}" data-slot>'
        in html
    )


def test_the_clinician_view_polls_with_its_own_etag(desk, clinic, book):
    chair_etag = desk.get(url(clinic)).context["etag"]
    clinician_page = desk.get(url(clinic, by="clinician"))
    etag = clinician_page.context["etag"]
    assert etag != chair_etag
    live = url(clinic, "scheduling:day_live", by="clinician")
    assert desk.get(live, HTTP_IF_NONE_MATCH=etag).status_code == 304
    book(make_patient(first="Neo", last="Newcomer"), local(A_WEDNESDAY, 12))
    changed = desk.get(live, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "Neo Newcomer" in changed.content.decode()


def test_the_day_sheet_lists_sessions_in_time_order_with_badges(desk, clinic, book):
    book(make_patient(first="Later", last="One"), local(A_WEDNESDAY, 13), chair=0)
    book(make_patient(first="Early", last="Two"), local(A_WEDNESDAY, 8), chair=1, clinician=1)

    response = desk.get(url(clinic, "scheduling:day_sheet"))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Early Two") < html.index("Later One")
    assert html.count('data-clearance="cleared"') == 2
    assert "data-print" in html


def test_another_locations_day_is_a_404_in_every_view(client, front_desk, clinic, settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    FrontDeskAssignment.objects.create(user=front_desk, location=build_clinic()[0])
    client.force_login(front_desk)
    for address in (url(clinic, by="clinician"), url(clinic, "scheduling:day_sheet")):
        assert client.get(address).status_code == 404, address


def test_a_clinician_cell_opens_the_panel_with_that_clinician_and_books_the_first_free_chair(
    desk, clinic, book
):
    book(make_patient(first="In", last="Chairone"), local(A_WEDNESDAY, 9), chair=0, clinician=0)
    patient = make_patient(first="Cleo", last="Clinview", location=clinic.location)
    chosen = clinic.clinicians[2]
    cell = {
        "location": clinic.location.pk,
        "start": "2027-03-03T14:00Z",  # 9:00 AM in New York
        "by": "clinician",
        "clinician": chosen.pk,
    }
    htmx = {"HTTP_HX_REQUEST": "true"}

    panel = desk.get(reverse("scheduling:book_cell"), cell, **htmx).content.decode()

    assert f"Book with {chosen}" in panel
    assert f'<option value="{chosen.pk}" selected>' in panel  # the clinician taken from the cell
    assert 'name="resource"' in panel and "The first free chair or room" in panel
    checked = desk.post(
        reverse("scheduling:book_cell"),
        {**cell, "patient": patient.pk, "treatment_type": clinic.iv.pk, "action": "check"},
        **htmx,
    ).content.decode()
    assert f"passed; {clinic.chairs[1].name} with" in checked  # Chair 1 is taken at 9:00: the next free one
    booked = desk.post(
        reverse("scheduling:book_cell"),
        {**cell, "patient": patient.pk, "treatment_type": clinic.iv.pk, "action": "book"},
        **htmx,
    )
    assert booked.status_code == 201
    appointment = Appointment.objects.get(patient=patient)
    assert (appointment.clinician, appointment.resource) == (chosen, clinic.chairs[1])


def test_a_chair_chosen_in_the_clinician_panel_is_the_one_booked(desk, clinic):
    patient = make_patient(first="Cy", last="Chooser", location=clinic.location)
    chosen = clinic.clinicians[1]
    booked = desk.post(
        reverse("scheduling:book_cell"),
        {
            "location": clinic.location.pk,
            "start": "2027-03-03T14:00Z",
            "by": "clinician",
            "clinician": chosen.pk,
            "resource": clinic.chairs[3].pk,
            "patient": patient.pk,
            "treatment_type": clinic.iv.pk,
            "action": "book",
        },
        HTTP_HX_REQUEST="true",
    )
    assert booked.status_code == 201
    appointment = Appointment.objects.get(patient=patient)
    assert (appointment.clinician, appointment.resource) == (chosen, clinic.chairs[3])


def test_a_cell_naming_neither_chair_nor_clinician_is_a_400(desk, clinic):
    response = desk.get(
        reverse("scheduling:book_cell"),
        {"location": clinic.location.pk, "start": "2027-03-03T14:00Z"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert "The cell names neither a chair nor a clinician." in response.content.decode()
