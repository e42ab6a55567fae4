"""The time types of availability and their integer form: spans, busy times as UTC microseconds, the treatment's
shape, a location's day and a slot; and the conversions between wall-clock times, instants and microseconds.
Pure, like the search (``scheduling.availability``)."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from typing import Literal, overload
from zoneinfo import ZoneInfo

ResourceKind = Literal["chair", "room"]
# Weekday (0 = Monday ... 6 = Sunday) -> local wall-clock (opens, closes) windows on that weekday.
WeeklyHours = Mapping[int, Sequence[tuple[time, time]]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_MICROSECOND = timedelta(microseconds=1)
# Before and after any instant the search meets, as UTC microseconds.
_NEVER_BEFORE = -(2**62)
_NEVER_AFTER = 2**62
_MINUTE_US = 60_000_000
_DAY_US = 24 * 60 * _MINUTE_US
_ONE_DAY = timedelta(days=1)
_NO_SPANS: Mapping[int, Sequence[BusySpan]] = MappingProxyType({})
_WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open stretch of time ``[start, end)`` between two aware instants, held in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        for name, moment in (("start", self.start), ("end", self.end)):
            if not isinstance(moment, datetime):
                raise TypeError(f"Span {name} must be a datetime, got {type(moment).__name__}")
            if moment.utcoffset() is None:
                raise ValueError(f"Span {name} must be timezone-aware, got naive {moment.isoformat()}")
        if self.end == self.start:
            raise ValueError(f"Span is zero-length: start and end are both {self.start.isoformat()}")
        if self.end < self.start:
            raise ValueError(
                f"Span is reversed: end {self.end.isoformat()} is before start {self.start.isoformat()}"
            )
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    def overlaps(self, other: Span) -> bool:
        # Half-open: [09:00, 11:00) and [11:00, 13:00) do not overlap.
        return self.start < other.end and other.start < self.end


# A busy stretch: a Span, or ``(start, end)`` as integer UTC microseconds since the epoch, half-open like a Span.
BusySpan = Span | tuple[int, int]


class BusyTimes(Sequence[tuple[int, int]]):
    """One holder's busy spans as two lists of UTC microseconds, in order and not overlapping: the form the
    database's holds come in (one holder's active holds never overlap, by its exclusion constraints), taken as they
    are instead of pair by pair. A sequence of ``(start, end)`` pairs to everything else."""

    __slots__ = ("ends", "starts")

    def __init__(self, starts: Sequence[int], ends: Sequence[int]) -> None:
        if len(starts) != len(ends):
            raise ValueError("BusyTimes needs as many ends as starts")
        # Checked in C (map over operator functions): thousands of spans are given at a time.
        if not all(map(operator.lt, starts, ends)) or not all(map(operator.le, ends[:-1], starts[1:])):
            raise ValueError("BusyTimes spans must each end after they start, in order, without overlapping")
        self.starts = list(starts)
        self.ends = list(ends)

    def __len__(self) -> int:
        return len(self.starts)

    @overload
    def __getitem__(self, index: int) -> tuple[int, int]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[int, int]]: ...
    def __getitem__(self, index: int | slice) -> tuple[int, int] | Sequence[tuple[int, int]]:
        if isinstance(index, slice):
            return list(zip(self.starts[index], self.ends[index], strict=True))
        return self.starts[index], self.ends[index]


@dataclass(frozen=True, slots=True, kw_only=True)
class TreatmentShape:
    """How long a treatment type holds its chair or room, and when within that it needs a clinician.

    E.g. IV ketamine: chair 120 min, clinician from minute 15 for the 45-minute dosing window; a consultation:
    room 60 min with the clinician for all 60. The clinician's hold is one contiguous window inside the chair
    span.
    """

    chair_minutes: int
    resource_kind: ResourceKind
    clinician_offset_minutes: int
    clinician_minutes: int

    def __post_init__(self) -> None:
        if self.resource_kind not in ("chair", "room"):
            raise ValueError(f"resource_kind must be 'chair' or 'room', got {self.resource_kind!r}")
        if self.chair_minutes <= 0:
            raise ValueError(f"chair_minutes must be positive, got {self.chair_minutes}")
        if self.clinician_minutes <= 0:
            raise ValueError(f"clinician_minutes must be positive, got {self.clinician_minutes}")
        if self.clinician_offset_minutes < 0:
            raise ValueError(
                f"clinician_offset_minutes must not be negative, got {self.clinician_offset_minutes}"
            )
        if self.clinician_offset_minutes + self.clinician_minutes > self.chair_minutes:
            raise ValueError(
                f"the clinician window (minute {self.clinician_offset_minutes} for "
                f"{self.clinician_minutes} min) must lie inside the {self.chair_minutes}-minute "
                f"{self.resource_kind} span"
            )

    def chair_span(self, start: datetime) -> Span:
        """The span the chair or room is held for a session starting at ``start``."""
        return Span(start, start + timedelta(minutes=self.chair_minutes))

    def clinician_span(self, start: datetime) -> Span:
        """The span the clinician is held for a session starting at ``start`` (a separate allocation row)."""
        clinician_start = start + timedelta(minutes=self.clinician_offset_minutes)
        return Span(clinician_start, clinician_start + timedelta(minutes=self.clinician_minutes))


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationDay:
    """A location's calendar: its zone, weekly opening hours (local wall-clock) and closures.

    ``closures`` holds whole local dates (holidays) and/or spans (a half-day staff meeting). Windows that
    overlap or touch on one weekday are treated as one opening window, so a session may run across the join.
    """

    tz: ZoneInfo
    opening_hours: WeeklyHours
    closures: Sequence[date | Span] = ()

    def __post_init__(self) -> None:
        _merged_weekly_hours(self.opening_hours, owner="opening_hours")
        for closure in self.closures:
            # datetime is a subclass of date: a bare instant is neither a day nor a span, so refuse it.
            if isinstance(closure, datetime) or not isinstance(closure, date | Span):
                raise TypeError(f"a closure must be a date or a Span, got {closure!r}")


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable start: the chair/room span ``[start, end)``, which chair/room and which clinician.

    The clinician's own hold is ``TreatmentShape.clinician_span(start)``.
    """

    start: datetime
    end: datetime
    resource_id: int
    clinician_id: int


def _merged_weekly_hours(hours: WeeklyHours, *, owner: str) -> dict[int, list[tuple[int, int]]]:
    """Weekday -> sorted, merged (opens, closes) windows as microseconds after local midnight."""
    merged: dict[int, list[tuple[int, int]]] = {}
    for weekday, windows in hours.items():
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise ValueError(f"{owner}: weekday must be 0 (Mon) to 6 (Sun), got {weekday!r}")
        day_windows: list[tuple[int, int]] = []
        for opens, closes in sorted(_window_us(window, weekday=weekday, owner=owner) for window in windows):
            if day_windows and opens <= day_windows[-1][1]:
                day_windows[-1] = (day_windows[-1][0], max(day_windows[-1][1], closes))
            else:
                day_windows.append((opens, closes))
        if day_windows:
            merged[weekday] = day_windows
    return merged


def _window_us(window: tuple[time, time], *, weekday: int, owner: str) -> tuple[int, int]:
    opens, closes = window
    for moment in (opens, closes):
        if not isinstance(moment, time):
            raise TypeError(f"{owner}: hours must be datetime.time values, got {moment!r}")
        if moment.tzinfo is not None:
            raise ValueError(f"{owner}: hours are local wall-clock times; drop the tzinfo from {moment!r}")
    if closes <= opens:
        # A window past midnight would belong to two local days; split it at midnight instead.
        raise ValueError(
            f"{owner}: on {_WEEKDAY_NAMES[weekday]} the window {opens.isoformat()}-{closes.isoformat()} "
            "must close after it opens, on the same day"
        )
    return _wall_us(opens), _wall_us(closes)


def _wall_us(moment: time) -> int:
    return ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond


def _to_us(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def to_us(moment: datetime) -> int:
    """An aware instant as integer UTC microseconds since the epoch, the form of a ``BusySpan`` pair."""
    if moment.utcoffset() is None:
        raise ValueError(f"must be timezone-aware, got naive {moment.isoformat()}")
    return _to_us(moment)


def _from_us(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=microseconds)
