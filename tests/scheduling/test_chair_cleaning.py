"""A chair's cleaning after each session is part of its hold: the database refuses a session that would start
during it, availability does not offer one, and the day grid's block covers it."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse

from scheduling import selectors, services
from scheduling.models import MAX_SESSION_LENGTH, Allocation, Appointment, Resource
from scheduling.services.holds import chair_span
from tests.factories import A_WEDNESDAY, NOW, NY, local, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def cleaned_chairs(clinic):
    Resource.objects.filter(pk__in=[chair.pk for chair in clinic.chairs]).update(cleaning_minutes=15)
    for chair in clinic.chairs:
        chair.refresh_from_db()
    return clinic.chairs


def test_the_chair_is_held_through_its_cleaning_but_the_patient_is_not(clinic, cleaned_chairs, book):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))

    assert appointment.end_at.astimezone(NY).time() == time(11)  # the session itself is unchanged
    spans = {
        a.kind: (a.span.lower.astimezone(NY).time(), a.span.upper.astimezone(NY).time())
        for a in appointment.allocations.exclude(kind="clinician")
    }
    assert spans == {"resource": (time(9), time(11, 15)), "patient": (time(9), time(11))}


def test_a_session_starting_during_cleaning_is_refused_by_the_constraint(clinic, cleaned_chairs, book):
    book(make_patient(), local(A_WEDNESDAY, 9))
    late = make_patient()

    with pytest.raises(services.BookingConflict) as caught:
        book(late, local(A_WEDNESDAY, 11), clinician=1)  # the chair is cleaned until 11:15

    assert caught.value.taken_kind == "resource"
    assert "being cleaned" in caught.value.message
    assert not Appointment.objects.filter(patient=late).exists()
    assert selectors.overlapping_active_allocations() == []
    # Once the chair is clean it may be booked again.
    assert book(late, local(A_WEDNESDAY, 11, 15), clinician=1).pk


def test_a_session_whose_own_cleaning_runs_into_the_next_one_is_refused(clinic, cleaned_chairs, book):
    book(make_patient(), local(A_WEDNESDAY, 11))
    early = make_patient()

    with pytest.raises(services.BookingConflict):
        book(early, local(A_WEDNESDAY, 9), clinician=1)  # ends at 11:00, cleaned until 11:15

    assert not Appointment.objects.filter(patient=early).exists()
    assert book(early, local(A_WEDNESDAY, 8, 45), clinician=1).pk


def test_a_room_without_cleaning_takes_back_to_back_sessions(clinic, book):
    assert clinic.room.cleaning_minutes == 0
    book(make_patient(), local(A_WEDNESDAY, 9), chair=None, kind=clinic.consultation)
    second = book(make_patient(), local(A_WEDNESDAY, 10), chair=None, kind=clinic.consultation, clinician=1)
    assert second.resource == clinic.room


def test_availability_offers_no_start_inside_either_cleaning(clinic, cleaned_chairs, book):
    # Only one chair, so every offer is about it.
    Resource.objects.filter(pk__in=[chair.pk for chair in clinic.chairs[1:]]).update(is_active=False)
    book(make_patient(), local(A_WEDNESDAY, 12))  # holds the chair 12:00-14:15

    options = selectors.available_slots(
        location=clinic.location,
        treatment_type=clinic.iv,
        date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY,
        now=NOW,
        patient=make_patient(),
    )
    starts = {option.start.astimezone(NY).time() for option in options}

    assert time(9, 45) in starts  # 09:45-11:45, cleaned by 12:00
    assert time(10) not in starts  # its cleaning would run past 12:00
    assert time(14) not in starts  # the chair is still being cleaned
    assert time(14, 15) in starts


def test_the_day_grid_block_covers_the_cleaning(client, clinic, cleaned_chairs, book, front_desk):
    appointment = book(make_patient(), local(A_WEDNESDAY, 9))
    client.force_login(front_desk)

    response = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "date": "2027-03-03"})

    assert response.status_code == 200
    schedule = response.context["schedule"]
    first_row = next(i for i, row in enumerate(schedule.rows) if row.at == appointment.start_at)
    column = [c.pk for c in schedule.resources].index(clinic.chairs[0].pk)
    assert schedule.rows[first_row].cells[column].rows == 9  # 09:00-11:15 in 15-minute rows
    assert "Cleaning until 11:15 AM" in response.content.decode()


def test_a_chair_hold_never_passes_the_database_bound_of_a_day(clinic, cleaned_chairs):
    start = local(A_WEDNESDAY, 9)
    whole_day = services.SessionHolds(start=start, end=start + MAX_SESSION_LENGTH, clinician_spans=())
    span = chair_span(clinic.chairs[0], whole_day)
    assert span.upper - span.lower == MAX_SESSION_LENGTH  # allocation_span_bounded would refuse more
    short = services.SessionHolds(start=start, end=start + timedelta(hours=2), clinician_spans=())
    assert chair_span(clinic.chairs[0], short).upper == start + timedelta(hours=2, minutes=15)


def test_handing_over_a_session_booked_before_cleaning_keeps_its_chair_hold(clinic, book, front_desk):
    first = book(make_patient(), local(A_WEDNESDAY, 9))
    book(make_patient(), local(A_WEDNESDAY, 11), clinician=1)  # back to back: no cleaning yet
    Resource.objects.filter(pk=clinic.chairs[0].pk).update(cleaning_minutes=15)
    first.refresh_from_db()

    moved = services.reassign_clinician(appointment=first, clinician=clinic.clinicians[2], now=NOW)

    assert moved.clinician == clinic.clinicians[2]
    chair = first.allocations.get(kind="resource", active=True)
    assert chair.span.upper.astimezone(NY).time() == time(11)  # as it was: only the clinician changed hands
    assert selectors.overlapping_active_allocations() == []


def test_the_database_itself_refuses_a_hold_inside_the_cleaning(clinic, cleaned_chairs, book):
    first = book(make_patient(), local(A_WEDNESDAY, 9))
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        Allocation.objects.create(
            appointment=first,
            kind="resource",
            resource=clinic.chairs[0],
            span=DateTimeTZRange(local(A_WEDNESDAY, 11, 5), local(A_WEDNESDAY, 12)),
        )
    assert caught.value.__cause__.pgcode == "23P01"  # the exclusion constraint, not the application


def test_a_chair_added_in_the_set_up_gets_its_kinds_cleaning_unless_another_is_typed(clinic, clinic_admin):
    from django.contrib import admin
    from django.test import RequestFactory

    from scheduling.admin import ResourceInline
    from scheduling.models import Location

    request = RequestFactory().post("/")
    request.user = clinic_admin
    FormSet = ResourceInline(Location, admin.site).get_formset(request, clinic.location)
    prefix = FormSet.get_default_prefix()
    rows = [
        ("chair", "New chair", ""),
        ("room", "New room", ""),
        ("chair", "Quick chair", "0"),
        ("chair", "Slow", "500"),
    ]
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0"}
    for i, (kind, name, minutes) in enumerate(rows):
        data.update({f"{prefix}-{i}-kind": kind, f"{prefix}-{i}-name": name, f"{prefix}-{i}-is_active": "on",
                     f"{prefix}-{i}-cleaning_minutes": minutes})  # fmt: skip
    formset = FormSet(data, instance=clinic.location, prefix=prefix)
    assert not formset.is_valid()  # 500 minutes is a typing mistake
    assert "cleaning_minutes" in formset.forms[3].errors
    data[f"{prefix}-TOTAL_FORMS"] = "3"
    formset = FormSet(data, instance=clinic.location, prefix=prefix)
    assert formset.is_valid(), formset.errors
    formset.save()
    saved = dict(Resource.objects.filter(location=clinic.location).values_list("name", "cleaning_minutes"))
    assert saved["New chair"] == 15 and saved["New room"] == 0 and saved["Quick chair"] == 0
