"""What availability reads from the database, and how far: holds by their start (no hold lasts longer than a session
may, MAX_SESSION_LENGTH, and the database refuses one that would), and the nearest alternatives from the whole week
either side, whichever side and however far in it they are."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

from scheduling import availability, selectors
from scheduling.availability import to_us
from scheduling.models import MAX_SESSION_LENGTH, Allocation, Appointment, Closure
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


LATER = A_WEDNESDAY + timedelta(days=7)  # far enough from NOW for a week either side


def _alternatives(clinic, start, **extra):
    return selectors.nearest_alternatives(
        location=clinic.location, treatment_type=clinic.iv, requested_start=start, now=NOW, **extra
    )


def test_alternatives_days_away_are_found_when_the_days_around_have_none(clinic):
    for offset in range(-2, 3):
        Closure.objects.create(location=clinic.location, date=LATER + timedelta(days=offset), reason="Works")
    found = _alternatives(clinic, local(LATER, 9))
    before = LATER - timedelta(days=3)
    assert [o.start for o in found] == [local(before, 16), local(before, 15, 45), local(before, 15, 30)]


def test_the_nearest_start_wins_whichever_side_it_is_on(front_desk):
    """A request late on a closed day: two days before there is a free start, but the first morning after the
    closed days is nearer."""
    from scheduling import services
    from tests.factories import Clinic, build_clinic

    one = Clinic(*build_clinic(chairs=1, clinicians=1))
    for offset in range(-1, 3):
        Closure.objects.create(location=one.location, date=LATER + timedelta(days=offset), reason="Works")
    open_before = LATER - timedelta(days=2)
    for hour in (10, 12, 14, 16):  # that day only 08:00 is free
        services.book_appointment(
            patient=make_patient(location=one.location),
            treatment_type=one.iv,
            location=one.location,
            start=local(open_before, hour),
            resource=one.chairs[0],
            clinician=one.clinicians[0],
            booked_by=front_desk,
            now=NOW,
        )
    requested = local(
        LATER, 22
    )  # 2 days 14 hours after that 08:00, 2 days 10 hours before 08:00 on LATER + 3
    found = _alternatives(one, requested, limit=1)
    assert [o.start for o in found] == [local(LATER + timedelta(days=3), 8)]


def test_the_same_chair_comes_first_even_days_away(clinic, book):
    chair = clinic.chairs[0]
    patients = iter(make_patient(location=clinic.location) for _ in range(40))
    for offset in range(-2, 3):  # the chair is taken all day, every day of the first read
        day = LATER + timedelta(days=offset)
        for hour in (8, 10, 12, 14, 16):
            book(next(patients), local(day, hour), chair=0, clinician=offset % 3)
    found = _alternatives(clinic, local(LATER, 10), resource_id=chair.pk)
    assert found[0].resource_id == chair.pk
    assert found[0].start == local(LATER - timedelta(days=3), 16)
    assert [o.resource_id for o in found[1:]] == [clinic.chairs[1].pk, clinic.chairs[1].pk]


def test_a_start_four_days_after_beats_a_farther_one_three_days_before(front_desk):
    """Closed for six days: the one start left three days before is 3 days 15 hours from a request at 23:00; 08:00
    four days after is 3 days 9 hours away, and wins."""
    from scheduling import services
    from tests.factories import Clinic, build_clinic

    one = Clinic(*build_clinic(chairs=1, clinicians=1))
    for offset in range(-2, 4):
        Closure.objects.create(location=one.location, date=LATER + timedelta(days=offset), reason="Works")
    before = LATER - timedelta(days=3)
    for hour in (10, 12, 14, 16):  # that day only 08:00 is free
        services.book_appointment(
            patient=make_patient(location=one.location),
            treatment_type=one.iv,
            location=one.location,
            start=local(before, hour),
            resource=one.chairs[0],
            clinician=one.clinicians[0],
            booked_by=front_desk,
            now=NOW,
        )
    found = _alternatives(one, local(LATER, 23), limit=1)
    assert [o.start for o in found] == [local(LATER + timedelta(days=4), 8)]


def test_holds_closer_than_a_session_are_read_as_one_stretch_and_the_answer_is_the_same(clinic, book):
    """The JSON endpoint, the alternatives and the slot search read a chair's holds with the gaps too short for the
    session filled in (``Gaps``): fewer numbers, the same free starts. A gap of exactly one session is kept."""
    from scheduling.selectors.slots import EXACT, Gaps, load_availability_inputs

    chair = clinic.chairs[0]
    for hour, minute, clinician in ((8, 0, 0), (11, 45, 1), (15, 45, 0)):  # gaps: 1 h 45, then exactly 2 h
        book(
            make_patient(location=clinic.location),
            local(A_WEDNESDAY, hour, minute),
            chair=0,
            clinician=clinician,
        )

    def read(gaps):
        return load_availability_inputs(
            location=clinic.location,
            treatment_type=clinic.iv,
            date_from=A_WEDNESDAY,
            date_to=A_WEDNESDAY,
            gaps=gaps,
        )

    exact, joined = read(EXACT), read(Gaps.of(clinic.iv))
    assert len(exact.resource_busy[chair.pk]) == 3
    assert list(joined.resource_busy[chair.pk]) == [
        (to_us(local(A_WEDNESDAY, 8)), to_us(local(A_WEDNESDAY, 13, 45))),
        (to_us(local(A_WEDNESDAY, 15, 45)), to_us(local(A_WEDNESDAY, 17, 45))),
    ]
    found = selectors.free_calendar(
        location=clinic.location,
        treatment_type=clinic.iv,
        date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY,
        now=NOW,
    )
    assert found.by_resource()[chair.pk] == [local(A_WEDNESDAY, 13, 45)]
    for inputs in (exact, joined):
        query = inputs.query(date_from=A_WEDNESDAY, date_to=A_WEDNESDAY, now=NOW)
        assert availability.free_starts(**query) == found.starts
    # Joined holds answer nothing shorter than they were read for.
    clinician = clinic.clinicians[0].pk
    window = local(A_WEDNESDAY, 13), local(A_WEDNESDAY, 13, 30)
    assert exact.clinician_free(clinician, *window)
    with pytest.raises(ValueError, match="shorter gaps"):
        joined.clinician_free(clinician, *window)


def test_the_nearest_days_searched_first_give_what_the_whole_week_gives(front_desk):
    """The alternatives search the requested day first, then the days either side, and stop once nothing on a day
    not yet searched could be nearer. One chair with a free start or two a day, some closed days and a day with
    none: at every hour of three days, with one to five answers, they are the week's nearest free starts by time,
    ties to the earlier."""
    from scheduling import services
    from tests.factories import Clinic, build_clinic

    one = Clinic(*build_clinic(chairs=1, clinicians=1))
    for offset in (-4, 2, 3):
        Closure.objects.create(location=one.location, date=LATER + timedelta(days=offset), reason="Works")
    free_hours = {-3: (16,), -2: (8,), -1: (), 0: (12,), 1: (8, 16), 4: (10,), 5: (14,)}
    for offset, free in free_hours.items():
        day = LATER + timedelta(days=offset)
        for hour in (8, 10, 12, 14, 16):
            if hour not in free:
                services.book_appointment(
                    patient=make_patient(location=one.location),
                    treatment_type=one.iv,
                    location=one.location,
                    start=local(day, hour),
                    resource=one.chairs[0],
                    clinician=one.clinicians[0],
                    booked_by=front_desk,
                    now=NOW,
                )
    week = selectors.available_slots(
        location=one.location,
        treatment_type=one.iv,
        date_from=LATER - timedelta(days=8),
        date_to=LATER + timedelta(days=8),
        now=NOW,
    )
    checked = 0
    for offset in (-1, 0, 1):
        for hour in range(24):
            requested = local(LATER + timedelta(days=offset), hour)
            requested_day = requested.astimezone(one.location.tz).date()
            in_window = [
                o.start
                for o in week
                if abs(o.start.astimezone(one.location.tz).date() - requested_day) <= timedelta(days=7)
            ]
            by_time = sorted(in_window, key=lambda start, at=requested: (abs(start - at), start))
            for limit in (1, 3, 5):
                found = _alternatives(one, requested, limit=limit)
                assert [o.start for o in found] == by_time[:limit], (requested, limit)
                checked += 1
    assert checked == 3 * 24 * 3
