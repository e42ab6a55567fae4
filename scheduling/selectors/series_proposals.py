"""A course of sessions laid on the calendar: each taken session replaced by the nearest free start (one round of
availability queries for the whole series)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from intake.models import Patient
from scheduling import series
from scheduling.models import MAX_SESSION_LENGTH, Appointment, CourseTemplate, Location, TreatmentType
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
        raise ValueError(_("The first week cannot start in the past: choose today or a later day."))
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


@dataclass(frozen=True)
class SeriesCalendarDay:
    """One day of the series preview: the proposed sessions that day (ghost blocks) and the patient's sessions
    already booked then."""

    day: date
    proposed: list[ProposedSeriesSession]
    booked: list[Appointment]


@dataclass(frozen=True)
class SeriesCalendarWeek:
    monday: date
    days: list[SeriesCalendarDay]


def series_calendar(
    proposal: Sequence[ProposedSeriesSession], *, location: Location, patient: Patient
) -> list[SeriesCalendarWeek]:
    """The proposal laid on the calendar, a week (Monday to Sunday) a row from the first session's week to the
    last's, with the patient's active sessions already booked in those weeks (one query). A session with no free
    time shows on the day it was asked for."""
    tz: ZoneInfo = location.tz
    if not proposal:
        return []
    by_day: dict[date, list[ProposedSeriesSession]] = {}
    for session in proposal:
        by_day.setdefault((session.start or session.requested_start).astimezone(tz).date(), []).append(
            session
        )
    first, last = min(by_day), max(by_day)
    monday = first - timedelta(days=first.weekday())
    sunday = last + timedelta(days=6 - last.weekday())
    span_start = datetime.combine(monday, time(0), tzinfo=tz)
    span_end = datetime.combine(sunday + timedelta(days=1), time(0), tzinfo=tz)
    booked: dict[date, list[Appointment]] = {}
    for appointment in (
        Appointment.objects.filter(
            patient=patient,
            status__in=Appointment.ACTIVE_STATUSES,
            start_at__gt=span_start - MAX_SESSION_LENGTH,
            start_at__lt=span_end,
        )
        .select_related("treatment_type", "resource", "location")
        .order_by("start_at")
    ):
        booked.setdefault(appointment.start_at.astimezone(tz).date(), []).append(appointment)
    weeks = []
    while monday <= sunday:
        days = [monday + timedelta(days=offset) for offset in range(7)]
        weeks.append(
            SeriesCalendarWeek(
                monday=monday,
                days=[SeriesCalendarDay(day, by_day.get(day, []), booked.get(day, [])) for day in days],
            )
        )
        monday += timedelta(days=7)
    return weeks
