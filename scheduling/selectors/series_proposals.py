"""A course of sessions laid on the calendar: each taken session replaced by the nearest free start (one round of
availability queries for the whole series)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from intake.models import Patient
from scheduling import series
from scheduling.models import CourseTemplate, Location, TreatmentType
from scheduling.selectors.slots import SlotOption, free_options, load_availability_inputs

TEMPLATE_MODALITY = {
    "iv_ketamine": TreatmentType.Modality.IV_KETAMINE,
    "spravato": TreatmentType.Modality.SPRAVATO,
}


def bookable_course_templates() -> list[series.SeriesTemplate]:
    """The series templates front desk may book now (in use), as the pure templates that plan them."""
    return [row.as_series_template() for row in CourseTemplate.objects.filter(is_active=True)]


def bookable_course_template(code: str) -> series.SeriesTemplate | None:
    """The template in use with this code, or None (unknown or retired)."""
    row = CourseTemplate.objects.filter(code=code, is_active=True).first()
    return row.as_series_template() if row else None


@dataclass(frozen=True)
class ProposedSeriesSession:
    index: int
    note: str
    requested_start: datetime
    option: SlotOption | None
    replaced: bool
    reason: str

    @property
    def start(self) -> datetime | None:
        return self.option.start if self.option else None


def propose_treatment_series(
    *,
    patient: Patient,
    location: Location,
    treatment_type: TreatmentType,
    template: series.SeriesTemplate,
    start_date: date,
    weekdays: Sequence[int],
    local_time: time,
    now: datetime,
) -> list[ProposedSeriesSession]:
    """Lay the template on the calendar and replace each taken session with the nearest free start.

    Raises ValueError (with a message for front desk) when the weekdays do not fit the template or the series
    would start in the past. One round of availability queries covers the whole series; a day too close to one of
    the patient's other dosing sessions (their day holds) is not free.
    """
    tz: ZoneInfo = location.tz
    today = now.astimezone(tz).date()
    if start_date < today:
        raise ValueError("The first week cannot start in the past: choose today or a later day.")
    planned = series.plan_series(
        template, start_date=start_date, weekdays=weekdays, local_time=local_time, tz=tz
    )
    date_from = max(planned[0].local_date - timedelta(days=7), today)
    date_to = planned[-1].local_date + timedelta(days=7)
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=date_from,
        date_to=date_to,
        patient=patient,
    )
    options = free_options(inputs, date_from=date_from, date_to=date_to, now=now)
    by_start = {option.start: option for option in options}
    starts = sorted(by_start)

    def is_free(start: datetime) -> bool:
        return start in by_start

    def alternatives(start: datetime) -> list[datetime]:
        lo = bisect_right(starts, start - timedelta(days=7))
        hi = bisect_right(starts, start + timedelta(days=7))
        return starts[lo:hi]

    proposal = series.propose_series(
        planned,
        is_free=is_free,
        alternatives=alternatives,
        tz=tz,
        # The course's own spacing, or the treatment's if wider (the day holds would refuse a closer pair).
        min_days_between=max(template.min_days_between, treatment_type.min_days_apart),
    )
    notes = {session.index: session.note for session in planned}
    return [
        ProposedSeriesSession(
            index=session.index,
            note=notes[session.index],
            requested_start=session.requested_start,
            option=by_start.get(session.start) if session.start else None,
            replaced=session.replaced,
            reason=session.reason,
        )
        for session in proposal
    ]
