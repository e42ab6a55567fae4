"""Calendar files (RFC 5545) for appointments, with the clinic's VTIMEZONE so calendars place them right across
daylight-saving changes. A reschedule is the same UID with a higher SEQUENCE; a cancellation is METHOD:CANCEL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, year: int) -> Timezone:
    # Building VTIMEZONE walks the zone's transitions: cache it per zone and year (icalendar's advice).
    first = date(year - 1, 1, 1)
    last = date(year + 2, 1, 1)
    return Timezone.from_tzinfo(ZoneInfo(tzid), first_date=first, last_date=last)


def appointment_ics(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    tzid: str,
    summary: str,
    location: str,
    description: str,
    organizer_email: str,
    now: datetime,
    cancelled: bool = False,
) -> bytes:
    if end <= start:
        raise ValueError("An appointment must end after it starts.")
    tz = ZoneInfo(tzid)
    calendar = Calendar()
    calendar.add("prodid", "-//Ketamine clinic//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_vtimezone(tzid, start.astimezone(tz).year))
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event["organizer"] = vCalAddress(f"mailto:{organizer_email}")
    if not cancelled:
        alarm_before = timedelta(hours=2)
        from icalendar import Alarm

        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", -alarm_before)
        event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()
