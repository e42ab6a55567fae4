"""Reads for scheduling: the per-object access gates, availability fed from a few queries, and the schedule views.

Who may see which location, appointment and patient is scheduling.access's rule; the gates here apply it.

Availability is computed by the pure ``scheduling.availability`` and ``scheduling.series`` modules. This module
loads what they need in a fixed number of queries whatever the date range (the location's calendar in one row:
hours, closures, chairs, clinicians' hours and time off; then every active allocation in the range: two
queries), never one per slot.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Q, QuerySet
from django.db.models.functions import JSONObject
from django.http import Http404
from django.utils import timezone

from clinic.db import execute_prepared
from clinic.roles import Role
from intake import eligibility as intake_eligibility
from intake.models import Patient
from scheduling import access, availability, series, session_rules
from scheduling.access import STAFF_ROLES
from scheduling.models import (
    MAX_SESSION_LENGTH,
    Allocation,
    Appointment,
    Clinician,
    ClinicianTimeOff,
    Closure,
    Location,
    OpeningHours,
    RemsEnrollment,
    Resource,
    SessionRecord,
    TreatmentType,
    VitalSigns,
    WaitlistEntry,
    WorkingHours,
)

SLOT_STEP_MINUTES = 15
# How far around a taken time the nearest alternatives are looked for.
ALTERNATIVES_WINDOW_DAYS = 7


# --- Access gates -------------------------------------------------------------------------------------------


def appointment_for_user(user, pk: int) -> Appointment:
    """The appointment if this person may see it, else 404 (never 403: its existence is not confirmed).

    Staff see the appointments of the locations they may see (scheduling.access: every one, unless the clinic
    restricts staff to their locations), and a clinician also those of a patient they opened in an emergency; a
    patient sees only their own.
    """
    if not user.is_authenticated:
        raise Http404("No such appointment.")
    queryset = Appointment.objects.select_related(
        "patient", "location", "treatment_type", "resource", "clinician__user", "series"
    )
    role = user.role
    if role in STAFF_ROLES:
        queryset = queryset.filter(access.appointment_filter(user, now=timezone.now()))
    elif role is Role.PATIENT:
        queryset = queryset.filter(patient__user=user)
    else:
        raise Http404("No such appointment.")
    try:
        return queryset.get(pk=pk)
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such appointment.") from None


def patient_for_booking(user, pk: int) -> Patient:
    """A patient that front desk (or a clinician) may book for: one they may see (scheduling.access); 404 for
    anyone else."""
    if not user.is_authenticated or user.role not in STAFF_ROLES:
        raise Http404("No such patient.")
    try:
        return (
            Patient.objects.select_related("location")
            .filter(access.patient_filter(user, now=timezone.now()))
            .get(pk=pk)
        )
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None


# --- Sessions in the way of a calendar change --------------------------------------------------------------------


def _held(holds: Q) -> QuerySet:
    return (
        Appointment.objects.filter(
            pk__in=Allocation.objects.filter(holds, active=True).values("appointment_id")
        )
        .select_related("patient", "location", "resource")
        .order_by("start_at", "pk")
    )


def sessions_held_by_clinician(clinician_id: int, starts_at: datetime, ends_at: datetime) -> QuerySet:
    """Sessions whose clinician holds overlap ``[starts_at, ends_at)``: what time off there would collide with
    (the same question as migration 0008's guard)."""
    return _held(Q(clinician_id=clinician_id, span__overlap=(starts_at, ends_at)))


def sessions_held_at_location_on(location: Location, day: date) -> QuerySet:
    """Sessions holding one of the location's chairs or rooms during its local ``day``: what a closure that day
    would collide with."""
    tz = location.tz
    day_start = datetime.combine(day, time(0), tzinfo=tz)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return _held(Q(resource__location_id=location.pk, span__overlap=(day_start, day_end)))


def sessions_outside_opening_hours(
    location: Location, windows: dict[int, list[tuple[time, time]]], *, now: datetime
) -> list[Appointment]:
    """Upcoming sessions at the location (from ``now``) that new weekly opening ``windows`` (weekday -> local
    windows) would not hold, by the booking rule's own test."""
    tz = location.tz
    outside = []
    for session in _held(Q(resource__location_id=location.pk, span__startswith__gte=now)):
        day = session.start_at.astimezone(tz).date()
        if not availability.inside_local_windows(
            session.start_at, session.end_at, tz=tz, day=day, windows=windows.get(day.weekday(), [])
        ):
            outside.append(session)
    return outside


def sessions_outside_working_hours(
    clinician_id: int, windows: dict[tuple[int, int], list[tuple[time, time]]], *, now: datetime
) -> list[Appointment]:
    """Upcoming sessions (from ``now``) whose holds of this clinician new weekly working ``windows`` ((location id,
    weekday) -> local windows) would not hold, by the booking rule's own test (each hold inside one window of the
    session's local day)."""
    holds = (
        Allocation.objects.filter(clinician_id=clinician_id, active=True, appointment__start_at__gte=now)
        .select_related("appointment__location", "appointment__patient", "appointment__resource")
        .order_by("appointment__start_at", "appointment_id")
    )
    outside: dict[int, Appointment] = {}
    for hold in holds:
        session = hold.appointment
        tz = session.location.tz
        day = session.start_at.astimezone(tz).date()
        if not availability.inside_local_windows(
            hold.span.lower,
            hold.span.upper,
            tz=tz,
            day=day,
            windows=windows.get((session.location_id, day.weekday()), []),
        ):
            outside.setdefault(session.pk, session)
    return list(outside.values())


# --- The booking gate -------------------------------------------------------------------------------------------

# Everything the booking rules read about the location, the clinician and the patient (REMS enrolment, and
# intake's eligibility facts, whose query intake owns), in one round trip. Written as SQL: booking is the hot path
# of issue 7 (fifty desks racing for the same slots), and the ORM's compile of these subqueries cost ten times
# their execution.
BOOKING_FACTS_SQL = f"""
SELECT
    (SELECT reason FROM scheduling_closure WHERE location_id = %(location)s AND date = %(day)s),
    ARRAY(SELECT ARRAY[opens, closes] FROM scheduling_openinghours
           WHERE location_id = %(location)s AND weekday = %(weekday)s ORDER BY opens, id),
    EXISTS(SELECT 1 FROM scheduling_clinician_locations
            WHERE clinician_id = %(clinician)s AND location_id = %(location)s),
    ARRAY(SELECT ARRAY[starts, ends] FROM scheduling_workinghours
           WHERE clinician_id = %(clinician)s AND location_id = %(location)s AND weekday = %(weekday)s
           ORDER BY starts, id),
    ARRAY(SELECT ARRAY[starts_at, ends_at] FROM scheduling_cliniciantimeoff
           WHERE clinician_id = %(clinician)s AND starts_at < %(until)s AND ends_at > %(since)s
           ORDER BY starts_at, id),
    (SELECT enrolled_on FROM scheduling_remsenrollment WHERE patient_id = %(patient)s),
    eligibility.*
FROM ({intake_eligibility.FACTS_SQL}) AS eligibility
"""  # noqa: S608 - composed of constant SQL only; every value is a query parameter


@dataclass(frozen=True)
class BookingFacts:
    """What the booking gates check, for one location's local day, one clinician and one patient."""

    closure_reason: str | None  # None: open that day; "" closed with no reason given
    opening_hours: list[tuple[time, time]]
    clinician_works_here: bool
    clinician_hours: list[tuple[time, time]]
    clinician_time_off: list[availability.Span]
    rems_enrolled_on: date | None
    eligibility: intake_eligibility.EligibilityFacts


def booking_facts(
    *,
    location_id: int,
    clinician_id: int,
    patient_id: int,
    day: date,
    since: datetime,
    until: datetime,
    now: datetime,
) -> BookingFacts:
    """One query: the location's closure and hours on ``day``, the clinician's link to the location, their hours
    that weekday and time off overlapping ``[since, until)``, the patient's REMS enrolment date and their
    eligibility facts as of ``now``."""
    from django.db import connection

    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "booking_facts",
            BOOKING_FACTS_SQL,
            {
                "location": location_id,
                "clinician": clinician_id,
                "patient": patient_id,
                "day": day,
                "weekday": day.weekday(),
                "since": since,
                "until": until,
                "now": now,
            },
        )
        closure, opening, works_here, shifts, time_off, enrolled_on, *facts = cursor.fetchone()
    return BookingFacts(
        closure_reason=closure,
        opening_hours=[(opens, closes) for opens, closes in opening],
        clinician_works_here=works_here,
        clinician_hours=[(starts, ends) for starts, ends in shifts],
        clinician_time_off=[availability.Span(starts, ends) for starts, ends in time_off],
        rems_enrolled_on=enrolled_on,
        eligibility=intake_eligibility.facts_from_row(facts),
    )


# --- Availability -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotOption:
    """A bookable start with the names front desk needs to pick it."""

    start: datetime
    end: datetime
    resource_id: int
    resource_name: str
    clinician_id: int
    clinician_name: str

    @property
    def key(self) -> str:
        """A form value for this option: start (UTC ISO), chair/room id, clinician id."""
        return f"{self.start.astimezone(UTC).isoformat()}|{self.resource_id}|{self.clinician_id}"


def treatment_shape(treatment_type: TreatmentType) -> availability.TreatmentShape:
    return availability.TreatmentShape(
        chair_minutes=treatment_type.chair_minutes,
        resource_kind=treatment_type.resource_kind,
        clinician_offset_minutes=treatment_type.clinician_offset_minutes,
        clinician_minutes=treatment_type.clinician_minutes,
    )


@dataclass
class AvailabilityInputs:
    """Everything availability needs for one location, treatment type and date range, as plain data."""

    location: Location
    treatment_type: TreatmentType
    location_day: availability.LocationDay
    resource_names: dict[int, str]
    clinician_names: dict[int, str]
    clinician_hours: dict[int, dict[int, list[tuple[time, time]]]]
    resource_busy: dict[int, list[availability.Span]] = field(default_factory=dict)
    clinician_time_off: dict[int, list[availability.Span]] = field(default_factory=dict)
    clinician_busy: dict[int, list[availability.Span]] = field(default_factory=dict)
    patient_busy: list[availability.Span] = field(default_factory=list)

    def query(self, *, date_from: date, date_to: date, now: datetime, resource_ids=None, clinician_ids=None):
        return {
            "shape": treatment_shape(self.treatment_type),
            "location": self.location_day,
            "resources": list(self.resource_names if resource_ids is None else resource_ids),
            "resource_busy": self.resource_busy,
            "clinicians": list(self.clinician_names if clinician_ids is None else clinician_ids),
            "clinician_hours": self.clinician_hours,
            "clinician_time_off": self.clinician_time_off,
            "clinician_busy": self.clinician_busy,
            "patient_busy": self.patient_busy,
            "date_from": date_from,
            "date_to": date_to,
            "now": now,
            "slot_step_minutes": SLOT_STEP_MINUTES,
        }

    def option(self, slot: availability.Slot) -> SlotOption:
        return SlotOption(
            start=slot.start,
            end=slot.end,
            resource_id=slot.resource_id,
            resource_name=self.resource_names[slot.resource_id],
            clinician_id=slot.clinician_id,
            clinician_name=self.clinician_names[slot.clinician_id],
        )

    def discharge_window_free(self, slot: availability.Slot) -> bool:
        """Spravato holds the clinician again for the discharge check at the end of the chair span.

        The pure core knows one clinician window per session, so the second is checked here, against the same
        data: inside the clinician's local working hours, not on time off and not booked.
        """
        minutes = self.treatment_type.discharge_minutes
        if not minutes:
            return True
        return self.clinician_free(slot.clinician_id, slot.end - timedelta(minutes=minutes), slot.end)

    def clinician_free(
        self, clinician_id: int, start: datetime, end: datetime, *, day: date | None = None
    ) -> bool:
        """Whether the clinician could hold ``[start, end)``: inside one of their working windows here on the local
        ``day`` (by default the start's), not on time off and not holding anything else."""
        tz = self.location_day.tz
        day = day or start.astimezone(tz).date()
        hours = self.clinician_hours.get(clinician_id, {}).get(day.weekday(), ())
        if not availability.inside_local_windows(start, end, tz=tz, day=day, windows=hours):
            return False
        taken = [*self.clinician_time_off.get(clinician_id, ()), *self.clinician_busy.get(clinician_id, ())]
        return not any(span.start < end and start < span.end for span in taken)


def _location_calendar(
    location: Location, treatment_type: TreatmentType, *, date_from: date, date_to: date, busy_from, busy_to
) -> dict:
    """Opening hours, closures, chairs or rooms, clinicians' hours and time off: one query, one row of arrays."""
    here = OuterRef("pk")

    def rows(queryset, **fields):
        return ArraySubquery(queryset.values(row=JSONObject(**fields)))

    return (
        Location.objects.filter(pk=location.pk)
        .values(
            weekly=rows(
                OpeningHours.objects.filter(location=here), weekday="weekday", opens="opens", closes="closes"
            ),
            closed_days=ArraySubquery(
                Closure.objects.filter(
                    location=here, date__range=(date_from - timedelta(days=1), date_to + timedelta(days=1))
                ).values("date")
            ),
            held=rows(
                Resource.objects.filter(location=here, kind=treatment_type.resource_kind, is_active=True),
                id="id",
                name="name",
            ),
            shifts=rows(
                WorkingHours.objects.filter(location=here, clinician__locations=here),
                clinician="clinician_id",
                weekday="weekday",
                starts="starts",
                ends="ends",
                name="clinician__user__full_name",
                credentials="clinician__credentials",
            ),
            time_off=rows(
                ClinicianTimeOff.objects.filter(
                    clinician__locations=here, starts_at__lt=busy_to, ends_at__gt=busy_from
                ),
                clinician="clinician_id",
                starts="starts_at",
                ends="ends_at",
            ),
        )
        .get()
    )


def load_availability_inputs(
    *,
    location: Location,
    treatment_type: TreatmentType,
    date_from: date,
    date_to: date,
    patient: Patient | None = None,
    ignore_appointment: Appointment | None = None,
) -> AvailabilityInputs:
    """Two queries whatever the range: the location's calendar (hours, closures, chairs, clinicians' hours and
    time off, as arrays in one row) and the active allocations of those chairs, clinicians and the patient.

    ``ignore_appointment``'s own holds are left out, so a session can be moved to a time overlapping itself.
    """
    tz = location.tz
    range_start = datetime.combine(date_from, time(0), tzinfo=tz) - timedelta(days=1)
    range_end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz) + timedelta(days=1)

    calendar = _location_calendar(
        location,
        treatment_type,
        date_from=date_from,
        date_to=date_to,
        busy_from=range_start,
        busy_to=range_end,
    )
    weekly: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for row in calendar["weekly"]:
        weekly[row["weekday"]].append((time.fromisoformat(row["opens"]), time.fromisoformat(row["closes"])))
    loc_day = availability.LocationDay(tz=tz, opening_hours=dict(weekly), closures=calendar["closed_days"])
    resource_names = {row["id"]: row["name"] for row in calendar["held"]}
    clinician_hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    clinician_names: dict[int, str] = {}
    for row in calendar["shifts"]:
        clinician_hours[row["clinician"]][row["weekday"]].append(
            (time.fromisoformat(row["starts"]), time.fromisoformat(row["ends"]))
        )
        name = row["name"] or f"Clinician {row['clinician']}"
        clinician_names[row["clinician"]] = f"{name}, {row['credentials']}" if row["credentials"] else name
    time_off: dict[int, list[availability.Span]] = defaultdict(list)
    for row in calendar["time_off"]:
        time_off[row["clinician"]].append(
            availability.Span(datetime.fromisoformat(row["starts"]), datetime.fromisoformat(row["ends"]))
        )

    holders = Q(resource_id__in=resource_names) | Q(clinician_id__in=clinician_names)
    if patient is not None:
        holders |= Q(patient_id=patient.pk)
    allocations = Allocation.objects.filter(holders, active=True, span__overlap=(range_start, range_end))
    if ignore_appointment is not None:
        allocations = allocations.exclude(appointment_id=ignore_appointment.pk)
    resource_busy: dict[int, list[availability.Span]] = defaultdict(list)
    clinician_busy: dict[int, list[availability.Span]] = defaultdict(list)
    patient_busy: list[availability.Span] = []
    for kind, resource_id, clinician_id, span in allocations.values_list(
        "kind", "resource_id", "clinician_id", "span"
    ):
        held = availability.Span(span.lower, span.upper)
        if kind == Allocation.Kind.RESOURCE:
            resource_busy[resource_id].append(held)
        elif kind == Allocation.Kind.CLINICIAN:
            clinician_busy[clinician_id].append(held)
        else:
            patient_busy.append(held)

    return AvailabilityInputs(
        location=location,
        treatment_type=treatment_type,
        location_day=loc_day,
        resource_names=resource_names,
        clinician_names=clinician_names,
        clinician_hours={cid: dict(days) for cid, days in clinician_hours.items()},
        resource_busy=dict(resource_busy),
        clinician_time_off=dict(time_off),
        clinician_busy=dict(clinician_busy),
        patient_busy=patient_busy,
    )


def _free_options(
    inputs: AvailabilityInputs,
    *,
    date_from: date,
    date_to: date,
    now: datetime,
    resource_ids=None,
    clinician_ids=None,
) -> list[SlotOption]:
    """One option per free start (lowest-id chair and clinician), discharge window included."""
    query = inputs.query(
        date_from=date_from, date_to=date_to, now=now, resource_ids=resource_ids, clinician_ids=clinician_ids
    )
    if not inputs.treatment_type.discharge_minutes:
        return [inputs.option(slot) for slot in availability.find_slots(**query)]
    # A second clinician window: ask for every (chair, clinician) pair and keep the first whose discharge
    # window is free too.
    options: list[SlotOption] = []
    seen: set[datetime] = set()
    for slot in availability.find_slots(**query, one_per_start=False):
        if slot.start in seen or not inputs.discharge_window_free(slot):
            continue
        seen.add(slot.start)
        options.append(inputs.option(slot))
    return options


def available_slots(
    *,
    location: Location,
    treatment_type: TreatmentType,
    date_from: date,
    date_to: date,
    now: datetime,
    patient: Patient | None = None,
    ignore_appointment: Appointment | None = None,
) -> list[SlotOption]:
    """Free starts for ``treatment_type`` at ``location`` on local dates ``date_from``..``date_to`` (inclusive)."""
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=date_from,
        date_to=date_to,
        patient=patient,
        ignore_appointment=ignore_appointment,
    )
    return _free_options(inputs, date_from=date_from, date_to=date_to, now=now)


def next_available_slot(
    *,
    location: Location,
    treatment_type: TreatmentType,
    now: datetime,
    patient: Patient | None = None,
    within_days: int = 60,
) -> SlotOption | None:
    """The earliest free start from now on (searched a week at a time, so usually one round of queries)."""
    today = now.astimezone(location.tz).date()
    horizon = today + timedelta(days=within_days)
    week_start = today
    while week_start <= horizon:
        week_end = min(week_start + timedelta(days=6), horizon)
        options = available_slots(
            location=location,
            treatment_type=treatment_type,
            date_from=week_start,
            date_to=week_end,
            now=now,
            patient=patient,
        )
        if options:
            return options[0]
        week_start = week_end + timedelta(days=1)
    return None


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
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=date_from,
        date_to=date_to,
        patient=patient,
        ignore_appointment=ignore_appointment,
    )
    options = _free_options(inputs, date_from=date_from, date_to=date_to, now=now)

    def distance(option: SlotOption):
        return (abs(option.start - requested_start), option.start)

    nearest = sorted(options, key=distance)[:limit]
    if resource_id is not None or clinician_id is not None:
        # Same chair / clinician first, if that one is free somewhere near.
        same = [
            option
            for option in _free_options(
                inputs,
                date_from=date_from,
                date_to=date_to,
                now=now,
                resource_ids=[resource_id] if resource_id in inputs.resource_names else None,
                clinician_ids=[clinician_id] if clinician_id in inputs.clinician_names else None,
            )
        ]
        same = sorted(same, key=distance)[:1]
        nearest = (same + [o for o in nearest if o not in same])[:limit]
    return nearest


def free_option_at(
    *,
    location: Location,
    treatment_type: TreatmentType,
    start: datetime,
    now: datetime,
    patient: Patient | None = None,
    ignore_appointment: Appointment | None = None,
    resource_id: int | None = None,
    clinician_id: int | None = None,
) -> SlotOption | None:
    """A free chair/room and clinician for a session starting exactly at ``start``, or None."""
    local_day = start.astimezone(location.tz).date()
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=local_day,
        date_to=local_day,
        patient=patient,
        ignore_appointment=ignore_appointment,
    )
    if (resource_id is not None and resource_id not in inputs.resource_names) or (
        clinician_id is not None and clinician_id not in inputs.clinician_names
    ):
        return None
    for option in _free_options(
        inputs,
        date_from=local_day,
        date_to=local_day,
        now=now,
        resource_ids=[resource_id] if resource_id is not None else None,
        clinician_ids=[clinician_id] if clinician_id is not None else None,
    ):
        # Starts come in order, so stop once past the one asked for.
        if option.start > start:
            break
        if option.start == start:
            return option
    return None


# --- Series proposals ---------------------------------------------------------------------------------------

# The series templates name modalities their own way; treatment types use intake.eligibility's values.
TEMPLATE_MODALITY = {
    "iv_ketamine": TreatmentType.Modality.IV_KETAMINE,
    "spravato": TreatmentType.Modality.SPRAVATO,
}


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


def templates_for(treatment_type: TreatmentType) -> list[series.SeriesTemplate]:
    return [
        template
        for template in series.TEMPLATES.values()
        if TEMPLATE_MODALITY.get(template.modality) == treatment_type.modality
    ]


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

    Raises ValueError (with a message for front desk) when the weekdays do not fit the template. One round of
    availability queries covers the whole series.
    """
    tz: ZoneInfo = location.tz
    planned = series.plan_series(
        template, start_date=start_date, weekdays=weekdays, local_time=local_time, tz=tz
    )
    date_from = max(planned[0].local_date - timedelta(days=7), now.astimezone(tz).date())
    date_to = planned[-1].local_date + timedelta(days=7)
    inputs = load_availability_inputs(
        location=location,
        treatment_type=treatment_type,
        date_from=date_from,
        date_to=date_to,
        patient=patient,
    )
    options = _free_options(inputs, date_from=date_from, date_to=date_to, now=now)
    by_start = {option.start: option for option in options}
    starts = sorted(by_start)

    def is_free(start: datetime) -> bool:
        return start in by_start

    def alternatives(start: datetime) -> list[datetime]:
        lo = bisect_right(starts, start - timedelta(days=7))
        hi = bisect_right(starts, start + timedelta(days=7))
        return starts[lo:hi]

    proposal = series.propose_series(
        planned, is_free=is_free, alternatives=alternatives, tz=tz, min_days_between=template.min_days_between
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


# --- Schedules ----------------------------------------------------------------------------------------------


def default_location(user=None) -> Location | None:
    return Location.objects.filter(is_active=True).order_by("name").first()


def local_day_bounds(location: Location, day: date) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights that start and end ``day`` (23 or 25 h apart on DST days)."""
    tz = location.tz
    return (
        datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC),
    )


def appointments_between(location: Location, start: datetime, end: datetime) -> QuerySet[Appointment]:
    """Sessions at ``location`` overlapping ``[start, end)``.

    No session is longer than MAX_SESSION_LENGTH (a check constraint), so one overlapping ``start`` began less
    than that before it: the lower bound keeps this an index range scan instead of a walk through all history.
    """
    return (
        Appointment.objects.filter(
            location=location,
            start_at__gt=start - MAX_SESSION_LENGTH,
            start_at__lt=end,
            end_at__gt=start,
        )
        .select_related("patient", "treatment_type", "resource", "clinician__user")
        .order_by("start_at", "resource__name")
    )


STATUS_LABELS = dict(Appointment.Status.choices)


@dataclass(frozen=True, slots=True)
class DayEntry:
    """One session on the day view, as the page shows it (plain data: no model instances to build)."""

    pk: int
    status: str
    start_at: datetime
    end_at: datetime
    times: str  # local "09:00–11:00"
    resource_id: int
    resource_name: str
    patient_name: str
    treatment_label: str
    clinician_name: str
    late_cancellation: bool
    cancellation_reason: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def is_active(self) -> bool:
        return self.status in Appointment.ACTIVE_STATUSES

    @property
    def start_label(self) -> str:
        return self.times.partition("–")[0]


@dataclass(frozen=True, slots=True)
class DayColumn:
    pk: int
    name: str


@dataclass(frozen=True, slots=True)
class DayCell:
    """One cell of the day grid: a session starting in this row (spanning ``rows``), or empty."""

    entry: DayEntry | None = None
    rows: int = 1


EMPTY_CELL = DayCell()


@dataclass(slots=True)
class DayRow:
    at: datetime
    label: str  # local "HH:MM"
    hour_start: bool
    cells: list[DayCell | None]  # None: covered by a session that started in an earlier row


@dataclass
class DaySchedule:
    location: Location
    day: date
    resources: list[DayColumn]
    appointments: list[DayEntry]
    rows: list[DayRow]
    closed_reason: str | None
    row_minutes: int
    # Cancelled and no-show sessions of the day, late cancellations marked: front desk must see them, though
    # they no longer hold a chair (their cell may already hold a new booking).
    cancelled: list[DayEntry]


# The day view is issue 7's busiest page, so it reads in one round trip, written as SQL (the ORM would spend more
# compiling it than PostgreSQL spends running it; each further round trip cost more than the rows it brought).
# The sessions overlapping the day, with the patient's name: the same bounds as ``appointments_between`` (a session
# overlapping the day started less than MAX_SESSION_LENGTH before it), so an index range scan on
# (location, start_at) whatever the history, as one JSON array. With them: the day's closure and opening hours, the
# location's chairs and rooms (inactive ones too: a past session may have used one), the treatment types' labels
# and the names of the day's clinicians (as Clinician.__str__). Joining those to every session instead cost more in
# planning than the query itself.
DAY_SQL = """
WITH day AS MATERIALIZED (
    SELECT a.id, a.status, a.start_at, a.end_at, a.resource_id, a.treatment_type_id, a.clinician_id,
           p.legal_first_name, p.legal_last_name, a.late_cancellation, a.cancellation_reason
      FROM scheduling_appointment a
      JOIN intake_patient p ON p.id = a.patient_id
     WHERE a.location_id = %(location)s
       AND a.start_at > %(earliest)s AND a.start_at < %(end)s AND a.end_at > %(start)s
)
SELECT
    (SELECT json_agg(json_build_array(id, status, start_at, end_at, resource_id, treatment_type_id, clinician_id,
                                      legal_first_name, legal_last_name, late_cancellation, cancellation_reason)
                     ORDER BY start_at, id)
       FROM day)::text,
    (SELECT reason FROM scheduling_closure WHERE location_id = %(location)s AND date = %(day)s),
    ARRAY(SELECT ARRAY[opens, closes] FROM scheduling_openinghours
           WHERE location_id = %(location)s AND weekday = %(weekday)s ORDER BY opens, id),
    ARRAY(SELECT id FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT name FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT is_active FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT id FROM scheduling_treatmenttype ORDER BY id),
    ARRAY(SELECT label FROM scheduling_treatmenttype ORDER BY id),
    ARRAY(SELECT id FROM scheduling_clinician WHERE id IN (SELECT clinician_id FROM day) ORDER BY id),
    ARRAY(SELECT COALESCE(NULLIF(u.full_name, ''), u.email) || COALESCE(', ' || NULLIF(c.credentials, ''), '')
            FROM scheduling_clinician c JOIN clinic_user u ON u.id = c.user_id
           WHERE c.id IN (SELECT clinician_id FROM day) ORDER BY c.id)
"""


def _clock(local: datetime) -> str:
    """'09:05': what ``f"{local:%H:%M}"`` gives, without strftime (a hundred times per day view)."""
    return f"{local.hour:02d}:{local.minute:02d}"


def day_schedule(
    location: Location, day: date, *, row_minutes: int = 15, include_cancelled: bool = False
) -> DaySchedule:
    """The day view: chairs and rooms as columns, local time as rows (one query).

    A session running past midnight shows on both days, clipped to the day's rows.
    """
    from django.db import connection

    tz = location.tz
    day_start, day_end = local_day_bounds(location, day)
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "day_schedule",
            DAY_SQL,
            {
                "location": location.pk,
                "earliest": day_start - MAX_SESSION_LENGTH,
                "start": day_start,
                "end": day_end,
                "day": day,
                "weekday": day.weekday(),
            },
            generic=True,  # one plan fits every location and day
        )
        (
            sessions, closure, hours, resource_ids, resource_names, resource_active, type_ids, type_labels,
            clinician_ids, clinician_names,
        ) = cursor.fetchone()  # fmt: skip
    resources = [
        DayColumn(pk, name)
        for pk, name, active in zip(resource_ids, resource_names, resource_active, strict=True)
        if active
    ]
    resource_name = dict(zip(resource_ids, resource_names, strict=True))
    type_label = dict(zip(type_ids, type_labels, strict=True))
    clinician_name = dict(zip(clinician_ids, clinician_names, strict=True))
    entries = []
    for row in json.loads(sessions or "[]"):
        pk, status, starts, ends, resource_id, type_id, clinician_id, given, family, late, reason = row
        start_at, end_at = datetime.fromisoformat(starts), datetime.fromisoformat(ends)
        entries.append(
            DayEntry(
                pk=pk,
                status=status,
                start_at=start_at,
                end_at=end_at,
                times=f"{_clock(start_at.astimezone(tz))}–{_clock(end_at.astimezone(tz))}",
                resource_id=resource_id,
                resource_name=resource_name.get(resource_id, ""),
                patient_name=f"{given} {family}",  # as Patient.full_name
                treatment_label=type_label.get(type_id, ""),
                clinician_name=clinician_name.get(clinician_id, ""),
                late_cancellation=late,
                cancellation_reason=reason,
            )
        )
    entries.sort(key=lambda entry: (entry.start_at, entry.resource_name))
    closed_reason = None if closure is None else (closure or "Closed")

    shown = [
        e for e in entries if include_cancelled or e.is_active or e.status == Appointment.Status.DISCHARGED
    ]
    # Rows run from opening to closing, widened to show any session outside them (within the day).
    if hours:
        first = datetime.combine(day, hours[0][0], tzinfo=tz)
        last = datetime.combine(day, max(closes for _, closes in hours), tzinfo=tz)
    else:
        first = datetime.combine(day, time(8), tzinfo=tz)
        last = datetime.combine(day, time(18), tzinfo=tz)
    for entry in shown:
        first = min(first, entry.start_at.astimezone(tz))
        last = max(last, entry.end_at.astimezone(tz))
    first, last = max(first, day_start.astimezone(tz)), min(last, day_end.astimezone(tz))
    step = timedelta(minutes=row_minutes)
    # Floor the first row to the grid, in absolute time (DST days keep 15-minute rows).
    first = first.replace(minute=first.minute - first.minute % row_minutes, second=0, microsecond=0)
    row_starts: list[datetime] = []
    at = first.astimezone(UTC)
    last_utc = last.astimezone(UTC)
    while at < last_utc:
        row_starts.append(at)
        at += step

    column = {resource.pk: i for i, resource in enumerate(resources)}
    grid: list[list[DayCell | None]] = [[EMPTY_CELL] * len(resources) for _ in row_starts]
    for entry in shown:
        col = column.get(entry.resource_id)
        if col is None or not row_starts:
            continue
        # Rows are a fixed step apart in absolute time: the row an entry starts in is arithmetic.
        start_row = max(0, (entry.start_at - row_starts[0]) // step)
        if start_row >= len(row_starts):
            continue
        cell = grid[start_row][col]
        if cell is None or cell.entry:
            continue  # two shown sessions in one cell cannot happen for active ones (the constraint)
        end_row = start_row
        while end_row + 1 < len(row_starts) and row_starts[end_row + 1] < entry.end_at:
            below = grid[end_row + 1][col]
            if below is None or below.entry:
                break
            end_row += 1
        grid[start_row][col] = DayCell(entry=entry, rows=end_row - start_row + 1)
        for r in range(start_row + 1, end_row + 1):
            grid[r][col] = None
    rows = []
    for row_start, cells in zip(row_starts, grid, strict=True):
        local = row_start.astimezone(tz)
        rows.append(DayRow(at=row_start, label=_clock(local), hour_start=local.minute == 0, cells=cells))
    return DaySchedule(
        location=location,
        day=day,
        resources=resources,
        appointments=shown,
        rows=rows,
        closed_reason=closed_reason,
        row_minutes=row_minutes,
        cancelled=[
            e for e in entries if e.status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW)
        ],
    )


@dataclass
class WeekDay:
    day: date
    appointments: list[Appointment]
    closed_reason: str | None


def week_schedule(location: Location, week_start: date) -> list[WeekDay]:
    """Seven local days from ``week_start`` with their active sessions (two queries)."""
    tz = location.tz
    start, _ = local_day_bounds(location, week_start)
    _, end = local_day_bounds(location, week_start + timedelta(days=6))
    by_day: dict[date, list[Appointment]] = defaultdict(list)
    for appointment in appointments_between(location, start, end).exclude(
        status__in=[Appointment.Status.CANCELLED]
    ):
        by_day[appointment.start_at.astimezone(tz).date()].append(appointment)
    closures = dict(
        Closure.objects.filter(
            location=location, date__range=(week_start, week_start + timedelta(days=6))
        ).values_list("date", "reason")
    )
    days = []
    for offset in range(7):
        day = week_start + timedelta(days=offset)
        reason = closures.get(day)
        days.append(
            WeekDay(
                day=day,
                appointments=by_day.get(day, []),
                closed_reason=(reason or "Closed") if day in closures else None,
            )
        )
    return days


def unconfirmed_appointments(location: Location, day: date) -> QuerySet[Appointment]:
    """Sessions on ``day`` still waiting for the patient's confirmation (front desk calls them)."""
    start, end = local_day_bounds(location, day)
    return appointments_between(location, start, end).filter(status=Appointment.Status.BOOKED)


# --- Cover for an absent clinician ------------------------------------------------------------------------------

COVER_MAX_DAYS = 31


@dataclass(frozen=True)
class CoverRow:
    """One of the absent clinician's sessions and the colleague proposed to take it (None: nobody is free)."""

    appointment: Appointment
    cover: Clinician | None


def cover_plan(
    *,
    clinician: Clinician,
    date_from: date,
    date_to: date,
    now: datetime,
    location_ids: Collection[int] | None = None,
) -> list[CoverRow]:
    """The clinician's upcoming booked or confirmed sessions on local dates ``date_from``..``date_to`` (at every
    location they work, or only at ``location_ids``: those the person arranging cover may see), each with the first
    colleague (lowest id) who could hold exactly the session's clinician spans as they are held now: on shift at
    that location, not on time off, holding nothing else then. Only the clinician changes hands, so the chair and
    the patient are not asked about. A few queries whatever the range: the sessions, their clinician holds, and
    each location's calendar once."""
    earliest = datetime.combine(date_from - timedelta(days=1), time(0), tzinfo=UTC)
    latest = datetime.combine(date_to + timedelta(days=2), time(0), tzinfo=UTC)
    sessions_of = Appointment.objects.filter(
        clinician=clinician,
        status__in=(Appointment.Status.BOOKED, Appointment.Status.CONFIRMED),
        start_at__gte=max(now, earliest),
        start_at__lt=latest,
    )
    if location_ids is not None:
        sessions_of = sessions_of.filter(location_id__in=location_ids)
    sessions = [
        session
        for session in sessions_of.select_related(
            "location", "patient", "resource", "treatment_type"
        ).order_by("start_at", "pk")
        if date_from <= session.start_at.astimezone(session.location.tz).date() <= date_to
    ]
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for appointment_id, span in Allocation.objects.filter(
        appointment_id__in=[session.pk for session in sessions], kind=Allocation.Kind.CLINICIAN, active=True
    ).values_list("appointment_id", "span"):
        spans[appointment_id].append((span.lower, span.upper))
    calendars: dict[int, AvailabilityInputs] = {}
    proposed: dict[int, int | None] = {}
    for session in sessions:
        if session.location_id not in calendars:
            calendars[session.location_id] = load_availability_inputs(
                location=session.location,
                treatment_type=session.treatment_type,
                date_from=date_from,
                date_to=date_to,
            )
        calendar = calendars[session.location_id]
        day = session.start_at.astimezone(session.location.tz).date()
        proposed[session.pk] = next(
            (
                colleague
                for colleague in sorted(calendar.clinician_hours)
                if colleague != clinician.pk
                and all(calendar.clinician_free(colleague, lo, hi, day=day) for lo, hi in spans[session.pk])
            ),
            None,
        )
    colleagues = Clinician.objects.select_related("user").in_bulk([pk for pk in proposed.values() if pk])
    return [CoverRow(appointment=session, cover=colleagues.get(proposed[session.pk])) for session in sessions]


def search_patients(query: str, *, user, limit: int = 25) -> list[Patient]:
    """Patients ``user`` may see (scheduling.access) whose name, email or phone matches every word of ``query``
    (case-insensitive)."""
    words = [word for word in query.split() if word][:5]
    if not words:
        return []
    queryset = Patient.objects.filter(access.patient_filter(user))
    for word in words:
        queryset = queryset.filter(
            Q(legal_first_name__icontains=word)
            | Q(legal_last_name__icontains=word)
            | Q(preferred_name__icontains=word)
            | Q(email__icontains=word)
            | Q(phone__icontains=word)
        )
    return list(queryset.order_by("legal_last_name", "legal_first_name")[:limit])


def patient_appointments(patient: Patient) -> list[Appointment]:
    return list(
        Appointment.objects.filter(patient=patient)
        .select_related("location", "treatment_type", "resource", "clinician__user", "series")
        .order_by("-start_at")[:200]
    )


def upcoming_appointments_for_patient(patient: Patient, *, now: datetime | None = None) -> list[Appointment]:
    """The patient's own sessions still to come (not cancelled), soonest first: for the patient portal."""
    now = now or timezone.now()
    return list(
        Appointment.objects.filter(
            patient=patient,
            end_at__gt=now,
            status__in=[
                Appointment.Status.BOOKED,
                Appointment.Status.CONFIRMED,
                Appointment.Status.CHECKED_IN,
                Appointment.Status.IN_SESSION,
                Appointment.Status.RECOVERING,
            ],
        )
        .select_related("location", "treatment_type")
        .order_by("start_at")
    )


def overlapping_active_allocations() -> list[tuple[int, int]]:
    """Pairs of active allocations of the same thing whose spans overlap: must always be empty."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT a.id, b.id
            FROM scheduling_allocation a
            JOIN scheduling_allocation b
              ON a.id < b.id
             AND a.kind = b.kind
             AND a.resource_id IS NOT DISTINCT FROM b.resource_id
             AND a.clinician_id IS NOT DISTINCT FROM b.clinician_id
             AND a.patient_id IS NOT DISTINCT FROM b.patient_id
             AND a.span && b.span
            WHERE a.active AND b.active
            """
        )
        return [tuple(row) for row in cursor.fetchall()]


def clinicians_at(location: Location) -> Iterable[Clinician]:
    return Clinician.objects.filter(locations=location).select_related("user").order_by("user__full_name")


# --- The day of the session -------------------------------------------------------------------------------------

RESCREEN_WINDOW = timedelta(hours=24)


def rescreen_state(appointment: Appointment, *, now: datetime) -> session_rules.Rescreen:
    """The re-screen the patient submitted in the 24 hours before the session (or since), and any open alert."""
    from intake.models import IntakeSubmission, UrgentAlert

    latest = (
        IntakeSubmission.objects.filter(
            patient_id=appointment.patient_id,
            kind=IntakeSubmission.Kind.RESCREEN,
            submitted_at__gte=appointment.start_at - RESCREEN_WINDOW,
            submitted_at__lte=now,
        )
        .order_by("-submitted_at")
        .values("cssrs_risk", "is_urgent")
        .first()
    )
    open_alert = UrgentAlert.objects.filter(
        patient_id=appointment.patient_id, acknowledged_at__isnull=True
    ).exists()
    return session_rules.Rescreen(
        done=latest is not None,
        high_risk=bool(latest and (latest["cssrs_risk"] == "high" or latest["is_urgent"])),
        open_alert=open_alert,
    )


def _record_of(appointment: Appointment) -> SessionRecord | None:
    return SessionRecord.objects.filter(appointment_id=appointment.pk).first()


def _latest_vitals(appointment: Appointment, phase: str) -> VitalSigns | None:
    return (
        VitalSigns.objects.filter(appointment_id=appointment.pk, phase=phase).order_by("-recorded_at").first()
    )


def start_facts(appointment: Appointment, *, starter, now: datetime) -> session_rules.StartFacts:
    record = _record_of(appointment)
    pre_dose = _latest_vitals(appointment, VitalSigns.Phase.PRE_DOSE)
    modality = appointment.treatment_type.modality
    is_treatment = modality != TreatmentType.Modality.CONSULTATION
    return session_rules.StartFacts(
        is_treatment=is_treatment,
        is_spravato=modality == TreatmentType.Modality.SPRAVATO,
        checklist_complete=bool(record and record.checklist_complete),
        rescreen=rescreen_state(appointment, now=now) if is_treatment else session_rules.Rescreen(done=True),
        pre_dose_bp=(pre_dose.systolic, pre_dose.diastolic) if pre_dose else None,
        # An override answers the reading it was made for: a newer, worse reading needs a new one.
        bp_overridden=bool(
            record and record.bp_override_at and pre_dose and record.bp_override_at >= pre_dose.recorded_at
        ),
        starter_is_clinician=getattr(starter, "role", None) is Role.CLINICIAN,
        rems_enrolled=RemsEnrollment.objects.filter(patient_id=appointment.patient_id).exists(),
    )


def discharge_facts(appointment: Appointment, *, now: datetime) -> session_rules.DischargeFacts:
    record = _record_of(appointment)
    modality = appointment.treatment_type.modality
    dosed_at = (record.dose_started_at if record else None) or appointment.session_started_at
    return session_rules.DischargeFacts(
        is_treatment=modality != TreatmentType.Modality.CONSULTATION,
        is_spravato=modality == TreatmentType.Modality.SPRAVATO,
        minutes_observed=int((now - dosed_at).total_seconds() // 60) if dosed_at else None,
        dose_recorded=bool(record and record.dose_recorded),
        pre_discharge_vitals=_latest_vitals(appointment, VitalSigns.Phase.PRE_DISCHARGE) is not None,
        escort_present=bool(record and record.escort_present_at_discharge),
    )


@dataclass
class VitalsRow:
    vitals: VitalSigns
    flag: session_rules.BpFlag


@dataclass
class SessionDay:
    appointment: Appointment
    record: SessionRecord | None
    vitals: list[VitalsRow]
    rescreen: session_rules.Rescreen
    start_blockers: list[str]
    discharge_blockers: list[str]
    pre_dose_flag: session_rules.BpFlag | None
    needs_override: bool


def session_day(appointment: Appointment, *, user, now: datetime) -> SessionDay:
    """Everything the session page shows, with the blockers the next step would meet."""
    record = _record_of(appointment)
    vitals = [
        VitalsRow(vitals=v, flag=session_rules.bp_flag(v.systolic, v.diastolic))
        for v in VitalSigns.objects.filter(appointment_id=appointment.pk)
        .select_related("recorded_by")
        .order_by("recorded_at")
    ]
    facts = start_facts(appointment, starter=user, now=now)
    pre_dose_flag = session_rules.bp_flag(*facts.pre_dose_bp) if facts.pre_dose_bp else None
    return SessionDay(
        appointment=appointment,
        record=record,
        vitals=vitals,
        rescreen=facts.rescreen,
        start_blockers=session_rules.start_blockers(facts),
        discharge_blockers=session_rules.discharge_blockers(discharge_facts(appointment, now=now)),
        pre_dose_flag=pre_dose_flag,
        needs_override=pre_dose_flag is session_rules.BpFlag.HARD_STOP and not facts.bp_overridden,
    )


REMS_FORM_DAYS = 7


def rems_forms_due(location: Location, *, now: datetime) -> list[tuple[Appointment, datetime]]:
    """Spravato sessions whose REMS Patient Monitoring Form is not sent yet, with when it is due (7 days after
    the session), oldest first; overdue ones included."""
    appointments = (
        Appointment.objects.filter(
            location=location,
            treatment_type__modality=TreatmentType.Modality.SPRAVATO,
            status=Appointment.Status.DISCHARGED,
        )
        .filter(Q(session_record__isnull=True) | Q(session_record__rems_form_submitted_at__isnull=True))
        .select_related("patient", "treatment_type", "resource", "clinician__user")
        .order_by("start_at")
    )
    return [(a, a.start_at + timedelta(days=REMS_FORM_DAYS)) for a in appointments]


# --- Waitlist ---------------------------------------------------------------------------------------------------


@dataclass
class WaitlistMatch:
    entry: WaitlistEntry
    option: SlotOption | None


def waitlist_matches(location: Location, *, now: datetime) -> list[WaitlistMatch]:
    """Each open waitlist entry with the earliest free slot that suits it (before the session it would replace).

    One round of availability queries per treatment type on the list plus one for the patients' own holds,
    whatever the number of entries.
    """
    entries = list(
        WaitlistEntry.objects.filter(
            location=location, status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED]
        )
        .select_related("patient", "treatment_type", "current_appointment")
        .order_by("created_at")
    )
    if not entries:
        return []
    today = now.astimezone(location.tz).date()
    matches = []
    by_type: dict[int, list[WaitlistEntry]] = defaultdict(list)
    for entry in entries:
        by_type[entry.treatment_type_id].append(entry)
    date_from = max(today, min(e.earliest_date for e in entries))
    date_to = max(e.latest_date for e in entries)
    if date_to < date_from:
        return [WaitlistMatch(entry=e, option=None) for e in entries]
    range_start, _ = local_day_bounds(location, date_from)
    _, range_end = local_day_bounds(location, date_to)
    patient_busy: dict[int, list[tuple[int, availability.Span]]] = defaultdict(list)
    for patient_id, appointment_id, span in Allocation.objects.filter(
        kind=Allocation.Kind.PATIENT,
        active=True,
        patient_id__in={e.patient_id for e in entries},
        span__overlap=(range_start, range_end),
    ).values_list("patient_id", "appointment_id", "span"):
        patient_busy[patient_id].append((appointment_id, availability.Span(span.lower, span.upper)))
    found: dict[int, SlotOption | None] = {}
    for type_entries in by_type.values():
        inputs = load_availability_inputs(
            location=location,
            treatment_type=type_entries[0].treatment_type,
            date_from=date_from,
            date_to=date_to,
        )
        for entry in type_entries:
            inputs.patient_busy = [
                span for appointment_id, span in patient_busy[entry.patient_id]
                if appointment_id != entry.current_appointment_id
            ]  # fmt: skip
            # The session being replaced frees its own chair and clinician too.
            first, last = max(today, entry.earliest_date), entry.latest_date
            options = _free_options(inputs, date_from=first, date_to=last, now=now) if first <= last else []
            current = entry.current_appointment
            if current is not None:
                options = [o for o in options if o.start < current.start_at]
            found[entry.pk] = options[0] if options else None
    for entry in entries:
        matches.append(WaitlistMatch(entry=entry, option=found.get(entry.pk)))
    return matches


def export_section(patient) -> tuple[str, list[dict]]:
    """The patient's appointments, each with the record of its session, for their "download my data"
    (intake.export)."""
    rows = (
        Appointment.objects.filter(patient=patient)
        .select_related("location", "treatment_type", "session_record__bp_override_by")
        .prefetch_related("vitals")
        .order_by("start_at")
    )
    return "Appointments", [
        {
            "starts": appointment.start_at,
            "ends": appointment.end_at,
            "where": appointment.location.name,
            "treatment": appointment.treatment_type.label,
            "status": appointment.get_status_display(),
            "cancellation_reason": appointment.cancellation_reason,
            "note_for_the_care_team": appointment.notes,
            "session_record": _session_export(appointment),
        }
        for appointment in rows
    ]


def _session_export(appointment: Appointment) -> dict | None:
    from intake.export import staff_name

    record = getattr(appointment, "session_record", None)
    vitals = [
        {"when": v.get_phase_display(), "recorded_at": v.recorded_at, "blood_pressure": f"{v.systolic}/{v.diastolic}",
         "heart_rate": v.heart_rate, "oxygen_saturation_percent": v.spo2}
        for v in appointment.vitals.all()
    ]  # fmt: skip
    if record is None:
        return {"vital_signs": vitals} if vitals else None
    return {
        "escort_or_driver": record.escort_name,
        "escort_or_driver_phone": record.escort_phone,
        "escort_confirmed_at": record.escort_confirmed_at,
        "fasting_confirmed_at": record.fasting_confirmed_at,
        "vital_signs": vitals,
        "blood_pressure_above_limit_cleared_by": staff_name(record.bp_override_by),
        "why_it_was_safe_to_proceed": record.bp_override_reason,
        "drug": record.drug,
        "dose_mg": record.dose_mg,
        "weight_kg": record.weight_kg,
        "dose_mg_per_kg": record.dose_mg_per_kg,
        "route": record.get_route_display(),
        "lot_number": record.lot_number,
        "dose_started_at": record.dose_started_at,
        "dose_ended_at": record.dose_ended_at,
        "dissociation_score_cadss": record.dissociation_score,
        "sedation_score_moaa_s": record.sedation_score,
        "escort_present_at_discharge": record.escort_present_at_discharge,
        "rems_monitoring_form_sent_at": record.rems_form_submitted_at,
    }


def requests_export_section(patient) -> tuple[str, dict]:
    """The patient's SPRAVATO REMS enrolment and waiting-list entries, for their "download my data"."""
    rems = RemsEnrollment.objects.filter(patient=patient).first()
    entries = WaitlistEntry.objects.filter(patient=patient).select_related("location", "treatment_type")
    return "REMS enrolment and waiting list", {
        "rems_enrolment": {"enrolled_on": rems.enrolled_on, "rems_patient_id": rems.rems_patient_id}
        if rems
        else None,
        "waiting_list": [
            {"treatment": e.treatment_type.label, "where": e.location.name, "from": e.earliest_date,
             "until": e.latest_date, "status": e.get_status_display(), "offered_time": e.offered_start,
             "notes": e.notes}
            for e in entries.order_by("created_at")
        ],
    }  # fmt: skip
