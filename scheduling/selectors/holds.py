"""What the calendar holds: the sessions in the way of a calendar change (time off, a closure, new weekly hours),
and the check that no two active holds of one thing overlap."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange
from django.db.models import Q, QuerySet

from scheduling import availability
from scheduling.models import Allocation, Appointment, DayHold, Location


def _held(holds: Q) -> QuerySet:
    return (
        Appointment.objects.filter(
            pk__in=Allocation.objects.filter(holds, active=True).values("appointment_id")
        )
        .select_related("patient", "location", "resource")
        .order_by("start_at", "pk")
    )


def dosing_clash(
    *, patient_id: int, days: DateRange, ignore_appointment_id: int | None = None
) -> Appointment | None:
    """The patient's live dosing session whose dosing days overlap ``days`` (a DateRange), earliest first: what
    the day holds' exclusion constraint would refuse a new session for. None when there is none."""
    holds = DayHold.objects.filter(patient_id=patient_id, active=True, days__overlap=days)
    if ignore_appointment_id is not None:
        holds = holds.exclude(appointment_id=ignore_appointment_id)
    return (
        Appointment.objects.filter(pk__in=holds.values("appointment_id"))
        .select_related("location", "treatment_type")
        .order_by("start_at", "pk")
        .first()
    )


def sessions_held_by_clinician(clinician_id: int, starts_at: datetime, ends_at: datetime) -> QuerySet:
    """Sessions whose clinician holds overlap ``[starts_at, ends_at)``: what time off there would collide with
    (the same question as migration 0008's guard)."""
    return _held(Q(clinician_id=clinician_id, span__overlap=(starts_at, ends_at)))


def sessions_held_at_location_on(location: Location, day: date) -> QuerySet:
    """Sessions holding one of the location's chairs or rooms during its local ``day``: what a closure that day
    would collide with."""
    tz = location.tz
    day_start = datetime.combine(day, time(0), tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return _held(Q(resource__location_id=location.pk, span__overlap=(day_start, day_end)))


def sessions_outside_opening_hours(
    location: Location, windows: dict[int, list[tuple[time, time]]], *, now: datetime
) -> list[Appointment]:
    """Upcoming sessions at the location (from ``now``) that new weekly opening ``windows`` (weekday -> local
    windows) would not hold, by the booking rule's own test."""
    tz = location.tz
    outside = []
    for session in _held(Q(resource__location_id=location.pk, span__startswith__gte=now)):
        day = session.start_at.astimezone(tz).date()
        if not availability.inside_local_windows(
            session.start_at, session.end_at, tz=tz, day=day, windows=windows.get(day.weekday(), [])
        ):
            outside.append(session)
    return outside


def sessions_outside_working_hours(
    clinician_id: int, windows: dict[tuple[int, int], list[tuple[time, time]]], *, now: datetime
) -> list[Appointment]:
    """Upcoming sessions (from ``now``) whose holds of this clinician new weekly working ``windows`` ((location id,
    weekday) -> local windows) would not hold, by the booking rule's own test (each hold inside one window of the
    session's local day)."""
    holds = (
        Allocation.objects.filter(clinician_id=clinician_id, active=True, appointment__start_at__gte=now)
        .select_related("appointment__location", "appointment__patient", "appointment__resource")
        .order_by("appointment__start_at", "appointment_id")
    )
    outside: dict[int, Appointment] = {}
    for hold in holds:
        session = hold.appointment
        tz = session.location.tz
        day = session.start_at.astimezone(tz).date()
        if not availability.inside_local_windows(
            hold.span.lower,
            hold.span.upper,
            tz=tz,
            day=day,
            windows=windows.get((session.location_id, day.weekday()), []),
        ):
            outside.setdefault(session.pk, session)
    return list(outside.values())


def overlapping_active_allocations() -> list[tuple[int, int]]:
    """Pairs of active allocations of the same thing whose spans overlap: must always be empty."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, b.id
            FROM scheduling_allocation a
            JOIN scheduling_allocation b
              ON a.id < b.id
             AND a.kind = b.kind
             AND a.resource_id IS NOT DISTINCT FROM b.resource_id
             AND a.clinician_id IS NOT DISTINCT FROM b.clinician_id
             AND a.patient_id IS NOT DISTINCT FROM b.patient_id
             AND a.span && b.span
            WHERE a.active AND b.active
            """
        )
        return [tuple(row) for row in cursor.fetchall()]


def upcoming_sessions_on_resource(
    resource_id: int, *, now: datetime, treatment_type_ids: list[int] | None = None
) -> QuerySet:
    """Sessions from ``now`` holding this chair or room (only those of ``treatment_type_ids``, if given): what
    retiring it, or taking those treatments from it, would orphan."""
    sessions = _held(Q(resource_id=resource_id, span__startswith__gte=now))
    if treatment_type_ids is not None:
        sessions = sessions.filter(treatment_type_id__in=treatment_type_ids)
    return sessions


def upcoming_sessions_at_location(location_id: int, *, now: datetime) -> QuerySet:
    """Sessions from ``now`` holding one of the location's chairs or rooms: what closing the location would
    orphan."""
    return _held(Q(resource__location_id=location_id, span__startswith__gte=now))


def upcoming_sessions_of_treatment(treatment_type_id: int, *, now: datetime) -> QuerySet:
    """Sessions of this treatment from ``now``: what a change to what the treatment needs would leave behind."""
    return _held(Q(appointment__treatment_type_id=treatment_type_id, span__startswith__gte=now))


def upcoming_sessions_of_clinician(clinician_id: int, *, now: datetime) -> QuerySet:
    """The clinician's sessions from ``now``, anywhere: what deactivating them or changing their role would
    orphan."""
    return _held(Q(clinician_id=clinician_id, span__startswith__gte=now))


def upcoming_sessions_of_clinician_at(
    clinician_id: int, location_ids: list[int], *, now: datetime
) -> QuerySet:
    """The clinician's sessions from ``now`` at these locations: what taking the locations from them would
    orphan."""
    return _held(
        Q(clinician_id=clinician_id, appointment__location_id__in=location_ids, span__startswith__gte=now)
    )
