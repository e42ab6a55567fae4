"""The week view: a grid of chairs and rooms by day, each session in its chair's cell of its day with its status and
badges, kept live like the day view (304 while nothing changed), within each person's locations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling import services
from scheduling.models import Closure, FrontDeskAssignment
from tests.factories import A_WEDNESDAY, build_clinic, local, make_patient

pytestmark = pytest.mark.django_db

MONDAY = date(2027, 3, 1)


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def week_url(clinic, name="scheduling:week", start=A_WEDNESDAY) -> str:
    return reverse(name) + f"?location={clinic.location.pk}&start={start.isoformat()}"


def test_each_session_is_in_its_chairs_cell_of_its_day(desk, clinic, book):
    book(make_patient(first="Wed", last="Chairone"), local(A_WEDNESDAY, 9), chair=0)
    book(make_patient(first="Fri", last="Chairthree"), local(A_WEDNESDAY + timedelta(days=2), 13), chair=2)
    Closure.objects.create(location=clinic.location, date=MONDAY + timedelta(days=6), reason="Staff training")

    response = desk.get(week_url(clinic))  # any day of the week shows its Monday to Sunday

    assert response.status_code == 200
    grid = response.context["grid"]
    assert grid.week_start == MONDAY
    assert [day.day for day in grid.days] == [MONDAY + timedelta(days=n) for n in range(7)]
    placed = {
        (row.resource.name, cell.day, entry.patient_name)
        for row in grid.rows
        for cell in row.cells
        for entry in cell.entries
    }
    assert placed == {
        ("Chair 1", A_WEDNESDAY, "Wed Chairone"),
        ("Chair 3", A_WEDNESDAY + timedelta(days=2), "Fri Chairthree"),
    }
    html = response.content.decode()
    assert "Closed: Staff training" in html
    assert 'data-clearance="cleared">Cleared<' in html
    assert (
        html.count('class="appt appt-booked week-block tblock ') == 2
    )  # coloured by status, and said in words:
    assert '<span class="fw-semibold">Booked</span>' in html


def test_the_week_poll_is_304_until_something_changes(desk, clinic, book, front_desk):
    page = desk.get(week_url(clinic))
    etag = page.context["etag"]
    assert desk.get(week_url(clinic, "scheduling:week_live"), HTTP_IF_NONE_MATCH=etag).status_code == 304

    appointment = book(make_patient(first="New", last="Arrival"), local(A_WEDNESDAY + timedelta(days=1), 9))
    changed = desk.get(week_url(clinic, "scheduling:week_live"), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert "New Arrival" in changed.content.decode()
    assert "private" in changed["Cache-Control"]
    again = changed["ETag"]
    assert desk.get(week_url(clinic, "scheduling:week_live"), HTTP_IF_NONE_MATCH=again).status_code == 304

    services.mark_no_show(
        appointment=appointment, marked_by=front_desk, now=local(A_WEDNESDAY + timedelta(days=1), 10)
    )
    after = desk.get(week_url(clinic, "scheduling:week_live"), HTTP_IF_NONE_MATCH=again)
    assert after.status_code == 200
    assert "New Arrival" not in after.content.decode()  # a no-show no longer holds its chair


def test_a_session_of_another_week_changes_nothing(desk, clinic, book):
    etag = desk.get(week_url(clinic)).context["etag"]
    book(make_patient(), local(A_WEDNESDAY + timedelta(days=7), 9))
    assert desk.get(week_url(clinic, "scheduling:week_live"), HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_another_location_is_a_404_and_a_patient_never_sees_the_week(
    client, front_desk, clinic, settings, patient
):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    elsewhere = build_clinic()[0]
    FrontDeskAssignment.objects.create(user=front_desk, location=elsewhere)
    client.force_login(front_desk)
    assert client.get(week_url(clinic)).status_code == 404
    assert client.get(week_url(clinic, "scheduling:week_live")).status_code == 404
    client.force_login(patient)
    assert client.get(week_url(clinic, "scheduling:week_live")).status_code == 404


def test_the_week_and_its_poll_stay_within_a_query_budget(desk, clinic, book, django_assert_max_num_queries):
    for n in range(5):
        book(make_patient(), local(MONDAY + timedelta(days=n), 9), chair=n)
    etag = desk.get(week_url(clinic)).context["etag"]
    # The signed-in user, the locations, the seven day statements and the week's version.
    with django_assert_max_num_queries(10):
        assert desk.get(week_url(clinic)).status_code == 200
    with django_assert_max_num_queries(3):
        assert desk.get(week_url(clinic, "scheduling:week_live"), HTTP_IF_NONE_MATCH=etag).status_code == 304
