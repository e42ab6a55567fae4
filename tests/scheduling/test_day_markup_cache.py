"""The day view's sessions are made once and kept in the cache for every reader of the same day
(``views.day_live.day_markup``): whatever changes, the next request shows it, and each reader's forms carry their own
CSRF token, never another's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]  # reads a token's secret
from django.test import Client, override_settings
from django.urls import reverse

from clinic.roles import Role
from intake.models import IntakeSubmission
from review.decisions import record_decision
from scheduling import services
from scheduling.models import FrontDeskAssignment
from tests.clinic.test_translation import write_mo
from tests.factories import A_WEDNESDAY, Clinic, build_clinic, give_rescreen, local, make_patient, make_user

pytestmark = pytest.mark.django_db

# The session's day, before its sessions start: front desk's arrivals list is today's.
WEDNESDAY_EARLY = local(A_WEDNESDAY, 7)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(WEDNESDAY_EARLY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def day_page(client, clinic, *, by_clinician=False, **headers) -> str:
    url = reverse("scheduling:day") + f"?location={clinic.location.pk}&date={A_WEDNESDAY.isoformat()}"
    response = client.get(url + ("&by=clinician" if by_clinician else ""), **headers)
    assert response.status_code == 200
    return response.content.decode()


def cell_of(html: str, name: str) -> str:
    """The day grid's cell for ``name``'s session (the grid comes after the small-screen list)."""
    grid = html[html.index('class="table table-sm day-grid"') :]
    start = grid.index(name)
    return grid[grid.rindex("<td", 0, start) : grid.index("</td>", start)]


def test_a_booking_a_cancellation_and_a_check_in_show_on_the_next_request(desk, clinic, book, front_desk):
    first = make_patient(first="Ada", last="Early")
    appointment = book(first, local(A_WEDNESDAY, 9), chair=0)
    assert "Ada Early" in day_page(desk, clinic)

    book(make_patient(first="Ben", last="Later"), local(A_WEDNESDAY, 11), chair=1, clinician=1)
    assert "Ben Later" in day_page(desk, clinic)

    services.check_in(appointment=appointment, checked_in_by=front_desk, now=local(A_WEDNESDAY, 8))
    assert "Checked in" in cell_of(day_page(desk, clinic), "Ada Early")

    services.cancel_appointment(
        appointment=appointment, cancelled_by=front_desk, reason="Unwell", now=local(A_WEDNESDAY, 8)
    )
    html = day_page(desk, clinic)
    assert (
        "Ada Early" not in html[html.index('class="table table-sm day-grid"') :].split("cancelled-heading")[0]
    )
    assert "(Unwell)" in html[html.index('id="cancelled-heading"') :]


def test_a_new_risk_alert_or_eligibility_decision_shows_on_the_next_request(desk, clinic, book):
    patient = make_patient(first="Rae", last="Risk")
    book(patient, local(A_WEDNESDAY, 9), chair=0)
    before = cell_of(day_page(desk, clinic), "Rae Risk")
    assert "Suicide risk" not in before and "Cleared" in before

    give_rescreen(patient, at=datetime(2027, 3, 2, tzinfo=UTC), cssrs_risk="high")
    assert "Suicide risk: High risk" in cell_of(day_page(desk, clinic), "Rae Risk")

    # A newer intake waits for a clinician's decision; their decision is shown as soon as it is recorded.
    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=patient,
        submitted_at=datetime(2027, 3, 2, 1, tzinfo=UTC),
        answers={},
        findings=[],
    )
    assert "Clearance pending" in cell_of(day_page(desk, clinic), "Rae Risk")
    reviewer = make_user(Role.CLINICIAN, email="decider@example.org")
    record_decision(
        patient=patient,
        decided_by=reviewer,
        outcome="not_eligible",
        reason="Uncontrolled hypertension",
        now=datetime(2027, 3, 2, 2, tzinfo=UTC),
    )
    assert "Not cleared" in cell_of(day_page(desk, clinic), "Rae Risk")


def test_a_renamed_chair_or_clinician_shows_on_the_next_request(desk, clinic, book):
    book(make_patient(first="Cy", last="Chair"), local(A_WEDNESDAY, 9), chair=0, clinician=0)
    chair, clinician_user = clinic.chairs[0], clinic.clinicians[0].user
    assert f'<th scope="col">{chair.name}</th>' in day_page(desk, clinic)
    assert clinician_user.full_name in day_page(desk, clinic, by_clinician=True)

    chair.name = "Window chair"
    chair.save(update_fields=["name"])
    clinician_user.full_name = "Dr Renamed"
    clinician_user.save(update_fields=["full_name"])
    assert '<th scope="col">Window chair</th>' in day_page(desk, clinic)
    assert '<th scope="col">Dr Renamed' in day_page(desk, clinic, by_clinician=True)


def test_the_no_show_button_and_freed_times_follow_the_clock(desk, clinic, book, front_desk, _clock):
    late = book(make_patient(first="Noe", last="Show"), local(A_WEDNESDAY, 9), chair=0)
    freed = book(make_patient(first="Fay", last="Freed"), local(A_WEDNESDAY, 13), chair=1, clinician=1)
    services.cancel_appointment(
        appointment=freed, cancelled_by=front_desk, reason="Away", now=WEDNESDAY_EARLY
    )
    no_show = reverse("scheduling:no_show", args=[late.pk])
    html = day_page(desk, clinic)
    assert no_show not in html  # offered from the session's start only
    assert 'id="freed-heading"' in html

    _clock.move_to(local(A_WEDNESDAY, 9, 5))
    desk.logout()  # a staff session ends after idle time: sign in again
    desk.force_login(front_desk)
    html = day_page(desk, clinic)
    assert no_show in html
    assert 'id="freed-heading"' in html

    _clock.move_to(local(A_WEDNESDAY, 13, 5))
    desk.logout()
    desk.force_login(front_desk)
    assert 'id="freed-heading"' not in day_page(desk, clinic)  # the freed time has passed


def test_another_language_gets_its_own_words(desk, clinic, book, tmp_path):
    book(make_patient(first="Lu", last="Lingo"), local(A_WEDNESDAY, 9), chair=0)
    write_mo(
        tmp_path / "es" / "LC_MESSAGES" / "django.mo",
        {"Sessions in time order": "Sesiones por hora", "Arrivals today": "Llegadas de hoy"},
    )
    with override_settings(LOCALE_PATHS=[tmp_path]):
        assert "Sessions in time order" in day_page(desk, clinic, HTTP_ACCEPT_LANGUAGE="en")
        spanish = day_page(desk, clinic, HTTP_ACCEPT_LANGUAGE="es")
        assert "Sesiones por hora" in spanish and "Llegadas de hoy" in spanish
        assert "Sessions in time order" not in spanish
        assert "Sessions in time order" in day_page(desk, clinic, HTTP_ACCEPT_LANGUAGE="en")


def test_each_reader_gets_their_own_csrf_token_and_their_own_role_s_markup(clinic, book, front_desk):
    appointment = book(make_patient(first="Tia", last="Token"), local(A_WEDNESDAY, 9), chair=0)
    other_desk = make_user(Role.FRONT_DESK, email="second.desk@example.org")
    readers = {}
    for user in (front_desk, other_desk):
        reader = Client(enforce_csrf_checks=True)
        reader.force_login(user)
        readers[user.pk] = reader
        day_page(reader, clinic)  # the page that sets the reader's CSRF cookie
    for user_pk, reader in readers.items():
        html = day_page(reader, clinic)
        tokens = TOKEN.findall(html)
        assert tokens, "the arrivals' forms carry a token"
        secret = reader.cookies["csrftoken"].value
        assert all(_unmask_cipher_token(token) == secret for token in tokens), user_pk
        assert "csrf-stand-in" not in html
    first, second = readers.values()
    assert first.cookies["csrftoken"].value != second.cookies["csrftoken"].value

    # The second desk's own token works: its check-in is accepted.
    token = TOKEN.findall(day_page(second, clinic))[0]
    checked = second.post(
        reverse("scheduling:transition", args=[appointment.pk]),
        {"to": "checked_in", "csrfmiddlewaretoken": token, "next": "/"},
    )
    assert checked.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "checked_in"

    # A clinician reading the same day gets no desk forms and no booking links, though front desk's markup is cached.
    clinician = Client()
    clinician.force_login(clinic.clinicians[0].user)
    html = day_page(clinician, clinic)
    assert "Tia Token" in html
    assert (
        "csrfmiddlewaretoken" not in html.split('id="day-live"')[1].split("</main>")[0]
    )  # the sign-out form is above
    assert "data-slot" not in html and "arrivals-heading" not in html


def test_the_day_and_its_clinician_view_stay_within_their_query_budget(
    desk, clinic, book, django_assert_max_num_queries
):
    book(make_patient(first="Qu", last="Budget"), local(A_WEDNESDAY, 9), chair=0)
    day_page(desk, clinic)  # the session's first save, after sign-in
    for _first_then_cached in range(2):
        # The signed-in user, the active locations, and the day statement.
        with django_assert_max_num_queries(3):
            assert "Qu Budget" in day_page(desk, clinic)
        # With the clinician view's holds and working clinicians: one more.
        with django_assert_max_num_queries(4):
            assert "Qu Budget" in day_page(desk, clinic, by_clinician=True)


def test_the_location_picker_lists_each_reader_s_own_locations(settings, clinic, book, front_desk):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    bayside = Clinic(*build_clinic())
    bayside.location.name = "Bayside"
    bayside.location.save(update_fields=["name"])
    book(make_patient(first="Pia", last="Picker"), local(A_WEDNESDAY, 9), chair=0)
    FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    both = make_user(Role.FRONT_DESK, email="both.desks@example.org")
    FrontDeskAssignment.objects.create(user=both, location=clinic.location)
    FrontDeskAssignment.objects.create(user=both, location=bayside.location)
    pickers = {}
    for user in (front_desk, both, front_desk):
        reader = Client()
        reader.force_login(user)
        html = day_page(reader, clinic)
        assert "Pia Picker" in html
        pickers[user.pk] = html[html.index('id="pick-location"') : html.index("</select>")]
    assert "Bayside" not in pickers[front_desk.pk]
    assert "Bayside" in pickers[both.pk]
