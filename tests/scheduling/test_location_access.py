"""Staff restricted to their locations (REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS, scheduling.access): every scheduling
gate asks the one rule. Clinicians see the locations they work at, front desk the ones they are assigned to, clinic
admins all; with the setting off, staff see every location."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from clinic.audit import AUDITED_TABLES
from clinic.models import AuditEvent, RecordView
from scheduling import selectors
from scheduling.models import Appointment, Clinician, FrontDeskAssignment, WaitlistEntry
from tests.factories import A_WEDNESDAY, NOW, Clinic, build_clinic, local, make_patient

pytestmark = pytest.mark.django_db

# The pages read the real clock: a Monday morning two days before the sessions.
MONDAY_MORNING = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


@pytest.fixture
def restricted(settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True


@pytest.fixture
def bayside(db) -> Clinic:
    """A second location (B) with its own chairs and clinicians."""
    return Clinic(*build_clinic())


@pytest.fixture
def here_clinician(clinician, clinic):
    """The clinician persona, working at the first location (A) only."""
    Clinician.objects.create(user=clinician, credentials="MD").locations.add(clinic.location)
    return clinician


@pytest.fixture
def here_desk(front_desk, clinic):
    """The front-desk persona, assigned to the first location (A) only."""
    FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    return front_desk


def _book_at(place: Clinic, *, first: str, by):
    from scheduling import services

    patient = make_patient(first=first, location=place.location)
    return services.book_appointment(
        patient=patient, treatment_type=place.iv, location=place.location, start=local(A_WEDNESDAY, 9),
        resource=place.chairs[0], clinician=place.clinicians[0], booked_by=by, now=NOW,
    )  # fmt: skip


@pytest.fixture
def sessions(clinic, bayside, front_desk):
    """A session at each location, each of a patient of that location: (here, there)."""
    return _book_at(clinic, first="Here", by=front_desk), _book_at(bayside, first="There", by=front_desk)


def _session_pages(appointment) -> list[str]:
    """Every page of one session a clinician can open, the downloads included (.ics, the printable summary)."""
    return [
        reverse("scheduling:appointment_detail", args=[appointment.pk]),
        reverse("scheduling:session_day", args=[appointment.pk]),
        reverse("scheduling:session_summary", args=[appointment.pk]),
        reverse("scheduling:appointment_ics", args=[appointment.pk]),
    ]


def _location_pages(location) -> list[str]:
    return [
        reverse("scheduling:day") + f"?location={location.pk}&date={A_WEDNESDAY.isoformat()}",
        reverse("scheduling:week") + f"?location={location.pk}",
        reverse("scheduling:rems_forms_due") + f"?location={location.pk}",
    ]


def _statuses(client, urls: list[str]) -> dict[str, int]:
    return {url: client.get(url).status_code for url in urls}


def test_a_restricted_clinician_gets_404_for_another_locations_sessions_days_and_downloads(
    client, restricted, here_clinician, clinic, bayside, sessions
):
    here, there = sessions
    client.force_login(here_clinician)
    assert set(_statuses(client, _session_pages(there) + _location_pages(bayside.location)).values()) == {404}
    assert set(_statuses(client, _session_pages(here) + _location_pages(clinic.location)).values()) == {200}
    # The day view with no location chosen is theirs, and its picker offers no other.
    page = client.get(reverse("scheduling:day") + f"?date={A_WEDNESDAY.isoformat()}").content.decode()
    assert "Here Tester" in page and "There Tester" not in page and bayside.location.name not in page
    # Nothing about the other location's patient was logged as viewed, because nothing was shown.
    assert not RecordView.objects.filter(patient_id=there.patient_id).exists()


def test_a_restricted_clinician_cannot_move_another_locations_session_along(
    client, restricted, here_clinician, sessions
):
    _, there = sessions
    client.force_login(here_clinician)
    before = AuditEvent.objects.count()
    assert (
        client.post(reverse("scheduling:transition", args=[there.pk]), {"to": "confirmed"}).status_code == 404
    )
    checklist = {"checklist-escort_name": "Jo Driver", "checklist-escort_phone": "+16175550123",
                 "checklist-escort_confirmed": "on", "checklist-fasting_confirmed": "on"}  # fmt: skip
    assert client.post(reverse("scheduling:session_checklist", args=[there.pk]), checklist).status_code == 404
    assert client.post(reverse("scheduling:rems_form_submitted", args=[there.pk])).status_code == 404
    there.refresh_from_db()
    assert there.status == Appointment.Status.BOOKED and there.confirmed_at is None
    assert AuditEvent.objects.count() == before  # nothing written, by any path


def test_unrestricted_the_same_clinician_sees_every_location(
    client, settings, here_clinician, bayside, sessions
):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = False
    _, there = sessions
    client.force_login(here_clinician)
    assert set(_statuses(client, _session_pages(there) + _location_pages(bayside.location)).values()) == {200}
    response = client.post(reverse("scheduling:transition", args=[there.pk]), {"to": "confirmed"})
    assert response.status_code == 302
    there.refresh_from_db()
    assert there.status == Appointment.Status.CONFIRMED


def test_front_desk_sees_the_location_they_are_assigned_to_and_404_for_another(
    client, restricted, here_desk, clinic, bayside, sessions
):
    here, there = sessions
    client.force_login(here_desk)
    assert set(_statuses(client, _location_pages(clinic.location)).values()) == {200}
    assert set(_statuses(client, _location_pages(bayside.location)).values()) == {404}
    waitlist = reverse("scheduling:waitlist")
    assert client.get(waitlist + f"?location={clinic.location.pk}").status_code == 200
    assert client.get(waitlist + f"?location={bayside.location.pk}").status_code == 404
    today = client.get(reverse("scheduling:today")).content.decode()
    assert clinic.location.name in today and bayside.location.name not in today
    for url in [
        reverse("scheduling:appointment_detail", args=[there.pk]),
        reverse("scheduling:cancel", args=[there.pk]),
        reverse("scheduling:reschedule", args=[there.pk]),
        reverse("scheduling:patient_detail", args=[there.patient_id]),
        reverse("scheduling:book", args=[there.patient_id]),
        reverse("scheduling:book_series", args=[there.patient_id]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("scheduling:appointment_detail", args=[here.pk])).status_code == 200
    assert client.get(reverse("scheduling:patient_detail", args=[here.patient_id])).status_code == 200
    response = client.post(reverse("scheduling:cancel", args=[there.pk]), {"reason": "Patient request"})
    assert response.status_code == 404
    there.refresh_from_db()
    assert there.status == Appointment.Status.BOOKED


def test_front_desk_find_and_book_only_at_their_locations(
    client, restricted, here_desk, clinic, bayside, sessions
):
    here, there = sessions
    client.force_login(here_desk)
    found = client.post(reverse("scheduling:patient_search"), {"q": "Tester"}).content.decode()
    assert "Here Tester" in found and "There Tester" not in found
    assert [p.pk for p in selectors.search_patients("Tester", user=here_desk)] == [here.patient_id]
    # Their own patient, at another location: the location is refused like an unknown choice, nothing is booked.
    book = reverse("scheduling:book", args=[here.patient_id])
    form = client.get(book).content.decode()
    assert clinic.location.name in form and bayside.location.name not in form
    response = client.get(
        book, {"treatment_type": clinic.iv.pk, "location": bayside.location.pk, "date": "2027-03-04"}
    )
    assert "Select a valid choice" in response.content.decode()
    assert Appointment.objects.filter(location=bayside.location).count() == 1
    waitlisted = client.post(
        reverse("scheduling:waitlist_add", args=[here.patient_id]),
        {"waitlist-treatment_type": clinic.iv.pk, "waitlist-location": bayside.location.pk,
         "waitlist-earliest_date": "2027-03-02", "waitlist-latest_date": "2027-03-09"},
    )  # fmt: skip
    assert waitlisted.status_code == 302 and not WaitlistEntry.objects.exists()


def test_front_desk_see_and_resend_only_their_locations_failed_reminders(
    client, restricted, here_desk, clinic, bayside, sessions
):
    from scheduling.models import Reminder

    failed = {}
    for session in sessions:
        failed[session.pk] = Reminder.objects.create(
            appointment=session, channel="email", kind="72h", sequence=99, planned_start_at=session.start_at,
            due_at=session.start_at, status=Reminder.Status.FAILED, attempts=5, last_error="Mailbox unavailable",
        )  # fmt: skip
    here, there = sessions
    client.force_login(here_desk)
    page = client.get(reverse("scheduling:failed_reminders")).content.decode()
    assert "Here Tester" in page and "There Tester" not in page
    elsewhere = client.get(reverse("scheduling:failed_reminders") + f"?location={bayside.location.pk}")
    assert "There Tester" not in elsewhere.content.decode()
    assert client.post(reverse("scheduling:resend_reminder", args=[failed[there.pk].pk])).status_code == 404
    failed[there.pk].refresh_from_db()
    assert failed[there.pk].status == Reminder.Status.FAILED


def test_front_desk_with_no_location_is_told_to_ask_for_one(client, restricted, front_desk, clinic, sessions):
    client.force_login(front_desk)
    page = client.get(reverse("scheduling:today"))
    assert page.status_code == 200
    assert "not assigned to a clinic location yet" in page.content.decode()
    assert client.get(reverse("scheduling:appointment_detail", args=[sessions[0].pk])).status_code == 404


def test_the_clinic_admin_sees_every_location(client, restricted, clinic_admin, clinic, bayside, sessions):
    client.force_login(clinic_admin)
    urls = [
        *_location_pages(clinic.location),
        *_location_pages(bayside.location),
        *(reverse("scheduling:appointment_detail", args=[s.pk]) for s in sessions),
        *(reverse("scheduling:appointment_ics", args=[s.pk]) for s in sessions),
    ]
    assert set(_statuses(client, urls).values()) == {200}


def test_the_cover_page_offers_only_clinicians_and_sessions_of_their_locations(
    client, restricted, here_desk, clinic, bayside, sessions
):
    client.force_login(here_desk)
    page = client.get(reverse("scheduling:cover")).content.decode()
    # Both locations' clinicians are called "Clin Ician1, MD" and so on: the choices' values tell them apart.
    assert f'value="{clinic.clinicians[0].pk}"' in page
    assert f'value="{bayside.clinicians[0].pk}"' not in page
    response = client.get(
        reverse("scheduling:cover"),
        {"clinician": bayside.clinicians[0].pk, "date_from": "2027-03-03", "date_to": "2027-03-03"},
    )
    assert response.status_code == 400  # not one of theirs: refused like any unknown choice


def test_a_front_desk_assignment_is_unique_audited_and_managed_by_the_clinic_admin(
    client, clinic_admin, front_desk, clinic
):
    from django.db import IntegrityError, transaction

    assert "scheduling_frontdeskassignment" in AUDITED_TABLES
    assignment = FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    with pytest.raises(IntegrityError), transaction.atomic():
        FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    assert AuditEvent.objects.filter(
        table_name="scheduling_frontdeskassignment", row_pk=str(assignment.pk)
    ).exists()
    client.force_login(clinic_admin)
    assert client.get(reverse("admin:scheduling_frontdeskassignment_changelist")).status_code == 200
    assert client.get(reverse("admin:scheduling_frontdeskassignment_add")).status_code == 200
