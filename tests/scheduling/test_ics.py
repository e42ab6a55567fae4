from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from scheduling.reminders.content import appointment_ics

NY = ZoneInfo("America/New_York")


def _ics(**overrides):
    fields = {
        "uid": "appointment-42@clinic.invalid",
        "sequence": 0,
        "start": datetime(2027, 3, 15, 9, tzinfo=NY),
        "end": datetime(2027, 3, 15, 11, tzinfo=NY),
        "tzid": "America/New_York",
        "summary": "Harbor Clinic appointment",
        "location": "120 Harbor Street, Cambridge",
        "description": "Arrive 15 minutes early. Someone must drive you home.",
        "organizer_email": "no-reply@clinic.invalid",
        "now": datetime(2027, 3, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return Calendar.from_ical(appointment_ics(**fields))


def test_the_calendar_file_places_a_9am_appointment_after_spring_forward_at_9am_local():
    calendar = _ics()
    (timezone,) = calendar.walk("VTIMEZONE")
    assert timezone["TZID"] == "America/New_York"
    assert {c.name for c in timezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    (event,) = calendar.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert start.hour == 9 and start.utcoffset().total_seconds() == -4 * 3600  # EDT
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert calendar["METHOD"] == "REQUEST" and event["STATUS"] == "CONFIRMED" and event["SEQUENCE"] == 0


def test_a_reschedule_keeps_the_uid_with_a_higher_sequence_and_a_cancellation_cancels():
    moved = _ics(
        sequence=1, start=datetime(2027, 11, 8, 9, tzinfo=NY), end=datetime(2027, 11, 8, 11, tzinfo=NY)
    )
    (event,) = moved.walk("VEVENT")
    assert event["UID"] == "appointment-42@clinic.invalid" and event["SEQUENCE"] == 1
    assert event.decoded("DTSTART").utcoffset().total_seconds() == -5 * 3600  # EST after fall-back
    cancelled = _ics(sequence=2, cancelled=True)
    assert cancelled["METHOD"] == "CANCEL"
    assert cancelled.walk("VEVENT")[0]["STATUS"] == "CANCELLED"


def test_an_appointment_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="end after"):
        _ics(end=datetime(2027, 3, 15, 8, tzinfo=NY))
