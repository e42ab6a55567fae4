"""A session's times said in one phrase, as the calendar's blocks are read aloud: the day once, the zone named."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from clinic.local_time import format_span_in_zone

NEW_YORK = ZoneInfo("America/New_York")


def at(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=NEW_YORK)


def test_a_span_within_a_day_names_the_day_once():
    assert format_span_in_zone(at(2027, 3, 3, 9), at(2027, 3, 3, 11), NEW_YORK) == (
        "Wed, Mar 3, 2027, 9:00 AM–11:00 AM EST"
    )


def test_a_span_across_the_spring_change_names_the_zone_it_ends_in():
    # 1:00 AM EST to 4:00 AM EDT on Sun, Mar 14, 2027 is two hours: the clocks skip from 2:00 to 3:00.
    assert format_span_in_zone(at(2027, 3, 14, 1), at(2027, 3, 14, 4), NEW_YORK) == (
        "Sun, Mar 14, 2027, 1:00 AM–4:00 AM EDT"
    )


def test_a_span_past_midnight_names_both_days():
    assert format_span_in_zone(at(2027, 3, 3, 23), at(2027, 3, 4, 1), NEW_YORK) == (
        "Wed, Mar 3, 2027, 11:00 PM EST–Thu, Mar 4, 2027, 1:00 AM EST"
    )
