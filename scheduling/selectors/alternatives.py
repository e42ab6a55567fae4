"""The nearest free starts to a time that is taken: what a refused booking, move or hand-over offers instead."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from itertools import islice

from intake.models import Patient
from scheduling import availability
from scheduling.models import Appointment, Location, TreatmentType
from scheduling.selectors.schedule import local_midnight
from scheduling.selectors.slots import AvailabilityInputs, Gaps, SlotOption, load_availability_inputs

# How far around a taken time the nearest alternatives are looked for.
ALTERNATIVES_WINDOW_DAYS = 7


def nearest_alternatives(
    *,
    location: Location,
    treatment_type: TreatmentType,
    requested_start: datetime,
    now: datetime,
    patient: Patient | None = None,
    ignore_appointment: Appointment | None = None,
    limit: int = 3,
    resource_id: int | None = None,
    clinician_id: int | None = None,
) -> list[SlotOption]:
    """Up to ``limit`` free starts nearest to ``requested_start`` within a week either side.

    The same chair or clinician at another time comes first when asked for (front desk asked for that one);
    other chairs at the requested time come next.
    """
    local_day = requested_start.astimezone(location.tz).date()
    date_from = max(local_day - timedelta(days=ALTERNATIVES_WINDOW_DAYS), now.astimezone(location.tz).date())
    date_to = local_day + timedelta(days=ALTERNATIVES_WINDOW_DAYS)
    if date_to < date_from:
        return []
    # One read of the whole window. Reading three days either side first and the week only when needed measured
    # slower in the booking race (bench/README.md): the racing clients take the next days' free starts, so most
    # losers needed both reads.
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=date_from,
        date_to=date_to,
        patient=patient,
        ignore_appointment=ignore_appointment,
        gaps=Gaps.of(treatment_type),  # only this treatment's sessions are asked about
    )
    nearest, same = _nearest_in(
        inputs,
        requested_start,
        date_from=date_from,
        date_to=date_to,
        now=now,
        limit=limit,
        resource_id=resource_id,
        clinician_id=clinician_id,
    )
    return (same + [o for o in nearest if o not in same])[:limit]


def _nearest_in(
    inputs: AvailabilityInputs,
    requested_start: datetime,
    *,
    date_from: date,
    date_to: date,
    now: datetime,
    limit: int,
    resource_id: int | None,
    clinician_id: int | None,
) -> tuple[list[SlotOption], list[SlotOption]]:
    """The ``limit`` options nearest to ``requested_start`` in the range, and the nearest with the chair or
    clinician asked for (empty if none was asked for or none is free).

    The days are searched nearest first (the requested day, then a day either side, then two...), and the search
    stops once every answer is nearer than any start on a day not yet searched could be: on a busy calendar the
    answers are a few days away, and searching the whole window cost more CPU than reading it."""
    blocked, tz = inputs.patient_blocked_days, inputs.location_day.tz
    asked_same = resource_id is not None or clinician_id is not None
    same_resources = {resource_id} if resource_id in inputs.resource_names else None
    same_clinicians = {clinician_id} if clinician_id in inputs.clinician_names else None
    requested_day = requested_start.astimezone(tz).date()
    rings = [
        [
            day
            for day in (requested_day - timedelta(days=k), requested_day + timedelta(days=k))
            if date_from <= day <= date_to
        ]
        for k in range(max((requested_day - date_from).days, (date_to - requested_day).days) + 1)
    ]
    days = [day for ring in rings for day in dict.fromkeys(ring)]
    by_day = availability.free_starts_by_day(
        days, **inputs.query(date_from=date_from, date_to=date_to, now=now)
    )

    def distance(option) -> timedelta:
        return abs(option.start - requested_start)

    starts: list[availability.FreeStart] = []
    nearest: list[SlotOption] = []
    same: list[SlotOption] = []
    for k, ring in enumerate(rings):
        for day in dict.fromkeys(ring):
            if blocked and day in blocked:
                next(by_day)
                continue
            starts.extend(next(by_day))
        starts.sort(key=lambda free: (abs(free.start - requested_start), free.start))
        nearest = list(islice(_options(inputs, starts), limit))
        same = (
            list(islice(_options(inputs, starts, same_resources, same_clinicians), 1)) if asked_same else []
        )
        # A start on a day not yet searched is at least this far from the request.
        unsearched = min(
            requested_start - local_midnight(requested_day - timedelta(days=k), tz)
            if requested_day - timedelta(days=k) > date_from
            else timedelta.max,
            local_midnight(requested_day + timedelta(days=k + 1), tz) - requested_start
            if requested_day + timedelta(days=k) < date_to
            else timedelta.max,
        )
        if (
            len(nearest) == limit
            and all(distance(option) < unsearched for option in nearest)
            and (not asked_same or (same and distance(same[0]) < unsearched))
        ):
            break
    return nearest, same


def _options(
    inputs: AvailabilityInputs, starts, resource_ids=None, clinician_ids=None
) -> Iterator[SlotOption]:
    for free in starts:
        option = _option_at(inputs, free, resource_ids=resource_ids, clinician_ids=clinician_ids)
        if option is not None:
            yield option


def _option_at(
    inputs: AvailabilityInputs, free: availability.FreeStart, *, resource_ids=None, clinician_ids=None
) -> SlotOption | None:
    """The option ``free_options`` would give at this start (the lowest-id free chair and the lowest-id free
    clinician whose discharge window is free too), among the chairs and clinicians allowed."""
    resource = next((r for r in free.resource_ids if resource_ids is None or r in resource_ids), None)
    if resource is None:
        return None
    for clinician in free.clinician_ids:
        if clinician_ids is not None and clinician not in clinician_ids:
            continue
        slot = availability.Slot(free.start, free.end, resource, clinician)
        if inputs.discharge_window_free(slot):
            return inputs.option(slot)
    return None
