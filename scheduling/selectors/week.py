"""The week view: chairs and rooms as rows, the seven local days as columns, each session a block in its chair's
cell of its day, placed and sized by its times on the day's time strip (``scheduling.timeline``), with the same
words and badges as the day view (it is read as seven day statements, so a session's status, clearance, risk, REMS
and cleaning are worked out in one place: ``schedule.day_schedule``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection

from clinic.db import execute_prepared
from scheduling import timeline
from scheduling.models import MAX_SESSION_LENGTH, Location
from scheduling.selectors.schedule import (
    DAY_VERSION_SQL,
    VERSION_COLUMNS,
    DayColumn,
    DayEntry,
    DaySchedule,
    day_schedule,
    local_day_bounds,
)


@dataclass(frozen=True, slots=True)
class WeekBlock:
    """A session on its day's strip: where it sits, and its parts (check-in, dosing, monitoring, discharge check,
    cleaning) as the clinician holds and the chair's cleaning make them."""

    entry: DayEntry
    placement: timeline.Placement
    phases: list[
        tuple[str, datetime, datetime]
    ]  # (kind, start, end): the parts the block draws, in time order


@dataclass(frozen=True, slots=True)
class WeekCell:
    day: date
    entries: list[DayEntry]  # the chair's sessions that day, in time order
    blocks: list[WeekBlock]  # the same sessions, placed on the strip (a session outside the strip has none)


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
    strip: timeline.Strip  # every day's time axis: the same hours each day, so the days line up

    @property
    def session_count(self) -> int:
        return sum(len(day.appointments) for day in self.days)


# The week's version (as ``week_version``) and its sessions' clinician holds, in one round trip: the first hold of a
# session is its dosing window, a second (Spravato) its discharge check. Read from the allocations themselves, as
# the clinician view does, so the blocks show what is held, not a recomputation.
WEEK_SQL = f"""
SELECT (SELECT {VERSION_COLUMNS}
          FROM scheduling_appointment
         WHERE location_id = %(location)s AND start_at > %(earliest)s AND start_at < %(end)s AND end_at > %(start)s),
       (SELECT json_agg(json_build_array(al.appointment_id, lower(al.span), upper(al.span))
                        ORDER BY al.appointment_id, lower(al.span))
          FROM scheduling_appointment a
          JOIN scheduling_allocation al ON al.appointment_id = a.id AND al.kind = 'clinician' AND al.active
         WHERE a.location_id = %(location)s AND a.start_at > %(earliest)s AND a.start_at < %(end)s
           AND a.end_at > %(start)s)::text
"""  # noqa: S608 - a constant column list, no input


def week_grid(location: Location, week_start: date, *, now: datetime | None = None) -> WeekGrid:
    """Seven day statements, and the week's version with its clinician holds (eight queries, each an index range
    scan)."""
    days = [day_schedule(location, week_start + timedelta(days=n), now=now) for n in range(7)]
    version, holds = _version_and_holds(location, week_start)
    strip = week_strip(days)
    tz = location.tz
    columns = days[0].resources
    rows = []
    for column in columns:
        cells = []
        for day in days:
            entries = [entry for entry in day.appointments if entry.resource_id == column.pk]
            origin = strip.origin(day.day, tz)
            blocks = []
            for entry in entries:
                phases = session_phases(entry, holds.get(entry.pk, []))
                placement = timeline.place(
                    entry.start_at,
                    entry.held_until or entry.end_at,
                    origin=origin,
                    steps=strip.steps,
                    phases=phases,
                )
                if placement is not None:
                    blocks.append(WeekBlock(entry, placement, phases))
            cells.append(WeekCell(day.day, entries, blocks))
        rows.append(WeekRow(resource=column, cells=cells))
    return WeekGrid(location, week_start, days, rows, version, strip)


def week_strip(days: list[DaySchedule]) -> timeline.Strip:
    """One time axis for the whole week: from the earliest row of any day to the latest (each day's rows already run
    from its opening to its closing, widened to its sessions)."""
    tz = days[0].location.tz
    windows = []
    for day in days:
        if day.rows:
            first = timeline.local_minutes(day.rows[0].at, day.day, tz)
            last = timeline.local_minutes(day.rows[-1].at + timedelta(minutes=day.row_minutes), day.day, tz)
            windows.append((first, last))
    return timeline.strip_for(windows)


def session_phases(
    entry: DayEntry, holds: list[tuple[datetime, datetime]]
) -> list[tuple[str, datetime, datetime]]:
    """A session's parts in time order: check-in before the clinician is needed, the dosing window, monitoring until
    the discharge check (or the end), the discharge check, and the chair's cleaning after it."""
    phases = []
    end = entry.end_at
    if holds:
        dosing_start, dosing_end = holds[0]
        discharge = holds[1] if len(holds) > 1 else None
        phases.append(("prep", entry.start_at, dosing_start))
        phases.append(("dosing", dosing_start, dosing_end))
        phases.append(("monitoring", dosing_end, discharge[0] if discharge else end))
        if discharge:
            phases.append(("discharge", discharge[0], discharge[1]))
    if entry.held_until and entry.held_until > end:
        phases.append(("cleaning", end, entry.held_until))
    return [(kind, start, stop) for kind, start, stop in phases if stop > start]


def _week_params(location: Location, week_start: date) -> dict:
    start, _ = local_day_bounds(location, week_start)
    _, end = local_day_bounds(location, week_start + timedelta(days=6))
    return {"location": location.pk, "earliest": start - MAX_SESSION_LENGTH, "start": start, "end": end}


def _version_token(location: Location, week_start: date, columns: list[str]) -> str:
    return "-".join([str(location.pk), "week", week_start.isoformat(), *columns])


def _version_and_holds(
    location: Location, week_start: date
) -> tuple[str, dict[int, list[tuple[datetime, datetime]]]]:
    with connection.cursor() as cursor:
        execute_prepared(cursor, "week_grid", WEEK_SQL, _week_params(location, week_start), generic=True)
        columns, holds_json = cursor.fetchone()
    holds: dict[int, list[tuple[datetime, datetime]]] = {}
    for appointment_id, lower, upper in json.loads(holds_json or "[]"):
        holds.setdefault(appointment_id, []).append(
            (datetime.fromisoformat(lower), datetime.fromisoformat(upper))
        )
    return _version_token(location, week_start, columns), holds


def week_version(location: Location, week_start: date) -> str:
    """What the live week view compares with the page's ETag: the day version's fingerprint over the seven days (one
    index range scan on (location, start_at))."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor, "day_version", DAY_VERSION_SQL, _week_params(location, week_start), generic=True
        )
        (columns,) = cursor.fetchone()
    return _version_token(location, week_start, columns)
