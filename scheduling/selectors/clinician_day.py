"""The day with clinicians as columns: each session's clinician holds (the dosing window, and a Spravato session's
discharge check) as blocks sized to them, read from the allocations themselves (the holds as booked, moved or
handed over), so the view shows what the exclusion constraints hold, not a recomputation."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime

from django.db import connection
from django.utils.translation import gettext as _

from clinic.db import execute_prepared
from clinic.local_time import format_time_of_day
from scheduling.models import Location
from scheduling.selectors.schedule import DayColumn, DaySchedule, day_overlap_bounds, place_blocks

# One round trip, written as SQL and prepared like the day statement (the ORM's compile of these two reads cost more
# than running them): the active clinician holds of the sessions overlapping the day (the day statement's bounds,
# so every session it shows), as a JSON array in time order per session, and the clinicians who work at the location
# that weekday with their names as Clinician.__str__ writes them.
CLINICIAN_DAY_SQL = """
SELECT
    (SELECT json_agg(json_build_array(al.appointment_id, al.clinician_id, lower(al.span), upper(al.span))
                     ORDER BY al.appointment_id, lower(al.span), al.clinician_id, upper(al.span))
       FROM scheduling_allocation al
       JOIN scheduling_appointment a ON a.id = al.appointment_id
      WHERE a.location_id = %(location)s
        AND a.start_at > %(earliest)s AND a.start_at < %(end)s AND a.end_at > %(start)s
        AND al.kind = 'clinician' AND al.active)::text,
    ARRAY(SELECT c.id FROM scheduling_clinician c
           WHERE c.id IN (SELECT clinician_id FROM scheduling_workinghours
                           WHERE location_id = %(location)s AND weekday = %(weekday)s)
           ORDER BY c.id),
    ARRAY(SELECT COALESCE(NULLIF(u.full_name, ''), u.email) || COALESCE(', ' || NULLIF(c.credentials, ''), '')
            FROM scheduling_clinician c JOIN clinic_user u ON u.id = c.user_id
           WHERE c.id IN (SELECT clinician_id FROM scheduling_workinghours
                           WHERE location_id = %(location)s AND weekday = %(weekday)s)
           ORDER BY c.id)
"""


@dataclass(frozen=True)
class ClinicianDayFacts:
    """What the clinician view reads besides the day statement (``CLINICIAN_DAY_SQL``'s row as sent)."""

    holds_json: str | None
    working_ids: list[int]
    working_names: list[str]

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(
            repr((self.holds_json, self.working_ids, self.working_names)).encode()
        ).hexdigest()

    def holds(self) -> list[tuple[int, int, datetime, datetime]]:
        """(appointment, clinician, start, end) of each hold, a session's holds in time order."""
        return [
            (appointment_id, clinician_id, datetime.fromisoformat(start), datetime.fromisoformat(end))
            for appointment_id, clinician_id, start, end in json.loads(self.holds_json or "[]")
        ]


def clinician_day_facts(location: Location, day: date) -> ClinicianDayFacts:
    """One query: ``CLINICIAN_DAY_SQL`` for ``location`` and ``day``."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "clinician_day",
            CLINICIAN_DAY_SQL,
            {**day_overlap_bounds(location, day), "weekday": day.weekday()},
            generic=True,  # one plan fits every location and day
        )
        holds_json, working_ids, working_names = cursor.fetchone()
    return ClinicianDayFacts(holds_json=holds_json, working_ids=working_ids, working_names=working_names)


def clinician_day(schedule: DaySchedule, facts: ClinicianDayFacts | None = None) -> DaySchedule:
    """``schedule`` (the chair view, ``day_schedule``) regridded by clinician: one more query
    (``clinician_day_facts``, unless given), the day's clinician holds and the clinicians who work at the location
    that weekday. Each of those has a column (front desk books from its free cells) as does any other clinician
    holding a session that day."""
    if facts is None:
        facts = clinician_day_facts(schedule.location, schedule.day)
    tz = schedule.location.tz
    by_pk = {entry.pk: entry for entry in schedule.appointments}
    blocks = []
    seen: set[int] = set()
    for appointment_id, clinician_id, start, end in facts.holds():
        entry = by_pk.get(appointment_id)
        if entry is None:
            continue  # a session the day does not show (cancelled, or a no-show)
        # The first hold of a session is its dosing window; a second (Spravato) is the discharge check.
        what = _("discharge check") if appointment_id in seen else _("dosing")
        seen.add(appointment_id)
        blocks.append(
            (
                clinician_id,
                replace(
                    entry,
                    start_at=start,
                    end_at=end,
                    held_until=end,
                    cleaning_label="",
                    times=f"{format_time_of_day(start.astimezone(tz).time())}–"
                    f"{format_time_of_day(end.astimezone(tz).time())}",
                    treatment_label=f"{entry.treatment_label} · {what} · {entry.resource_name}",
                ),
            )
        )
    names = {entry.clinician_id: entry.clinician_name for entry in schedule.appointments}
    for pk, name in zip(facts.working_ids, facts.working_names, strict=True):
        names.setdefault(pk, name)
    columns = sorted(
        (
            DayColumn(pk, names.get(pk, ""))
            for pk in {clinician_id for clinician_id, _entry in blocks} | (names.keys() - {None})
        ),
        key=lambda column: (column.name, column.pk),
    )
    index = {column.pk: i for i, column in enumerate(columns)}
    row_starts = [row.at for row in schedule.rows]
    step = row_starts[1] - row_starts[0] if len(row_starts) > 1 else None
    grid = (
        place_blocks([(index[pk], entry) for pk, entry in blocks], len(columns), row_starts, step)
        if step is not None
        else [[] for _row in row_starts]
    )
    return replace(
        schedule,
        resources=columns,
        rows=[replace(row, cells=cells) for row, cells in zip(schedule.rows, grid, strict=True)],
    )
