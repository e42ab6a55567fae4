"""Reads for scheduling: the per-object access gate, availability fed from a few queries, and the schedule views.

Availability is computed by the pure ``scheduling.availability`` and ``scheduling.series`` modules. This module
loads what they need in a fixed number of queries whatever the date range (location hours and closures,
chairs, clinicians' hours, time off and every active allocation in the range: six queries), never one per slot.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinic.roles import Role
from intake.models import Patient
from scheduling import availability, series, session_rules
from scheduling.models import (
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

STAFF_ROLES = frozenset({Role.FRONT_DESK, Role.CLINICIAN, Role.CLINIC_ADMIN})
SLOT_STEP_MINUTES = 15
# How far around a taken time the nearest alternatives are looked for.
ALTERNATIVES_WINDOW_DAYS = 7


# --- Access gates -------------------------------------------------------------------------------------------


def appointment_for_user(user, pk: int) -> Appointment:
    """The appointment if this person may see it, else 404 (never 403: its existence is not confirmed).

    Staff (front desk, clinicians, clinic admins) see every appointment; a patient sees only their own.
    """
    if not user.is_authenticated:
        raise Http404("No such appointment.")
    queryset = Appointment.objects.select_related(
        "patient", "location", "treatment_type", "resource", "clinician__user", "series"
    )
    role = user.role
    if role in STAFF_ROLES:
        pass
    elif role is Role.PATIENT:
        queryset = queryset.filter(patient__user=user)
    else:
        raise Http404("No such appointment.")
    try:
        return queryset.get(pk=pk)
    except (Appointment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such appointment.") from None


def patient_for_booking(user, pk: int) -> Patient:
    """A patient that front desk (or a clinician) may book for; 404 for anyone else."""
    if not user.is_authenticated or user.role not in STAFF_ROLES:
        raise Http404("No such patient.")
    try:
        return Patient.objects.select_related("location").get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None


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
        start, end = slot.end - timedelta(minutes=minutes), slot.end
        tz = self.location_day.tz
        local_start = start.astimezone(tz)
        hours = self.clinician_hours.get(slot.clinician_id, {}).get(local_start.weekday(), ())
        inside = any(
            datetime.combine(local_start.date(), opens, tzinfo=tz) <= start
            and end <= datetime.combine(local_start.date(), closes, tzinfo=tz)
            for opens, closes in hours
        )
        if not inside:
            return False
        taken = [
            *self.clinician_time_off.get(slot.clinician_id, ()),
            *self.clinician_busy.get(slot.clinician_id, ()),
        ]
        return not any(span.start < end and start < span.end for span in taken)


def location_day(location: Location) -> availability.LocationDay:
    """A location's zone, weekly hours and closures as the pure core wants them (two queries)."""
    weekly: dict[int, list[tuple[time, time]]] = defaultdict(list)
    for weekday, opens, closes in OpeningHours.objects.filter(location=location).values_list(
        "weekday", "opens", "closes"
    ):
        weekly[weekday].append((opens, closes))
    closures = list(Closure.objects.filter(location=location).values_list("date", flat=True))
    return availability.LocationDay(tz=location.tz, opening_hours=dict(weekly), closures=closures)


def load_availability_inputs(
    *,
    location: Location,
    treatment_type: TreatmentType,
    date_from: date,
    date_to: date,
    patient: Patient | None = None,
    ignore_appointment: Appointment | None = None,
) -> AvailabilityInputs:
    """Six queries whatever the range: hours, closures, chairs, clinicians' hours, time off, allocations.

    ``ignore_appointment``'s own holds are left out, so a session can be moved to a time overlapping itself.
    """
    tz = location.tz
    range_start = datetime.combine(date_from, time(0), tzinfo=tz) - timedelta(days=1)
    range_end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz) + timedelta(days=1)

    loc_day = location_day(location)
    resource_names = dict(
        Resource.objects.filter(
            location=location, kind=treatment_type.resource_kind, is_active=True
        ).values_list("id", "name")
    )
    clinician_hours: dict[int, dict[int, list[tuple[time, time]]]] = defaultdict(lambda: defaultdict(list))
    clinician_names: dict[int, str] = {}
    for row in WorkingHours.objects.filter(location=location, clinician__locations=location).values(
        "clinician_id", "weekday", "starts", "ends", "clinician__user__full_name", "clinician__credentials"
    ):
        clinician_hours[row["clinician_id"]][row["weekday"]].append((row["starts"], row["ends"]))
        name = row["clinician__user__full_name"] or f"Clinician {row['clinician_id']}"
        credentials = row["clinician__credentials"]
        clinician_names[row["clinician_id"]] = f"{name}, {credentials}" if credentials else name

    time_off: dict[int, list[availability.Span]] = defaultdict(list)
    for clinician_id, starts_at, ends_at in ClinicianTimeOff.objects.filter(
        clinician_id__in=clinician_names, starts_at__lt=range_end, ends_at__gt=range_start
    ).values_list("clinician_id", "starts_at", "ends_at"):
        time_off[clinician_id].append(availability.Span(starts_at, ends_at))

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
    return (
        Appointment.objects.filter(location=location, start_at__lt=end, end_at__gt=start)
        .select_related("patient", "treatment_type", "resource", "clinician__user")
        .order_by("start_at", "resource__name")
    )


@dataclass
class DayCell:
    """One cell of the day grid: an appointment starting in this row (spanning ``rows``), or empty."""

    appointment: Appointment | None = None
    rows: int = 1


@dataclass
class DayRow:
    at: datetime
    cells: list[DayCell | None]  # None: covered by an appointment that started in an earlier row


@dataclass
class DaySchedule:
    location: Location
    day: date
    resources: list[Resource]
    appointments: list[Appointment]
    rows: list[DayRow]
    closed_reason: str | None
    row_minutes: int
    # Cancelled and no-show sessions of the day, late cancellations marked: front desk must see them, though
    # they no longer hold a chair (their cell may already hold a new booking).
    cancelled: list[Appointment]


def day_schedule(
    location: Location, day: date, *, row_minutes: int = 15, include_cancelled: bool = False
) -> DaySchedule:
    """The day view: chairs and rooms as columns, local time as rows (four queries)."""
    tz = location.tz
    resources = list(Resource.objects.filter(location=location, is_active=True).order_by("kind", "name"))
    day_start, day_end = local_day_bounds(location, day)
    appointments = list(appointments_between(location, day_start, day_end))
    hours = list(OpeningHours.objects.filter(location=location, weekday=day.weekday()).order_by("opens"))
    closure = Closure.objects.filter(location=location, date=day).values_list("reason", flat=True).first()
    closed_reason = None if closure is None else (closure or "Closed")

    shown = [a for a in appointments if include_cancelled or a.is_active or a.status == "discharged"]
    # Rows run from opening to closing, widened to show any session outside them.
    if hours:
        first = datetime.combine(day, hours[0].opens, tzinfo=tz)
        last = datetime.combine(day, max(h.closes for h in hours), tzinfo=tz)
    else:
        first = datetime.combine(day, time(8), tzinfo=tz)
        last = datetime.combine(day, time(18), tzinfo=tz)
    for appointment in shown:
        first = min(first, appointment.start_at.astimezone(tz))
        last = max(last, appointment.end_at.astimezone(tz))
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
    grid: list[list[DayCell | None]] = [[DayCell() for _ in resources] for _ in row_starts]
    for appointment in shown:
        col = column.get(appointment.resource_id)
        if col is None:
            continue
        start_row = next((i for i, r in enumerate(row_starts) if r + step > appointment.start_at), None)
        if start_row is None or grid[start_row][col] is None or grid[start_row][col].appointment:
            continue  # two shown sessions in one cell cannot happen for active ones (the constraint)
        end_row = start_row
        while end_row + 1 < len(row_starts) and row_starts[end_row + 1] < appointment.end_at:
            if grid[end_row + 1][col] is None or grid[end_row + 1][col].appointment:
                break
            end_row += 1
        grid[start_row][col] = DayCell(appointment=appointment, rows=end_row - start_row + 1)
        for r in range(start_row + 1, end_row + 1):
            grid[r][col] = None
    rows = [DayRow(at=row_start, cells=cells) for row_start, cells in zip(row_starts, grid, strict=True)]
    return DaySchedule(
        location=location,
        day=day,
        resources=resources,
        appointments=shown,
        rows=rows,
        closed_reason=closed_reason,
        row_minutes=row_minutes,
        cancelled=[a for a in appointments if a.status in ("cancelled", "no_show")],
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


def search_patients(query: str, *, limit: int = 25) -> list[Patient]:
    """Patients whose name, email or phone matches every word of ``query`` (case-insensitive)."""
    words = [word for word in query.split() if word][:5]
    if not words:
        return []
    queryset = Patient.objects.all()
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
    """The patient's appointments for their "download my data" (intake.export)."""
    rows = (
        Appointment.objects.filter(patient=patient)
        .select_related("location", "treatment_type")
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
        }
        for appointment in rows
    ]
