"""The pure availability core: free slots for one treatment type at one location (no database)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduling.availability import (
    BusyTimes,
    LocationDay,
    Slot,
    Span,
    TreatmentShape,
    find_slots,
    free_starts,
    free_starts_by_day,
    nearest_alternatives,
    next_available,
    to_us,
)

NY = ZoneInfo("America/New_York")
SPRING_FORWARD = date(2027, 3, 14)  # 2:00 AM EST -> 3:00 AM EDT
FALL_BACK = date(2027, 11, 7)  # 2:00 AM EDT -> 1:00 AM EST
A_WEDNESDAY = date(2027, 3, 3)
LONG_AGO = datetime(2027, 1, 1, tzinfo=UTC)

# Example treatment shapes (clinic policy; the real ones live on the treatment type).
IV_KETAMINE = TreatmentShape(
    chair_minutes=120, resource_kind="chair", clinician_offset_minutes=15, clinician_minutes=45
)
SPRAVATO = TreatmentShape(
    chair_minutes=160, resource_kind="chair", clinician_offset_minutes=15, clinician_minutes=145
)
CONSULTATION = TreatmentShape(
    chair_minutes=60, resource_kind="room", clinician_offset_minutes=0, clinician_minutes=60
)

NINE_TO_FIVE = {weekday: [(time(9), time(17))] for weekday in range(7)}
CLINIC = LocationDay(tz=NY, opening_hours=NINE_TO_FIVE)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def local_span(day: date, start: tuple[int, int], end: tuple[int, int]) -> Span:
    return Span(at(day, *start), at(day, *end))


def search(**overrides):
    """find_slots for one chair (1) and one clinician (7) working the clinic's hours, on A_WEDNESDAY."""
    query: dict[str, Any] = {
        "shape": IV_KETAMINE,
        "location": CLINIC,
        "resources": [1],
        "clinicians": [7],
        "clinician_hours": {7: NINE_TO_FIVE},
        "date_from": A_WEDNESDAY,
        "date_to": A_WEDNESDAY,
        "now": LONG_AGO,
    }
    query.update(overrides)
    return find_slots(**query)


def local_starts(slots: list[Slot]) -> list[str]:
    return [slot.start.astimezone(NY).strftime("%H:%M") for slot in slots]


def utc_starts(slots: list[Slot]) -> list[str]:
    return [slot.start.strftime("%H:%MZ") for slot in slots]


# --- Span ---------------------------------------------------------------------------------------------------


def test_zero_length_span_is_refused_with_a_message():
    with pytest.raises(ValueError, match="zero-length"):
        Span(at(A_WEDNESDAY, 9), at(A_WEDNESDAY, 9))


def test_reversed_span_is_refused_with_a_message():
    with pytest.raises(ValueError, match="reversed: end .* is before start"):
        Span(at(A_WEDNESDAY, 11), at(A_WEDNESDAY, 9))


def test_naive_span_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Span(datetime(2027, 3, 3, 9, tzinfo=None), at(A_WEDNESDAY, 11))  # noqa: DTZ001 (the point of the test)


def test_span_is_held_in_utc_and_is_half_open():
    morning = local_span(A_WEDNESDAY, (9, 0), (11, 0))
    assert morning.start == datetime(2027, 3, 3, 14, tzinfo=UTC)
    assert morning.start.tzinfo is UTC
    assert not morning.overlaps(local_span(A_WEDNESDAY, (11, 0), (13, 0)))
    assert morning.overlaps(local_span(A_WEDNESDAY, (10, 59), (13, 0)))


def test_treatment_shape_keeps_the_clinician_inside_the_chair_span():
    with pytest.raises(ValueError, match="must lie inside the 120-minute chair span"):
        TreatmentShape(
            chair_minutes=120, resource_kind="chair", clinician_offset_minutes=90, clinician_minutes=45
        )
    with pytest.raises(ValueError, match="resource_kind"):
        TreatmentShape(
            chair_minutes=60, resource_kind="bed", clinician_offset_minutes=0, clinician_minutes=60
        )  # type: ignore[arg-type]


def test_treatment_shape_gives_the_chair_and_clinician_spans_to_book():
    start = at(A_WEDNESDAY, 9)
    assert IV_KETAMINE.chair_span(start) == Span(start, at(A_WEDNESDAY, 11))
    assert IV_KETAMINE.clinician_span(start) == Span(at(A_WEDNESDAY, 9, 15), at(A_WEDNESDAY, 10))


# --- Opening hours, closures --------------------------------------------------------------------------------


def test_slots_lie_on_the_grid_inside_opening_hours_and_never_cross_closing():
    slots = search()
    assert local_starts(slots)[0] == "09:00"
    assert local_starts(slots)[-1] == "15:00"  # 15:00 + 120 min = 17:00, closing; 15:15 would run past it
    assert len(slots) == 25
    assert all(slot.end - slot.start == timedelta(minutes=120) for slot in slots)


def test_a_lunch_break_splits_the_day():
    location = LocationDay(tz=NY, opening_hours={2: [(time(13), time(17)), (time(9), time(12))]})
    assert local_starts(search(location=location)) == [
        "09:00", "09:15", "09:30", "09:45", "10:00",
        "13:00", "13:15", "13:30", "13:45", "14:00", "14:15", "14:30", "14:45", "15:00",
    ]  # fmt: skip


def test_touching_opening_windows_count_as_one():
    location = LocationDay(tz=NY, opening_hours={2: [(time(9), time(12)), (time(12), time(17))]})
    assert "11:00" in local_starts(search(location=location))


def test_no_slots_on_a_closed_weekday():
    location = LocationDay(tz=NY, opening_hours={0: [(time(9), time(17))]})
    assert search(location=location) == []


def test_a_closure_date_closes_the_whole_day():
    location = LocationDay(tz=NY, opening_hours=NINE_TO_FIVE, closures=[A_WEDNESDAY])
    assert search(location=location) == []
    assert search(location=location, date_to=A_WEDNESDAY + timedelta(days=1))[0].start == at(
        A_WEDNESDAY + timedelta(days=1), 9
    )


def test_a_closure_span_removes_only_the_slots_it_overlaps():
    location = LocationDay(
        tz=NY, opening_hours=NINE_TO_FIVE, closures=[local_span(A_WEDNESDAY, (12, 0), (13, 0))]
    )
    starts = local_starts(search(location=location))
    assert "10:00" in starts  # ends at 12:00, touching the closure
    assert "10:15" not in starts
    assert "12:45" not in starts
    assert "13:00" in starts


# --- Chairs -------------------------------------------------------------------------------------------------


def test_adjacent_bookings_are_allowed():
    busy = {1: [local_span(A_WEDNESDAY, (9, 0), (11, 0)), local_span(A_WEDNESDAY, (13, 0), (14, 0))]}
    starts = local_starts(search(resource_busy=busy))
    assert starts[0] == "11:00"  # the chair is free again at 11:00 and the 11:00-13:00 session ends at 13:00
    assert "11:15" not in starts
    assert "14:00" in starts


def test_the_lowest_id_free_chair_and_clinician_are_picked():
    slots = search(
        resources=[3, 1, 2],
        resource_busy={1: [local_span(A_WEDNESDAY, (9, 0), (10, 0))]},
        clinicians=[9, 7],
        clinician_hours={7: NINE_TO_FIVE, 9: NINE_TO_FIVE},
    )
    assert slots[0] == Slot(at(A_WEDNESDAY, 9), at(A_WEDNESDAY, 11), resource_id=2, clinician_id=7)
    assert slots[4] == Slot(at(A_WEDNESDAY, 10), at(A_WEDNESDAY, 12), resource_id=1, clinician_id=7)


def test_all_combinations_are_offered_when_asked_sorted_by_start_then_chair():
    slots = search(
        resources=[3, 1, 2],
        resource_busy={1: [local_span(A_WEDNESDAY, (9, 0), (10, 0))]},
        clinicians=[9, 7],
        clinician_hours={7: NINE_TO_FIVE, 9: NINE_TO_FIVE},
        one_per_start=False,
    )
    at_nine = [(slot.resource_id, slot.clinician_id) for slot in slots if slot.start == at(A_WEDNESDAY, 9)]
    assert at_nine == [(2, 7), (2, 9), (3, 7), (3, 9)]
    keys = [(slot.start, slot.resource_id, slot.clinician_id) for slot in slots]
    assert keys == sorted(keys)


# --- Clinicians ---------------------------------------------------------------------------------------------


def test_the_clinician_must_work_through_the_dosing_window_only():
    # Works 10:00-14:00. IV holds the clinician from minute 15 to minute 60, so a 09:45 start (dosing 10:00-10:45)
    # is fine and a 13:00 start (dosing 13:15-14:00) is the last.
    starts = local_starts(search(clinician_hours={7: {2: [(time(10), time(14))]}}))
    assert starts[0] == "09:45"
    assert starts[-1] == "13:00"


def test_a_clinician_without_hours_never_works():
    assert search(clinician_hours={}) == []


def test_clinician_time_off_blocks_and_another_clinician_covers():
    day_off = Span(at(A_WEDNESDAY, 0), at(A_WEDNESDAY + timedelta(days=1), 0))
    assert search(clinician_time_off={7: [day_off]}) == []
    slots = search(
        clinicians=[7, 8],
        clinician_hours={7: NINE_TO_FIVE, 8: NINE_TO_FIVE},
        clinician_time_off={7: [day_off]},
    )
    assert {slot.clinician_id for slot in slots} == {8}


def test_clinician_bookings_block_only_the_dosing_window():
    # Busy 09:30-09:45: a start s is blocked when [s+15, s+60) overlaps it, i.e. 09:00 and 09:15.
    starts = local_starts(search(clinician_busy={7: [local_span(A_WEDNESDAY, (9, 30), (9, 45))]}))
    assert starts[:2] == ["09:30", "09:45"]
    # Busy 09:00-09:15, before the dosing window of a 09:00 start: still offered.
    assert local_starts(search(clinician_busy={7: [local_span(A_WEDNESDAY, (9, 0), (9, 15))]}))[0] == "09:00"


def test_consultation_room_holds_the_clinician_for_the_whole_hour():
    slots = search(shape=CONSULTATION, clinician_busy={7: [local_span(A_WEDNESDAY, (9, 50), (10, 0))]})
    assert local_starts(slots)[:2] == ["10:00", "10:15"]
    assert local_starts(slots)[-1] == "16:00"


def test_spravato_shape_fits_a_long_day():
    slots = search(shape=SPRAVATO)
    assert local_starts(slots)[-1] == "14:15"  # 14:15 + 160 min = 16:55


# --- Patient, notice ----------------------------------------------------------------------------------------


def test_the_patients_own_bookings_block_overlapping_slots():
    starts = local_starts(search(patient_busy=[local_span(A_WEDNESDAY, (13, 0), (14, 0))]))
    assert "11:00" in starts
    assert not any("11:15" <= start <= "13:45" for start in starts)
    assert "14:00" in starts


def test_no_slot_starts_before_now_plus_notice():
    assert local_starts(search(now=at(A_WEDNESDAY, 10, 7)))[0] == "10:15"
    assert local_starts(search(now=at(A_WEDNESDAY, 10, 7), min_notice_minutes=60))[0] == "11:15"
    assert local_starts(search(now=at(A_WEDNESDAY, 10, 15)))[0] == "10:15"


def test_busy_spans_given_in_local_time_are_understood():
    busy = {1: [Span(at(A_WEDNESDAY, 9), at(A_WEDNESDAY, 11).astimezone(ZoneInfo("Europe/Berlin")))]}
    assert local_starts(search(resource_busy=busy))[0] == "11:00"


# --- DST ----------------------------------------------------------------------------------------------------


def test_spring_forward_day_keeps_local_opening_hours():
    slots = search(date_from=SPRING_FORWARD - timedelta(days=1), date_to=SPRING_FORWARD)
    saturday, sunday = slots[0], next(slot for slot in slots if slot.start.date() == SPRING_FORWARD)
    assert saturday.start == datetime(2027, 3, 13, 14, tzinfo=UTC)  # 9:00 AM EST
    assert sunday.start == datetime(2027, 3, 14, 13, tzinfo=UTC)  # 9:00 AM EDT


def test_spring_forward_skips_the_missing_hour():
    night = LocationDay(tz=NY, opening_hours={6: [(time(0), time(6))]})
    slots = search(
        shape=CONSULTATION,
        location=night,
        clinician_hours={7: {6: [(time(0), time(23))]}},
        date_from=SPRING_FORWARD,
        date_to=SPRING_FORWARD,
        slot_step_minutes=30,
    )
    # 02:00 and 02:30 do not exist; 1:30 AM EST + 60 min = 3:30 AM EDT. The window closes at 6:00 AM EDT = 10:00Z.
    assert local_starts(slots) == [
        "00:00",
        "00:30",
        "01:00",
        "01:30",
        "03:00",
        "03:30",
        "04:00",
        "04:30",
        "05:00",
    ]
    assert utc_starts(slots) == [
        "05:00Z",
        "05:30Z",
        "06:00Z",
        "06:30Z",
        "07:00Z",
        "07:30Z",
        "08:00Z",
        "08:30Z",
        "09:00Z",
    ]


def test_a_session_across_spring_forward_lasts_its_real_length():
    night = LocationDay(tz=NY, opening_hours={6: [(time(0), time(4))]})
    slots = search(
        location=night,
        clinician_hours={7: {6: [(time(0), time(23))]}},
        date_from=SPRING_FORWARD,
        date_to=SPRING_FORWARD,
        slot_step_minutes=60,
    )
    # 120 real minutes from 1:00 AM EST end at 4:00 AM EDT, exactly at closing; 00:00 ends at 3:00 AM EDT.
    assert local_starts(slots) == ["00:00", "01:00"]
    assert slots[-1].end == at(SPRING_FORWARD, 4)


def test_an_opening_time_inside_the_gap_moves_forward_by_the_gap():
    # 02:30 does not exist on 2027-03-14; PEP 495 fold=0 (what datetime.combine and Django's make_aware do) reads
    # it with the EST offset, i.e. 07:30Z = 3:30 AM EDT. Grid times 3:00 AM and 3:15 AM EDT are before that: not offered.
    night = LocationDay(tz=NY, opening_hours={6: [(time(2, 30), time(6))]})
    slots = search(
        shape=CONSULTATION,
        location=night,
        clinician_hours={7: {6: [(time(0), time(23))]}},
        date_from=SPRING_FORWARD,
        date_to=SPRING_FORWARD,
    )
    assert local_starts(slots)[0] == "03:30"
    assert slots[0].start == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)


def test_fall_back_day_keeps_local_opening_hours():
    slots = search(date_from=FALL_BACK - timedelta(days=1), date_to=FALL_BACK)
    saturday, sunday = slots[0], next(slot for slot in slots if slot.start.date() == FALL_BACK)
    assert saturday.start == datetime(2027, 11, 6, 13, tzinfo=UTC)  # 9:00 AM EDT
    assert sunday.start == datetime(2027, 11, 7, 14, tzinfo=UTC)  # 9:00 AM EST


def test_fall_back_offers_the_repeated_hour_once_at_its_first_occurrence():
    night = LocationDay(tz=NY, opening_hours={6: [(time(0), time(4))]})
    slots = search(
        shape=CONSULTATION,
        location=night,
        clinician_hours={7: {6: [(time(0), time(23))]}},
        date_from=FALL_BACK,
        date_to=FALL_BACK,
        slot_step_minutes=30,
    )
    # 01:00 and 01:30 are EDT (fold=0); the EST repeat (06:00Z, 06:30Z) is not a start. Closes 4:00 AM EST = 09:00Z.
    assert utc_starts(slots) == ["04:00Z", "04:30Z", "05:00Z", "05:30Z", "07:00Z", "07:30Z", "08:00Z"]
    assert local_starts(slots) == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30", "03:00"]


def test_a_week_across_spring_forward_offers_the_same_local_grid_every_day():
    slots = search(date_from=date(2027, 3, 11), date_to=date(2027, 3, 17))
    by_day: dict[date, list[str]] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(NY).date(), []).append(
            slot.start.astimezone(NY).strftime("%H:%M")
        )
    assert len(by_day) == 7
    assert all(starts == by_day[date(2027, 3, 11)] for starts in by_day.values())


# --- next_available, nearest_alternatives -------------------------------------------------------------------


def test_next_available_is_the_earliest_slot():
    busy = {1: [local_span(A_WEDNESDAY, (9, 0), (16, 0))]}
    found = next_available(
        shape=IV_KETAMINE,
        location=CLINIC,
        resources=[1],
        resource_busy=busy,
        clinicians=[7],
        clinician_hours={7: NINE_TO_FIVE},
        date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY + timedelta(days=30),
        now=LONG_AGO,
    )
    assert found == Slot(at(date(2027, 3, 4), 9), at(date(2027, 3, 4), 11), 1, 7)


def test_next_available_is_none_when_nothing_is_free():
    closed = LocationDay(tz=NY, opening_hours={})
    found = next_available(
        shape=IV_KETAMINE,
        location=closed,
        resources=[1],
        clinicians=[7],
        clinician_hours={7: NINE_TO_FIVE},
        date_from=A_WEDNESDAY,
        date_to=A_WEDNESDAY + timedelta(days=30),
        now=LONG_AGO,
    )
    assert found is None


def alternatives_to(requested: datetime, **overrides):
    query: dict[str, Any] = {
        "shape": IV_KETAMINE,
        "location": CLINIC,
        "resources": [1],
        "clinicians": [7],
        "clinician_hours": {7: NINE_TO_FIVE},
        "date_from": A_WEDNESDAY - timedelta(days=1),
        "date_to": A_WEDNESDAY + timedelta(days=1),
        "now": LONG_AGO,
    }
    query.update(overrides)
    return nearest_alternatives(requested, **query)


def test_nearest_alternatives_are_nearest_in_time_either_side():
    busy = {1: [local_span(A_WEDNESDAY, (9, 30), (11, 45))]}
    slots = alternatives_to(at(A_WEDNESDAY, 10), resource_busy=busy)
    # 09:00 would end 11:00 (taken); the nearest free starts are 11:45, 12:00, 12:15 (not yesterday's 15:00).
    assert local_starts(slots) == ["11:45", "12:00", "12:15"]


def test_nearest_alternatives_break_ties_to_the_earlier_slot():
    slots = alternatives_to(at(A_WEDNESDAY, 10, 7) + timedelta(seconds=30), limit=4)
    assert local_starts(slots) == ["10:00", "10:15", "09:45", "10:30"]


def test_nearest_alternatives_start_with_the_requested_time_when_it_is_free():
    slots = alternatives_to(at(A_WEDNESDAY, 10), limit=3)
    assert local_starts(slots) == ["10:00", "09:45", "10:15"]


def test_nearest_alternatives_look_into_other_days():
    busy = {1: [local_span(A_WEDNESDAY, (9, 0), (17, 0))]}
    slots = alternatives_to(at(A_WEDNESDAY, 12), resource_busy=busy, limit=3)
    # Tuesday 15:00 and Thursday 09:00 are both 21 h away: the earlier one comes first.
    assert [slot.start for slot in slots] == [
        at(A_WEDNESDAY - timedelta(days=1), 15),
        at(A_WEDNESDAY + timedelta(days=1), 9),
        at(A_WEDNESDAY - timedelta(days=1), 14, 45),
    ]


# --- Bad input ----------------------------------------------------------------------------------------------


def test_bad_queries_say_what_is_wrong():
    with pytest.raises(ValueError, match="is before date_from"):
        search(date_to=A_WEDNESDAY - timedelta(days=1))
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        search(now=datetime(2027, 3, 3, 9))  # noqa: DTZ001 (the point of the test)
    with pytest.raises(ValueError, match="slot_step_minutes"):
        search(slot_step_minutes=0)
    with pytest.raises(ValueError, match="must close after it opens"):
        LocationDay(tz=NY, opening_hours={0: [(time(17), time(9))]})
    with pytest.raises(ValueError, match="weekday must be 0"):
        LocationDay(tz=NY, opening_hours={7: [(time(9), time(17))]})
    with pytest.raises(TypeError, match="closure must be a date or a Span"):
        LocationDay(tz=NY, opening_hours={}, closures=[at(A_WEDNESDAY, 9)])
    with pytest.raises(ValueError, match="clinician 7 hours"):
        search(clinician_hours={7: {2: [(time(14), time(10))]}})


# --- Properties against a slow reference --------------------------------------------------------------------


def overlaps(a_start: datetime, a_end: datetime, b: Span) -> bool:
    return a_start < b.end and b.start < a_end


def merged_wall_windows(windows) -> list[tuple[time, time]]:
    merged: list[tuple[time, time]] = []
    for opens, closes in sorted(windows):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def merged_local_windows(day: date, windows, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Merged wall-clock windows, each bound as an instant with fold=0 (PEP 495)."""
    return [
        (datetime.combine(day, opens, tzinfo=tz), datetime.combine(day, closes, tzinfo=tz))
        for opens, closes in merged_wall_windows(windows)
    ]


def wall_clock_exists(day: date, moment: time, tz: ZoneInfo) -> bool:
    # Independent of the code under test: in a spring-forward gap the fold=0 offset is the smaller one.
    first = datetime.combine(day, moment, tzinfo=tz)
    second = first.replace(fold=1)
    return not cast(timedelta, first.utcoffset()) < cast(timedelta, second.utcoffset())


def brute_force_slots(
    *,
    shape,
    location,
    resources,
    resource_busy,
    clinicians,
    clinician_hours,
    clinician_time_off,
    clinician_busy,
    patient_busy,
    date_from,
    date_to,
    now,
    slot_step_minutes,
    min_notice_minutes,
    one_per_start,
):
    """The definition of a free slot, checked naively against every busy span."""
    tz = location.tz
    found = []
    day = date_from
    while day <= date_to:
        if day in [c for c in location.closures if not isinstance(c, Span)]:
            day += timedelta(days=1)
            continue
        for wall_opens, wall_closes in merged_wall_windows(location.opening_hours.get(day.weekday(), [])):
            opens = datetime.combine(day, wall_opens, tzinfo=tz)
            closes = datetime.combine(day, wall_closes, tzinfo=tz)
            wall = datetime.combine(day, wall_opens)  # noqa: DTZ001 (a wall-clock reading, zone added below)
            while wall.time() < wall_closes and wall.date() == day:
                candidate = wall
                wall += timedelta(minutes=slot_step_minutes)
                if not wall_clock_exists(day, candidate.time(), tz):
                    continue
                start = candidate.replace(tzinfo=tz).astimezone(UTC)
                end = start + timedelta(minutes=shape.chair_minutes)
                if start < opens or end > closes or start < now + timedelta(minutes=min_notice_minutes):
                    continue
                if any(overlaps(start, end, c) for c in location.closures if isinstance(c, Span)):
                    continue
                if any(overlaps(start, end, busy) for busy in patient_busy):
                    continue
                clinician_start = start + timedelta(minutes=shape.clinician_offset_minutes)
                clinician_end = clinician_start + timedelta(minutes=shape.clinician_minutes)
                free_clinicians = sorted(
                    clinician
                    for clinician in set(clinicians)
                    if any(
                        shift_start <= clinician_start and clinician_end <= shift_end
                        for shift_start, shift_end in merged_local_windows(
                            day, clinician_hours.get(clinician, {}).get(day.weekday(), []), tz
                        )
                    )
                    and not any(
                        overlaps(clinician_start, clinician_end, busy)
                        for busy in [
                            *clinician_time_off.get(clinician, []),
                            *clinician_busy.get(clinician, []),
                        ]
                    )
                )
                free_resources = sorted(
                    resource
                    for resource in set(resources)
                    if not any(overlaps(start, end, busy) for busy in resource_busy.get(resource, []))
                )
                if one_per_start:
                    free_clinicians, free_resources = free_clinicians[:1], free_resources[:1]
                found.extend(
                    Slot(start, end, resource, clinician)
                    for resource in free_resources
                    for clinician in free_clinicians
                )
        day += timedelta(days=1)
    return sorted(found, key=lambda slot: (slot.start, slot.resource_id, slot.clinician_id))


DAYS = [SPRING_FORWARD, FALL_BACK, date(2027, 6, 9)]


ALL_DAY = [(time(0), time(23, 30))]


# The strategies below are built once, not at every draw: hypothesis validates each new strategy object when it is
# first drawn from, which took most of these property tests' time. The values drawn are the same.
OPENS = st.integers(0, 46) | st.integers(0, 6)


@functools.cache
def closes_after(opens: int) -> st.SearchStrategy[int]:
    return st.integers(opens + 1, 47) | st.integers(opens + 1, opens + 8).filter(lambda n: n <= 47)


@st.composite
def wall_windows(draw, min_windows=0):
    """0-2 local windows on a 30-minute grid, often in the small hours so the DST gap and repeat get hit."""
    windows = []
    for _ in range(draw(st.integers(min_windows, 2))):
        opens = draw(OPENS)
        closes = draw(closes_after(opens))
        windows.append((time(opens // 2, 30 * (opens % 2)), time(closes // 2, 30 * (closes % 2), 0)))
    return windows


OPENING_DAY = wall_windows(min_windows=1)
CLINICIAN_DAY = st.just(ALL_DAY) | wall_windows()


@st.composite
def scheduling_inputs(draw):
    base = draw(st.sampled_from(DAYS))
    date_from = base - timedelta(days=draw(st.integers(0, 1)))
    date_to = date_from + timedelta(days=draw(st.integers(0, 2)))
    origin = datetime.combine(date_from, time(0), tzinfo=NY).astimezone(UTC) - timedelta(hours=6)

    def spans(max_size):
        made = []
        for _ in range(draw(st.integers(0, max_size))):
            start = origin + timedelta(minutes=5 * draw(st.integers(0, 4 * 24 * 12)))
            made.append(Span(start, start + timedelta(minutes=5 * draw(st.integers(1, 48)))))
        return made

    weekdays = sorted({day.weekday() for day in (date_from, date_from + timedelta(days=1), date_to)})
    chair_minutes = draw(st.sampled_from([30, 45, 60, 90, 120]))
    offset = 15 * draw(st.integers(0, chair_minutes // 15 - 1))
    clinician_minutes = 15 * draw(st.integers(1, (chair_minutes - offset) // 15))
    resources = draw(st.lists(st.integers(1, 5), min_size=1, max_size=3))
    clinicians = draw(st.lists(st.integers(10, 14), min_size=1, max_size=3))
    closures: list = spans(1)
    if draw(st.integers(0, 3)) == 0:
        closures.append(draw(st.sampled_from([date_from, date_to])))
    return {
        "shape": TreatmentShape(
            chair_minutes=chair_minutes,
            resource_kind="chair",
            clinician_offset_minutes=offset,
            clinician_minutes=clinician_minutes,
        ),
        "location": LocationDay(
            tz=NY,
            opening_hours={weekday: draw(OPENING_DAY) for weekday in weekdays},
            closures=closures,
        ),
        "resources": resources,
        "resource_busy": {resource: spans(4) for resource in resources},
        "clinicians": clinicians,
        "clinician_hours": {
            clinician: {weekday: draw(CLINICIAN_DAY) for weekday in weekdays} for clinician in clinicians
        },
        "clinician_time_off": {clinician: spans(1) for clinician in clinicians},
        "clinician_busy": {clinician: spans(3) for clinician in clinicians},
        "patient_busy": spans(2),
        "date_from": date_from,
        "date_to": date_to,
        "now": origin + timedelta(minutes=15 * draw(st.integers(0, 3 * 24 * 4))),
        "slot_step_minutes": draw(st.sampled_from([15, 20, 30, 45, 60])),
        "min_notice_minutes": draw(st.sampled_from([0, 60])),
    }


PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs(), one_per_start=st.booleans())
def test_find_slots_equals_the_brute_force_reference(inputs, one_per_start):
    assert find_slots(**inputs, one_per_start=one_per_start) == brute_force_slots(
        **inputs, one_per_start=one_per_start
    )


def _as_microseconds(spans):
    return [(to_us(span.start), to_us(span.end)) for span in spans]


@pytest.mark.parametrize(
    ("starts", "ends"),
    [([1, 2], [3, 4]), ([3], [1]), ([1], [1]), ([1, 2], [3])],
    ids=["overlapping", "reversed", "empty", "unpaired"],
)
def test_busy_times_refuse_spans_out_of_order_overlapping_or_empty(starts, ends):
    with pytest.raises(ValueError, match="BusyTimes"):
        BusyTimes(starts, ends)


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs(), one_per_start=st.booleans())
def test_busy_spans_given_as_busy_times_find_the_same_slots(inputs, one_per_start):
    """The selectors pass each holder's holds as BusyTimes (in order, disjoint, as the database keeps them)."""

    def as_times(spans):
        merged: list[list[int]] = []
        for lo, hi in sorted(_as_microseconds(spans)):
            if merged and lo <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        return BusyTimes([lo for lo, _ in merged], [hi for _, hi in merged])

    as_times_given = dict(
        inputs,
        resource_busy={key: as_times(spans) for key, spans in inputs["resource_busy"].items()},
        clinician_busy={key: as_times(spans) for key, spans in inputs["clinician_busy"].items()},
        patient_busy=as_times(inputs["patient_busy"]),
    )
    assert find_slots(**as_times_given, one_per_start=one_per_start) == find_slots(
        **inputs, one_per_start=one_per_start
    )


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs(), one_per_start=st.booleans())
def test_busy_spans_given_as_microseconds_find_the_same_slots(inputs, one_per_start):
    """The selectors read holds as integer microseconds: the search must not care which form it is given."""
    as_numbers = dict(
        inputs,
        resource_busy={key: _as_microseconds(spans) for key, spans in inputs["resource_busy"].items()},
        clinician_busy={key: _as_microseconds(spans) for key, spans in inputs["clinician_busy"].items()},
        patient_busy=_as_microseconds(inputs["patient_busy"]),
    )
    assert find_slots(**as_numbers, one_per_start=one_per_start) == find_slots(
        **inputs, one_per_start=one_per_start
    )


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs())
def test_free_starts_list_every_free_pair_once_per_start(inputs):
    pairs = [
        Slot(free.start, free.end, resource_id, clinician_id)
        for free in free_starts(**inputs)
        for resource_id in free.resource_ids
        for clinician_id in free.clinician_ids
    ]
    assert pairs == brute_force_slots(**inputs, one_per_start=False)


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs(), data=st.data())
def test_free_starts_day_by_day_in_any_order_are_the_same_starts(inputs, data):
    """The alternatives search the nearest days first, one at a time: each day's starts are that day's share of
    the whole range's, whatever order the days are asked in."""
    days = [
        inputs["date_from"] + timedelta(days=n)
        for n in range((inputs["date_to"] - inputs["date_from"]).days + 1)
    ]
    order = data.draw(st.permutations(days))
    tz = inputs["location"].tz
    whole = free_starts(**inputs)
    for day, found in zip(order, free_starts_by_day(order, **inputs), strict=True):
        assert found == [free for free in whole if free.start.astimezone(tz).date() == day]


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs())
def test_no_slot_overlaps_anything_its_chair_clinician_or_patient_is_busy_with(inputs):
    shape = inputs["shape"]
    for slot in find_slots(**inputs, one_per_start=False):
        chair = Span(slot.start, slot.end)
        clinician = shape.clinician_span(slot.start)
        assert not any(chair.overlaps(busy) for busy in inputs["resource_busy"].get(slot.resource_id, []))
        assert not any(chair.overlaps(busy) for busy in inputs["patient_busy"])
        assert not any(
            clinician.overlaps(busy)
            for busy in [
                *inputs["clinician_busy"].get(slot.clinician_id, []),
                *inputs["clinician_time_off"].get(slot.clinician_id, []),
            ]
        )
        assert not any(chair.overlaps(c) for c in inputs["location"].closures if isinstance(c, Span))


@PROPERTY_SETTINGS
@given(inputs=scheduling_inputs())
def test_every_slot_lies_inside_opening_hours_of_its_local_day(inputs):
    location = inputs["location"]
    for slot in find_slots(**inputs):
        local_start = slot.start.astimezone(NY)
        day = local_start.date()
        assert inputs["date_from"] <= day <= inputs["date_to"]
        assert day not in location.closures
        assert slot.start >= inputs["now"] + timedelta(minutes=inputs["min_notice_minutes"])
        windows = merged_local_windows(day, location.opening_hours.get(day.weekday(), []), NY)
        assert any(opens <= slot.start and slot.end <= closes for opens, closes in windows)
        assert local_start.fold == 0
