"""The day with clinicians as columns: each session's clinician holds (the dosing window, and a Spravato session's
discharge check) as blocks sized to them, read from the allocations themselves (the holds as booked, moved or
handed over), so the view shows what the exclusion constraints hold, not a recomputation."""

from __future__ import annotations

from dataclasses import replace

from django.utils.translation import gettext as _

from clinic.local_time import format_time_of_day
from scheduling.models import Allocation, Clinician
from scheduling.selectors.schedule import DayColumn, DaySchedule, place_blocks


def clinician_day(schedule: DaySchedule) -> DaySchedule:
    """``schedule`` (the chair view, ``day_schedule``) regridded by clinician: two more queries, the day's clinician
    holds and the clinicians who work at the location that weekday. Each of those has a column (front desk books
    from its free cells) as does any other clinician holding a session that day."""
    tz = schedule.location.tz
    by_pk = {entry.pk: entry for entry in schedule.appointments}
    holds = sorted(
        Allocation.objects.filter(
            appointment_id__in=list(by_pk), kind=Allocation.Kind.CLINICIAN, active=True
        ).values_list("appointment_id", "clinician_id", "span"),
        key=lambda hold: (hold[0], hold[2].lower),
    )
    blocks = []
    seen: set[int] = set()
    for appointment_id, clinician_id, span in holds:
        entry = by_pk[appointment_id]
        # The first hold of a session is its dosing window; a second (Spravato) is the discharge check.
        what = _("discharge check") if appointment_id in seen else _("dosing")
        seen.add(appointment_id)
        start, end = span.lower, span.upper
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
    for clinician in Clinician.objects.filter(
        working_hours__location=schedule.location, working_hours__weekday=schedule.day.weekday()
    ).select_related("user"):
        names.setdefault(clinician.pk, str(clinician))
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
