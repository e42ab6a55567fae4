"""How a booking holds its chair or room, clinician and patient: the allocation rows, inserted so that the exclusion
constraints decide a race (SQLSTATE 23P01 becomes a conflict) without PostgreSQL's deadlock wait, and the calendar
guards' locks (migration 0008).

A session holds its chair or room and its patient for all of it, its clinician for the dosing window and (Spravato)
again for the discharge check (``session_holds``); a dosing session also holds the patient's local days up to its
type's ``min_days_apart`` (a DayHold row, ``dosing_days``), written in the same statement. ``hold`` writes an appointment and its rows in one go; a clash is
raised as ``Taken`` inside the caller's transaction, so that it rolls back, and ``until_decided`` runs a change of
holds until a clash is decided (see HOLD_ATTEMPTS).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from django.db import IntegrityError, OperationalError, connection
from django.db.backends.postgresql.psycopg_any import DateRange, DateTimeTZRange
from django.db.models import Model
from django.utils.translation import gettext

from clinic.local_time import format_local
from scheduling.errors import BookingConflict, BookingRefused
from scheduling.models import MAX_SESSION_LENGTH, Allocation, Appointment, DayHold, Resource, TreatmentType

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
# The dosing days' exclusion constraint (DayHold): a second dosing session too close to another of the patient's.
DOSING_TOO_CLOSE = "dayhold_patient_dosing_spaced"
# A transaction PostgreSQL aborted to break a deadlock or a serialization conflict, at any statement or at COMMIT
# (a deferred foreign-key check waiting on a row another transaction has locked): nothing it did was kept, so the
# whole change is run again, up to ABORT_RETRIES more times, and then answered as a conflict.
SERIALIZATION_FAILURE = "40001"
ABORTED = frozenset({DEADLOCK_DETECTED, SERIALIZATION_FAILURE})
ABORT_RETRIES = 3
# Python's datetimes end at years 1 and 9999, and a zone or a session's length added near either overflows: a
# start outside these years is refused before any arithmetic (the gates then apply the clinic's own horizon).
BOOKABLE_YEARS = (1900, 9000)

T = TypeVar("T")
P = ParamSpec("P")


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
        raise BookingRefused(gettext("Times must include their time zone."), field="start")
    lowest, highest = BOOKABLE_YEARS
    for moment, field in ((start, "start"), (end, "end")):
        if moment is not None and not lowest <= moment.year <= highest:
            raise BookingRefused(
                gettext("%(year)s is not a year the clinic books sessions in: choose a date from today on.")
                % {"year": moment.year},
                field=field,
            )
    start = start.astimezone(UTC)
    end = (start + timedelta(minutes=treatment_type.chair_minutes)) if end is None else end.astimezone(UTC)
    if end == start:
        raise BookingRefused(gettext("The session has no length: it must end after it starts."), field="end")
    if end < start:
        raise BookingRefused(
            gettext("The session ends before it starts: check the start and end times."), field="end"
        )
    if end - start > MAX_SESSION_LENGTH:
        raise BookingRefused(gettext("A session cannot last longer than 24 hours."), field="end")
    dosing_start = start + timedelta(minutes=treatment_type.clinician_offset_minutes)
    dosing_end = dosing_start + timedelta(minutes=treatment_type.clinician_minutes)
    spans = [(dosing_start, dosing_end)]
    if treatment_type.discharge_minutes:
        discharge_start = end - timedelta(minutes=treatment_type.discharge_minutes)
        if discharge_start < dosing_end:
            raise BookingRefused(
                gettext(
                    "The session is too short for %(treatment_type)s: it needs at least %(minutes)s minutes."
                )
                % {
                    "treatment_type": treatment_type.label,
                    "minutes": treatment_type.clinician_offset_minutes
                    + treatment_type.clinician_minutes
                    + treatment_type.discharge_minutes,
                },
                field="end",
            )
        spans.append((discharge_start, end))
    elif dosing_end > end:
        raise BookingRefused(
            gettext(
                "The session is too short for %(treatment_type)s: the clinician's dosing window ends after it."
            )
            % {"treatment_type": treatment_type.label},
            field="end",
        )
    return SessionHolds(start=start, end=end, clinician_spans=tuple(spans))


def chair_span(resource: Resource, holds: SessionHolds) -> DateTimeTZRange:
    """The chair's or room's hold: the session and then its cleaning (``Resource.cleaning_minutes``), so the
    exclusion constraint refuses a next session that would start while the chair is being cleaned. Capped at
    MAX_SESSION_LENGTH from the start (``allocation_span_bounded``): only a session of nearly a day loses cleaning."""
    end = min(holds.end + timedelta(minutes=resource.cleaning_minutes), holds.start + MAX_SESSION_LENGTH)
    return DateTimeTZRange(holds.start, max(end, holds.end), "[)")


def _allocation_rows(
    appointment: Appointment, holds: SessionHolds, chair: DateTimeTZRange | None = None
) -> list[tuple]:
    """The appointment's holds as (kind, resource, clinician, patient, span) rows: chair or room for the whole
    session and its cleaning (or ``chair``, kept as it was), the patient for the session, the clinician for each of
    their windows."""
    span = DateTimeTZRange(holds.start, holds.end, "[)")
    return [
        (
            Allocation.Kind.RESOURCE,
            appointment.resource_id,
            None,
            None,
            chair or chair_span(appointment.resource, holds),
        ),
        (Allocation.Kind.PATIENT, None, None, appointment.patient_id, span),
        *(
            (Allocation.Kind.CLINICIAN, None, appointment.clinician_id, None, DateTimeTZRange(lo, hi, "[)"))
            for lo, hi in holds.clinician_spans
        ),
    ]


# The holds' insert is where a booking that loses the race spends its attempt (fifty desks after one slot), and
# bulk_create cost more CPU than the round trip itself, so it is written as SQL: one row per hold.
HOLDS_INSERT_SQL = (
    "INSERT INTO scheduling_allocation (appointment_id, kind, resource_id, clinician_id, patient_id, span, active) "
    "VALUES "
)
HOLD_ROW_SQL = "(%s, %s, %s, %s, %s, %s, true)"


# A dosing session's day hold goes in with its allocations, in the same statement (no extra round trip).
DAY_HOLD_SQL = (
    "WITH day_hold AS (INSERT INTO scheduling_dayhold (appointment_id, patient_id, days, active) "
    "VALUES (%s, %s, %s, true)) "
)


def dosing_days(treatment_type: TreatmentType, start: datetime, tz) -> DateRange | None:
    """The local days a dosing session keeps the patient from another: ``[its day, day + min_days_apart)``.
    None for a consultation."""
    if not treatment_type.is_dosing:
        return None
    day = start.astimezone(tz).date()
    return DateRange(day, day + timedelta(days=treatment_type.min_days_apart), "[)")


def _holds_insert(
    appointment: Appointment,
    holds: SessionHolds,
    chair: DateTimeTZRange | None = None,
    *,
    appointment_id: str = "%s",
) -> tuple[str, list]:
    """The statement inserting the appointment's holds (and a dosing session's day hold), and its parameters.
    ``appointment_id``: the appointment's id in SQL, a parameter (``appointment.pk``) unless told otherwise."""
    rows = _allocation_rows(appointment, holds, chair)
    by_parameter = appointment_id == "%s"
    ids = (appointment.pk,) if by_parameter else ()
    row_sql = HOLD_ROW_SQL.replace("%s", appointment_id, 1)
    values = [value for row in rows for value in (*ids, *row)]
    days = dosing_days(appointment.treatment_type, holds.start, appointment.location.tz)
    prefix = ""
    if days is not None:
        prefix = DAY_HOLD_SQL.replace("%s", appointment_id, 1)
        values = [*ids, appointment.patient_id, days, *values]
    return prefix + HOLDS_INSERT_SQL + ", ".join([row_sql] * len(rows)), values


def _is_exclusion_violation(exc: IntegrityError | OperationalError) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED)


class Taken(Exception):
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


def until_decided(attempt: Callable[[bool], T]) -> T:
    """Run ``attempt(short_wait)``, one try of a change of holds in its own transaction, until it is decided: a
    first try whose wait for another booking's clashing hold ran out (or deadlocked) is tried once more, queued
    behind the other second tries (see HOLD_ATTEMPTS). A decided clash is raised as ``Taken``."""
    for number in range(1, HOLD_ATTEMPTS + 1):
        try:
            return attempt(number < HOLD_ATTEMPTS)
        except Taken as taken:
            if not taken.undecided or number == HOLD_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


# Around the holds' insert: the short lock wait for the insert alone (SET LOCAL: a rollback undoes it). The caller's
# own lock_timeout is kept in a setting of the transaction and put back in the same query string as the insert, so
# the wait costs no round trip of its own.
SHORT_LOCK_WAIT_SQL = (
    "SELECT set_config('clinic.caller_lock_timeout', current_setting('lock_timeout'), true), "
    "set_config('lock_timeout', %s, true); "
)
CALLER_LOCK_WAIT_SQL = (
    "; SELECT set_config('lock_timeout', current_setting('clinic.caller_lock_timeout'), true)"
)
# A new appointment's id: taken from its sequence in the holds' query string, used by the holds, and returned.
NEW_ID_SQL = "SELECT nextval(pg_get_serial_sequence('scheduling_appointment', 'id')); "
NEW_ID = "currval(pg_get_serial_sequence('scheduling_appointment', 'id'))"
# A second try's place in the queue: one advisory lock per thing it holds, taken in the order of the keys.
HOLD_QUEUE_SQL = "SELECT pg_advisory_xact_lock(key) FROM unnest(%s::bigint[]) AS key"


# The calendar guards' advisory locks (migration 0008): a hold shares its clinician's and its location's, a change of
# time off or closures takes it alone. Kinds 1-3 are the hold queue's.
CALENDAR_LOCK_KINDS = {"clinician": 4, "location": 5}


def lock_calendar(kind: str, pk: int) -> None:
    """Take the calendar guard's lock on one clinician or location alone, until the transaction ends: bookings in
    flight have ended (so a read after this sees their holds) and new ones wait. The calendar services take it
    before they look for the sessions in the way, so their answer still holds when the row is saved."""
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


def hold(
    appointment: Appointment,
    holds: SessionHolds,
    *,
    short_wait: bool,
    update_fields: Sequence[str] | None = None,
    keep_chair: bool = False,
    with_rows: Callable[[], Sequence[Model]] | None = None,
) -> None:
    """Save the appointment and insert its allocation rows: the exclusion constraints decide, not a read.

    A new appointment's holds go in first, in one query string with its id (taken from the appointment's sequence)
    and the lock wait around them, and the appointment row after them, in one statement with ``with_rows()``: rows
    of its own (its reminders), made only once the holds are in (the foreign keys are checked at commit: Django
    makes every PostgreSQL foreign key DEFERRABLE INITIALLY DEFERRED). A booking that loses the race then stops at
    its first write, before it has inserted (and had audited) an appointment that is rolled back anyway, or planned
    its reminders: when fifty desks want one slot, forty-nine lose.
    ``short_wait``: the insert waits at most HOLD_LOCK_TIMEOUT for a clashing booking in flight; otherwise it
    first queues behind other second tries for the same things (see HOLD_ATTEMPTS) and then waits as needed.
    ``keep_chair``: a change that leaves the chair and the times alone (a clinician handed over) keeps the chair's
    hold as it is, so a session booked before its chair had a cleaning time is not refused for it now.
    """
    new = update_fields is None
    before, after = (SHORT_LOCK_WAIT_SQL, CALLER_LOCK_WAIT_SQL) if short_wait else ("", "")
    params: list = [HOLD_LOCK_TIMEOUT]
    if not short_wait:
        before = HOLD_QUEUE_SQL + "; "
        params = [
            hold_queue_keys(
                resource_id=appointment.resource_id,
                clinician_id=appointment.clinician_id,
                patient_id=appointment.patient_id,
            )
        ]
    try:
        with connection.cursor() as cursor:
            if new:
                insert, values = _holds_insert(appointment, holds, appointment_id=NEW_ID)
                cursor.execute(
                    before + NEW_ID_SQL + insert + after + "; SELECT " + NEW_ID, [*params, *values]
                )
                (appointment.pk,) = cursor.fetchone()
                _insert_new(cursor, [appointment, *(with_rows() if with_rows is not None else ())])
                return
            # A change of an existing appointment's holds waits (or queues) from the start, as its updates may too.
            cursor.execute(before, params)
            chair = None
            if keep_chair:
                chair = (
                    Allocation.objects.filter(
                        appointment=appointment, kind=Allocation.Kind.RESOURCE, active=True
                    )
                    .values_list("span", flat=True)
                    .first()
                )
            Allocation.objects.filter(appointment=appointment, active=True).update(active=False)
            DayHold.objects.filter(appointment=appointment, active=True).update(active=False)
            appointment.save(update_fields=update_fields)
            insert, values = _holds_insert(appointment, holds, chair)
            cursor.execute(insert + after, values)
    except (IntegrityError, OperationalError) as exc:
        code = getattr(exc.__cause__, "pgcode", None)
        if code == CHECK_VIOLATION and (refusal := _calendar_refusal(exc, appointment)) is not None:
            raise refusal from exc
        if not (_is_exclusion_violation(exc) or code == LOCK_NOT_AVAILABLE):
            raise
        # The constraint's refusal is final; a wait that deadlocked or ran out has not been decided yet.
        raise Taken(exc, undecided=code != EXCLUSION_VIOLATION) from exc


def _insert_new(cursor, rows: Sequence[Model]) -> None:
    """Insert new model instances in one query string, one INSERT a model, as ``save(force_insert=True)`` and
    ``bulk_create`` would write them (``pre_save`` fills the creation times), without their compile: written
    inside the booking's race, where every millisecond is a millisecond its holds keep the others waiting. A row
    without a primary key takes the table's; rows of one model are expected side by side."""
    statements, params = [], []
    for model, group in itertools.groupby(rows, key=type):
        objs = list(group)
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not (f.primary_key and objs[0].pk is None)]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        table = connection.ops.quote_name(meta.db_table)
        # The model's own table and column names, no input.
        statements.append(f"INSERT INTO {table} ({columns}) VALUES " + ", ".join([one] * len(objs)))  # noqa: S608
        params.extend(f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields)
    cursor.execute("; ".join(statements), params)
    for obj in rows:
        obj._state.adding, obj._state.db = False, connection.alias


def _calendar_refusal(exc: IntegrityError, appointment: Appointment) -> BookingRefused | None:
    """The database's calendar guard refused a hold: time off or a closure was saved while this booking was being
    checked (the rules' own read, a moment before, did not see it yet)."""
    constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", "") or ""
    when = format_local(appointment.start_at, appointment.location)
    if constraint == HOLD_IN_TIME_OFF:
        return BookingRefused(
            gettext("%(clinician)s is on time off then (%(when)s).")
            % {"clinician": appointment.clinician, "when": when},
            field="clinician",
        )
    if constraint == HOLD_ON_CLOSURE:
        return BookingRefused(
            gettext("%(location)s is closed that day (%(when)s).")
            % {"location": appointment.location.name, "when": when},
            field="start",
        )
    return None


def release(appointment: Appointment) -> None:
    """The appointment's chair, clinician and patient are free again (a cancellation, a no-show), and so are its
    dosing days."""
    Allocation.objects.filter(appointment=appointment, active=True).update(active=False)
    DayHold.objects.filter(appointment=appointment, active=True).update(active=False)


def locked(appointment: Appointment) -> Appointment:
    """The appointment re-read under a row lock, with what its messages name: every change starts here.

    The lock is on the appointment's row alone (``of=("self",)``), and FOR NO KEY UPDATE: the joined location,
    patient and treatment rows are shared by every booking, whose foreign-key checks take a KEY SHARE lock on them
    at COMMIT; locking them FOR UPDATE here made such a COMMIT wait on this change while this change waited on
    that booking's hold, and PostgreSQL broke the cycle by aborting the COMMIT."""
    return (
        Appointment.objects.select_for_update(of=("self",), no_key=True)
        .select_related("patient", "location", "treatment_type", "resource", "clinician__user")
        .get(pk=appointment.pk)
    )


def _aborted(exc: BaseException) -> bool:
    return getattr(exc.__cause__, "pgcode", None) in ABORTED


def retry_aborted(service: Callable[P, T]) -> Callable[P, T]:
    """Run a booking change again when PostgreSQL aborted its transaction (deadlock, serialization failure), at a
    statement or at COMMIT, up to ABORT_RETRIES times; then answer with a conflict, never an error page.

    Only the outermost call retries: inside a caller's transaction (a series, a waitlist booking) the abort
    belongs to that transaction, and the caller's own ``retry_aborted`` runs the whole of it again."""

    @functools.wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if connection.in_atomic_block:
            return service(*args, **kwargs)
        for number in range(ABORT_RETRIES + 1):
            try:
                return service(*args, **kwargs)
            except (OperationalError, IntegrityError) as exc:
                if not _aborted(exc):
                    raise
                if number == ABORT_RETRIES:
                    raise BookingConflict(
                        gettext(
                            "Another change to the same sessions was being saved at the same moment, and this one "
                            "could not be saved: nothing was changed. Look at the schedule again and retry."
                        ),
                        taken="the schedule",
                        taken_kind="schedule",
                    ) from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    return run
