"""Dates and times as the app shows them: in the place's zone, with the zone named and the date unambiguous
(engineering guide 8). The one formatter behind pages, messages, refusals, emails and the template filters; a
change of house style (or locale) is made here."""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from typing import Protocol


class HasZone(Protocol):
    @property
    def tz(self) -> tzinfo: ...


def format_day(day: date) -> str:
    """'Wed, Mar 3, 2027' (a date, or the local date of an aware datetime already in its zone)."""
    return f"{day:%a}, {day:%b} {day.day}, {day.year}"


def format_day_short(day: date) -> str:
    """'Wed, Mar 3': for a line that names the year elsewhere."""
    return f"{day:%a}, {day:%b} {day.day}"


def format_time_of_day(clock: time) -> str:
    """'9:00 AM', '12:30 PM': a wall-clock time, US style."""
    return f"{clock.hour % 12 or 12}:{clock.minute:02d} {'AM' if clock.hour < 12 else 'PM'}"


def format_clock(moment: datetime, tz: tzinfo | None) -> str:
    """'9:00 AM' in ``tz``."""
    return format_time_of_day(moment.astimezone(tz).time())


def format_in_zone(moment: datetime, tz: tzinfo | None, *, year: bool = True) -> str:
    """'Wed, Mar 3, 2027, 9:00 AM EST' in ``tz`` (without the year: 'Wed, Mar 3, 9:00 AM EST')."""
    local = moment.astimezone(tz)
    day = format_day(local) if year else format_day_short(local)
    return f"{day}, {format_time_of_day(local.time())} {local:%Z}"


def format_span_in_zone(start: datetime, end: datetime, tz: tzinfo | None) -> str:
    """'Wed, Mar 3, 2027, 9:00 AM–11:00 AM EST' in ``tz``: the day once, the zone of the end (the end's day and
    zone in full when it falls on another day)."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if local_end.date() != local_start.date():
        return f"{format_in_zone(start, tz)}–{format_in_zone(end, tz)}"
    clock = f"{format_time_of_day(local_start.time())}–{format_time_of_day(local_end.time())}"
    return f"{format_day(local_start)}, {clock} {local_end:%Z}"


def format_local(moment: datetime, location: HasZone) -> str:
    """'Wed, Mar 3, 2027, 9:00 AM EST' at ``location`` (anything with a ``tz``: a Location)."""
    return format_in_zone(moment, location.tz)


def local_date(moment: datetime, tz: tzinfo | None) -> date:
    """The calendar day ``moment`` falls on in ``tz``: a form's 'today' or 'tomorrow' is the place's, not UTC's
    (at 8 PM on a Sunday in New York it is already Monday in UTC)."""
    return moment.astimezone(tz).date()
