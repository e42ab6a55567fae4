"""Free appointment slots for one treatment type at one clinic location.

Pure: no Django, no ORM, no clock. The caller reads the bookings once (a couple of queries for a month),
passes them in as plain spans, and passes ``now``. Booking itself is guarded by the database's exclusion
constraint (engineering guide §2); this module only says what *looks* free, so an offered slot can still lose
a race.

Time rules (engineering guide §4), decided here once:

- Every instant in and out is an aware datetime. Spans are normalised to UTC; slots are returned in UTC.
- Opening hours and clinician hours are local wall-clock times at the location (``LocationDay.tz``).
- Slot starts lie on the local wall-clock grid: the start of each opening window, then every
  ``slot_step_minutes`` of wall-clock time. A clinic open 08:00-17:00 offers 08:00, 08:15, ... local on every
  day of the year, whatever the UTC offset.
- DST spring-forward (America/New_York 2027-03-14, 02:00 -> 03:00): a wall-clock start that does not exist
  (02:00-02:59) is skipped, never shifted onto a time that is already on the grid.
- DST fall-back (America/New_York 2027-11-07, 02:00 -> 01:00): an ambiguous wall-clock start (01:00-01:59)
  means its first occurrence (``fold=0``, still EDT). The repeated hour is not offered a second time.
- Durations are elapsed time: a 120-minute chair span is 120 real minutes even when it crosses a transition,
  and it must end by the opening window's closing instant. Window bounds that fall in a gap or an overlap
  follow PEP 495 with ``fold=0`` (the offset before the transition), which is what
  ``datetime.combine(..., tzinfo=tz)`` and Django's ``make_aware`` do too, so the whole app agrees on what
  "opens at 02:30" means on such a day.
- All spans are half-open ``[start, end)``: a chair busy [09:00, 11:00) is free again at 11:00.

Speed (engineering guide §6): each busy list is sorted and merged once, then every candidate is checked with
one ``bisect`` per chair, clinician and patient, never a scan of all busy spans. Busy spans may be given as
``Span`` or as ``(start, end)`` pairs of integer UTC microseconds since the epoch (``BusySpan``): a month of a busy
clinic is thousands of spans, and the caller can read them from the database as integers instead of building
thousands of datetimes. The search itself runs on those integers and makes a datetime only for a slot it returns.
The wall-clock grid is integer arithmetic on days without a DST change; zoneinfo is consulted per start only on
transition days.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Required, TypedDict, Unpack
from zoneinfo import ZoneInfo

from scheduling.availability.times import (
    _DAY_US,
    _EPOCH_ORDINAL,
    _MICROSECOND,
    _MINUTE_US,
    _NEVER_AFTER,
    _NEVER_BEFORE,
    _NO_SPANS,
    _ONE_DAY,
    BusySpan,
    BusyTimes,
    LocationDay,
    ResourceKind,
    Slot,
    Span,
    TreatmentShape,
    WeeklyHours,
    _from_us,
    _merged_weekly_hours,
    _to_us,
    to_us,
)

# A chair's or room's cleaning after each session (minutes, ``Resource.cleaning_minutes``) is part of its hold: the
# holds read from the database already end after it, and a candidate must leave its own cleaning free too. Cleaning
# may run past closing time.
_NO_CLEANING: Mapping[int, int] = MappingProxyType({})

__all__ = [
    "BusySpan",
    "BusyTimes",
    "LocationDay",
    "ResourceKind",
    "Slot",
    "SlotSearch",
    "Span",
    "TreatmentShape",
    "WeeklyHours",
    "FreeStart",
    "find_slots",
    "free_starts",
    "free_starts_by_day",
    "nearest_alternatives",
    "next_available",
    "to_us",
]


class _BusyIndex:
    """Busy spans of one chair, clinician or patient: sorted and merged once, then checked with one bisect."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, spans: Sequence[BusySpan]) -> None:
        if isinstance(spans, BusyTimes):
            # Already in order and disjoint; touching spans stay apart, which the bisect below does not mind.
            self._starts = spans.starts
            self._ends = spans.ends
            return
        starts: list[int] = []
        ends: list[int] = []
        pairs = sorted(
            span if type(span) is tuple else (_to_us(span.start), _to_us(span.end))  # type: ignore[union-attr]
            for span in spans
        )
        for start, end in pairs:
            if end <= start:
                raise ValueError(f"a busy span must end after it starts, got ({start}, {end})")
            # Merging touching spans too is safe: a candidate overlaps the union iff it overlaps a part.
            if ends and start <= ends[-1]:
                if end > ends[-1]:
                    ends[-1] = end
            else:
                starts.append(start)
                ends.append(end)
        # Merged spans are disjoint, so their ends are sorted too and one bisect finds the only busy span that
        # can overlap a candidate.
        self._starts = starts
        self._ends = ends

    def is_free(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` (UTC microseconds) overlaps no busy span."""
        i = bisect_right(self._ends, start)  # first busy span that ends after the candidate starts
        return i == len(self._ends) or self._starts[i] >= end


class _AnyFree:
    """Whether any of several chairs/rooms is free for a span of one length starting at a given instant, in one
    bisect: the union of each one's admissible starts (from the end of one busy span to ``length`` before the next),
    built once. On a busy calendar most starts have no chair free, and this answers them without asking each chair."""

    __slots__ = ("_firsts", "_lasts")

    def __init__(self, indexes: Sequence[tuple[_BusyIndex, int]]) -> None:
        ranges: list[tuple[int, int]] = []
        for index, length in indexes:
            previous_end = _NEVER_BEFORE
            for start, end in zip(index._starts, index._ends, strict=True):
                if start - previous_end >= length:
                    ranges.append((previous_end, start - length))
                previous_end = end
            ranges.append((previous_end, _NEVER_AFTER))
        ranges.sort()
        firsts: list[int] = []
        lasts: list[int] = []
        for first, last in ranges:
            if lasts and first <= lasts[-1]:
                if last > lasts[-1]:
                    lasts[-1] = last
            else:
                firsts.append(first)
                lasts.append(last)
        self._firsts = firsts
        self._lasts = lasts

    def any_free(self, start: int) -> bool:
        i = bisect_right(self._firsts, start) - 1
        return i >= 0 and start <= self._lasts[i]

    def grid_starts(self, *, origin: int, first: int, last: int, step: int) -> Iterator[int]:
        """The starts ``origin + k * step`` (k >= 0) in ``[first, last]`` that some chair is free for, in order:
        only the stretches where one is, instead of every start of the day."""
        firsts, lasts = self._firsts, self._lasts
        i = max(bisect_right(firsts, first) - 1, 0)
        while i < len(firsts) and firsts[i] <= last:
            lo = max(firsts[i], first, origin)
            hi = min(lasts[i], last)
            if lo <= hi:
                k = -(-(lo - origin) // step)  # the first grid start at or after lo
                at = origin + k * step
                while at <= hi:
                    yield at
                    at += step
            i += 1


class _LocalDay:
    """Converts local wall-clock times (microseconds after local midnight) on one date to UTC microseconds."""

    __slots__ = ("_base", "_day", "_steady", "_tz")

    @property
    def steady(self) -> bool:
        """No offset change today: a wall-clock time is the day's base plus itself."""
        return self._steady

    def __init__(self, day: date, tz: ZoneInfo) -> None:
        self._day = day
        self._tz = tz
        offset = datetime.combine(day, time(0), tzinfo=tz).utcoffset()
        offset_next = datetime.combine(day + _ONE_DAY, time(0), tzinfo=tz).utcoffset()
        # Same offset at both midnights: no transition today, so the conversion is plain arithmetic. Otherwise
        # (2027-03-14, 2027-11-07 in New York) every time goes through zoneinfo.
        self._steady = offset == offset_next
        self._base = (day.toordinal() - _EPOCH_ORDINAL) * _DAY_US - (offset or timedelta(0)) // _MICROSECOND

    def bound(self, wall: int) -> int:
        """A window bound as a UTC instant, PEP 495 fold=0 (gap: offset before the jump; overlap: first)."""
        if self._steady:
            return self._base + wall
        return _to_us(self._local(wall))

    def start(self, wall: int) -> int | None:
        """A grid start as a UTC instant, or None when that wall-clock time does not exist today."""
        if self._steady:
            return self._base + wall
        local = self._local(wall)
        utc = local.astimezone(UTC)
        # A time in the spring-forward gap does not survive the round trip (02:30 comes back as 03:30).
        if utc.astimezone(self._tz).replace(tzinfo=None) != local.replace(tzinfo=None):
            return None
        return _to_us(utc)

    def _local(self, wall: int) -> datetime:
        seconds, microsecond = divmod(wall, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime.combine(self._day, time(hour, minute, second, microsecond), tzinfo=self._tz)


@dataclass(slots=True, kw_only=True)
class _Clinician:
    clinician_id: int
    weekly: dict[int, list[tuple[int, int]]]
    unavailable: _BusyIndex  # time off and bookings: for a free check they are the same thing


@dataclass(slots=True, kw_only=True)
class _Query:
    tz: ZoneInfo
    opening: dict[int, list[tuple[int, int]]]
    closed_dates: frozenset[date]
    closure_spans: _BusyIndex
    resources: list[tuple[int, _BusyIndex, int]]  # id, busy, cleaning in microseconds
    any_resource: _AnyFree
    clinicians: list[_Clinician]
    patient: _BusyIndex
    chair_us: int
    clinician_offset_us: int
    clinician_length_us: int
    step_us: int
    earliest_us: int
    date_from: date
    date_to: date


def inside_local_windows(
    start: datetime, end: datetime, *, tz: ZoneInfo, day: date, windows: Sequence[tuple[time, time]]
) -> bool:
    """Whether ``[start, end)`` lies inside one of ``day``'s local wall-clock windows: the booking rule for opening
    and working hours, also asked of upcoming sessions when the hours change. Window bounds are read with fold=0,
    the rule the slot search uses, so both agree on DST days."""
    return any(
        datetime.combine(day, opens, tzinfo=tz) <= start and end <= datetime.combine(day, closes, tzinfo=tz)
        for opens, closes in windows
    )


def find_slots(
    *,
    shape: TreatmentShape,
    location: LocationDay,
    resources: Sequence[int],
    resource_busy: Mapping[int, Sequence[BusySpan]] = _NO_SPANS,
    resource_cleaning: Mapping[int, int] = _NO_CLEANING,
    clinicians: Sequence[int],
    clinician_hours: Mapping[int, WeeklyHours],
    clinician_time_off: Mapping[int, Sequence[BusySpan]] = _NO_SPANS,
    clinician_busy: Mapping[int, Sequence[BusySpan]] = _NO_SPANS,
    patient_busy: Sequence[BusySpan] = (),
    date_from: date,
    date_to: date,
    now: datetime,
    slot_step_minutes: int = 15,
    min_notice_minutes: int = 0,
    one_per_start: bool = True,
) -> list[Slot]:
    """Every free slot for ``shape`` at ``location`` on local dates ``date_from``..``date_to`` (inclusive).

    A slot exists when the whole chair span lies inside one opening window of its local day, the day is not
    closed and the span overlaps no closure span, the chair/room is free for the whole span and its cleaning
    (``resource_cleaning``, minutes by id), some clinician is
    working (inside their local hours, not on time off) and free for the clinician window, the patient is free
    for the whole span, and it starts no earlier than ``now + min_notice_minutes``.

    With ``one_per_start`` (the default) each start gives one slot: the lowest-id free chair/room with the
    lowest-id free clinician. Otherwise every free (resource, clinician) pair is returned. Either way the
    result is sorted by start, then resource id, then clinician id. A clinician missing from
    ``clinician_hours`` never works; busy spans of ids not in ``resources``/``clinicians`` are ignored.
    """
    query = _prepare(
        shape=shape,
        location=location,
        resources=resources,
        resource_busy=resource_busy,
        resource_cleaning=resource_cleaning,
        clinicians=clinicians,
        clinician_hours=clinician_hours,
        clinician_time_off=clinician_time_off,
        clinician_busy=clinician_busy,
        patient_busy=patient_busy,
        date_from=date_from,
        date_to=date_to,
        now=now,
        slot_step_minutes=slot_step_minutes,
        min_notice_minutes=min_notice_minutes,
    )
    return list(_iter_slots(query, one_per_start=one_per_start))


class SlotSearch(TypedDict, total=False):
    """What a search is asked: ``find_slots``'s arguments but ``one_per_start`` (its docstring says what each is)."""

    shape: Required[TreatmentShape]
    location: Required[LocationDay]
    resources: Required[Sequence[int]]
    resource_busy: Mapping[int, Sequence[BusySpan]]
    resource_cleaning: Mapping[int, int]
    clinicians: Required[Sequence[int]]
    clinician_hours: Required[Mapping[int, WeeklyHours]]
    clinician_time_off: Mapping[int, Sequence[BusySpan]]
    clinician_busy: Mapping[int, Sequence[BusySpan]]
    patient_busy: Sequence[BusySpan]
    date_from: Required[date]
    date_to: Required[date]
    now: Required[datetime]
    slot_step_minutes: int
    min_notice_minutes: int


def next_available(**search: Unpack[SlotSearch]) -> Slot | None:
    """The earliest free slot (lowest-id chair and clinician) in the date range, or None.

    Stops at the first slot, so it is cheap even over a long range.
    """
    return next(_iter_slots(_prepare(**search), one_per_start=True), None)


def nearest_alternatives(
    requested_start: datetime, *, limit: int = 3, **search: Unpack[SlotSearch]
) -> list[Slot]:
    """Up to ``limit`` free slots (one per start) nearest to ``requested_start`` by absolute time distance.

    Ties go to the earlier slot (09:45 before 10:15 for a 10:00 request). If ``requested_start`` is itself
    free it comes first, at distance zero. Only the dates ``date_from``..``date_to`` are searched.
    """
    if requested_start.utcoffset() is None:
        raise ValueError(f"requested_start must be timezone-aware, got naive {requested_start.isoformat()}")
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    return heapq.nsmallest(
        limit,
        _iter_slots(_prepare(**search), one_per_start=True),
        key=lambda slot: (abs(slot.start - requested_start), slot.start),
    )


def _prepare(
    *,
    shape: TreatmentShape,
    location: LocationDay,
    resources: Sequence[int],
    resource_busy: Mapping[int, Sequence[BusySpan]] = _NO_SPANS,
    resource_cleaning: Mapping[int, int] = _NO_CLEANING,
    clinicians: Sequence[int],
    clinician_hours: Mapping[int, WeeklyHours],
    clinician_time_off: Mapping[int, Sequence[BusySpan]] = _NO_SPANS,
    clinician_busy: Mapping[int, Sequence[BusySpan]] = _NO_SPANS,
    patient_busy: Sequence[BusySpan] = (),
    date_from: date,
    date_to: date,
    now: datetime,
    slot_step_minutes: int = 15,
    min_notice_minutes: int = 0,
) -> _Query:
    if now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    if isinstance(date_from, datetime) or isinstance(date_to, datetime):
        raise TypeError("date_from and date_to are local dates, not datetimes")
    if date_to < date_from:
        raise ValueError(f"date_to {date_to.isoformat()} is before date_from {date_from.isoformat()}")
    if slot_step_minutes <= 0:
        raise ValueError(f"slot_step_minutes must be positive, got {slot_step_minutes}")
    if min_notice_minutes < 0:
        raise ValueError(f"min_notice_minutes must not be negative, got {min_notice_minutes}")

    closed_dates = frozenset(closure for closure in location.closures if not isinstance(closure, Span))
    closure_spans = [closure for closure in location.closures if isinstance(closure, Span)]
    clinician_rows = [
        _Clinician(
            clinician_id=clinician_id,
            weekly=_merged_weekly_hours(
                clinician_hours.get(clinician_id, {}), owner=f"clinician {clinician_id} hours"
            ),
            unavailable=_BusyIndex(
                [*clinician_time_off[clinician_id], *clinician_busy.get(clinician_id, ())]
                if clinician_time_off.get(clinician_id)
                else clinician_busy.get(clinician_id, ())
            ),
        )
        for clinician_id in sorted(set(clinicians))
    ]
    resource_rows = [
        (
            resource_id,
            _BusyIndex(resource_busy.get(resource_id, ())),
            resource_cleaning.get(resource_id, 0) * _MINUTE_US,
        )
        for resource_id in sorted(set(resources))
    ]
    return _Query(
        tz=location.tz,
        opening=_merged_weekly_hours(location.opening_hours, owner="opening_hours"),
        closed_dates=closed_dates,
        closure_spans=_BusyIndex(closure_spans),
        resources=resource_rows,
        any_resource=_AnyFree(
            [(index, shape.chair_minutes * _MINUTE_US + cleaning) for _, index, cleaning in resource_rows]
        ),
        clinicians=[row for row in clinician_rows if row.weekly],
        patient=_BusyIndex(patient_busy),
        chair_us=shape.chair_minutes * _MINUTE_US,
        clinician_offset_us=shape.clinician_offset_minutes * _MINUTE_US,
        clinician_length_us=shape.clinician_minutes * _MINUTE_US,
        step_us=slot_step_minutes * _MINUTE_US,
        earliest_us=_to_us(now) + min_notice_minutes * _MINUTE_US,
        date_from=date_from,
        date_to=date_to,
    )


def free_starts(**search: Unpack[SlotSearch]) -> list[FreeStart]:
    """Every free start in the date range with all the chairs/rooms and all the clinicians free for it (each
    sorted by id): what a calendar shows per chair and per clinician, without one ``Slot`` per pair."""
    return [
        FreeStart(start, end, tuple(resource_ids), tuple(clinician_ids))
        for start, end, resource_ids, clinician_ids in _iter_starts(_prepare(**search), one_per_start=False)
    ]


def free_starts_by_day(days: Iterable[date], **search: Unpack[SlotSearch]) -> Iterator[list[FreeStart]]:
    """``free_starts`` one local day at a time, in the order of ``days`` (each inside the search's date range):
    a caller after the starts nearest a time searches the nearest days first and stops when it has its answer,
    with the search prepared once."""
    query = _prepare(**search)
    for day in days:
        if not query.date_from <= day <= query.date_to:
            raise ValueError(f"{day.isoformat()} is outside the searched dates")
        windows = query.opening.get(day.weekday())
        if not query.resources or not query.clinicians or not windows or day in query.closed_dates:
            yield []
            continue
        yield [
            FreeStart(start, end, tuple(resource_ids), tuple(clinician_ids))
            for start, end, resource_ids, clinician_ids in _slots_on_day(
                query, day, windows, one_per_start=False
            )
        ]


@dataclass(frozen=True, slots=True)
class FreeStart:
    """A free start ``[start, end)`` and every chair/room and clinician free for it: any chair with any clinician
    is a bookable pair."""

    start: datetime
    end: datetime
    resource_ids: tuple[int, ...]
    clinician_ids: tuple[int, ...]


def _iter_slots(query: _Query, *, one_per_start: bool) -> Iterator[Slot]:
    """Slots in order of start, then resource id, then clinician id (the grid increases in UTC, see below)."""
    for start, end, resource_ids, clinician_ids in _iter_starts(query, one_per_start=one_per_start):
        for resource_id in resource_ids:
            for clinician_id in clinician_ids:
                yield Slot(start, end, resource_id, clinician_id)


def _iter_starts(
    query: _Query, *, one_per_start: bool
) -> Iterator[tuple[datetime, datetime, list[int], list[int]]]:
    """Free starts in increasing order, each with its free chairs/rooms and clinicians (only the lowest-id of each
    with ``one_per_start``)."""
    if not query.resources or not query.clinicians:
        return
    day = query.date_from
    while day <= query.date_to:
        windows = query.opening.get(day.weekday())
        if windows and day not in query.closed_dates:
            yield from _slots_on_day(query, day, windows, one_per_start=one_per_start)
        day += _ONE_DAY


def _slots_on_day(
    query: _Query, day: date, windows: list[tuple[int, int]], *, one_per_start: bool
) -> Iterator[tuple[datetime, datetime, list[int], list[int]]]:
    local_day = _LocalDay(day, query.tz)
    weekday = day.weekday()
    working_today = [
        (
            row.clinician_id,
            [(local_day.bound(a), local_day.bound(b)) for a, b in row.weekly[weekday]],
            row.unavailable.is_free,
        )
        for row in query.clinicians
        if weekday in row.weekly
    ]
    if not working_today:
        return
    chair_us = query.chair_us
    clinician_offset_us = query.clinician_offset_us
    clinician_length_us = query.clinician_length_us
    step_us = query.step_us
    earliest_us = query.earliest_us
    closure_free = query.closure_spans.is_free
    patient_free = query.patient.is_free
    resources = [(resource_id, busy.is_free, cleaning) for resource_id, busy, cleaning in query.resources]
    any_resource_free = query.any_resource.any_free

    # Windows are merged and sorted, and fold=0 keeps wall-clock order in UTC order (the repeated hour is
    # never revisited), so starts come out increasing and a span that overruns closing ends the window.
    for opens_wall, closes_wall in windows:
        opens_at = local_day.bound(opens_wall)
        closes_at = local_day.bound(closes_wall)
        starts: Iterable[int | None]
        if local_day.steady:
            # Wall clock and UTC differ by one offset all day: the grid is opens_at + k * step, and only the
            # starts some chair is free for need looking at.
            starts = query.any_resource.grid_starts(
                origin=opens_at, first=max(opens_at, earliest_us), last=closes_at - chair_us, step=step_us
            )
        else:
            starts = (local_day.start(wall) for wall in range(opens_wall, closes_wall, step_us))
        for start in starts:
            if start is None or start < opens_at:
                # Not a real time today (spring-forward gap), or before an opening time that itself fell in
                # the gap and so moved forward by the gap's length.
                continue
            end = start + chair_us
            if end > closes_at:
                break
            if start < earliest_us:
                continue
            # The chair first: on a busy calendar it is what most starts fail on.
            if not any_resource_free(start):
                continue
            if one_per_start:
                first_free = next(
                    (rid for rid, free, cleaning in resources if free(start, end + cleaning)), None
                )
                if first_free is None:
                    continue
                free_resources = [first_free]
            else:
                free_resources = [rid for rid, free, cleaning in resources if free(start, end + cleaning)]
                if not free_resources:
                    continue
            if not closure_free(start, end) or not patient_free(start, end):
                continue
            clinician_start = start + clinician_offset_us
            clinician_end = clinician_start + clinician_length_us
            free_clinicians: list[int] = []
            for clinician_id, shifts, clinician_free in working_today:
                for shift_start, shift_end in shifts:
                    if shift_start <= clinician_start and clinician_end <= shift_end:
                        if clinician_free(clinician_start, clinician_end):
                            free_clinicians.append(clinician_id)
                        break
                if free_clinicians and one_per_start:
                    break
            if not free_clinicians:
                continue
            yield _from_us(start), _from_us(end), free_resources, free_clinicians
