"""Treatment-series templates, planning in local time, and replacing taken sessions (no database)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.availability import LocationDay, Span, TreatmentShape, find_slots
from scheduling.series import (
    IV_INDUCTION,
    SPRAVATO_INDUCTION,
    TEMPLATES,
    PlannedSession,
    ProposedSession,
    SeriesTemplate,
    SessionRule,
    check_series_weekdays,
    plan_series,
    propose_series,
)

NY = ZoneInfo("America/New_York")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def plan(template=IV_INDUCTION, *, start_date, weekdays=(MON, WED, FRI), local_time=time(9), **extra):
    return plan_series(
        template, start_date=start_date, weekdays=weekdays, local_time=local_time, tz=NY, **extra
    )


# --- Templates ----------------------------------------------------------------------------------------------


def test_templates_are_listed_by_code():
    assert TEMPLATES["iv_ketamine_induction"] is IV_INDUCTION
    assert TEMPLATES["spravato_trd_induction"] is SPRAVATO_INDUCTION
    assert "Murrough" in IV_INDUCTION.source
    assert IV_INDUCTION.weekdays_needed == 3
    assert SPRAVATO_INDUCTION.weekdays_needed == 2


def test_a_template_must_list_its_sessions_in_calendar_order():
    with pytest.raises(ValueError, match="calendar order"):
        SeriesTemplate(
            code="x",
            label="x",
            modality="iv_ketamine",
            sessions=(SessionRule(week=2, weekday_slot=0), SessionRule(week=1, weekday_slot=0)),
            min_days_between=1,
        )


# --- IV induction -------------------------------------------------------------------------------------------


def test_iv_induction_is_six_infusions_on_mon_wed_fri_over_twelve_days():
    sessions = plan(start_date=date(2027, 5, 3))
    assert [session.index for session in sessions] == [1, 2, 3, 4, 5, 6]
    assert [session.local_date.strftime("%a %d") for session in sessions] == [
        "Mon 03", "Wed 05", "Fri 07", "Mon 10", "Wed 12", "Fri 14",
    ]  # fmt: skip
    assert (sessions[-1].local_date - sessions[0].local_date).days + 1 == 12  # Murrough 2013: over 12 days


def test_mon_wed_fri_at_nine_stays_at_nine_local_across_spring_forward():
    sessions = plan(start_date=date(2027, 3, 8))
    assert [session.start_utc.astimezone(NY).time() for session in sessions] == [time(9)] * 6
    assert [session.start_utc for session in sessions] == [
        datetime(2027, 3, 8, 14, tzinfo=UTC),  # EST
        datetime(2027, 3, 10, 14, tzinfo=UTC),
        datetime(2027, 3, 12, 14, tzinfo=UTC),
        datetime(2027, 3, 15, 13, tzinfo=UTC),  # EDT from 2027-03-14
        datetime(2027, 3, 17, 13, tzinfo=UTC),
        datetime(2027, 3, 19, 13, tzinfo=UTC),
    ]


def test_mon_wed_fri_at_nine_stays_at_nine_local_across_fall_back():
    sessions = plan(start_date=date(2027, 11, 1))
    assert [session.start_utc.astimezone(NY).time() for session in sessions] == [time(9)] * 6
    assert [session.start_utc.hour for session in sessions] == [13, 13, 13, 14, 14, 14]  # EDT, then EST


def test_a_series_starts_on_the_first_chosen_weekday_and_keeps_the_cycle():
    sessions = plan(start_date=date(2027, 5, 4))  # a Tuesday
    assert [session.local_date.strftime("%a") for session in sessions] == [
        "Wed",
        "Fri",
        "Mon",
        "Wed",
        "Fri",
        "Mon",
    ]
    assert sessions[0].local_date == date(2027, 5, 5)


def test_tue_thu_sat_is_a_valid_choice():
    sessions = plan(start_date=date(2027, 5, 4), weekdays=(SAT, TUE, THU))
    assert [session.local_date.strftime("%a") for session in sessions] == ["Tue", "Thu", "Sat"] * 2


def test_iv_weekday_choices_are_checked():
    with pytest.raises(ValueError, match="choose 3 different weekdays, got 2"):
        plan(start_date=date(2027, 5, 3), weekdays=(MON, WED))
    with pytest.raises(ValueError, match="each weekday may be chosen once"):
        plan(start_date=date(2027, 5, 3), weekdays=(MON, MON, WED))
    with pytest.raises(ValueError, match="0 \\(Mon\\) to 6 \\(Sun\\)"):
        plan(start_date=date(2027, 5, 3), weekdays=(MON, WED, 7))
    with pytest.raises(ValueError, match="at least 2 days apart; Mon and Tue are 1 day"):
        plan(start_date=date(2027, 5, 3), weekdays=(MON, TUE, THU), min_days_between=2)


def test_local_time_must_be_wall_clock():
    with pytest.raises(ValueError, match="drop the tzinfo"):
        plan(start_date=date(2027, 5, 3), local_time=time(9, tzinfo=UTC))


# --- Spravato induction -------------------------------------------------------------------------------------


def test_spravato_is_twice_weekly_for_weeks_one_to_four_then_weekly_for_weeks_five_to_eight():
    sessions = plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 1), weekdays=(MON, THU))
    assert len(sessions) == 12
    first = sessions[0].local_date
    per_week = [0] * 8
    for session in sessions:
        per_week[(session.local_date - first).days // 7] += 1
    assert per_week == [2, 2, 2, 2, 1, 1, 1, 1]
    assert [session.local_date.strftime("%a") for session in sessions[:8]] == ["Mon", "Thu"] * 4
    assert {session.local_date.weekday() for session in sessions[8:]} == {MON}
    assert "56 mg" in sessions[0].note
    assert "assess therapeutic benefit" in sessions[7].note
    # 2027-03-14 falls in week 2: the local time holds.
    assert {session.start_utc.astimezone(NY).time() for session in sessions} == {time(9)}


def test_spravato_started_midweek_keeps_weekly_sessions_on_the_first_weekday():
    sessions = plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 4), weekdays=(MON, THU))  # a Thursday
    assert [session.local_date.strftime("%a") for session in sessions[:8]] == ["Thu", "Mon"] * 4
    assert {session.local_date.weekday() for session in sessions[8:]} == {THU}
    assert (sessions[8].local_date - sessions[7].local_date).days == 3


def test_spravato_induction_days_must_be_spaced_by_clinic_policy():
    with pytest.raises(ValueError, match="at least 2 days apart; Mon and Tue are 1 day"):
        plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 1), weekdays=(MON, TUE))
    with pytest.raises(ValueError, match="Sun and Mon are 1 day"):
        plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 1), weekdays=(SUN, MON))
    with pytest.raises(ValueError, match="choose 2 different weekdays, got 3"):
        plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 1), weekdays=(MON, WED, FRI))
    assert check_series_weekdays(SPRAVATO_INDUCTION, [WED, MON]) == (MON, WED)
    # The spacing is a policy parameter, not a label rule.
    assert (
        len(plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 1), weekdays=(MON, TUE), min_days_between=1))
        == 12
    )
    stricter = dataclasses.replace(SPRAVATO_INDUCTION, min_days_between=3)
    with pytest.raises(ValueError, match="at least 3 days apart"):
        check_series_weekdays(stricter, [MON, WED])


# --- Proposals ----------------------------------------------------------------------------------------------


def never_offered(_requested: datetime) -> list[datetime]:
    return []


def test_a_fully_free_series_is_proposed_as_planned():
    planned = plan(start_date=date(2027, 5, 3))
    proposal = propose_series(planned, is_free=lambda _start: True, alternatives=never_offered, tz=NY)
    assert proposal == [
        ProposedSession(session.index, session.start_utc, session.start_utc, replaced=False)
        for session in planned
    ]


def test_a_taken_session_moves_to_the_nearest_free_alternative():
    planned = plan(start_date=date(2027, 5, 3))
    taken = planned[1].start_utc  # Wed, May 5 09:00
    offered = [at(date(2027, 5, 5), 11), at(date(2027, 5, 5), 8), at(date(2027, 5, 6), 9)]
    proposal = propose_series(
        planned, is_free=lambda start: start != taken, alternatives=lambda _requested: offered, tz=NY
    )
    assert proposal[1].start == at(date(2027, 5, 5), 8)  # 1 h away beats 2 h and 24 h
    assert proposal[1].replaced is True
    assert proposal[1].requested_start == taken
    assert "taken" in proposal[1].reason
    assert [p.replaced for p in proposal] == [False, True, False, False, False, False]


def test_ties_go_to_the_earlier_alternative():
    planned = plan(start_date=date(2027, 5, 3))
    taken = planned[1].start_utc
    offered = [at(date(2027, 5, 5), 10), at(date(2027, 5, 5), 8)]
    proposal = propose_series(
        planned, is_free=lambda start: start != taken, alternatives=lambda _requested: offered, tz=NY
    )
    assert proposal[1].start == at(date(2027, 5, 5), 8)


def test_an_alternative_that_would_break_the_order_or_share_a_day_is_skipped():
    planned = plan(start_date=date(2027, 5, 3))  # Mon 3, Wed 5, Fri 7, ...
    taken = planned[1].start_utc
    offered = [
        at(date(2027, 5, 3), 15),  # same day as session 1
        at(date(2027, 5, 7), 8),  # same day as session 3, which stays
        at(date(2027, 5, 8), 9),  # after session 3: would break the order
        at(date(2027, 5, 4), 9),  # Tuesday: usable, 24 h away
    ]
    proposal = propose_series(
        planned, is_free=lambda start: start != taken, alternatives=lambda _requested: offered, tz=NY
    )
    assert proposal[1].start == at(date(2027, 5, 4), 9)


def test_the_template_gap_is_kept_between_replaced_sessions():
    planned = plan(SPRAVATO_INDUCTION, start_date=date(2027, 3, 1), weekdays=(MON, THU))
    taken = planned[1].start_utc  # Thu 4 March
    offered = [at(date(2027, 3, 2), 9), at(date(2027, 3, 5), 9), at(date(2027, 3, 3), 14)]
    proposal = propose_series(
        planned,
        is_free=lambda start: start != taken,
        alternatives=lambda _requested: offered,
        tz=NY,
        min_days_between=SPRAVATO_INDUCTION.min_days_between,
    )
    # Tue 2 is 1 day after Mon 1 and Fri 5 is 3 days before Mon 8 (fine): Wed 3 14:00 (19 h) is nearest and
    # 2 days from both neighbours.
    assert proposal[1].start == at(date(2027, 3, 3), 14)
    offered = [at(date(2027, 3, 2), 9), at(date(2027, 3, 7), 9)]  # Sun 7 is 1 day before Mon 8
    proposal = propose_series(
        planned,
        is_free=lambda start: start != taken,
        alternatives=lambda _requested: offered,
        tz=NY,
        min_days_between=2,
    )
    assert proposal[1].start is None
    assert "at least 2 day(s) between sessions" in proposal[1].reason


def test_a_session_with_no_alternative_is_marked_and_the_rest_still_placed():
    planned = plan(start_date=date(2027, 5, 3))
    taken = planned[2].start_utc
    proposal = propose_series(
        planned, is_free=lambda start: start != taken, alternatives=never_offered, tz=NY
    )
    assert proposal[2].start is None
    assert proposal[2].replaced is False
    assert "no free time" in proposal[2].reason
    assert [p.start for p in proposal[3:]] == [session.start_utc for session in planned[3:]]


def test_planned_sessions_must_be_in_time_order():
    planned = plan(start_date=date(2027, 5, 3))
    with pytest.raises(ValueError, match="time order"):
        propose_series(
            list(reversed(planned)), is_free=lambda _start: True, alternatives=never_offered, tz=NY
        )
    with pytest.raises(ValueError, match="at least 1"):
        propose_series(
            planned, is_free=lambda _start: True, alternatives=never_offered, tz=NY, min_days_between=0
        )


def test_a_proposal_backed_by_availability_replaces_taken_infusions():
    """End to end over plain data: the series, the location's free chair time, and the replacements."""
    clinic = LocationDay(tz=NY, opening_hours={weekday: [(time(8), time(18))] for weekday in range(6)})
    shape = TreatmentShape(
        chair_minutes=120, resource_kind="chair", clinician_offset_minutes=15, clinician_minutes=45
    )
    planned = plan(start_date=date(2027, 3, 8))  # crosses spring-forward
    chair_taken = {
        1: [
            Span(at(date(2027, 3, 10), 8), at(date(2027, 3, 10), 10, 30))
        ],  # blocks Wed 09:00 (needs to 11:00)
        2: [Span(at(date(2027, 3, 10), 8), at(date(2027, 3, 10), 12))],
    }
    slots = find_slots(
        shape=shape,
        location=clinic,
        resources=[1, 2],
        resource_busy=chair_taken,
        clinicians=[7],
        clinician_hours={7: clinic.opening_hours},
        date_from=planned[0].local_date,
        date_to=planned[-1].local_date,
        now=datetime(2027, 3, 1, tzinfo=UTC),
    )
    free_starts = {slot.start for slot in slots}
    proposal = propose_series(
        planned,
        is_free=free_starts.__contains__,
        alternatives=lambda requested: sorted(free_starts, key=lambda start: abs(start - requested))[:50],
        tz=NY,
        min_days_between=IV_INDUCTION.min_days_between,
    )
    # Wed 10 March: chair 1 is free from 10:30, chair 2 from 12:00; 10:30 is 90 min from 09:00, nearer than
    # Tuesday 16:00 or Thursday 08:00.
    assert proposal[1].start == at(date(2027, 3, 10), 10, 30)
    assert [p.replaced for p in proposal] == [False, True, False, False, False, False]
    assert [p.start.astimezone(NY).time() for p in proposal if not p.replaced] == [time(9)] * 5


# --- Properties ---------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    start_date=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    weekdays=st.sets(st.integers(0, 6), min_size=3, max_size=3),
    local_time=st.times().filter(lambda moment: moment.fold == 0),
)
def test_iv_plans_keep_local_time_order_and_length(start_date, weekdays, local_time):
    sessions = plan(start_date=start_date, weekdays=sorted(weekdays), local_time=local_time)
    assert len(sessions) == 6
    assert all(a.start_utc < b.start_utc for a, b in zip(sessions, sessions[1:], strict=False))
    assert sessions[0].local_date >= start_date
    assert (sessions[0].local_date - start_date).days < 7
    assert (sessions[-1].local_date - sessions[0].local_date).days < 14
    for session in sessions:
        local = session.start_utc.astimezone(NY)
        assert local.date() == session.local_date
        wall = datetime.combine(session.local_date, local_time, tzinfo=NY)
        if wall.utcoffset() < wall.replace(fold=1).utcoffset():
            # In the spring-forward gap: fold=0 reads it with the old offset, one hour later on the wall clock.
            assert local.replace(tzinfo=None) == wall.replace(tzinfo=None) + timedelta(hours=1)
        else:
            assert local.time() == local_time
            assert local.fold == 0  # an ambiguous time means its first occurrence


@settings(max_examples=200, deadline=None)
@given(
    start_date=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31)),
    free_hours=st.sets(st.integers(0, 24 * 70 - 1), max_size=300),
    gap=st.integers(1, 3),
)
def test_proposals_keep_order_and_spacing(start_date, free_hours, gap):
    planned = plan(SPRAVATO_INDUCTION, start_date=start_date, weekdays=(MON, THU))
    origin = datetime.combine(planned[0].local_date, time(0), tzinfo=NY).astimezone(UTC)
    free = {origin + timedelta(hours=hour) for hour in free_hours}
    proposal = propose_series(
        planned,
        is_free=free.__contains__,
        alternatives=lambda _requested: sorted(free),
        tz=NY,
        min_days_between=gap,
    )
    placed = [p for p in proposal if p.start is not None]
    assert all(p.start in free for p in placed)
    for earlier, later in zip(placed, placed[1:], strict=False):
        assert earlier.start < later.start
        assert (later.start.astimezone(NY).date() - earlier.start.astimezone(NY).date()).days >= gap
    for p, session in zip(proposal, planned, strict=True):
        assert p.index == session.index
        assert p.replaced == (p.start is not None and p.start != session.start_utc)


def test_planned_session_can_be_built_by_position():
    session = PlannedSession(1, date(2027, 5, 3), at(date(2027, 5, 3), 9))
    assert session.note == ""
