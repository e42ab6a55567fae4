"""The schedules: the day view (one statement), the week, tomorrow's unconfirmed sessions.

No session is longer than MAX_SESSION_LENGTH (a check constraint), so the sessions overlapping a day are those that
started less than that before it: every read here is an index range scan on (location, start_at), whatever the
history."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from clinic.db import execute_prepared
from clinic.local_time import format_time_of_day
from intake.eligibility import DecisionInForce, EligibilityFacts, LatestIntake, clearance
from intake.selectors import LatestRisk, risks_from_json
from scheduling.models import MAX_SESSION_LENGTH, Appointment, Location


def local_midnight(day: date, tz) -> datetime:
    """The UTC instant of the midnight that starts ``day`` in the zone ``tz``."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_day_bounds(location: Location, day: date) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights that start and end ``day`` (23 or 25 h apart on DST days)."""
    return local_midnight(day, location.tz), local_midnight(day + timedelta(days=1), location.tz)


def day_overlap_bounds(location: Location, day: date) -> dict[str, object]:
    """The parameters of a read of the sessions overlapping ``day``: the local day's bounds, and the earliest start
    such a session can have (it started less than MAX_SESSION_LENGTH before the day), which keeps the read an
    index range scan on (location, start_at) whatever the history."""
    day_start, day_end = local_day_bounds(location, day)
    return {
        "location": location.pk,
        "earliest": day_start - MAX_SESSION_LENGTH,
        "start": day_start,
        "end": day_end,
    }


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


@functools.cache
def _status_words(language: str) -> dict[str, str]:
    return {value: str(label) for value, label in Appointment.Status.choices}


def status_words() -> dict[str, str]:
    """Each status in words in the active language, translated once per language and process: a lazy label is
    translated again at every use, and a busy day shows each session's status three times. Markup built in a loop
    reads this once (``get_language()`` itself costs about as much as a short string's markup)."""
    return _status_words(get_language() or "")


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
    # The patient's current suicide risk when it is not "none" ("High risk, urgent alert open"), else "".
    risk: str = ""
    risk_level: str = ""  # "high", "moderate" or "low" with ``risk``
    # A Spravato session whose patient has no REMS enrollment on record by that day (one booked before the gate
    # existed, or an enrollment removed since): front desk must not let it start.
    rems_missing: bool = False
    # The chair's hold ends after its cleaning (``Resource.cleaning_minutes``): the block covers it, and says so.
    held_until: datetime | None = None
    clinician_id: int | None = None
    clearance: str = ""  # intake.eligibility's CLEARED / NOT_CLEARED / PENDING for this session's treatment
    rems_enrolled: bool = False
    is_spravato: bool = False
    cleaning_label: str = ""  # local "Cleaning until 11:15 AM", or ""

    @property
    def status_label(self) -> str:
        return status_words().get(self.status, self.status)

    @property
    def is_active(self) -> bool:
        return self.status in Appointment.ACTIVE_STATUSES

    @property
    def start_label(self) -> str:
        return self.times.partition("–")[0]

    @property
    def end_label(self) -> str:
        return self.times.partition("–")[2]


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
    # Changes whenever the sessions shown change (``day_version``): the live day view's ETag.
    version: str = ""


# What changes when the sessions shown on a day change: a fingerprint of every session's id, status, chair, times
# and last change (every appointment write sets ``updated_at``), so a change shows even when two fall in the same
# clock tick. A day holds a few dozen sessions: hashing them costs less than the index scan that finds them. The
# day statement and ``day_version`` select the same expression, so the page and the poll agree on the token.
VERSION_COLUMNS = (
    "ARRAY[count(*)::text, md5(COALESCE(string_agg(concat_ws(':', id, status, resource_id, start_at, end_at,"
    " updated_at), ',' ORDER BY id), ''))]"
)


def _version_token(location: Location, day: date, columns: list[str]) -> str:
    return "-".join([str(location.pk), day.isoformat(), *columns])


# The day view is the busiest page, so it reads in one round trip, written as SQL (the ORM would spend more
# compiling it than PostgreSQL spends running it; each further round trip cost more than the rows it brought).
# The sessions overlapping the day, with the patient's name: the same bounds as ``appointments_between`` (a session
# overlapping the day started less than MAX_SESSION_LENGTH before it), so an index range scan on
# (location, start_at) whatever the history, as one JSON array. With them: the day's closure and opening hours, the
# location's chairs and rooms (inactive ones too: a past session may have used one), the treatment types' labels
# and the names of the day's clinicians (as Clinician.__str__). Joining those to every session instead cost more in
# planning than the query itself.
# Each patient's clearance facts (intake's own function, as the booking gate reads them), as of now: the blocks'
# cleared / not cleared / pending badge. One call per patient of the day, in the same statement; intake's indexes
# make each an index-only read of one entry.
# The latest risk takes the day's patients from a column, not from a subquery in its argument: PostgreSQL inlines a
# SQL function into the statement only when its arguments hold no subquery, and otherwise plans its body again on
# every run, which cost more than reading the risks.
CLEARANCE_SQL = """SELECT json_agg(json_build_array(d.patient_id, f.open_alert_at, f.latest_id, f.latest_submitted_at,
                                  f.decision_submission_id, f.decision_outcome, f.decision_modality,
                                  f.decision_decided_at))
  FROM (SELECT DISTINCT patient_id FROM day) d CROSS JOIN LATERAL intake_eligibility_facts(d.patient_id, %(now)s) f"""

DAY_SQL = f"""
WITH day AS MATERIALIZED (
    SELECT a.id, a.status, a.start_at, a.end_at, a.resource_id, a.treatment_type_id, a.clinician_id,
           -- One primary-key probe per session: as a join, the one plan made for every location and day read the
           -- whole patient table into a hash whenever it had fewer pages than a busy day's sessions times a probe.
           (SELECT ARRAY[p.legal_first_name, p.legal_last_name] FROM intake_patient p WHERE p.id = a.patient_id)
               AS patient_name,
           a.late_cancellation, a.cancellation_reason, a.patient_id, a.updated_at, r.enrolled_on AS rems_enrolled_on
      FROM scheduling_appointment a
      LEFT JOIN scheduling_remsenrollment r ON r.patient_id = a.patient_id
     WHERE a.location_id = %(location)s
       AND a.start_at > %(earliest)s AND a.start_at < %(end)s AND a.end_at > %(start)s
)
SELECT
    (SELECT json_agg(json_build_array(id, status, start_at, end_at, resource_id, treatment_type_id, clinician_id,
                                      patient_name[1], patient_name[2], late_cancellation, cancellation_reason,
                                      patient_id, rems_enrolled_on)
                     ORDER BY start_at, id)
       FROM day)::text,
    (SELECT reason FROM scheduling_closure WHERE location_id = %(location)s AND date = %(day)s),
    ARRAY(SELECT ARRAY[opens, closes] FROM scheduling_openinghours
           WHERE location_id = %(location)s AND weekday = %(weekday)s ORDER BY opens, id),
    ARRAY(SELECT id FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT name FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT is_active FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT cleaning_minutes FROM scheduling_resource WHERE location_id = %(location)s ORDER BY kind, name, id),
    ARRAY(SELECT id FROM scheduling_treatmenttype ORDER BY id),
    ARRAY(SELECT label FROM scheduling_treatmenttype ORDER BY id),
    ARRAY(SELECT modality FROM scheduling_treatmenttype ORDER BY id),
    ARRAY(SELECT id FROM scheduling_clinician WHERE id IN (SELECT clinician_id FROM day) ORDER BY id),
    ARRAY(SELECT COALESCE(NULLIF(u.full_name, ''), u.email) || COALESCE(', ' || NULLIF(c.credentials, ''), '')
            FROM scheduling_clinician c JOIN clinic_user u ON u.id = c.user_id
           WHERE c.id IN (SELECT clinician_id FROM day) ORDER BY c.id),
    (SELECT json_agg(risk)
       FROM (SELECT array_agg(DISTINCT patient_id) AS patients FROM day) d
            CROSS JOIN LATERAL intake_latest_risk(d.patients) risk)::text,
    (SELECT {VERSION_COLUMNS} FROM day),
    ({CLEARANCE_SQL})::text,
    (SELECT count(*) FROM day WHERE start_at <= %(now)s)
"""  # noqa: S608 - a constant column list, no input


def clearance_facts_from_json(text: str | None) -> dict[int, EligibilityFacts]:
    """``CLEARANCE_SQL``'s rows by patient (the columns the clearance word reads; findings are not needed)."""
    facts = {}
    for row in json.loads(text or "[]"):
        patient_id, alert_at, latest_id, submitted_at, decided_id, outcome, modality, decided_at = row
        facts[patient_id] = EligibilityFacts(
            open_alert_at=None if alert_at is None else datetime.fromisoformat(alert_at),
            latest=None
            if latest_id is None
            else LatestIntake(latest_id, datetime.fromisoformat(submitted_at), ""),
            decision=None
            if outcome is None
            else DecisionInForce(decided_id, outcome, modality, datetime.fromisoformat(decided_at)),
        )
    return facts


def clearance_word(facts: EligibilityFacts | None, modality: str | None) -> str:
    """A dosing session's clearance badge; "" for a consultation (it needs none)."""
    if facts is None or modality in (None, "consultation"):
        return ""
    return clearance(facts, modality=modality)


def _risk_words(risk: LatestRisk | None) -> str:
    """What front desk reads on the day view: the latest risk from any source, so an older "no risk" never hides
    a newer screen or an open alert; nothing when there is none."""
    if risk is None or risk.level == "none":
        return ""
    return f"{risk.label}, urgent alert open" if risk.alert_open else risk.label


def _clock(local: datetime) -> str:
    """'9:05 AM', as clinic.local_time writes a time of day."""
    return format_time_of_day(local.time())


@dataclass(frozen=True)
class DayStatement:
    """The day statement's row as PostgreSQL sent it (JSON as text, arrays as lists), before any parsing.

    Everything the day view shows of the day comes from these columns, the location, the day and the moment
    ``now`` they were read at (the clearance facts are as of it; ``started`` counts the sessions begun by then), so
    ``fingerprint`` identifies the markup made from them (views.day_live caches it under that)."""

    location: Location
    day: date
    now: datetime
    columns: tuple

    @property
    def closed_reason(self) -> str | None:
        closure = self.columns[1]
        return None if closure is None else (closure or "Closed")

    @property
    def version(self) -> str:
        """``DaySchedule.version`` (the live day view's ETag), without parsing the sessions."""
        return _version_token(self.location, self.day, self.columns[13])

    @functools.cached_property
    def fingerprint(self) -> str:
        # repr of text, numbers, booleans, dates, times and lists of them is exact and stable.
        return hashlib.sha256(repr(self.columns).encode()).hexdigest()


def day_statement(location: Location, day: date, *, now: datetime | None = None) -> DayStatement:
    """Run the day statement (one round trip) for ``day_schedule``; its row unparsed."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "day_schedule",
            DAY_SQL,
            {
                **day_overlap_bounds(location, day),
                "day": day,
                "weekday": day.weekday(),
                "now": now,  # the clearance badges and the started sessions: as of this moment
            },
            generic=True,  # one plan fits every location and day
        )
        columns = cursor.fetchone()
    return DayStatement(location=location, day=day, now=now, columns=tuple(columns))


def day_schedule(
    location: Location,
    day: date,
    *,
    row_minutes: int = 15,
    include_cancelled: bool = False,
    now: datetime | None = None,
    statement: DayStatement | None = None,
) -> DaySchedule:
    """The day view: chairs and rooms as columns, local time as rows (one query, or none given ``statement``).

    A session running past midnight shows on both days, clipped to the day's rows.
    """
    tz = location.tz
    day_start, day_end = local_day_bounds(location, day)
    if statement is None:
        statement = day_statement(location, day, now=now)
    (
        sessions, _closure, hours, resource_ids, resource_names, resource_active, resource_cleaning, type_ids, type_labels,
        type_modalities, clinician_ids, clinician_names, risks_json, _version, clearance_json, _started,
    ) = statement.columns  # fmt: skip
    clearance_facts = clearance_facts_from_json(clearance_json)
    risks = risks_from_json(risks_json)
    resources = [
        DayColumn(pk, name)
        for pk, name, active in zip(resource_ids, resource_names, resource_active, strict=True)
        if active
    ]
    resource_name = dict(zip(resource_ids, resource_names, strict=True))
    cleaning = dict(zip(resource_ids, resource_cleaning, strict=True))
    type_label = dict(zip(type_ids, type_labels, strict=True))
    modality_of = dict(zip(type_ids, type_modalities, strict=True))
    spravato = {pk for pk, modality in modality_of.items() if modality == "spravato"}
    clinician_name = dict(zip(clinician_ids, clinician_names, strict=True))
    # Translated once for the day, not once a session.
    cleaning_until = _("Cleaning until %(time)s")
    # The words depend on the level and whether an alert is open only: a few distinct ones a day.
    worded: dict[tuple[str, bool], str] = {}
    for risk in risks.values():
        if (risk.level, risk.alert_open) not in worded:
            worded[(risk.level, risk.alert_open)] = _risk_words(risk)
    entries = []
    for row in json.loads(sessions or "[]"):
        (
            pk,
            status,
            starts,
            ends,
            resource_id,
            type_id,
            clinician_id,
            given,
            family,
            late,
            reason,
            patient_id,
            rems_enrolled_on,
        ) = row
        risk = risks.get(patient_id)
        start_at, end_at = datetime.fromisoformat(starts), datetime.fromisoformat(ends)
        held_until = end_at + timedelta(minutes=cleaning.get(resource_id) or 0)
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
                risk=worded[(risk.level, risk.alert_open)] if risk else "",
                risk_level=risk.level if risk else "",
                # Spravato needs the REMS enrollment on or before the session's day (the booking gate's rule).
                held_until=held_until,
                clinician_id=clinician_id,
                clearance=clearance_word(clearance_facts.get(patient_id), modality_of.get(type_id)),
                rems_enrolled=rems_enrolled_on is not None,
                is_spravato=type_id in spravato,
                cleaning_label=(
                    cleaning_until % {"time": _clock(held_until.astimezone(tz))}
                    if held_until > end_at
                    else ""
                ),
                rems_missing=type_id in spravato
                and (
                    rems_enrolled_on is None
                    or date.fromisoformat(rems_enrolled_on) > start_at.astimezone(tz).date()
                ),
            )
        )
    entries.sort(key=lambda entry: (entry.start_at, entry.resource_name))

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
    grid = place_blocks(
        [(column.get(entry.resource_id), entry) for entry in shown], len(resources), row_starts, step
    )
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
        closed_reason=statement.closed_reason,
        row_minutes=row_minutes,
        cancelled=[
            e for e in entries if e.status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW)
        ],
        version=statement.version,
    )


def place_blocks(
    blocks: list[tuple[int | None, DayEntry]], columns: int, row_starts: list[datetime], step: timedelta
) -> list[list[DayCell | None]]:
    """The grid's cells: each (column, entry) a block from the row it starts in over the rows it holds (to
    ``held_until``, cleaning included), the rows it covers None. Used by the chair and the clinician views."""
    grid: list[list[DayCell | None]] = [[EMPTY_CELL] * columns for _ in row_starts]
    for col, entry in blocks:
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
        while end_row + 1 < len(row_starts) and row_starts[end_row + 1] < (entry.held_until or entry.end_at):
            below = grid[end_row + 1][col]
            if below is None or below.entry:
                break
            end_row += 1
        grid[start_row][col] = DayCell(entry=entry, rows=end_row - start_row + 1)
        for r in range(start_row + 1, end_row + 1):
            grid[r][col] = None
    return grid


def unconfirmed_appointments(location: Location, day: date) -> QuerySet[Appointment]:
    """Sessions on ``day`` still waiting for the patient's confirmation (front desk calls them)."""
    start, end = local_day_bounds(location, day)
    return appointments_between(location, start, end).filter(status=Appointment.Status.BOOKED)


DAY_VERSION_SQL = f"""
SELECT {VERSION_COLUMNS}
  FROM scheduling_appointment
 WHERE location_id = %(location)s AND start_at > %(earliest)s AND start_at < %(end)s AND end_at > %(start)s
"""  # noqa: S608 - a constant column list, no input


def day_version(location: Location, day: date) -> str:
    """``DaySchedule.version`` without reading the day: one index range scan on (location, start_at), the same
    bounds as ``day_schedule``. The live day view answers "nothing changed" (304) from it."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "day_version",
            DAY_VERSION_SQL,
            day_overlap_bounds(location, day),
            generic=True,
        )
        (columns,) = cursor.fetchone()
    return _version_token(location, day, columns)


def patient_sessions_on(patient_id: int, location: Location, day: date) -> list[Appointment]:
    """The patient's active sessions (at any location) during ``location``'s local ``day``: the booking panel warns
    of another session the same day before front desk books one more."""
    day_start, day_end = local_day_bounds(location, day)
    return list(
        Appointment.objects.filter(
            patient_id=patient_id,
            status__in=Appointment.ACTIVE_STATUSES,
            start_at__gt=day_start - MAX_SESSION_LENGTH,
            start_at__lt=day_end,
            end_at__gt=day_start,
        )
        .select_related("treatment_type", "location")
        .order_by("start_at")
    )


def usual_treatment_type(patient_id: int, resource_kind: str) -> int | None:
    """The treatment of the patient's latest active session given in this kind of chair or room, if any: what a
    returning patient is usually booked for again (the booking panel chooses it first; front desk may change it)."""
    return (
        Appointment.objects.filter(
            patient_id=patient_id,
            treatment_type__resource_kind=resource_kind,
            treatment_type__is_active=True,
        )
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("-start_at")
        .values_list("treatment_type_id", flat=True)
        .first()
    )
