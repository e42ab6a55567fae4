"""From the day view: check a patient in, mark a no-show, and offer the time a cancellation or no-show freed to the
waitlist, through the same services and gates as the appointment and waitlist pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling import services
from scheduling.models import Appointment, FrontDeskAssignment, WaitlistEntry
from tests.factories import A_WEDNESDAY, build_clinic, local, make_patient

pytestmark = pytest.mark.django_db

# Wednesday 9:30 AM in New York: the 9:00 session has started, the 11:00 one not yet.
WEDNESDAY_MORNING = datetime(2027, 3, 3, 14, 30, tzinfo=UTC)
EARLIER = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def day_url(clinic) -> str:
    return reverse("scheduling:day") + f"?location={clinic.location.pk}&date={A_WEDNESDAY.isoformat()}"


def test_arrivals_are_checked_in_and_marked_no_show_from_the_day_view(desk, clinic, book):
    late = book(make_patient(first="Lee", last="Late"), local(A_WEDNESDAY, 9), chair=0, now=EARLIER)
    coming = book(
        make_patient(first="Cam", last="Coming"), local(A_WEDNESDAY, 10), chair=1, clinician=1, now=EARLIER
    )
    with time_machine.travel(WEDNESDAY_MORNING, tick=False):
        html = desk.get(day_url(clinic)).content.decode()
        assert f'data-arrival="{late.pk}"' in html and f'data-arrival="{coming.pk}"' in html
        # No-show is offered once the session has started, not before (the service's rule).
        coming_row = html.split(f'data-arrival="{coming.pk}"')[1].split("</li>")[0]
        assert "No-show" not in coming_row

        # The same forms in the poll's answer come back to the day view, not to the poll's address.
        polled = desk.get(reverse("scheduling:day_live") + f"?location={clinic.location.pk}&date=2027-03-03")
        assert f'name="next" value="{day_url(clinic).replace("&", "&amp;")}"' in polled.content.decode()

        checked = desk.post(
            reverse("scheduling:transition", args=[coming.pk]), {"to": "checked_in", "next": day_url(clinic)}
        )
        assert checked.status_code == 302 and checked["Location"] == day_url(clinic)
        missed = desk.post(reverse("scheduling:no_show", args=[late.pk]), {"next": day_url(clinic)})
        assert missed.status_code == 302 and missed["Location"] == day_url(clinic)

        coming.refresh_from_db()
        late.refresh_from_db()
        assert coming.status == Appointment.Status.CHECKED_IN
        assert late.status == Appointment.Status.NO_SHOW
        assert not late.allocations.filter(active=True).exists()
        html = desk.get(day_url(clinic)).content.decode()
        assert "data-arrival" not in html  # both dealt with
        # A no-show elsewhere sends the desk to an outside address? Never: the next path must be on this site.
        other = book(make_patient(), local(A_WEDNESDAY, 9), chair=2, clinician=2, now=EARLIER)
        away = desk.post(reverse("scheduling:no_show", args=[other.pk]), {"next": "https://evil.example/"})
        assert away["Location"] == reverse("scheduling:appointment_detail", args=[other.pk])


def test_a_freed_time_is_offered_to_a_waitlisted_patient_who_fits_it(desk, clinic, book, front_desk):
    cancelled = book(make_patient(first="Can", last="Celled"), local(A_WEDNESDAY, 13), now=EARLIER)
    services.cancel_appointment(appointment=cancelled, reason="Unwell", cancelled_by=front_desk, now=EARLIER)
    hopeful = make_patient(first="Hope", last="Waiting")
    entry = services.add_to_waitlist(
        patient=hopeful, location=clinic.location, treatment_type=clinic.iv,
        earliest_date=A_WEDNESDAY, latest_date=date(2027, 3, 10), added_by=front_desk,
    )  # fmt: skip
    busy = make_patient(first="Busy", last="Already")
    book(busy, local(A_WEDNESDAY, 14), chair=3, clinician=1, now=EARLIER)
    services.add_to_waitlist(
        patient=busy, location=clinic.location, treatment_type=clinic.iv,
        earliest_date=A_WEDNESDAY, latest_date=A_WEDNESDAY, added_by=front_desk,
    )  # fmt: skip
    with time_machine.travel(WEDNESDAY_MORNING, tick=False):
        day = desk.get(day_url(clinic)).content.decode()
        gap_url = reverse("scheduling:waitlist_gap", args=[cancelled.pk])
        assert gap_url in day  # "Offer to the waitlist" on the freed time

        page = desk.get(gap_url)
        assert page.status_code == 200
        matches = {m.entry.patient.full_name: m.option for m in page.context["matches"]}
        assert matches["Hope Waiting"] is not None
        assert matches["Busy Already"] is None  # has another session then

        offered = desk.post(
            reverse("scheduling:waitlist_action", args=[entry.pk]),
            {"action": "offer", "start": cancelled.start_at.isoformat(), "next": gap_url},
        )
    assert offered.status_code == 302 and offered["Location"] == gap_url
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED
    assert entry.offered_start == cancelled.start_at


def test_a_session_still_booked_has_no_gap_and_another_locations_is_a_404(
    client, front_desk, clinic, book, settings
):
    booked = book(make_patient(), local(A_WEDNESDAY, 13), now=EARLIER)
    client.force_login(front_desk)
    with time_machine.travel(WEDNESDAY_MORNING, tick=False):
        assert client.get(reverse("scheduling:waitlist_gap", args=[booked.pk])).status_code == 409
        settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
        FrontDeskAssignment.objects.create(user=front_desk, location=build_clinic()[0])
        assert client.get(reverse("scheduling:waitlist_gap", args=[booked.pk])).status_code == 404
        assert client.post(reverse("scheduling:no_show", args=[booked.pk])).status_code == 404


def test_a_clinician_sees_no_desk_actions_and_cannot_open_the_gap_page(
    client, clinician, clinic, book, front_desk
):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9), now=EARLIER)
    services.cancel_appointment(appointment=appointment, reason="Ill", cancelled_by=front_desk, now=EARLIER)
    client.force_login(clinician)
    with time_machine.travel(WEDNESDAY_MORNING, tick=False):
        assert "Freed times" not in client.get(day_url(clinic)).content.decode()
        assert client.get(reverse("scheduling:waitlist_gap", args=[appointment.pk])).status_code == 404
