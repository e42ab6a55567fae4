"""Moving a session on the day grid (views.day_move): dropped on a free cell it moves there with the booking
checks and its reminders re-planned; dropped where it clashes it stays, and the answer names the session in the way
and the free cells; bad input, a clinician, or another location's session write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Appointment, Location, Reminder
from tests.factories import A_WEDNESDAY, build_clinic, local, make_patient

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


def key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def move(client, clinic, appointment, *, chair, start, **extra):
    data = {
        "location": clinic.location.pk,
        "appointment": appointment.pk,
        "resource": clinic.chairs[chair].pk,
        "start": key(start),
    }
    return client.post(reverse("scheduling:move_cell"), data, **{**HTMX, **extra})


def test_a_session_dropped_on_a_free_cell_moves_there_and_its_reminders_follow(desk, clinic, book):
    patient = make_patient(first="Mo", last="Ver", location=clinic.location)
    session = book(patient, local(A_WEDNESDAY, 9), chair=0, clinician=1)

    answer = move(desk, clinic, session, chair=2, start=local(A_WEDNESDAY, 13))

    assert answer.status_code == 200, answer.content
    session.refresh_from_db()
    assert (session.resource, session.start_at) == (clinic.chairs[2], local(A_WEDNESDAY, 13))
    assert session.clinician == clinic.clinicians[1]  # free then: kept
    assert session.status == Appointment.Status.BOOKED
    pending = Reminder.objects.filter(appointment=session, status="pending")
    assert pending.exists()
    assert all(r.planned_start_at == local(A_WEDNESDAY, 13) for r in pending)
    assert {r.kind: r.due_at for r in pending}["24h"] == local(A_WEDNESDAY, 13) - timedelta(hours=24)
    body = answer.content.decode()
    assert 'data-outcome="moved"' in body and "Moved Mo Ver" in body


def test_a_move_onto_another_session_stays_put_and_marks_what_is_in_the_way(desk, clinic, book):
    mover = make_patient(first="Mo", last="Ver", location=clinic.location)
    blocker = make_patient(first="Bea", last="Block", location=clinic.location)
    session = book(mover, local(A_WEDNESDAY, 9), chair=0)
    in_the_way = book(blocker, local(A_WEDNESDAY, 14), chair=1, clinician=1)

    # The cell at 13:00 in chair 2 is free, but a two-hour session from there runs into Bea's at 14:00.
    answer = move(desk, clinic, session, chair=1, start=local(A_WEDNESDAY, 13))

    assert answer.status_code == 409
    session.refresh_from_db()
    assert (session.resource, session.start_at) == (clinic.chairs[0], local(A_WEDNESDAY, 9))
    body = answer.content.decode()
    assert f'data-in-the-way="{in_the_way.pk}"' in body
    assert f'data-target="{clinic.chairs[1].pk}@{key(local(A_WEDNESDAY, 13))}"' in body
    free = body.split('data-free="')[1].split('"')[0].split()
    assert free, body
    assert all(cell.split("@")[0].isdigit() for cell in free)
    assert "Move here" in body


def test_a_refused_move_says_why_and_writes_nothing(desk, clinic, book):
    patient = make_patient(first="Mo", last="Ver", location=clinic.location)
    session = book(patient, local(A_WEDNESDAY, 9), chair=0)
    late = move(desk, clinic, session, chair=0, start=local(A_WEDNESDAY, 17))  # ends after closing
    assert late.status_code in (400, 409)
    garbage = desk.post(
        reverse("scheduling:move_cell"),
        {"location": clinic.location.pk, "appointment": "x", "resource": "nope", "start": "soon"},
        **HTMX,
    )
    assert garbage.status_code == 400
    assert 'data-outcome="refused"' in garbage.content.decode()
    session.refresh_from_db()
    assert (session.resource, session.start_at) == (clinic.chairs[0], local(A_WEDNESDAY, 9))


def test_without_javascript_the_day_view_shows_the_outcome(desk, clinic, book):
    patient = make_patient(first="Mo", last="Ver", location=clinic.location)
    session = book(patient, local(A_WEDNESDAY, 9), chair=0)
    data = {
        "location": clinic.location.pk,
        "appointment": session.pk,
        "resource": clinic.chairs[3].pk,
        "start": local(A_WEDNESDAY, 11).isoformat(),
    }
    answer = desk.post(reverse("scheduling:move_cell"), data, follow=True)
    assert answer.redirect_chain[-1][0].endswith(f"date={A_WEDNESDAY.isoformat()}")
    assert "Moved Mo Ver" in answer.content.decode()
    session.refresh_from_db()
    assert session.resource == clinic.chairs[3]


def test_another_locations_session_or_a_clinician_moves_nothing(client, desk, clinic, book, clinician):
    patient = make_patient(first="Mo", last="Ver", location=clinic.location)
    session = book(patient, local(A_WEDNESDAY, 9), chair=0)
    other_location, other_chairs, *_ = build_clinic(chairs=1, clinicians=1)
    across = desk.post(
        reverse("scheduling:move_cell"),
        {
            "location": other_location.pk,
            "appointment": session.pk,
            "resource": other_chairs[0].pk,
            "start": key(local(A_WEDNESDAY, 11)),
        },
        **HTMX,
    )
    assert across.status_code == 404
    client.force_login(clinician)
    assert move(client, clinic, session, chair=2, start=local(A_WEDNESDAY, 11)).status_code in (302, 403, 404)
    session.refresh_from_db()
    assert (session.resource, session.start_at) == (clinic.chairs[0], local(A_WEDNESDAY, 9))
    assert Location.objects.count() == 2


def test_a_move_onto_the_patients_other_infusion_day_marks_that_session(desk, clinic, book):
    patient = make_patient(first="Mo", last="Ver", location=clinic.location)
    session = book(patient, local(A_WEDNESDAY, 9), chair=0)
    thursday = local(A_WEDNESDAY, 9) + timedelta(days=1)
    same_day = book(patient, thursday, chair=1, clinician=1)

    # One infusion a day: Thursday afternoon in a free chair is refused for the patient, not the chair.
    answer = move(desk, clinic, session, chair=2, start=thursday + timedelta(hours=5))

    assert answer.status_code == 409
    assert f'data-in-the-way="{same_day.pk}"' in answer.content.decode()
    session.refresh_from_db()
    assert session.start_at == local(A_WEDNESDAY, 9)
