"""A date range's free starts at a location by chair or room and by clinician: what the staff JSON endpoint
(scheduling/views/availability.py) answers, for the calendar and the patient's self-booking page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection

from clinic.db import execute_prepared
from scheduling import availability
from scheduling.models import Location, TreatmentType
from scheduling.selectors.slots import Gaps, load_availability_inputs

# The endpoint's treatment, by its code: prepared SQL, as the location picker's read (the ORM's compile of this
# lookup took several times the CPU, bench/README.md). The columns are named, in the model's order, so a field added
# later is deferred (read when used), never misplaced.
TREATMENT_BY_CODE_SQL = (
    "SELECT id, code, label, modality, resource_kind, chair_minutes, clinician_offset_minutes, clinician_minutes, "
    "discharge_minutes, dose_mg, preparation, min_days_apart, is_active, min_monitoring_minutes, monitoring_from, "
    "vitals_at_40_min_required, vitals_before_discharge_required, vitals_during_dose_every_minutes "
    "FROM scheduling_treatmenttype WHERE code = %s"
)


def treatment_type_by_code(code: str) -> TreatmentType | None:
    """The treatment type with ``code`` (retired ones too, as ``TreatmentType.objects.filter(code=...)``), or None."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, "treatment_by_code", TREATMENT_BY_CODE_SQL, [code])
        row = cursor.fetchone()
        names = [column.name for column in cursor.description]
    return None if row is None else TreatmentType.from_db(connection.alias, names, row)


@dataclass(frozen=True)
class FreeCalendar:
    """A date range's free starts at a location, by chair/room and by clinician (each start with any chair free at
    it and any clinician free at it is a bookable pair)."""

    resource_names: dict[int, str]
    clinician_names: dict[int, str]
    starts: list[availability.FreeStart]

    def by_resource(self) -> dict[int, list[datetime]]:
        out: dict[int, list[datetime]] = {pk: [] for pk in self.resource_names}
        for free in self.starts:
            for pk in free.resource_ids:
                out[pk].append(free.start)
        return out

    def by_clinician(self) -> dict[int, list[datetime]]:
        out: dict[int, list[datetime]] = {pk: [] for pk in self.clinician_names}
        for free in self.starts:
            for pk in free.clinician_ids:
                out[pk].append(free.start)
        return out


def free_calendar(
    *, location: Location, treatment_type: TreatmentType, date_from: date, date_to: date, now: datetime
) -> FreeCalendar:
    """Every free start on local dates ``date_from``..``date_to`` with every chair/room and clinician free for it,
    the discharge window included (two queries, as ``available_slots``)."""
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=date_from,
        date_to=date_to,
        gaps=Gaps.of(treatment_type),
    )
    starts = availability.free_starts(**inputs.query(date_from=date_from, date_to=date_to, now=now))
    minutes = treatment_type.discharge_minutes
    if minutes:
        kept = []
        for free in starts:
            window = (free.end - timedelta(minutes=minutes), free.end)
            clinicians = tuple(c for c in free.clinician_ids if inputs.clinician_free(c, *window))
            if clinicians:
                kept.append(availability.FreeStart(free.start, free.end, free.resource_ids, clinicians))
        starts = kept
    return FreeCalendar(
        resource_names=inputs.resource_names, clinician_names=inputs.clinician_names, starts=starts
    )
