"""Other times a session could move to: a few earlier and a few later on the days that suit the patient, and what
stands in the way of a move the day grid asked for."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q

from scheduling.models import MAX_SESSION_LENGTH, Allocation, Appointment
from scheduling.selectors.slots import SlotOption, available_slots

# How far after the session to look (before it, from tomorrow): a move to a month away is a new booking.
MOVE_WINDOW_DAYS = 14
MOVE_CHOICES_EACH_SIDE = 3
# A patient choosing a new time wants different times to choose from, not 09:00, 09:15 and 09:30 of one morning.
MOVE_CHOICES_APART = timedelta(hours=1)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class MoveAlternatives:
    weekdays: tuple[int, ...]  # 0 = Monday
    earlier: list[SlotOption] = field(default_factory=list)  # the nearest first
    later: list[SlotOption] = field(default_factory=list)  # the nearest first

    @property
    def any(self) -> bool:
        return bool(self.earlier or self.later)


def preferred_weekdays(appointment: Appointment) -> tuple[int, ...]:
    """The days the patient chose for their course (the series' weekdays), else the session's own weekday."""
    series = appointment.series if appointment.series_id else None
    if series is not None and series.weekdays:
        return tuple(sorted({int(day) for day in series.weekdays.split(",") if day.strip().isdigit()}))
    return (appointment.start_at.astimezone(appointment.location.tz).weekday(),)


def move_alternatives(
    appointment: Appointment,
    *,
    now: datetime,
    weekdays: Collection[int] | None = None,
    each_side: int = MOVE_CHOICES_EACH_SIDE,
) -> MoveAlternatives:
    """Free starts for this session's treatment at its location, from tomorrow to two weeks after it, on
    ``weekdays`` (default ``preferred_weekdays``): up to ``each_side`` before the session and after it, nearest
    first. The session's own chair, clinician and patient hold are free to it (it is the one moving)."""
    location = appointment.location
    days = tuple(sorted(set(weekdays))) if weekdays else preferred_weekdays(appointment)
    local_start = appointment.start_at.astimezone(location.tz).date()
    date_from = now.astimezone(location.tz).date() + timedelta(days=1)
    date_to = local_start + timedelta(days=MOVE_WINDOW_DAYS)
    if date_to < date_from:
        return MoveAlternatives(weekdays=days)
    options = [
        option
        for option in available_slots(
            location=location,
            treatment_type=appointment.treatment_type,
            date_from=date_from,
            date_to=date_to,
            now=now,
            patient=appointment.patient,
            ignore_appointment=appointment,
        )
        if option.start.astimezone(location.tz).weekday() in days and option.start != appointment.start_at
    ]
    earlier = _spread([option for option in options if option.start < appointment.start_at][::-1], each_side)
    later = _spread([option for option in options if option.start > appointment.start_at], each_side)
    return MoveAlternatives(weekdays=days, earlier=earlier, later=later)


def _spread(nearest_first: list[SlotOption], count: int) -> list[SlotOption]:
    """The nearest ``count`` options at least ``MOVE_CHOICES_APART`` from every one already chosen."""
    chosen: list[SlotOption] = []
    for option in nearest_first:
        if len(chosen) == count:
            break
        if all(abs(option.start - other.start) >= MOVE_CHOICES_APART for other in chosen):
            chosen.append(option)
    return chosen


def sessions_in_the_way(
    *,
    moving: Appointment,
    start: datetime,
    end: datetime,
    resource_id: int,
    clinician_id: int | None = None,
    whole_day: tuple[datetime, datetime] | None = None,
) -> list[int]:
    """The active sessions a move of ``moving`` to ``[start, end)`` in chair or room ``resource_id`` runs into:
    those holding that chair, the clinician (when given) or the patient then, and with ``whole_day`` the
    patient's other sessions in that span (a day's one dosing session). The day grid marks them where they are.
    """
    holders = Q(resource_id=resource_id) | Q(patient_id=moving.patient_id)
    if clinician_id is not None:
        holders |= Q(clinician_id=clinician_id)
    clashing = set(
        Allocation.objects.filter(holders, active=True, span__overlap=(start, end))
        .exclude(appointment_id=moving.pk)
        .values_list("appointment_id", flat=True)
    )
    if whole_day is not None:
        clashing.update(
            Appointment.objects.filter(
                patient_id=moving.patient_id,
                status__in=Appointment.ACTIVE_STATUSES,
                start_at__gt=whole_day[0] - MAX_SESSION_LENGTH,
                start_at__lt=whole_day[1],
                end_at__gt=whole_day[0],
            )
            .exclude(pk=moving.pk)
            .values_list("pk", flat=True)
        )
    return sorted(clashing)
