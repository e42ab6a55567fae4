"""Availability: free starts for a treatment at a location, fed to the pure ``scheduling.availability`` from a
fixed number of queries whatever the date range (the location's calendar in one row: hours, closures, chairs,
clinicians' hours and time off; then every active allocation in the range: two queries), never one per slot.

The holds are read as integer microseconds, one row a holder with its starts and ends in order
(``availability.BusyTimes``), not as range objects: a busy month at one location is thousands of them, and turning
each into two datetimes and a range cost more than the query. The holds' statement is a range scan of each chair's,
clinician's and the patient's holds by start (``allocation_<kind>_start``), so its plan and the rows it reads depend
on the location's calendar, not on how many locations share the table (bench/README.md shows the plan at two
scales)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection

from clinic.db import execute_prepared
from intake.models import Patient
from scheduling import availability
from scheduling.models import MAX_MIN_DAYS_APART, MAX_SESSION_LENGTH, Appointment, Location, TreatmentType

SLOT_STEP_MINUTES = 15


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


NO_GAP = timedelta(0)


@dataclass(frozen=True)
class Gaps:
    """The shortest hold a search will ask each kind of holder about: a gap shorter than that between two of a
    holder's holds cannot take one, so the two may be read as one stretch, and the search answers the same. A chair's
    or room's (and the patient's) is the session, a clinician's the shorter of their windows. The default (no gap)
    reads every hold as it is, for a caller that asks about other lengths."""

    chair: timedelta = NO_GAP
    clinician: timedelta = NO_GAP

    @classmethod
    def of(cls, treatment_type: TreatmentType) -> Gaps:
        windows = [treatment_type.clinician_minutes, treatment_type.discharge_minutes or None]
        return cls(
            chair=timedelta(minutes=treatment_type.chair_minutes),
            clinician=timedelta(minutes=min(m for m in windows if m)),
        )


EXACT = Gaps()


@dataclass
class AvailabilityInputs:
    """Everything availability needs for one location, treatment type and date range, as plain data."""

    location: Location
    treatment_type: TreatmentType
    location_day: availability.LocationDay
    resource_names: dict[int, str]
    clinician_names: dict[int, str]
    clinician_hours: dict[int, dict[int, list[tuple[time, time]]]]
    resource_busy: dict[int, Sequence[availability.BusySpan]] = field(default_factory=dict)
    resource_cleaning: dict[int, int] = field(
        default_factory=dict
    )  # minutes after each session, by chair or room
    clinician_time_off: dict[int, list[availability.BusySpan]] = field(default_factory=dict)
    clinician_busy: dict[int, Sequence[availability.BusySpan]] = field(default_factory=dict)
    patient_busy: Sequence[availability.BusySpan] = field(default_factory=list)
    # Local days a dosing session of this type may not start on: too close to one of the patient's (DayHold).
    patient_blocked_days: frozenset[date] = frozenset()
    # How far apart holds had to be to be read apart (``Gaps``): nothing shorter may be asked about.
    gaps: Gaps = EXACT

    def query(self, *, date_from: date, date_to: date, now: datetime, resource_ids=None, clinician_ids=None):
        return {
            "shape": treatment_shape(self.treatment_type),
            "location": self.location_day,
            "resources": list(self.resource_names if resource_ids is None else resource_ids),
            "resource_busy": self.resource_busy,
            "resource_cleaning": self.resource_cleaning,
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
        if end - start < self.gaps.clinician:
            raise ValueError("these holds were read joined across shorter gaps than the window asked about")
        tz = self.location_day.tz
        day = day or start.astimezone(tz).date()
        hours = self.clinician_hours.get(clinician_id, {}).get(day.weekday(), ())
        if not availability.inside_local_windows(start, end, tz=tz, day=day, windows=hours):
            return False
        taken = [*self.clinician_time_off.get(clinician_id, ()), *self.clinician_busy.get(clinician_id, ())]
        lo, hi = availability.to_us(start), availability.to_us(end)
        return not any(
            held_lo < hi and lo < held_hi
            for held_lo, held_hi in (
                span
                if isinstance(span, tuple)
                else (availability.to_us(span.start), availability.to_us(span.end))
                for span in taken
            )
        )


def blocked_dosing_days(held: Iterable[tuple[date, date]], *, spacing: int) -> frozenset[date]:
    """The local days a dosing session with ``spacing`` (its type's min_days_apart) may not start on, given the
    patient's held dosing days as half-open ``(lo, hi)`` ranges (their DayHold rows). A session on day X holds
    ``[X, X + spacing)``, which meets a held ``[lo, hi)`` when ``lo - spacing < X < hi``."""
    return frozenset(lo + timedelta(days=n) for lo, hi in held for n in range(1 - spacing, (hi - lo).days))


# The location's calendar in one row of arrays, prepared and planned once per connection: as an ORM query, building
# and planning it took several times as long as running it.
_CALENDAR_SQL = """
SELECT
  (SELECT coalesce(jsonb_agg(jsonb_build_object('weekday', h.weekday, 'opens', h.opens, 'closes', h.closes)), '[]')
   FROM scheduling_openinghours h WHERE h.location_id = %(location)s),
  ARRAY(SELECT c.date FROM scheduling_closure c
        WHERE c.location_id = %(location)s AND c.date BETWEEN %(first_day)s AND %(last_day)s ORDER BY c.date),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'cleaning', r.cleaning_minutes)
                             ORDER BY r.name), '[]')
   FROM scheduling_resource r WHERE r.location_id = %(location)s AND r.kind = %(kind)s AND r.is_active
     -- A chair limited to some treatments takes only those; one with none listed takes every one of its kind.
     AND (NOT EXISTS (SELECT 1 FROM scheduling_resource_treatment_types rt WHERE rt.resource_id = r.id)
          OR EXISTS (SELECT 1 FROM scheduling_resource_treatment_types rt
                     WHERE rt.resource_id = r.id AND rt.treatmenttype_id = %(treatment)s))),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('clinician', w.clinician_id, 'weekday', w.weekday,
                                                'starts', w.starts, 'ends', w.ends, 'name', u.full_name,
                                                'credentials', k.credentials)), '[]')
   FROM scheduling_workinghours w
   JOIN scheduling_clinician k ON k.id = w.clinician_id
   JOIN scheduling_clinician_locations kl ON kl.clinician_id = k.id AND kl.location_id = %(location)s
   JOIN clinic_user u ON u.id = k.user_id
   -- A deactivated account's clinician is not offered.
   WHERE w.location_id = %(location)s AND u.is_active),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('clinician', t.clinician_id, 'starts', t.starts_at,
                                                'ends', t.ends_at)), '[]')
   FROM scheduling_cliniciantimeoff t
   JOIN scheduling_clinician_locations kl ON kl.clinician_id = t.clinician_id AND kl.location_id = %(location)s
   WHERE t.starts_at < %(busy_to)s AND t.ends_at > %(busy_from)s),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('lo', lower(d.days), 'hi', upper(d.days))), '[]')
   FROM scheduling_dayhold d
   WHERE d.patient_id = %(dosing_patient)s::bigint AND d.active
     AND d.days && daterange(%(dosing_from)s::date, %(dosing_to)s::date)
     AND d.appointment_id IS DISTINCT FROM %(ignore_appointment)s::bigint)
"""


def _location_calendar(
    location: Location,
    treatment_type: TreatmentType,
    *,
    date_from: date,
    date_to: date,
    busy_from,
    busy_to,
    dosing_patient_id: int | None = None,
    ignore_appointment_id: int | None = None,
) -> dict:
    """Opening hours, closures, chairs or rooms, clinicians' hours and time off, and (a dosing treatment for a
    patient) the patient's dosing days near the range: one query, one row of arrays."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "availability_calendar",
            _CALENDAR_SQL,
            {
                "location": location.pk,
                "kind": treatment_type.resource_kind,
                "treatment": treatment_type.pk,
                "first_day": date_from - timedelta(days=1),
                "last_day": date_to + timedelta(days=1),
                "busy_from": busy_from,
                "busy_to": busy_to,
                "dosing_patient": dosing_patient_id,
                "dosing_from": date_from - timedelta(days=MAX_MIN_DAYS_APART),
                "dosing_to": date_to + timedelta(days=1),
                "ignore_appointment": ignore_appointment_id,
            },
            generic=True,
        )
        weekly, closed_days, held, shifts, time_off, dosing_days = cursor.fetchone()
    # Django's connection hands jsonb over as text.
    return {
        "weekly": json.loads(weekly),
        "closed_days": closed_days,
        "held": json.loads(held),
        "shifts": json.loads(shifts),
        "time_off": json.loads(time_off),
        "dosing_days": json.loads(dosing_days),
    }


# One range scan per holder of its start index (allocation_<kind>_start: holder, lower(span), span included): the
# holds that start from MAX_SESSION_LENGTH before the range (no hold is longer: allocation_span_bounded) to its end,
# one row a holder with its starts and ends in order as two arrays (what availability.BusyTimes takes).
# The epoch as float8 (date_part) is exact to the microsecond for these dates and cheaper than extract's numeric.
_HOLDS_SQL = """
SELECT h.what, h.holder, array_agg(h.lo ORDER BY h.lo), array_agg(h.hi ORDER BY h.lo)
FROM (
  SELECT 0 AS what, a.resource_id AS holder, lower(a.span) AS lower_at,
         round(date_part('epoch', lower(a.span)) * 1000000)::bigint AS lo,
         round(date_part('epoch', upper(a.span)) * 1000000)::bigint AS hi
  FROM scheduling_allocation a
  WHERE a.active AND a.resource_id IS NOT NULL AND a.resource_id = ANY(%(resources)s::bigint[])
    AND lower(a.span) >= %(earliest)s AND lower(a.span) < %(hi)s AND upper(a.span) > %(lo)s
    AND a.appointment_id <> %(ignore)s
  UNION ALL
  SELECT 1, a.clinician_id, lower(a.span),
         round(date_part('epoch', lower(a.span)) * 1000000)::bigint,
         round(date_part('epoch', upper(a.span)) * 1000000)::bigint
  FROM scheduling_allocation a
  WHERE a.active AND a.clinician_id IS NOT NULL AND a.clinician_id = ANY(%(clinicians)s::bigint[])
    AND lower(a.span) >= %(earliest)s AND lower(a.span) < %(hi)s AND upper(a.span) > %(lo)s
    AND a.appointment_id <> %(ignore)s
  UNION ALL
  SELECT 2, a.patient_id, lower(a.span),
         round(date_part('epoch', lower(a.span)) * 1000000)::bigint,
         round(date_part('epoch', upper(a.span)) * 1000000)::bigint
  FROM scheduling_allocation a
  WHERE a.active AND a.patient_id IS NOT NULL AND a.patient_id = %(patient)s::bigint
    AND lower(a.span) >= %(earliest)s AND lower(a.span) < %(hi)s AND upper(a.span) > %(lo)s
    AND a.appointment_id <> %(ignore)s
) h
GROUP BY h.what, h.holder
"""


# The same holds for a caller that asks only about its treatment's own sessions (``Gaps``): consecutive holds with a
# gap shorter than the kind's gap between them come back as one stretch (a hold starts a stretch when the gap before
# it is that long or more, ends one when the gap after it is), and only the stretches' edges are converted, as one
# flat array start, end, start, end... a holder. One scan of the start index per holder, already in order (no sort).
# On the busy month at 12 chairs: 576 stretches instead of 3,840 holds; PostgreSQL's time is about the same (the
# window functions cost what the conversions and the sort saved), the converting and parsing of the rest is saved.
def _joined_holds_part(what: int, column: str, gap: str, holders: str) -> str:
    """One kind's part of ``_JOINED_HOLDS_SQL``: ``column`` names the holder, ``gap`` the parameter of its gap."""
    gap_after_prev = f"t.prev_hi IS NULL OR t.lo >= t.prev_hi + %({gap})s::interval"
    gap_before_next = f"t.next_lo IS NULL OR t.next_lo >= t.hi + %({gap})s::interval"
    return f"""
SELECT {what}, h.id, ARRAY(
  SELECT unnest(array_remove(ARRAY[
           CASE WHEN {gap_after_prev}
                THEN (date_part('epoch', t.lo) * 1000000)::bigint END,
           CASE WHEN {gap_before_next}
                THEN (date_part('epoch', t.hi) * 1000000)::bigint END], NULL))
  FROM (SELECT lower(a.span) AS lo, upper(a.span) AS hi,
               lag(upper(a.span)) OVER w AS prev_hi, lead(lower(a.span)) OVER w AS next_lo
        FROM scheduling_allocation a
        WHERE a.active AND a.{column} IS NOT NULL AND a.{column} = h.id
          AND lower(a.span) >= %(earliest)s AND lower(a.span) < %(hi)s AND upper(a.span) > %(lo)s
          AND a.appointment_id <> %(ignore)s
        WINDOW w AS (ORDER BY lower(a.span))) t
  WHERE {gap_after_prev}
     OR {gap_before_next}
  ORDER BY t.lo)
FROM {holders}"""  # noqa: S608 - constant column and parameter names, no input


_JOINED_HOLDS_SQL = "\nUNION ALL".join(
    (
        _joined_holds_part(0, "resource_id", "chair_gap", "unnest(%(resources)s::bigint[]) AS h(id)"),
        _joined_holds_part(1, "clinician_id", "clinician_gap", "unnest(%(clinicians)s::bigint[]) AS h(id)"),
        _joined_holds_part(
            2, "patient_id", "chair_gap", "(SELECT %(patient)s::bigint AS id) AS h WHERE h.id IS NOT NULL"
        ),
    )
)


def held_spans(
    *,
    resource_ids,
    clinician_ids,
    patient_id: int | None,
    range_start: datetime,
    range_end: datetime,
    ignore_appointment_id: int | None = None,
    gaps: Gaps = EXACT,
) -> list[tuple[int, int, list[int], list[int]]]:
    """Active holds overlapping ``[range_start, range_end)`` of the chairs, the clinicians and the patient, one row
    a holder: ``(what, id, starts, ends)``, what 0 for a chair or room, 1 a clinician, 2 the patient; starts and
    ends in UTC microseconds, in order, holds with less than ``gaps`` between them joined into one."""
    params = {
        "resources": list(resource_ids),
        "clinicians": list(clinician_ids),
        "patient": patient_id,
        "earliest": range_start - MAX_SESSION_LENGTH,
        "lo": range_start,
        "hi": range_end,
        "ignore": ignore_appointment_id or 0,
    }
    with connection.cursor() as cursor:
        if gaps == EXACT:
            execute_prepared(cursor, "availability_holds", _HOLDS_SQL, params, generic=True)
            return cursor.fetchall()
        params.update(chair_gap=gaps.chair, clinician_gap=gaps.clinician)
        execute_prepared(cursor, "availability_joined_holds", _JOINED_HOLDS_SQL, params, generic=True)
        return [
            (what, holder, edges[0::2], edges[1::2]) for what, holder, edges in cursor.fetchall() if edges
        ]


def load_availability_inputs(
    *,
    location: Location,
    treatment_type: TreatmentType,
    date_from: date,
    date_to: date,
    patient: Patient | None = None,
    ignore_appointment: Appointment | None = None,
    gaps: Gaps = EXACT,
) -> AvailabilityInputs:
    """Two queries whatever the range: the location's calendar (hours, closures, chairs, clinicians' hours and
    time off, as arrays in one row) and the active allocations of those chairs, clinicians and the patient.

    ``ignore_appointment``'s own holds are left out, so a session can be moved to a time overlapping itself.
    ``gaps``: holds closer together than that are read as one stretch (``Gaps``); a caller that asks only about
    ``treatment_type``'s own sessions passes ``Gaps.of(treatment_type)``.
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
        dosing_patient_id=patient.pk if patient is not None and treatment_type.is_dosing else None,
        ignore_appointment_id=ignore_appointment.pk if ignore_appointment is not None else None,
    )
    blocked = blocked_dosing_days(
        [(date.fromisoformat(row["lo"]), date.fromisoformat(row["hi"])) for row in calendar["dosing_days"]],
        spacing=treatment_type.min_days_apart,
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
    time_off: dict[int, list[availability.BusySpan]] = defaultdict(list)
    for row in calendar["time_off"]:
        time_off[row["clinician"]].append(
            availability.Span(datetime.fromisoformat(row["starts"]), datetime.fromisoformat(row["ends"]))
        )

    resource_busy: dict[int, Sequence[availability.BusySpan]] = {}
    clinician_busy: dict[int, Sequence[availability.BusySpan]] = {}
    patient_busy: Sequence[availability.BusySpan] = []
    by_kind = (resource_busy, clinician_busy)
    for what, holder, starts, ends in held_spans(
        resource_ids=resource_names,
        clinician_ids=clinician_names,
        patient_id=patient.pk if patient is not None else None,
        range_start=range_start,
        range_end=range_end,
        ignore_appointment_id=ignore_appointment.pk if ignore_appointment is not None else None,
        gaps=gaps,
    ):
        held = availability.BusyTimes(starts, ends)
        if what == 2:
            patient_busy = held
        else:
            by_kind[what][holder] = held

    return AvailabilityInputs(
        location=location,
        treatment_type=treatment_type,
        location_day=loc_day,
        resource_names=resource_names,
        clinician_names=clinician_names,
        clinician_hours={cid: dict(days) for cid, days in clinician_hours.items()},
        resource_busy=dict(resource_busy),
        resource_cleaning={row["id"]: row["cleaning"] for row in calendar["held"]},
        clinician_time_off=dict(time_off),
        clinician_busy=dict(clinician_busy),
        patient_busy=patient_busy,
        patient_blocked_days=blocked,
        gaps=gaps,
    )


def free_options(
    inputs: AvailabilityInputs,
    *,
    date_from: date,
    date_to: date,
    now: datetime,
    resource_ids=None,
    clinician_ids=None,
) -> list[SlotOption]:
    """One option per free start (lowest-id chair and clinician), discharge window included, none on a local day
    too close to one of the patient's dosing sessions."""
    query = inputs.query(
        date_from=date_from, date_to=date_to, now=now, resource_ids=resource_ids, clinician_ids=clinician_ids
    )
    blocked, tz = inputs.patient_blocked_days, inputs.location_day.tz

    def allowed(slot: availability.Slot) -> bool:
        return not blocked or slot.start.astimezone(tz).date() not in blocked

    if not inputs.treatment_type.discharge_minutes:
        return [inputs.option(slot) for slot in availability.find_slots(**query) if allowed(slot)]
    # A second clinician window: ask for every (chair, clinician) pair and keep the first whose discharge
    # window is free too.
    options: list[SlotOption] = []
    seen: set[datetime] = set()
    for slot in availability.find_slots(**query, one_per_start=False):
        if slot.start in seen or not allowed(slot) or not inputs.discharge_window_free(slot):
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
    return free_options(inputs, date_from=date_from, date_to=date_to, now=now)


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
    for option in free_options(
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
