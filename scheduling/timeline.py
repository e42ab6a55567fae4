"""Sessions laid on a day's time strip, left to right, for the week grid and the series preview (pure: no ORM, no
clock).

A strip is a CSS grid whose columns are ``STEP_MINUTES`` steps of one local day, from ``Strip.origin_minutes``. A
block gets the classes ``tc-sN`` (N: its first column, from 1) and ``tc-wN`` (N: how many columns it covers); the
strip gets ``tg-nN`` and the table of strips ``tw-nN`` (N: its steps), which sets ``--tsteps`` so the style sheet
can give each step a minimum width (a block stays readable however long the day). The Content Security Policy
forbids inline styles, so every size is one of these classes, written to the style sheet by ``placement_css`` (a
day holds at most ``MAX_STEPS`` steps, so the file is finite):
``python -m scheduling.timeline > scheduling/static/scheduling/calendar-grid.css``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

STEP_MINUTES = 15
STEP = timedelta(minutes=STEP_MINUTES)
MINUTES_A_DAY = 24 * 60
MAX_STEPS = MINUTES_A_DAY // STEP_MINUTES  # 96: a whole day
# When a day has no opening hours and no session, the strip still shows a working day.
DEFAULT_WINDOW = (8 * 60, 18 * 60)


@dataclass(frozen=True, slots=True)
class Strip:
    """One local day's time axis: ``steps`` columns of ``STEP_MINUTES`` from ``origin_minutes`` after midnight."""

    origin_minutes: int
    steps: int

    @property
    def end_minutes(self) -> int:
        return self.origin_minutes + self.steps * STEP_MINUTES

    def origin(self, day: date, tz: ZoneInfo) -> datetime:
        """The instant the strip starts on ``day`` (the local wall-clock time, so DST days keep their hours)."""
        return datetime.combine(day, _time_of(self.origin_minutes), tzinfo=tz)

    def start_time(self) -> time:
        return _time_of(self.origin_minutes)

    def end_time(self) -> time:
        return _time_of(self.end_minutes % MINUTES_A_DAY)


def _time_of(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def strip_for(windows: Iterable[tuple[int, int]]) -> Strip:
    """The strip covering every (start, end) window, in local minutes after midnight (opening hours, sessions),
    whole hours (so its hour lines fall on the clock's hours), clipped to the day; a working day when there is
    none."""
    spans = [(start, end) for start, end in windows if end > start]
    first, last = (
        (min(start for start, _ in spans), max(end for _, end in spans)) if spans else DEFAULT_WINDOW
    )
    first = max(0, first - first % 60)
    last = min(MINUTES_A_DAY, -(-last // 60) * 60)
    return Strip(first, max(1, (last - first) // STEP_MINUTES))


def local_minutes(moment: datetime, day: date, tz: ZoneInfo) -> int:
    """``moment`` as local minutes after ``day``'s midnight (negative the day before, past 1440 the day after)."""
    local = moment.astimezone(tz)
    return (local.date() - day).days * MINUTES_A_DAY + local.hour * 60 + local.minute


@dataclass(frozen=True, slots=True)
class Phase:
    """A part of a block: ``kind`` is "prep", "dosing", "monitoring", "discharge" or "cleaning"; ``column`` (from 1)
    and ``span`` count steps within the block."""

    kind: str
    column: int
    span: int


@dataclass(frozen=True, slots=True)
class Placement:
    column: int  # the first column, from 1
    span: int  # columns covered, at least 1
    phases: tuple[Phase, ...] = ()


def place(
    start: datetime,
    end: datetime,
    *,
    origin: datetime,
    steps: int,
    phases: Sequence[tuple[str, datetime, datetime]] = (),
) -> Placement | None:
    """Where ``[start, end)`` sits on a strip of ``steps`` columns starting at ``origin``: from the step it starts
    in to the step it ends in (so a block never looks shorter than the time it holds), clipped to the strip; None
    when it lies wholly outside. Each phase (kind, start, end) is placed within the block to the nearest step, at
    least one step wide when it has any length."""
    first = math.floor((start - origin) / STEP)
    last = math.ceil((end - origin) / STEP)
    if last <= 0 or first >= steps or end <= start:
        return None
    first, last = max(first, 0), min(last, steps)
    span = max(1, last - first)
    block_origin = origin + first * STEP
    placed = []
    for kind, phase_start, phase_end in phases:
        if phase_end <= phase_start:
            continue
        a = min(max(round((phase_start - block_origin) / STEP), 0), span)
        b = min(max(round((phase_end - block_origin) / STEP), 0), span)
        if b <= a:  # shorter than half a step: still shown, one step wide
            if phase_end <= block_origin or phase_start >= block_origin + span * STEP:
                continue  # clipped away with the block
            a, b = (a, a + 1) if a < span else (span - 1, span)
        placed.append(Phase(kind, a + 1, b - a))
    return Placement(first + 1, span, tuple(placed))


def placement_css(max_steps: int = MAX_STEPS) -> str:
    """The placement classes, one rule each: a strip of n steps, a block starting at column n, spanning n, a table
    of strips of n steps."""
    lines = [
        "/* Generated by scheduling/timeline.py (placement_css): the time strips' grid placement classes, so no size",
        "   is ever written inline. Regenerate, do not edit: python -m scheduling.timeline > this file. */",
    ]
    lines += [
        f".tg-n{n} {{ grid-template-columns: repeat({n}, minmax(0, 1fr)); }}" for n in range(1, max_steps + 1)
    ]
    lines += [f".tc-s{n} {{ grid-column-start: {n}; }}" for n in range(1, max_steps + 1)]
    lines += [f".tc-w{n} {{ grid-column-end: span {n}; }}" for n in range(1, max_steps + 1)]
    lines += [f".tw-n{n} {{ --tsteps: {n}; }}" for n in range(1, max_steps + 1)]
    hour = 60 // STEP_MINUTES
    lines += [
        f".tstrip.tg-n{n} {{ background-size: calc(100% * {hour} / {n}) 100%; }}"
        for n in range(hour, max_steps + 1, hour)
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(placement_css(), end="")  # noqa: T201 - the generator's output
