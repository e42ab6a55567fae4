"""The week view: chairs and rooms as rows, the seven local days as columns, each session a block in its chair's
cell of its day, with the same words and badges as the day view (it is read as seven day statements, so a
session's status, clearance, risk, REMS and cleaning are worked out in one place: ``schedule.day_schedule``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection

from clinic.db import execute_prepared
from scheduling.models import MAX_SESSION_LENGTH, Location
from scheduling.selectors.schedule import (
    DAY_VERSION_SQL,
    DayColumn,
    DayEntry,
    DaySchedule,
    day_schedule,
    local_day_bounds,
)


@dataclass(frozen=True, slots=True)
class WeekCell:
    day: date
    entries: list[DayEntry]  # the chair's sessions that day, in time order


@dataclass(frozen=True, slots=True)
class WeekRow:
    resource: DayColumn
    cells: list[WeekCell]


@dataclass
class WeekGrid:
    location: Location
    week_start: date
    days: list[DaySchedule]  # Monday to Sunday: each day's closure and sessions
    rows: list[WeekRow]
    version: str  # ``week_version``: the live week view's ETag

    @property
    def session_count(self) -> int:
        return sum(len(day.appointments) for day in self.days)


def week_grid(location: Location, week_start: date, *, now: datetime | None = None) -> WeekGrid:
    """Seven day statements and the week's version (eight queries, each an index range scan)."""
    days = [day_schedule(location, week_start + timedelta(days=n), now=now) for n in range(7)]
    columns = days[0].resources
    rows = [
        WeekRow(
            resource=column,
            cells=[
                WeekCell(day.day, [entry for entry in day.appointments if entry.resource_id == column.pk])
                for day in days
            ],
        )
        for column in columns
    ]
    return WeekGrid(location, week_start, days, rows, week_version(location, week_start))


def week_version(location: Location, week_start: date) -> str:
    """What the live week view compares with the page's ETag: the day version's fingerprint over the seven days (one
    index range scan on (location, start_at))."""
    start, _ = local_day_bounds(location, week_start)
    _, end = local_day_bounds(location, week_start + timedelta(days=6))
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "day_version",
            DAY_VERSION_SQL,
            {"location": location.pk, "earliest": start - MAX_SESSION_LENGTH, "start": start, "end": end},
            generic=True,
        )
        (columns,) = cursor.fetchone()
    return "-".join([str(location.pk), "week", week_start.isoformat(), *columns])
