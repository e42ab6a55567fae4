"""Cover for an absent clinician: their sessions handed to free colleagues (same time, same chair), the rest left
for rescheduling, then their time off can be recorded."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from scheduling import selectors, services
from scheduling.models import Allocation, Appointment, ClinicianTimeOff
from tests.factories import A_WEDNESDAY, NOW, local, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fixed_clock():
    """The page reads the real clock: hold it at the tests' NOW, two days before A_WEDNESDAY."""
    with time_machine.travel(NOW, tick=False):
        yield


def _clinician_holds(appointment) -> set[int]:
    return set(
        Allocation.objects.filter(appointment=appointment, kind="clinician", active=True).values_list(
            "clinician_id", flat=True
        )
    )


# --- The service ------------------------------------------------------------------------------------------------


def test_a_hand_over_keeps_time_chair_confirmation_and_reminders(clinic, book, front_desk):
    absent, colleague = clinic.clinicians[0], clinic.clinicians[1]
    appointment = book(make_patient(), local(A_WEDNESDAY, 10))
    appointment = services.confirm_appointment(appointment=appointment, confirmed_by=front_desk, now=NOW)
    reminders_before = sorted(appointment.reminders.values_list("pk", "status", "due_at"))

    handed = services.reassign_clinician(appointment=appointment, clinician=colleague, now=NOW)

    stored = Appointment.objects.get(pk=appointment.pk)
    assert stored.clinician == colleague
    assert (stored.start_at, stored.end_at, stored.resource_id) == (
        appointment.start_at,
        appointment.end_at,
        appointment.resource_id,
    )
    assert stored.status == Appointment.Status.CONFIRMED
    assert stored.confirmed_at is not None
    assert _clinician_holds(stored) == {colleague.pk}
    assert handed.clinician == colleague
    assert sorted(stored.reminders.values_list("pk", "status", "due_at")) == reminders_before
    # The absent clinician is free at that time now: their time off can be recorded.
    ClinicianTimeOff.objects.create(
        clinician=absent, starts_at=local(A_WEDNESDAY, 8), ends_at=local(A_WEDNESDAY, 18)
    )


def test_a_hand_over_to_a_busy_colleague_is_a_conflict_and_changes_nothing(clinic, book):
    appointment = book(make_patient(), local(A_WEDNESDAY, 10), chair=0, clinician=0)
    book(
        make_patient(), local(A_WEDNESDAY, 10), chair=1, clinician=1
    )  # the colleague doses someone else then

    with pytest.raises(services.BookingConflict, match="already with another patient"):
        services.reassign_clinician(appointment=appointment, clinician=clinic.clinicians[1], now=NOW)
    assert Appointment.objects.get(pk=appointment.pk).clinician == clinic.clinicians[0]
    assert _clinician_holds(appointment) == {clinic.clinicians[0].pk}


def test_a_hand_over_asks_every_gate_again(clinic, book, front_desk):
    appointment = book(make_patient(), local(A_WEDNESDAY, 10))
    ClinicianTimeOff.objects.create(
        clinician=clinic.clinicians[1], starts_at=local(A_WEDNESDAY, 8), ends_at=local(A_WEDNESDAY, 18)
    )
    with pytest.raises(services.BookingRefused, match="is on time off then"):
        services.reassign_clinician(appointment=appointment, clinician=clinic.clinicians[1], now=NOW)
    with pytest.raises(services.BookingRefused, match="already has this session"):
        services.reassign_clinician(appointment=appointment, clinician=clinic.clinicians[0], now=NOW)
    services.cancel_appointment(appointment=appointment, reason="Unwell", cancelled_by=front_desk, now=NOW)
    with pytest.raises(services.InvalidTransition, match="cannot be handed to another clinician"):
        services.reassign_clinician(appointment=appointment, clinician=clinic.clinicians[2], now=NOW)
    assert Appointment.objects.get(pk=appointment.pk).clinician == clinic.clinicians[0]


# --- The plan -------------------------------------------------------------------------------------------------


def test_the_plan_proposes_the_first_free_colleague_or_nobody(clinic, book):
    morning = book(make_patient(first="Ana"), local(A_WEDNESDAY, 10), chair=0)
    afternoon = book(make_patient(first="Ben"), local(A_WEDNESDAY, 14), chair=0)
    evening = book(make_patient(first="Cy"), local(A_WEDNESDAY, 16), chair=0)
    book(make_patient(), local(A_WEDNESDAY, 10), chair=1, clinician=1)  # clinician 1 busy at 10:00
    book(make_patient(), local(A_WEDNESDAY, 16), chair=1, clinician=1)  # both colleagues busy at 16:00
    book(make_patient(), local(A_WEDNESDAY, 16), chair=2, clinician=2)

    rows = selectors.cover_plan(
        clinician=clinic.clinicians[0], date_from=A_WEDNESDAY, date_to=A_WEDNESDAY, now=NOW
    )

    assert [(row.appointment.pk, row.cover) for row in rows] == [
        (morning.pk, clinic.clinicians[2]),
        (afternoon.pk, clinic.clinicians[1]),
        (evening.pk, None),
    ]


# --- The page -------------------------------------------------------------------------------------------------


def _page(client, clinic, **extra):
    params = {"clinician": clinic.clinicians[0].pk, "date_from": A_WEDNESDAY, "date_to": A_WEDNESDAY, **extra}
    return client.get(reverse("scheduling:cover"), params)


def test_front_desk_hands_over_a_day_and_the_rest_is_left_to_reschedule(client, clinic, book, front_desk):
    covered = book(make_patient(first="Dara", last="Quinn"), local(A_WEDNESDAY, 10), chair=0)
    stuck = book(make_patient(first="Eli", last="Stone"), local(A_WEDNESDAY, 16), chair=0)
    book(make_patient(), local(A_WEDNESDAY, 16), chair=1, clinician=1)
    book(make_patient(), local(A_WEDNESDAY, 16), chair=2, clinician=2)
    client.force_login(front_desk)

    page = _page(client, clinic)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dara Quinn" in html and "Eli Stone" in html
    assert f'name="cover-{covered.pk}" value="{clinic.clinicians[1].pk}"' in html
    assert f'name="cover-{stuck.pk}"' not in html
    assert reverse("scheduling:reschedule", args=[stuck.pk]) in html

    response = client.post(
        reverse("scheduling:cover"),
        {
            "clinician": clinic.clinicians[0].pk,
            "date_from": A_WEDNESDAY,
            "date_to": A_WEDNESDAY,
            "session": [covered.pk],
            f"cover-{covered.pk}": clinic.clinicians[1].pk,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Handed over 1 session: Wed, Mar 3, 2027, 10:00 AM EST to" in response.content.decode()
    assert Appointment.objects.get(pk=covered.pk).clinician == clinic.clinicians[1]
    assert Appointment.objects.get(pk=stuck.pk).clinician == clinic.clinicians[0]


def test_bad_input_on_the_cover_page_changes_nothing(client, clinic, book, front_desk):
    mine = book(make_patient(), local(A_WEDNESDAY, 10), chair=0, clinician=0)
    theirs = book(make_patient(), local(A_WEDNESDAY, 12), chair=1, clinician=2)
    client.force_login(front_desk)
    url = reverse("scheduling:cover")

    backwards = client.get(
        url, {"clinician": clinic.clinicians[0].pk, "date_from": "2027-03-05", "date_to": "2027-03-01"}
    )
    assert backwards.status_code == 400
    assert "The last day cannot be before the first." in backwards.content.decode()
    far = client.get(
        url, {"clinician": clinic.clinicians[0].pk, "date_from": "9999-12-01", "date_to": "9999-12-31"}
    )
    assert far.status_code == 400
    assert "Choose a day within 10 years of today." in far.content.decode()
    too_long = _page(client, clinic, date_to="2027-06-30")
    assert too_long.status_code == 400
    assert "31 days at most" in too_long.content.decode()

    base = {"clinician": clinic.clinicians[0].pk, "date_from": A_WEDNESDAY, "date_to": A_WEDNESDAY}
    nothing = client.post(url, base, follow=True)
    assert "Tick at least one session to hand over." in nothing.content.decode()
    # Another clinician's session slipped into the form, an unknown session, an unknown colleague.
    response = client.post(
        url,
        {
            **base,
            "session": [theirs.pk, 999999, "9" * 30, "x", mine.pk],
            f"cover-{theirs.pk}": clinic.clinicians[1].pk,
            "cover-999999": clinic.clinicians[1].pk,
            f"cover-{mine.pk}": "nobody",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "is no longer" in page
    assert "could not be read" in page
    assert "Handed over" not in page
    assert Appointment.objects.get(pk=mine.pk).clinician == clinic.clinicians[0]
    assert Appointment.objects.get(pk=theirs.pk).clinician == clinic.clinicians[2]


def test_only_front_desk_and_clinic_admins_arrange_cover(client, clinic, clinician, patient, clinic_admin):
    url = reverse("scheduling:cover")
    assert client.get(url).status_code == 302  # to sign-in
    for person in (clinician, patient):
        client.force_login(person)
        assert client.get(url).status_code == 404
    client.force_login(clinic_admin)
    assert client.get(url).status_code == 200


def test_the_plan_reads_the_holds_as_they_are_in_a_few_queries(clinic, book, django_assert_max_num_queries):
    """A session off the slot grid (10:05) still finds cover; a whole day of sessions costs the same few queries."""
    off_grid = book(make_patient(), local(A_WEDNESDAY, 10, 5), chair=0)
    for hour, chair in ((8, 1), (12, 2), (14, 3), (16, 4)):
        book(make_patient(), local(A_WEDNESDAY, hour), chair=chair)
    with django_assert_max_num_queries(6):
        rows = selectors.cover_plan(
            clinician=clinic.clinicians[0], date_from=A_WEDNESDAY, date_to=A_WEDNESDAY, now=NOW
        )
    assert len(rows) == 5
    assert next(row for row in rows if row.appointment.pk == off_grid.pk).cover == clinic.clinicians[1]
    assert all(row.cover == clinic.clinicians[1] for row in rows)
