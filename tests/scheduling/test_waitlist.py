"""The waitlist: a freed slot is matched to a waiting patient, offered by email (real SMTP), or booked."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from scheduling import selectors, services
from scheduling.models import Appointment, WaitlistEntry
from scheduling.tasks import send_waitlist_offer_email
from tests.factories import A_WEDNESDAY, NOW, local, make_patient

pytestmark = pytest.mark.django_db

LATER = date(2027, 3, 17)


@pytest.fixture
def full_wednesday(clinic, book):
    """Every clinician is dosing at every IV start on A_WEDNESDAY, so nothing is free that day."""
    appointments = []
    for hour in (8, 9, 10, 11, 12, 13, 14, 15, 16):
        for n in range(3):
            appointments.append(
                book(make_patient(), local(A_WEDNESDAY, hour), chair=(hour % 2) * 3 + n, clinician=n)
            )
    return appointments


def test_a_freed_slot_matches_the_waiting_patient_and_is_booked_by_moving_their_session(
    clinic, book, front_desk, full_wednesday
):
    waiting = make_patient(first="Gus", last="Petrov")
    current = book(waiting, local(LATER, 9))
    entry = services.add_to_waitlist(
        patient=waiting, location=clinic.location, treatment_type=clinic.iv, earliest_date=A_WEDNESDAY,
        latest_date=LATER, current_appointment=current, added_by=front_desk,
    )  # fmt: skip
    with pytest.raises(services.BookingRefused, match="already on the waitlist"):
        services.add_to_waitlist(
            patient=waiting, location=clinic.location, treatment_type=clinic.iv, earliest_date=A_WEDNESDAY,
            latest_date=LATER, added_by=front_desk,
        )  # fmt: skip
    before = selectors.waitlist_matches(clinic.location, now=NOW)
    assert before[0].option is not None
    assert before[0].option.start.date() > A_WEDNESDAY  # Wednesday is full

    # A Wednesday 10:00 session is cancelled: it is the earliest match now.
    freed = next(a for a in full_wednesday if a.start_at == local(A_WEDNESDAY, 10))
    services.cancel_appointment(appointment=freed, reason="Patient request", cancelled_by=front_desk, now=NOW)
    match = selectors.waitlist_matches(clinic.location, now=NOW)[0]
    assert match.entry == entry
    assert match.option.start == local(A_WEDNESDAY, 10)

    moved = services.book_from_waitlist(entry=entry, start=match.option.start, booked_by=front_desk, now=NOW)
    assert moved.pk == current.pk  # the same session, brought forward
    assert moved.start_at == local(A_WEDNESDAY, 10)
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.BOOKED
    assert selectors.waitlist_matches(clinic.location, now=NOW) == []


def test_an_offer_is_emailed_once_with_no_treatment_named(
    clinic, front_desk, smtp_server, django_capture_on_commit_callbacks
):
    patient = make_patient(first="Hana", last="Sato")
    entry = services.add_to_waitlist(
        patient=patient, location=clinic.location, treatment_type=clinic.iv, earliest_date=A_WEDNESDAY,
        latest_date=LATER, added_by=front_desk,
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.send_waitlist_offer(entry=entry, start=local(A_WEDNESDAY, 9), offered_by=front_desk, now=NOW)
    assert len(callbacks) == 1  # the email goes out through a worker, only once the offer is committed
    send_waitlist_offer_email.run(entry.pk)
    send_waitlist_offer_email.run(entry.pk)  # a redelivered task sends nothing more
    messages = smtp_server.wait_for(1)
    assert len(messages) == 1
    body = messages[0].get_payload(decode=True).decode()
    assert "Wed, Mar 3, 2027, 9:00 AM EST" in body
    assert clinic.iv.label.lower() not in body.lower() and "infusion" not in body.lower()
    entry.refresh_from_db()
    assert entry.status == WaitlistEntry.Status.OFFERED and entry.offer_sent_at is not None


def test_an_offer_of_a_taken_time_is_refused(clinic, book, front_desk):
    patient = make_patient()
    entry = services.add_to_waitlist(
        patient=patient, location=clinic.location, treatment_type=clinic.iv, earliest_date=A_WEDNESDAY,
        latest_date=LATER, added_by=front_desk,
    )  # fmt: skip
    for n in range(3):
        book(make_patient(), local(A_WEDNESDAY, 9), chair=n, clinician=n)
    with pytest.raises(services.BookingConflict, match="no longer free"):
        services.send_waitlist_offer(entry=entry, start=local(A_WEDNESDAY, 9), offered_by=front_desk, now=NOW)


def test_waitlist_pages(client, clinic, front_desk):
    patient = make_patient(first="Ivan", last="Kowalski")
    client.force_login(front_desk)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("scheduling:waitlist_add", args=[patient.pk]),
            {"waitlist-treatment_type": clinic.iv.pk, "waitlist-location": clinic.location.pk,
             "waitlist-earliest_date": "2027-03-03", "waitlist-latest_date": "2027-03-10"},
        )  # fmt: skip
        assert response.status_code == 302
        page = client.get(reverse("scheduling:waitlist") + f"?location={clinic.location.pk}").content.decode()
        assert "Ivan Kowalski" in page and "Match:" in page
        entry = WaitlistEntry.objects.get(patient=patient)
        start = selectors.waitlist_matches(clinic.location, now=NOW)[0].option.start
        booked = client.post(
            reverse("scheduling:waitlist_action", args=[entry.pk]),
            {"action": "book", "start": start.isoformat()},
        )
        assert booked.status_code == 302
    assert Appointment.objects.get(patient=patient).start_at == start
    assert isinstance(start, datetime) and start - NOW < timedelta(days=3)
