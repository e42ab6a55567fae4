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
from scheduling import series, timeline
from scheduling.models import (
    MAX_SESSION_LENGTH,
    Appointment,
    CourseTemplate,
    Location,
    OpeningHours,
    TreatmentType,
)
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
class SeriesBlock:
    """One block on a day's time strip of the preview: a proposed session (a ghost), one of the patient's sessions
    already booked, or another session in the chair a proposed session would take (the desk sees what is around
    it)."""

    kind: str  # "proposed", "booked" or "taken"
    placement: timeline.Placement
    session: ProposedSeriesSession | None = None
    appointment: Appointment | None = None


@dataclass(frozen=True)
class SeriesCalendarDay:
    """One day of the series preview: the proposed sessions that day (ghost blocks), the patient's sessions
    already booked then, and everything on the day's strip, placed by its time."""

    day: date
    proposed: list[ProposedSeriesSession]
    booked: list[Appointment]
    blocks: list[SeriesBlock]


@dataclass(frozen=True)
class SeriesCalendarWeek:
    monday: date
    days: list[SeriesCalendarDay]


@dataclass(frozen=True)
class SeriesCalendar:
    weeks: list[SeriesCalendarWeek]
    strip: timeline.Strip  # every day's time axis, as on the week grid


def series_calendar(
    proposal: Sequence[ProposedSeriesSession],
    *,
    location: Location,
    patient: Patient,
    session_length: timedelta,
) -> SeriesCalendar:
    """The proposal laid on the calendar, a week (Monday to Sunday) a row from the first session's week to the
    last's, each day a time strip as on the week grid: the proposed sessions as ghost blocks sized by their times,
    the patient's active sessions already booked, and the other sessions in a proposed session's chair that day
    (three queries: those sessions and the opening hours). A session with no free time shows at the time it was
    asked for, ``session_length`` long."""
    tz: ZoneInfo = location.tz
    if not proposal:
        return SeriesCalendar([], timeline.strip_for([]))
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
    in_span = {
        "status__in": Appointment.ACTIVE_STATUSES,
        "start_at__gt": span_start - MAX_SESSION_LENGTH,
        "start_at__lt": span_end,
        "end_at__gt": span_start,
    }
    booked: dict[date, list[Appointment]] = {}
    for appointment in (
        Appointment.objects.filter(patient=patient, **in_span)
        .select_related("treatment_type", "resource", "location")
        .order_by("start_at")
    ):
        booked.setdefault(appointment.start_at.astimezone(tz).date(), []).append(appointment)
    chairs_by_day = {
        day: {session.option.resource_id for session in sessions if session.option}
        for day, sessions in by_day.items()
    }
    taken: dict[date, list[Appointment]] = {}
    for appointment in (
        Appointment.objects.filter(
            location=location,
            resource_id__in={pk for chairs in chairs_by_day.values() for pk in chairs},
            **in_span,
        )
        .exclude(patient=patient)
        .select_related("resource")
        .order_by("start_at")
    ):
        day = appointment.start_at.astimezone(tz).date()
        if appointment.resource_id in chairs_by_day.get(day, ()):
            taken.setdefault(day, []).append(appointment)

    def times(session: ProposedSeriesSession) -> tuple[datetime, datetime]:
        if session.option:
            return session.option.start, session.option.end
        return session.requested_start, session.requested_start + session_length

    windows = [
        (opens.hour * 60 + opens.minute, closes.hour * 60 + closes.minute)
        for opens, closes in OpeningHours.objects.filter(location=location).values_list("opens", "closes")
    ]
    for day, sessions in by_day.items():
        windows += [
            (timeline.local_minutes(start, day, tz), timeline.local_minutes(end, day, tz))
            for start, end in map(times, sessions)
        ]
    for day, appointments in [*booked.items(), *taken.items()]:
        windows += [
            (timeline.local_minutes(a.start_at, day, tz), timeline.local_minutes(a.end_at, day, tz))
            for a in appointments
        ]
    strip = timeline.strip_for(windows)

    def blocks_on(day: date) -> list[SeriesBlock]:
        """The day's blocks in the order of their starts: the keyboard reaches them in time order."""
        origin = strip.origin(day, tz)
        blocks: list[tuple[datetime, SeriesBlock]] = []
        for session in by_day.get(day, []):
            start, end = times(session)
            placed = timeline.place(start, end, origin=origin, steps=strip.steps)
            if placed:
                blocks.append((start, SeriesBlock("proposed", placed, session=session)))
        for kind, appointments in (("booked", booked.get(day, [])), ("taken", taken.get(day, []))):
            for appointment in appointments:
                placed = timeline.place(
                    appointment.start_at, appointment.end_at, origin=origin, steps=strip.steps
                )
                if placed:
                    blocks.append((appointment.start_at, SeriesBlock(kind, placed, appointment=appointment)))
        blocks.sort(key=lambda pair: pair[0])
        return [block for _start, block in blocks]

    weeks = []
    while monday <= sunday:
        days = [monday + timedelta(days=offset) for offset in range(7)]
        weeks.append(
            SeriesCalendarWeek(
                monday=monday,
                days=[
                    SeriesCalendarDay(day, by_day.get(day, []), booked.get(day, []), blocks_on(day))
                    for day in days
                ],
            )
        )
        monday += timedelta(days=7)
    return SeriesCalendar(weeks, strip)
