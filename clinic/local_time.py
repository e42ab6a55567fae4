"""Dates and times as the app shows them: in the place's zone, with the zone named and the date unambiguous
(engineering guide 8). The one formatter behind pages, messages, refusals, emails and the template filters; a
change of house style (or locale) is made here."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Protocol


class HasZone(Protocol):
    @property
    def tz(self) -> tzinfo: ...


def format_day(day: date) -> str:
    """'Wed 3 Mar 2027' (a date, or the local date of an aware datetime already in its zone)."""
    return f"{day:%a} {day.day} {day:%b %Y}"


def format_day_short(day: date) -> str:
    """'Wed 3 Mar': for a line that names the year elsewhere."""
    return f"{day:%a} {day.day} {day:%b}"


def format_clock(moment: datetime, tz: tzinfo | None) -> str:
    """'09:00' in ``tz``."""
    return f"{moment.astimezone(tz):%H:%M}"


def format_in_zone(moment: datetime, tz: tzinfo | None, *, year: bool = True) -> str:
    """'Wed 3 Mar 2027, 09:00 EST' in ``tz`` (without the year: 'Wed 3 Mar, 09:00 EST')."""
    local = moment.astimezone(tz)
    day = format_day(local) if year else format_day_short(local)
    return f"{day}, {local:%H:%M %Z}"


def format_local(moment: datetime, location: HasZone) -> str:
    """'Wed 3 Mar 2027, 09:00 EST' at ``location`` (anything with a ``tz``: a Location)."""
    return format_in_zone(moment, location.tz)


def local_date(moment: datetime, tz: tzinfo | None) -> date:
    """The calendar day ``moment`` falls on in ``tz``: a form's 'today' or 'tomorrow' is the place's, not UTC's
    (at 20:00 on a Sunday in New York it is already Monday in UTC)."""
    return moment.astimezone(tz).date()
