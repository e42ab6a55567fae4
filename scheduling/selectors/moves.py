"""Other times a patient could move a session to: a few earlier and a few later, on the days that suit them."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduling.models import Appointment
from scheduling.selectors.slots import SlotOption, available_slots

# How far after the session to look (before it, from tomorrow): a move to a month away is a new booking.
MOVE_WINDOW_DAYS = 14
MOVE_CHOICES_EACH_SIDE = 3
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
    earlier = [option for option in options if option.start < appointment.start_at][::-1][:each_side]
    later = [option for option in options if option.start > appointment.start_at][:each_side]
    return MoveAlternatives(weekdays=days, earlier=earlier, later=later)
