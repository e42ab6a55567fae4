"""No hold lasts longer than a session may (MAX_SESSION_LENGTH): the database refuses it, so the availability read
can look for the holds over a range by their start (from that long before the range)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from scheduling import selectors
from scheduling.models import MAX_SESSION_LENGTH, Allocation, Appointment
from tests.factories import A_WEDNESDAY, NOW, local, make_patient

pytestmark = pytest.mark.django_db


def test_a_hold_longer_than_a_session_may_last_is_refused(clinic, book):
    appointment = book(make_patient(location=clinic.location), local(A_WEDNESDAY, 9))
    hold = Allocation.objects.filter(appointment=appointment, kind="patient").get()
    start = hold.span.lower
    hold.span = DateTimeTZRange(start, start + MAX_SESSION_LENGTH + timedelta(minutes=1), "[)")
    with pytest.raises(IntegrityError, match="allocation_span_bounded"), transaction.atomic():
        hold.save()
    hold.span = DateTimeTZRange(start, start + MAX_SESSION_LENGTH, "[)")
    hold.save()  # exactly the longest session is allowed


def test_a_session_that_started_the_day_before_still_keeps_its_chair(clinic):
    """Holds are read by where they start, so one that started the day before must still be found: a session written
    directly (booking refuses one outside opening hours; an extended one may still run late) from 09:00 the day
    before to 08:30 holds chair 1 until then."""
    start = local(A_WEDNESDAY - timedelta(days=1), 9)
    chair = clinic.chairs[0]
    appointment = Appointment.objects.create(
        patient=make_patient(location=clinic.location),
        location=clinic.location,
        treatment_type=clinic.iv,
        resource=chair,
        clinician=clinic.clinicians[0],
        start_at=start,
        end_at=start + timedelta(hours=23, minutes=30),
    )
    Allocation.objects.create(
        appointment=appointment, kind="resource", resource=chair,
        span=DateTimeTZRange(appointment.start_at, appointment.end_at),
    )  # fmt: skip
    free = selectors.available_slots(
        location=clinic.location,
        treatment_type=clinic.iv,
        date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY,
        now=NOW,
    )
    on_chair = [option.start for option in free if option.resource_id == chair.pk]
    assert on_chair[0] == local(A_WEDNESDAY, 8, 30)
    assert free[0].start == local(A_WEDNESDAY, 8)  # another chair is free from opening
