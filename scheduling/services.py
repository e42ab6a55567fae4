"""Every change to an appointment: one function per action, keyword-only arguments, one transaction each.

Views, admin actions, commands and tasks all come through here. The rules that protect patients and chairs are
checked here with friendly messages, but the guarantee against double-booking is the database's: each
appointment holds its chair or room, its clinician and its patient as Allocation rows, and the exclusion
constraints refuse an overlapping active hold (SQLSTATE 23P01), which becomes a ``BookingConflict``.

"24 hours before" (the late-cancellation window) is elapsed time, not wall-clock time: a patient who cancels at
09:00 on Saturday 13 March 2027 for 09:00 on Sunday 14 March (New York springs forward overnight) is 24
wall-clock hours but only 23 real hours ahead, so the cancellation is late. Elapsed time is what the clinic loses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from clinic.roles import Role
from intake.eligibility import decide as decide_eligibility
from intake.models import Patient
from scheduling import availability, reminders, selectors, series, session_rules
from scheduling.models import (
    MAX_SESSION_LENGTH,
    Allocation,
    Appointment,
    Clinician,
    Location,
    RemsEnrollment,
    Resource,
    SessionRecord,
    TreatmentSeries,
    TreatmentType,
    VitalSigns,
    WaitlistEntry,
)

EXCLUSION_VIOLATION = "23P01"
# Two bookings inserting clashing rows at the same moment can wait on each other; PostgreSQL then aborts one with a
# deadlock. For the person whose booking was aborted it is the same outcome as a conflict: someone else got there.
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"
# An insert that meets another booking's clashing hold still in flight waits for that booking to end. When
# several lose together they wait on each other too, and PostgreSQL only breaks such a cycle after
# deadlock_timeout (a second by default; only a superuser may lower it). So a booking tries twice:
# - first with a short lock_timeout (HOLD_LOCK_TIMEOUT) on its insert: uncontended, it never waits at all;
# - then, if that wait ran out (or deadlocked), in a fresh transaction queued behind every other such second try
#   for the same chair, clinician or patient (transaction-scoped advisory locks, taken in one order), waiting as
#   long as it takes. Second tries never wait on each other's holds, and a first try that waits on one gives up
#   in HOLD_LOCK_TIMEOUT, so every clash is decided without the deadlock wait and none is left without a winner.
# The locks only order the waiting: whether the time is free is still the exclusion constraints' answer.
HOLD_LOCK_TIMEOUT = "50ms"
# The calendar guards (migration 0008): a hold in a clinician's time off or on a location's closed day is refused
# by the database too, and so is time off or a closure over holds, whoever saved first.
CHECK_VIOLATION = "23514"
HOLD_IN_TIME_OFF = "allocation_clinician_not_on_time_off"
HOLD_ON_CLOSURE = "allocation_location_not_closed"
TIME_OFF_OVER_HOLDS = "time_off_clear_of_bookings"
CLOSURE_OVER_HOLDS = "closure_clear_of_bookings"
HOLD_ATTEMPTS = 2
HOLD_QUEUE_KINDS = {"resource": 1, "clinician": 2, "patient": 3}
DEFAULT_LATE_CANCEL_HOURS = 24

Status = Appointment.Status
T = TypeVar("T")


# --- Outcomes front desk must hear about ----------------------------------------------------------------------


class SchedulingError(Exception):
    """A booking rule said no. ``message`` is written for front desk; ``field`` names the form field, if any."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class BookingRefused(SchedulingError):
    """A gate refused the booking: eligibility, REMS, the past, opening hours, a closure, a bad span."""


class InvalidTransition(SchedulingError):
    """The appointment is not in a state that allows this step (for example discharging a booked session)."""

    status_code = 409

    def __init__(self, message: str, *, field: str | None = None, blockers: Sequence[str] = ()) -> None:
        super().__init__(message, field=field)
        self.blockers = list(blockers)


class BookingConflict(SchedulingError):
    """Something the session needs is already held at that time. Names it, and offers the nearest free starts."""

    status_code = 409

    def __init__(
        self,
        message: str,
        *,
        taken: str,
        taken_kind: str,
        alternatives: Sequence[selectors.SlotOption] = (),
        session_index: int | None = None,
    ) -> None:
        super().__init__(message)
        self.taken = taken
        self.taken_kind = taken_kind
        self.alternatives = list(alternatives)
        self.session_index = session_index


# --- Helpers --------------------------------------------------------------------------------------------------


def late_cancel_hours() -> int:
    return int(getattr(settings, "SCHEDULING_LATE_CANCEL_HOURS", DEFAULT_LATE_CANCEL_HOURS))


def format_local(moment: datetime, location: Location) -> str:
    """An unambiguous local time with its zone, e.g. 'Mon 3 Mar 2027, 09:00 EST' (engineering guide 8)."""
    local = moment.astimezone(location.tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"


@dataclass(frozen=True)
class SessionHolds:
    """What one session holds, as half-open spans: the chair/room and patient for all of it, the clinician for
    the dosing window and (Spravato) again for the discharge check."""

    start: datetime
    end: datetime
    clinician_spans: tuple[tuple[datetime, datetime], ...]


def session_holds(
    treatment_type: TreatmentType, start: datetime, end: datetime | None = None
) -> SessionHolds:
    """The spans a session holds. ``end`` may extend the chair time (e.g. longer observation); never shorten
    it below the clinician's windows. Zero-length and reversed spans are refused here with a message."""
    if start.utcoffset() is None or (end is not None and end.utcoffset() is None):
        raise BookingRefused("Times must include their time zone.", field="start")
    start = start.astimezone(UTC)
    end = (start + timedelta(minutes=treatment_type.chair_minutes)) if end is None else end.astimezone(UTC)
    if end == start:
        raise BookingRefused("The session has no length: it must end after it starts.", field="end")
    if end < start:
        raise BookingRefused("The session ends before it starts: check the start and end times.", field="end")
    if end - start > MAX_SESSION_LENGTH:
        raise BookingRefused("A session cannot last longer than 24 hours.", field="end")
    dosing_start = start + timedelta(minutes=treatment_type.clinician_offset_minutes)
    dosing_end = dosing_start + timedelta(minutes=treatment_type.clinician_minutes)
    spans = [(dosing_start, dosing_end)]
    if treatment_type.discharge_minutes:
        discharge_start = end - timedelta(minutes=treatment_type.discharge_minutes)
        if discharge_start < dosing_end:
            raise BookingRefused(
                f"The session is too short for {treatment_type.label}: it needs at least "
                f"{treatment_type.clinician_offset_minutes + treatment_type.clinician_minutes + treatment_type.discharge_minutes}"
                " minutes.",
                field="end",
            )
        spans.append((discharge_start, end))
    elif dosing_end > end:
        raise BookingRefused(
            f"The session is too short for {treatment_type.label}: the clinician's dosing window ends after it.",
            field="end",
        )
    return SessionHolds(start=start, end=end, clinician_spans=tuple(spans))


def _check_resource(resource: Resource, *, location: Location, treatment_type: TreatmentType) -> None:
    if resource.location_id != location.pk or not resource.is_active:
        raise BookingRefused(f"{resource.name} is not in use at {location.name}.", field="resource")
    if resource.kind != treatment_type.resource_kind:
        raise BookingRefused(
            f"{treatment_type.label} needs a {Resource.Kind(treatment_type.resource_kind).label.lower()}, "
            f"not {resource.name}.",
            field="resource",
        )


def _check_gates(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    resource: Resource,
    clinician: Clinician,
    holds: SessionHolds,
    now: datetime,
) -> None:
    """Every rule a booking must pass before it may hold anything. Raises BookingRefused with a message."""
    tz = location.tz
    local_start = holds.start.astimezone(tz)
    day = local_start.date()
    when = format_local(holds.start, location)

    if not treatment_type.is_active:
        raise BookingRefused(f"{treatment_type.label} is no longer offered.", field="treatment_type")
    if not location.is_active:
        raise BookingRefused(f"{location.name} is not taking bookings.", field="location")
    if holds.start < now:
        raise BookingRefused(f"{when} is in the past: choose a time from now on.", field="start")
    _check_resource(resource, location=location, treatment_type=treatment_type)

    first_hold = min(start for start, _ in holds.clinician_spans)
    last_hold = max(end for _, end in holds.clinician_spans)
    facts = selectors.booking_facts(
        location_id=location.pk,
        clinician_id=clinician.pk,
        patient_id=patient.pk,
        day=day,
        since=first_hold,
        until=last_hold,
        now=now,
    )
    if facts.closure_reason is not None:
        because = f" ({facts.closure_reason})" if facts.closure_reason else ""
        raise BookingRefused(
            f"{location.name} is closed on {local_start:%a} {day.day} {local_start:%b %Y}{because}.",
            field="start",
        )
    opening = facts.opening_hours
    if not availability.inside_local_windows(holds.start, holds.end, tz=tz, day=day, windows=opening):
        hours = ", ".join(f"{o:%H:%M}-{c:%H:%M}" for o, c in opening) or "closed all day"
        raise BookingRefused(
            f"{when} to {holds.end.astimezone(tz):%H:%M} is outside opening hours on {local_start:%A}s ({hours}).",
            field="start",
        )

    if not facts.clinician_works_here:
        raise BookingRefused(f"{clinician} does not work at {location.name}.", field="clinician")
    for span_start, span_end in holds.clinician_spans:
        if not availability.inside_local_windows(
            span_start, span_end, tz=tz, day=day, windows=facts.clinician_hours
        ):
            raise BookingRefused(
                f"{clinician} is not working at {span_start.astimezone(tz):%H:%M} on {local_start:%A}s.",
                field="clinician",
            )
        if any(off.start < span_end and span_start < off.end for off in facts.clinician_time_off):
            raise BookingRefused(f"{clinician} is on time off then.", field="clinician")

    eligibility = decide_eligibility(facts.eligibility, modality=treatment_type.modality, patient=patient)
    if not eligibility.allowed:
        raise BookingRefused(
            f"{patient.full_name} cannot be booked for {treatment_type.label}: {eligibility.reason}"
        )
    if treatment_type.modality == TreatmentType.Modality.SPRAVATO:
        enrolment = facts.rems_enrolled_on
        if enrolment is None:
            raise BookingRefused(
                f"{patient.full_name} has no Spravato REMS enrolment on record: record the Patient Enrollment "
                "Form before booking a Spravato session."
            )
        if enrolment > day:
            raise BookingRefused(
                f"{patient.full_name}'s REMS enrolment starts {enrolment:%a} {enrolment.day} {enrolment:%b %Y}, "
                "after this session."
            )


def _allocation_rows(appointment: Appointment, holds: SessionHolds) -> list[tuple]:
    """The appointment's holds as (kind, resource, clinician, patient, span) rows: chair or room and patient for
    the whole session, the clinician for each of their windows."""
    span = DateTimeTZRange(holds.start, holds.end, "[)")
    return [
        (Allocation.Kind.RESOURCE, appointment.resource_id, None, None, span),
        (Allocation.Kind.PATIENT, None, None, appointment.patient_id, span),
        *(
            (Allocation.Kind.CLINICIAN, None, appointment.clinician_id, None, DateTimeTZRange(lo, hi, "[)"))
            for lo, hi in holds.clinician_spans
        ),
    ]


# The holds' insert is where a booking that loses the race spends its attempt, and bulk_create cost more CPU than
# the round trip itself (issue 7: fifty desks after one slot), so it is written as SQL: one row per hold.
HOLDS_INSERT_SQL = (
    "INSERT INTO scheduling_allocation (appointment_id, kind, resource_id, clinician_id, patient_id, span, active) "
    "VALUES "
)
HOLD_ROW_SQL = "(%s, %s, %s, %s, %s, %s, true)"


def _insert_holds(cursor, appointment: Appointment, holds: SessionHolds) -> None:
    rows = _allocation_rows(appointment, holds)
    cursor.execute(
        HOLDS_INSERT_SQL + ", ".join([HOLD_ROW_SQL] * len(rows)),
        [value for row in rows for value in (appointment.pk, *row)],
    )


def _is_exclusion_violation(exc: IntegrityError | OperationalError) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED)


class _Taken(Exception):
    """An exclusion constraint refused a hold (or the wait for another booking's hold ran out: ``undecided``).
    Raised inside the booking's transaction so that it rolls back; the conflict (and its alternatives, which need
    queries) is built once the transaction is gone."""

    def __init__(self, error: IntegrityError | OperationalError, *, undecided: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.undecided = undecided
        # A reschedule's appointment and new holds, as read inside the rolled-back transaction.
        self.moving: Appointment | None = None
        self.holds: SessionHolds | None = None


def _until_decided(attempt: Callable[[bool], T]) -> T:
    """Run ``attempt(short_wait)``, one try of a change of holds in its own transaction, until it is decided: a
    first try whose wait for another booking's clashing hold ran out (or deadlocked) is tried once more, queued
    behind the other second tries (see HOLD_ATTEMPTS). A decided clash is raised as ``_Taken``."""
    for number in range(1, HOLD_ATTEMPTS + 1):
        try:
            return attempt(number < HOLD_ATTEMPTS)
        except _Taken as taken:
            if not taken.undecided or number == HOLD_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


# Before the holds' insert: the caller's lock_timeout (to be put back after the insert), the short one for the
# insert (SET LOCAL: a rollback undoes it), and for a new appointment its id from the sequence.
SHORT_LOCK_WAIT_SQL = "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)"
SHORT_LOCK_WAIT_AND_ID_SQL = (
    "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true), "
    "nextval(pg_get_serial_sequence('scheduling_appointment', 'id'))"
)
NEW_ID_SQL = "SELECT nextval(pg_get_serial_sequence('scheduling_appointment', 'id'))"
# A second try's place in the queue: one advisory lock per thing it holds, taken in the order of the keys.
HOLD_QUEUE_SQL = "SELECT pg_advisory_xact_lock(key) FROM unnest(%s::bigint[]) AS key"


# The calendar guards' advisory locks (migration 0008): a hold shares its clinician's and its location's, a change of
# time off or closures takes it alone. Kinds 1-3 are the hold queue's.
CALENDAR_LOCK_KINDS = {"clinician": 4, "location": 5}


def lock_calendar(kind: str, pk: int) -> None:
    """Take the calendar guard's lock on one clinician or location alone, until the transaction ends: bookings in
    flight have ended (so a read after this sees their holds) and new ones wait. The calendar forms call it before
    they list the sessions in the way, so their answer still holds when the row is saved."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [(CALENDAR_LOCK_KINDS[kind] << 56) | pk])


def hold_queue_keys(*, resource_id: int, clinician_id: int, patient_id: int) -> list[int]:
    """Advisory lock keys for a second try's chair or room, clinician and patient (the kind in the top byte),
    sorted: every second try takes its locks in the same order, so second tries never deadlock."""
    held = [
        (HOLD_QUEUE_KINDS["resource"], resource_id),
        (HOLD_QUEUE_KINDS["clinician"], clinician_id),
        (HOLD_QUEUE_KINDS["patient"], patient_id),
    ]
    return sorted((kind << 56) | pk for kind, pk in held)


def _hold(
    appointment: Appointment,
    holds: SessionHolds,
    *,
    short_wait: bool,
    update_fields: Sequence[str] | None = None,
) -> None:
    """Save the appointment and insert its allocation rows: the exclusion constraints decide, not a read.

    A new appointment's holds go in first, under an id taken from the appointment's sequence, and the appointment
    row after them (the foreign key is checked at commit: Django makes every PostgreSQL foreign key DEFERRABLE
    INITIALLY DEFERRED). A booking that loses the race then stops at its first write, before it has inserted
    (and had audited) an appointment that is rolled back anyway: when fifty desks want one slot, forty-nine lose.
    ``short_wait``: the insert waits at most HOLD_LOCK_TIMEOUT for a clashing booking in flight; otherwise it
    first queues behind other second tries for the same things (see HOLD_ATTEMPTS) and then waits as needed.
    """
    new = update_fields is None
    try:
        with connection.cursor() as cursor:
            if not short_wait:
                keys = hold_queue_keys(
                    resource_id=appointment.resource_id,
                    clinician_id=appointment.clinician_id,
                    patient_id=appointment.patient_id,
                )
                cursor.execute(HOLD_QUEUE_SQL, [keys])
                cursor.fetchall()
            if new and short_wait:
                cursor.execute(SHORT_LOCK_WAIT_AND_ID_SQL, [HOLD_LOCK_TIMEOUT])
                lock_timeout, _, appointment.pk = cursor.fetchone()
            elif new:
                cursor.execute(NEW_ID_SQL)
                (appointment.pk,) = cursor.fetchone()
            elif short_wait:
                cursor.execute(SHORT_LOCK_WAIT_SQL, [HOLD_LOCK_TIMEOUT])
                lock_timeout, _ = cursor.fetchone()
            if not new:
                Allocation.objects.filter(appointment=appointment, active=True).update(active=False)
                appointment.save(update_fields=update_fields)
            _insert_holds(cursor, appointment, holds)
            if short_wait:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        if new:
            appointment.save(force_insert=True)
    except (IntegrityError, OperationalError) as exc:
        code = getattr(exc.__cause__, "pgcode", None)
        if code == CHECK_VIOLATION and (refusal := _calendar_refusal(exc, appointment)) is not None:
            raise refusal from exc
        if not (_is_exclusion_violation(exc) or code == LOCK_NOT_AVAILABLE):
            raise
        # The constraint's refusal is final; a wait that deadlocked or ran out has not been decided yet.
        raise _Taken(exc, undecided=code != EXCLUSION_VIOLATION) from exc


def _calendar_refusal(exc: IntegrityError, appointment: Appointment) -> BookingRefused | None:
    """The database's calendar guard refused a hold: time off or a closure was saved while this booking was being
    checked (the rules' own read, a moment before, did not see it yet)."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
    when = format_local(appointment.start_at, appointment.location)
    if constraint == HOLD_IN_TIME_OFF:
        return BookingRefused(f"{appointment.clinician} is on time off then ({when}).", field="clinician")
    if constraint == HOLD_ON_CLOSURE:
        return BookingRefused(f"{appointment.location.name} is closed that day ({when}).", field="start")
    return None


def _conflict(
    exc: IntegrityError | OperationalError,
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    resource: Resource,
    clinician: Clinician,
    holds: SessionHolds,
    now: datetime,
    ignore_appointment: Appointment | None = None,
    session_index: int | None = None,
    with_alternatives: bool = True,
) -> BookingConflict:
    """Turn an exclusion violation into a message naming what is taken, with the nearest free starts."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
    when = format_local(holds.start, location)
    if "clinician" in constraint:
        taken, kind = str(clinician), "clinician"
        message = f"{clinician} is already with another patient during this session's dosing or discharge time ({when})."
    elif "patient" in constraint:
        taken, kind = patient.full_name, "patient"
        message = f"{patient.full_name} already has another session at that time ({when})."
    else:
        taken, kind = resource.name, "resource"
        message = f"{resource.name} is already booked at {when}."
    prefix = f"Session {session_index}: " if session_index else ""
    alternatives = (
        selectors.nearest_alternatives(
            location=location,
            treatment_type=treatment_type,
            requested_start=holds.start,
            now=now,
            patient=patient,
            ignore_appointment=ignore_appointment,
            resource_id=resource.pk if kind == "resource" else None,
            clinician_id=clinician.pk if kind == "clinician" else None,
        )
        if with_alternatives
        else []
    )
    if alternatives:
        message += (
            " Nearest free: "
            + "; ".join(
                f"{format_local(o.start, location)} ({o.resource_name}, {o.clinician_name})"
                for o in alternatives
            )
            + "."
        )
    return BookingConflict(
        prefix + message, taken=taken, taken_kind=kind, alternatives=alternatives, session_index=session_index
    )


def _choose_and_check(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    holds: SessionHolds,
    resource: Resource | None,
    clinician: Clinician | None,
    now: datetime,
    ignore_appointment: Appointment | None = None,
) -> tuple[Resource, Clinician]:
    """The chair or room and the clinician for a booking or a move (the free ones when not given), once every gate
    has said yes: both paths ask the same questions in the same order."""
    resource, clinician = _pick_resources(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        start=holds.start,
        resource=resource,
        clinician=clinician,
        now=now,
        ignore_appointment=ignore_appointment,
    )
    _check_gates(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        resource=resource,
        clinician=clinician,
        holds=holds,
        now=now,
    )
    return resource, clinician


def _pick_resources(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    start: datetime,
    resource: Resource | None,
    clinician: Clinician | None,
    now: datetime,
    ignore_appointment: Appointment | None = None,
) -> tuple[Resource, Clinician]:
    """Fill in a free chair/room and clinician when front desk left them to the system."""
    if resource is not None and clinician is not None:
        return resource, clinician  # the gates check both
    if resource is not None:
        _check_resource(resource, location=location, treatment_type=treatment_type)
    if clinician is not None and not clinician.locations.filter(pk=location.pk).exists():
        raise BookingRefused(f"{clinician} does not work at {location.name}.", field="clinician")
    option = selectors.free_option_at(
        location=location,
        treatment_type=treatment_type,
        start=start,
        now=now,
        patient=patient,
        ignore_appointment=ignore_appointment,
        resource_id=resource.pk if resource else None,
        clinician_id=clinician.pk if clinician else None,
    )
    if option is None:
        alternatives = selectors.nearest_alternatives(
            location=location,
            treatment_type=treatment_type,
            requested_start=start,
            now=now,
            patient=patient,
            ignore_appointment=ignore_appointment,
        )
        when = format_local(start, location)
        if resource or clinician:
            what = resource.name if resource else str(clinician)
            message = f"{what} is not free for {treatment_type.label} at {when}."
        else:
            what = Resource.Kind(treatment_type.resource_kind).label
            message = f"No {what.lower()} and clinician are free for {treatment_type.label} at {when}."
        if alternatives:
            message += (
                " Nearest free: " + "; ".join(format_local(o.start, location) for o in alternatives) + "."
            )
        raise BookingConflict(
            message,
            taken=what,
            taken_kind="resource" if resource or not clinician else "clinician",
            alternatives=alternatives,
        )
    resource = resource or Resource.objects.get(pk=option.resource_id)
    clinician = clinician or Clinician.objects.select_related("user").get(pk=option.clinician_id)
    return resource, clinician


# --- Booking --------------------------------------------------------------------------------------------------


def book_appointment(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    start: datetime,
    booked_by,
    resource: Resource | None = None,
    clinician: Clinician | None = None,
    end: datetime | None = None,
    notes: str = "",
    now: datetime | None = None,
    series: TreatmentSeries | None = None,
    series_index: int | None = None,
    series_note: str = "",
    with_alternatives: bool = True,
) -> Appointment:
    """Book one session. Leave ``resource`` / ``clinician`` out to take the first free ones at ``start``.

    Raises BookingRefused (a gate said no) or BookingConflict (something is taken; nothing was written).
    One transaction: one read for every gate (``selectors.booking_facts``), the holds, the appointment and its
    reminder rows. A conflict rolls it back first and reads the alternatives after, so no savepoint is needed.
    """
    now = now or timezone.now()
    holds = session_holds(treatment_type, start, end)
    chosen: dict[str, Resource | Clinician] = {}  # the chair and clinician of the latest try, for a conflict

    def attempt(short_wait: bool) -> Appointment:
        with transaction.atomic():
            chosen["resource"], chosen["clinician"] = _choose_and_check(
                patient=patient,
                treatment_type=treatment_type,
                location=location,
                holds=holds,
                resource=resource,
                clinician=clinician,
                now=now,
            )
            appointment = Appointment(
                patient=patient,
                location=location,
                treatment_type=treatment_type,
                resource=chosen["resource"],
                clinician=chosen["clinician"],
                start_at=holds.start,
                end_at=holds.end,
                status=Status.BOOKED,
                series=series,
                series_index=series_index,
                series_note=series_note,
                notes=notes,
                created_by=booked_by,
            )
            _hold(appointment, holds, short_wait=short_wait)
            reminders.plan_reminders_for(appointment, now=now)  # the outbox rows, in this transaction
        return appointment

    try:
        return _until_decided(attempt)
    except _Taken as taken:
        raise _conflict(
            taken.error,
            patient=patient,
            treatment_type=treatment_type,
            location=location,
            resource=chosen["resource"],
            clinician=chosen["clinician"],
            holds=holds,
            now=now,
            session_index=series_index if series else None,
            with_alternatives=with_alternatives,
        ) from None


@dataclass(frozen=True)
class SeriesSessionChoice:
    """One session of a confirmed series proposal. Chair/room and clinician may be left to the system."""

    index: int
    start: datetime
    resource_id: int | None = None
    clinician_id: int | None = None
    note: str = ""


@transaction.atomic
def book_series(
    *,
    patient: Patient,
    treatment_type: TreatmentType,
    location: Location,
    template_code: str,
    weekdays: Sequence[int],
    local_time: time,
    sessions: Sequence[SeriesSessionChoice],
    booked_by,
    now: datetime | None = None,
) -> TreatmentSeries:
    """Book every session of a confirmed proposal, or none: one conflict rolls the whole series back."""
    now = now or timezone.now()
    template = series.TEMPLATES.get(template_code)
    if template is None:
        raise BookingRefused("Unknown treatment series template.", field="template")
    if selectors.TEMPLATE_MODALITY.get(template.modality) != treatment_type.modality:
        raise BookingRefused(
            f"{template.label} is not a course of {treatment_type.label}.", field="treatment_type"
        )
    if not sessions:
        raise BookingRefused("The series has no sessions to book.")
    if len({s.index for s in sessions}) != len(sessions):
        raise BookingRefused("Each session of the series may be booked once.")
    treatment_series = TreatmentSeries.objects.create(
        patient=patient,
        location=location,
        treatment_type=treatment_type,
        template_code=template.code,
        label=template.label,
        weekdays=",".join(str(d) for d in sorted(weekdays)),
        local_time=local_time,
        created_by=booked_by,
    )
    resources = Resource.objects.in_bulk([s.resource_id for s in sessions if s.resource_id])
    clinicians = Clinician.objects.select_related("user").in_bulk(
        [s.clinician_id for s in sessions if s.clinician_id]
    )
    for session in sorted(sessions, key=lambda s: s.start):
        try:
            book_appointment(
                patient=patient,
                treatment_type=treatment_type,
                location=location,
                start=session.start,
                booked_by=booked_by,
                resource=resources.get(session.resource_id) if session.resource_id else None,
                clinician=clinicians.get(session.clinician_id) if session.clinician_id else None,
                now=now,
                series=treatment_series,
                series_index=session.index,
                series_note=session.note,
            )
        except SchedulingError as exc:
            if not exc.message.startswith("Session "):
                exc.message = (
                    f"Session {session.index} ({format_local(session.start, location)}): {exc.message}"
                )
                exc.args = (exc.message,)
            raise
    return treatment_series


def reschedule_appointment(
    *,
    appointment: Appointment,
    start: datetime,
    rescheduled_by,
    resource: Resource | None = None,
    clinician: Clinician | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Move one session (the rest of its series stays). Keeps the chair and clinician unless told otherwise,
    falling back to any free ones when front desk leaves them out. The patient must confirm again.

    One transaction, as ``book_appointment``: a conflict rolls it back, then the alternatives are read."""
    now = now or timezone.now()
    try:
        return _until_decided(
            lambda short_wait: _move(
                appointment=appointment,
                start=start,
                resource=resource,
                clinician=clinician,
                end=end,
                now=now,
                short_wait=short_wait,
            )
        )
    except _Taken as taken:
        raise _moving_conflict(taken, now=now) from None


def _moving_conflict(taken: _Taken, *, now: datetime) -> BookingConflict:
    """A move's (or a hand-over's) decided clash, named from the appointment as its rolled-back try read it."""
    moving = taken.moving
    return _conflict(
        taken.error,
        patient=moving.patient,
        treatment_type=moving.treatment_type,
        location=moving.location,
        resource=moving.resource,
        clinician=moving.clinician,
        holds=taken.holds,
        now=now,
        ignore_appointment=moving,
    )


@transaction.atomic
def _move(
    *,
    appointment: Appointment,
    start: datetime,
    resource: Resource | None,
    clinician: Clinician | None,
    end: datetime | None,
    now: datetime,
    short_wait: bool,
) -> Appointment:
    """One attempt of ``reschedule_appointment``, in its own transaction."""
    appointment = _locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise InvalidTransition(
            f"A session that is {appointment.get_status_display().lower()} cannot be moved."
        )
    treatment_type, location, patient = appointment.treatment_type, appointment.location, appointment.patient
    if end is None and appointment.end_at - appointment.start_at != timedelta(
        minutes=treatment_type.chair_minutes
    ):
        end = start + (appointment.end_at - appointment.start_at)  # keep an extended session extended
    holds = session_holds(treatment_type, start, end)
    if resource is None and clinician is None:
        # Keep the patient's chair and clinician when they are free at the new time.
        same = selectors.free_option_at(
            location=location,
            treatment_type=treatment_type,
            start=holds.start,
            now=now,
            patient=patient,
            ignore_appointment=appointment,
            resource_id=appointment.resource_id,
            clinician_id=appointment.clinician_id,
        )
        if same is not None:
            resource, clinician = appointment.resource, appointment.clinician
    resource, clinician = _choose_and_check(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        holds=holds,
        resource=resource,
        clinician=clinician,
        now=now,
        ignore_appointment=appointment,
    )
    appointment.resource = resource
    appointment.clinician = clinician
    appointment.start_at = holds.start
    appointment.end_at = holds.end
    appointment.status = Status.BOOKED
    appointment.confirmed_at = None
    try:
        _hold(
            appointment,
            holds,
            short_wait=short_wait,
            update_fields=[
                "resource",
                "clinician",
                "start_at",
                "end_at",
                "status",
                "confirmed_at",
                "updated_at",
            ],
        )
    except _Taken as taken:
        taken.moving, taken.holds = appointment, holds  # what the conflict names, once this has rolled back
        raise
    reminders.plan_reminders_for(appointment, now=now)  # void the old time's reminders, plan the update
    return appointment


def reassign_clinician(
    *, appointment: Appointment, clinician: Clinician, now: datetime | None = None
) -> Appointment:
    """Give a session to another clinician at the same time, in the same chair or room: cover for a colleague who
    is away. Every gate is asked again for the new clinician (works here, on shift, not on time off, free). The
    patient's confirmation stands and the reminders are unchanged: they name the time and place, not the
    clinician. One transaction a try, as ``reschedule_appointment``."""
    now = now or timezone.now()
    try:
        return _until_decided(
            lambda short_wait: _reassign(
                appointment=appointment, clinician=clinician, now=now, short_wait=short_wait
            )
        )
    except _Taken as taken:
        raise _moving_conflict(taken, now=now) from None


@transaction.atomic
def _reassign(
    *, appointment: Appointment, clinician: Clinician, now: datetime, short_wait: bool
) -> Appointment:
    """One attempt of ``reassign_clinician``."""
    appointment = _locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise InvalidTransition(
            f"A session that is {appointment.get_status_display().lower()} cannot be handed to another clinician."
        )
    if appointment.clinician_id == clinician.pk:
        raise BookingRefused(f"{clinician} already has this session.", field="clinician")
    holds = session_holds(appointment.treatment_type, appointment.start_at, appointment.end_at)
    _, appointment.clinician = _choose_and_check(
        patient=appointment.patient,
        treatment_type=appointment.treatment_type,
        location=appointment.location,
        holds=holds,
        resource=appointment.resource,
        clinician=clinician,
        now=now,
        ignore_appointment=appointment,
    )
    try:
        _hold(appointment, holds, short_wait=short_wait, update_fields=["clinician", "updated_at"])
    except _Taken as taken:
        taken.moving, taken.holds = appointment, holds  # what the conflict names, once this has rolled back
        raise
    return appointment


def _release(appointment: Appointment) -> None:
    Allocation.objects.filter(appointment=appointment, active=True).update(active=False)


def _locked(appointment: Appointment) -> Appointment:
    return (
        Appointment.objects.select_for_update()
        .select_related("patient", "location", "treatment_type", "resource", "clinician__user")
        .get(pk=appointment.pk)
    )


@transaction.atomic
def cancel_appointment(
    *, appointment: Appointment, reason: str, cancelled_by, now: datetime | None = None
) -> Appointment:
    """Cancel with a reason; inside the notice window (SCHEDULING_LATE_CANCEL_HOURS, elapsed hours) it is
    marked late. The chair, clinician and patient are free again at once."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise BookingRefused("Give a reason for the cancellation.", field="reason")
    appointment = _locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN):
        raise InvalidTransition(
            f"A session that is {appointment.get_status_display().lower()} cannot be cancelled."
        )
    appointment.status = Status.CANCELLED
    appointment.cancellation_reason = reason[:300]
    appointment.cancelled_at = now
    appointment.cancelled_by = cancelled_by
    appointment.late_cancellation = appointment.start_at - now < timedelta(hours=late_cancel_hours())
    appointment.save(
        update_fields=[
            "status", "cancellation_reason", "cancelled_at", "cancelled_by", "late_cancellation", "updated_at",
        ]
    )  # fmt: skip
    _release(appointment)
    reminders.plan_reminders_for(appointment, now=now)  # nothing more is sent but the calendar CANCEL
    return appointment


@transaction.atomic
def mark_no_show(*, appointment: Appointment, marked_by, now: datetime | None = None) -> Appointment:
    """The patient did not come. Only once the session should have started; frees the chair for the rest."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    if appointment.status not in (Status.BOOKED, Status.CONFIRMED):
        raise InvalidTransition(
            f"A session that is {appointment.get_status_display().lower()} cannot be marked as a no-show."
        )
    if now < appointment.start_at:
        raise InvalidTransition("A session cannot be marked as a no-show before its start time.")
    appointment.status = Status.NO_SHOW
    appointment.no_show_at = now
    appointment.save(update_fields=["status", "no_show_at", "updated_at"])
    _release(appointment)
    return appointment


# --- The session's states ---------------------------------------------------------------------------------------

# to-state -> (allowed from-states, timestamp field). Cancelled and no-show have their own services above.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    Status.CONFIRMED: (frozenset({Status.BOOKED}), "confirmed_at"),
    Status.CHECKED_IN: (frozenset({Status.BOOKED, Status.CONFIRMED}), "checked_in_at"),
    Status.IN_SESSION: (frozenset({Status.CHECKED_IN}), "session_started_at"),
    Status.RECOVERING: (frozenset({Status.IN_SESSION}), "recovery_started_at"),
    Status.DISCHARGED: (frozenset({Status.RECOVERING}), "discharged_at"),
}
# How soon before its start a session may be checked in (a patient arriving early).
CHECK_IN_EARLIEST = timedelta(hours=2)


def _transition(appointment: Appointment, to: str, *, now: datetime, guard=None) -> Appointment:
    """Move the (re-read, locked) appointment to ``to``; ``guard(locked_row)`` may refuse with a message."""
    appointment = _locked(appointment)
    allowed_from, stamp = TRANSITIONS[to]
    if appointment.treatment_type.modality == TreatmentType.Modality.CONSULTATION and to == Status.DISCHARGED:
        allowed_from = allowed_from | {Status.IN_SESSION}  # a consultation has no recovery
    if appointment.status not in allowed_from:
        raise InvalidTransition(
            f"This session is {appointment.get_status_display().lower()}: it cannot be marked "
            f"{Status(to).label.lower()}. Allowed next: {next_steps_text(appointment)}."
        )
    if guard is not None:
        guard(appointment)
    appointment.status = to
    setattr(appointment, stamp, now)
    appointment.save(update_fields=["status", stamp, "updated_at"])
    return appointment


def next_steps(appointment: Appointment) -> list[str]:
    """The states this appointment may move to next (what the buttons offer)."""
    steps = [
        to
        for to, (allowed_from, _) in TRANSITIONS.items()
        if appointment.status in allowed_from
        or (
            to == Status.DISCHARGED
            and appointment.status == Status.IN_SESSION
            and appointment.treatment_type.modality == TreatmentType.Modality.CONSULTATION
        )
    ]
    if appointment.status in (Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN):
        steps.append(Status.CANCELLED)
    if appointment.status in (Status.BOOKED, Status.CONFIRMED):
        steps.append(Status.NO_SHOW)
    return steps


def next_steps_text(appointment: Appointment) -> str:
    return (
        ", ".join(Status(s).label.lower() for s in next_steps(appointment))
        or "nothing (the session is closed)"
    )


@transaction.atomic
def confirm_appointment(
    *, appointment: Appointment, confirmed_by, now: datetime | None = None
) -> Appointment:
    now = now or timezone.now()
    appointment = _transition(appointment, Status.CONFIRMED, now=now)
    reminders.plan_reminders_for(appointment, now=now)
    return appointment


@transaction.atomic
def check_in(*, appointment: Appointment, checked_in_by, now: datetime | None = None) -> Appointment:
    now = now or timezone.now()

    def not_too_early(locked: Appointment) -> None:
        if locked.start_at - now > CHECK_IN_EARLIEST:
            raise InvalidTransition("Check-in opens 2 hours before the session starts.")

    return _transition(appointment, Status.CHECKED_IN, now=now, guard=not_too_early)


@transaction.atomic
def start_session(*, appointment: Appointment, started_by, now: datetime | None = None) -> Appointment:
    """Dosing starts. Refused, with every reason listed, until the check-in checklist, the re-screen and the
    pre-dose vitals allow it (scheduling.session_rules)."""
    now = now or timezone.now()

    def may_start(locked: Appointment) -> None:
        blockers = session_rules.start_blockers(selectors.start_facts(locked, starter=started_by, now=now))
        if blockers:
            raise InvalidTransition("Dosing cannot start yet. " + " ".join(blockers), blockers=blockers)

    return _transition(appointment, Status.IN_SESSION, now=now, guard=may_start)


@transaction.atomic
def start_recovery(*, appointment: Appointment, by, now: datetime | None = None) -> Appointment:
    return _transition(appointment, Status.RECOVERING, now=now or timezone.now())


@transaction.atomic
def discharge(
    *,
    appointment: Appointment,
    discharged_by,
    now: datetime | None = None,
    escort_present: bool | None = None,
) -> Appointment:
    """Discharge, only when its criteria are met: dose and pre-discharge vitals recorded, escort here, and for
    Spravato at least 120 minutes of observation after the dose (REMS)."""
    now = now or timezone.now()
    if escort_present is not None:
        record = _session_record(appointment)
        record.escort_present_at_discharge = escort_present
        record.save(update_fields=["escort_present_at_discharge"])

    def may_leave(locked: Appointment) -> None:
        blockers = session_rules.discharge_blockers(selectors.discharge_facts(locked, now=now))
        if blockers:
            raise InvalidTransition(
                "The patient cannot be discharged yet. " + " ".join(blockers), blockers=blockers
            )

    return _transition(appointment, Status.DISCHARGED, now=now, guard=may_leave)


# --- The day of the session -------------------------------------------------------------------------------------


def _session_record(appointment: Appointment) -> SessionRecord:
    record, _ = SessionRecord.objects.select_for_update().get_or_create(appointment_id=appointment.pk)
    return record


def _require_status(appointment: Appointment, allowed: set[str], doing: str) -> None:
    if appointment.status not in allowed:
        raise InvalidTransition(
            f"This session is {appointment.get_status_display().lower()}: {doing} is not possible now."
        )


def _require_clinician(user, doing: str) -> None:
    if user is None or getattr(user, "role", None) is not Role.CLINICIAN:
        raise SessionRefused(f"Only a clinician can {doing}.")


class SessionRefused(SchedulingError):
    """A session-day record was refused (missing or implausible values, wrong person)."""


@transaction.atomic
def record_check_in_checklist(
    *,
    appointment: Appointment,
    escort_name: str,
    escort_phone: str,
    escort_confirmed: bool,
    fasting_confirmed: bool,
    recorded_by,
    now: datetime | None = None,
) -> SessionRecord:
    """The check-in checklist: who drives the patient home (named, with a phone, confirmed) and fasting."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    _require_status(appointment, {Status.CHECKED_IN}, "the check-in checklist")
    escort_name, escort_phone = escort_name.strip(), escort_phone.strip()
    if escort_confirmed and not (escort_name and escort_phone):
        raise SessionRefused(
            "Give the escort or driver's name and phone before confirming them.", field="escort_name"
        )
    record = _session_record(appointment)
    record.escort_name = escort_name[:120]
    record.escort_phone = escort_phone[:32]
    record.escort_confirmed_at = (record.escort_confirmed_at or now) if escort_confirmed else None
    record.fasting_confirmed_at = (record.fasting_confirmed_at or now) if fasting_confirmed else None
    record.checklist_by = recorded_by
    record.save(
        update_fields=[
            "escort_name",
            "escort_phone",
            "escort_confirmed_at",
            "fasting_confirmed_at",
            "checklist_by",
        ]
    )
    return record


VITALS_LIMITS = {"systolic": (40, 300), "diastolic": (20, 200), "heart_rate": (20, 250), "spo2": (50, 100)}
VITALS_NAMES = {
    "systolic": "Systolic BP",
    "diastolic": "Diastolic BP",
    "heart_rate": "Heart rate",
    "spo2": "SpO2",
}


@transaction.atomic
def record_vitals(
    *,
    appointment: Appointment,
    phase: str,
    systolic: int,
    diastolic: int,
    heart_rate: int,
    spo2: int,
    recorded_by,
    now: datetime | None = None,
) -> VitalSigns:
    """One set of vitals. A pre-dose BP over 140/90 is flagged for the clinician; over 180/100 is a hard stop."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    _require_status(
        appointment, {Status.CHECKED_IN, Status.IN_SESSION, Status.RECOVERING}, "recording vital signs"
    )
    values = {"systolic": systolic, "diastolic": diastolic, "heart_rate": heart_rate, "spo2": spo2}
    for name, value in values.items():
        low, high = VITALS_LIMITS[name]
        if not isinstance(value, int) or not low <= value <= high:
            raise SessionRefused(
                f"{VITALS_NAMES[name]} must be a whole number from {low} to {high}.", field=name
            )
    if systolic <= diastolic:
        raise SessionRefused("Systolic BP must be higher than diastolic BP.", field="systolic")
    if phase not in VitalSigns.Phase.values:
        raise SessionRefused("Choose when these vitals were taken.", field="phase")
    return VitalSigns.objects.create(
        appointment=appointment, phase=phase, recorded_at=now, recorded_by=recorded_by, **values
    )


@transaction.atomic
def override_bp_hard_stop(
    *, appointment: Appointment, reason: str, clinician_user, now: datetime | None = None
) -> SessionRecord:
    """A clinician accepts a pre-dose BP above 180/100 and says why; the session may then start."""
    now = now or timezone.now()
    _require_clinician(clinician_user, "override a blood-pressure hard stop")
    reason = (reason or "").strip()
    if not reason:
        raise SessionRefused("Say why it is safe to proceed.", field="reason")
    appointment = _locked(appointment)
    _require_status(appointment, {Status.CHECKED_IN}, "a blood-pressure override")
    record = _session_record(appointment)
    record.bp_override_reason = reason
    record.bp_override_at = now
    record.bp_override_by = clinician_user
    record.save(update_fields=["bp_override_reason", "bp_override_at", "bp_override_by"])
    return record


@transaction.atomic
def record_dose(
    *,
    appointment: Appointment,
    dose_mg: Decimal,
    lot_number: str,
    started_at: datetime,
    recorded_by,
    ended_at: datetime | None = None,
    weight_kg: Decimal | None = None,
    drug: str = "",
    now: datetime | None = None,
) -> SessionRecord:
    """The dose record. IV: weight and mg/kg are kept (dose = mg/kg x weight). Spravato: 56 or 84 mg.
    A dose is recorded as given: not in the future, and not before this session began."""
    now = now or timezone.now()
    _require_clinician(recorded_by, "record the dose")
    appointment = _locked(appointment)
    _require_status(appointment, {Status.IN_SESSION, Status.RECOVERING}, "recording the dose")
    modality = appointment.treatment_type.modality
    dose_mg = Decimal(dose_mg)
    if dose_mg <= 0:
        raise SessionRefused("The dose must be more than 0 mg.", field="dose_mg")
    if not lot_number.strip():
        raise SessionRefused("Give the lot number.", field="lot_number")
    if ended_at is not None and ended_at < started_at:
        raise SessionRefused("The dose cannot end before it starts.", field="ended_at")
    # A few minutes' grace for a clock on the wall that differs from the server's.
    grace = timedelta(minutes=5)
    if started_at > now + grace or (ended_at is not None and ended_at > now + grace):
        raise SessionRefused(
            "Record the dose once it is given: its times cannot be in the future.", field="started_at"
        )
    if appointment.session_started_at and started_at < appointment.session_started_at - timedelta(minutes=30):
        raise SessionRefused("The dose cannot start before this session began.", field="started_at")
    record = _session_record(appointment)
    if modality == TreatmentType.Modality.IV_KETAMINE:
        if not weight_kg or Decimal(weight_kg) <= 0:
            raise SessionRefused("Give the patient's weight in kg for an IV dose.", field="weight_kg")
        record.weight_kg = Decimal(weight_kg)
        record.dose_mg_per_kg = (dose_mg / record.weight_kg).quantize(Decimal("0.001"))
        record.route = SessionRecord.Route.IV
        record.drug = drug.strip() or "Ketamine hydrochloride"
    elif modality == TreatmentType.Modality.SPRAVATO:
        if int(dose_mg) not in session_rules.SPRAVATO_DOSES_MG or dose_mg != int(dose_mg):
            raise SessionRefused(
                "A Spravato dose is 56 mg (2 devices) or 84 mg (3 devices).", field="dose_mg"
            )
        record.weight_kg = Decimal(weight_kg) if weight_kg else None
        record.dose_mg_per_kg = None
        record.route = SessionRecord.Route.INTRANASAL
        record.drug = drug.strip() or "Esketamine (Spravato) nasal spray"
    else:
        raise SessionRefused("A consultation has no dose.")
    record.dose_mg = dose_mg
    record.lot_number = lot_number.strip()[:40]
    record.dose_started_at = started_at
    record.dose_ended_at = ended_at
    record.dose_recorded_by = recorded_by
    record.save()
    return record


@transaction.atomic
def record_observation_scores(
    *, appointment: Appointment, dissociation_score: int | None, sedation_score: int | None, recorded_by
) -> SessionRecord:
    """The clinician's dissociation (CADSS 0-92) and sedation (MOAA/S 0-5) scores."""
    _require_clinician(recorded_by, "record dissociation and sedation scores")
    appointment = _locked(appointment)
    _require_status(appointment, {Status.IN_SESSION, Status.RECOVERING}, "recording scores")
    if dissociation_score is not None and not 0 <= dissociation_score <= 92:
        raise SessionRefused("The dissociation score (CADSS) is from 0 to 92.", field="dissociation_score")
    if sedation_score is not None and not 0 <= sedation_score <= 5:
        raise SessionRefused("The sedation score (MOAA/S) is from 0 to 5.", field="sedation_score")
    record = _session_record(appointment)
    record.dissociation_score = dissociation_score
    record.sedation_score = sedation_score
    record.scores_recorded_by = recorded_by
    record.save(update_fields=["dissociation_score", "sedation_score", "scores_recorded_by"])
    return record


@transaction.atomic
def mark_rems_form_submitted(
    *, appointment: Appointment, submitted_by, now: datetime | None = None
) -> SessionRecord:
    """The SPRAVATO REMS Patient Monitoring Form for this session was sent (due within 7 days)."""
    now = now or timezone.now()
    appointment = _locked(appointment)
    if appointment.treatment_type.modality != TreatmentType.Modality.SPRAVATO:
        raise SessionRefused("Only Spravato sessions have a REMS monitoring form.")
    _require_status(appointment, {Status.DISCHARGED}, "the REMS monitoring form")
    record = _session_record(appointment)
    record.rems_form_submitted_at = now
    record.rems_form_submitted_by = submitted_by
    record.save(update_fields=["rems_form_submitted_at", "rems_form_submitted_by"])
    return record


# --- REMS -----------------------------------------------------------------------------------------------------


@transaction.atomic
def record_rems_enrollment(
    *, patient: Patient, enrolled_on: date, rems_patient_id: str = "", recorded_by
) -> RemsEnrollment:
    """Record (or correct) the patient's SPRAVATO REMS Patient Enrollment Form."""
    enrolment, _ = RemsEnrollment.objects.update_or_create(
        patient=patient,
        defaults={
            "enrolled_on": enrolled_on,
            "rems_patient_id": rems_patient_id.strip(),
            "recorded_by": recorded_by,
        },
    )
    return enrolment


# --- Waitlist ---------------------------------------------------------------------------------------------------


@transaction.atomic
def add_to_waitlist(
    *,
    patient: Patient,
    location: Location,
    treatment_type: TreatmentType,
    earliest_date: date,
    latest_date: date,
    added_by,
    current_appointment: Appointment | None = None,
    notes: str = "",
) -> WaitlistEntry:
    """Put a patient on the waitlist for an earlier session of one treatment at one location."""
    if latest_date < earliest_date:
        raise BookingRefused("The last day must be on or after the first day.", field="latest_date")
    if current_appointment is not None and current_appointment.patient_id != patient.pk:
        raise BookingRefused("That appointment belongs to another patient.", field="current_appointment")
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                patient=patient,
                location=location,
                treatment_type=treatment_type,
                earliest_date=earliest_date,
                latest_date=latest_date,
                current_appointment=current_appointment,
                notes=notes.strip()[:300],
                created_by=added_by,
            )
    except IntegrityError:
        raise BookingRefused(
            f"{patient.full_name} is already on the waitlist for {treatment_type.label}."
        ) from None


def _locked_entry(entry: WaitlistEntry) -> WaitlistEntry:
    return (
        WaitlistEntry.objects.select_for_update(of=("self",))
        .select_related("patient", "location", "treatment_type", "current_appointment")
        .get(pk=entry.pk)
    )


@transaction.atomic
def send_waitlist_offer(
    *, entry: WaitlistEntry, start: datetime, offered_by, now: datetime | None = None
) -> WaitlistEntry:
    """Offer a free start to a waitlisted patient by email (sent by a worker once this commits). Nothing is held:
    the first to book the time gets it, so the offer says to call."""
    now = now or timezone.now()
    entry = _locked_entry(entry)
    if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
        raise InvalidTransition(f"This waitlist entry is {entry.get_status_display().lower()}.")
    option = selectors.free_option_at(
        location=entry.location,
        treatment_type=entry.treatment_type,
        start=start,
        now=now,
        patient=entry.patient,
        ignore_appointment=entry.current_appointment,
    )
    if option is None:
        raise BookingConflict(
            f"{format_local(start, entry.location)} is no longer free.", taken="time", taken_kind="resource"
        )
    entry.status = WaitlistEntry.Status.OFFERED
    entry.offered_start = option.start
    entry.offered_at = now
    entry.offer_sent_at = None
    entry.save(update_fields=["status", "offered_start", "offered_at", "offer_sent_at"])
    from scheduling.tasks import send_waitlist_offer_email

    transaction.on_commit(lambda: send_waitlist_offer_email.delay(entry.pk))
    return entry


def deliver_waitlist_offer(*, entry_id: int) -> bool:
    """Send the offer email once (called by the task). No treatment or diagnosis in it: a time, a place, a phone."""
    from django.core.mail import send_mail

    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .select_related("patient", "location")
            .filter(pk=entry_id, status=WaitlistEntry.Status.OFFERED, offer_sent_at__isnull=True)
            .first()
        )
        if entry is None or entry.offered_start is None:
            return False
        location = entry.location
        call = (
            f" Call us on {location.phone} to take it." if location.phone else " Call the clinic to take it."
        )
        send_mail(
            subject=f"An earlier appointment is free at {location.name}",
            message=(
                f"Hello {entry.patient.preferred_name or entry.patient.legal_first_name},\n\n"
                f"An earlier appointment time is free at {location.name}: "
                f"{format_local(entry.offered_start, location)}.{call} "
                "It is not held for you: the first person to book it gets it.\n\n"
                f"{settings.CLINIC_NAME}"
            ),
            from_email=None,
            recipient_list=[entry.patient.email],
        )
        entry.offer_sent_at = timezone.now()
        entry.save(update_fields=["offer_sent_at"])
    return True


@transaction.atomic
def book_from_waitlist(
    *, entry: WaitlistEntry, start: datetime, booked_by, now: datetime | None = None
) -> Appointment:
    """Book the waitlisted patient at ``start``: their current session moves there, or a new one is booked."""
    now = now or timezone.now()
    entry = _locked_entry(entry)
    if entry.status not in (WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED):
        raise InvalidTransition(f"This waitlist entry is {entry.get_status_display().lower()}.")
    current = entry.current_appointment
    if current is not None and current.status in (Status.BOOKED, Status.CONFIRMED):
        appointment = reschedule_appointment(
            appointment=current, start=start, rescheduled_by=booked_by, now=now
        )
    else:
        appointment = book_appointment(
            patient=entry.patient,
            treatment_type=entry.treatment_type,
            location=entry.location,
            start=start,
            booked_by=booked_by,
            now=now,
        )
    entry.status = WaitlistEntry.Status.BOOKED
    entry.save(update_fields=["status"])
    return appointment


@transaction.atomic
def withdraw_from_waitlist(*, entry: WaitlistEntry, withdrawn_by) -> WaitlistEntry:
    entry = _locked_entry(entry)
    entry.status = WaitlistEntry.Status.WITHDRAWN
    entry.save(update_fields=["status"])
    return entry


__all__ = [
    "BookingConflict",
    "BookingRefused",
    "InvalidTransition",
    "SchedulingError",
    "SeriesSessionChoice",
    "book_appointment",
    "book_series",
    "cancel_appointment",
    "check_in",
    "confirm_appointment",
    "discharge",
    "mark_no_show",
    "SessionRefused",
    "add_to_waitlist",
    "book_from_waitlist",
    "deliver_waitlist_offer",
    "send_waitlist_offer",
    "withdraw_from_waitlist",
    "mark_rems_form_submitted",
    "override_bp_hard_stop",
    "record_check_in_checklist",
    "record_dose",
    "record_observation_scores",
    "record_rems_enrollment",
    "record_vitals",
    "reschedule_appointment",
    "start_recovery",
    "start_session",
]
