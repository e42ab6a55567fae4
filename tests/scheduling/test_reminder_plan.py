"""When reminders are due: whole days keep the local wall-clock time across DST, quiet hours move SMS earlier."""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.reminders.plan import (
    QuietHours,
    ReminderOffset,
    before_quiet_hours,
    due_before,
    plan_reminders,
)

NY = ZoneInfo("America/New_York")
OFFSETS = [ReminderOffset.parse(text) for text in ("72h", "24h", "2h")]


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    ("appointment", "day_before", "two_hours_before"),
    [
        # Monday after spring-forward (Sun, Mar 14, 2027): 24 h reminder Sunday 9:00 AM EDT (23 elapsed hours).
        (local(2027, 3, 15, 9), local(2027, 3, 14, 9), local(2027, 3, 15, 7)),
        # The Sunday of the change itself: 9:00 AM EDT; the day before is Saturday 9:00 AM EST.
        (local(2027, 3, 14, 9), local(2027, 3, 13, 9), local(2027, 3, 14, 7)),
        # Monday after fall-back (Sun, Nov 7, 2027): 24 h reminder Sunday 9:00 AM EST (25 elapsed hours).
        (local(2027, 11, 8, 9), local(2027, 11, 7, 9), local(2027, 11, 8, 7)),
    ],
)
def test_day_offsets_keep_local_time_and_hour_offsets_are_elapsed_time(
    appointment, day_before, two_hours_before
):
    start = appointment.astimezone(UTC)
    assert due_before(start, ReminderOffset.parse("24h"), NY) == day_before.astimezone(UTC)
    assert due_before(start, ReminderOffset.parse("2h"), NY) == two_hours_before.astimezone(UTC)
    assert (start - due_before(start, ReminderOffset.parse("2h"), NY)).total_seconds() == 7200


def test_two_hours_before_an_appointment_just_after_spring_forward_is_two_real_hours():
    start = local(2027, 3, 14, 4, 0).astimezone(UTC)  # 4:00 AM EDT; 2 real hours earlier is 1:00 AM EST
    assert due_before(start, ReminderOffset.parse("2h"), NY).astimezone(NY) == local(2027, 3, 14, 1, 0)


@pytest.mark.parametrize(
    ("due", "sent"),
    [
        (local(2027, 5, 3, 21, 30), local(2027, 5, 3, 20, 59)),
        (local(2027, 5, 4, 6, 45), local(2027, 5, 3, 20, 59)),
        (local(2027, 5, 4, 8, 0), local(2027, 5, 4, 8, 0)),
        (local(2027, 5, 3, 20, 59), local(2027, 5, 3, 20, 59)),
    ],
)
def test_sms_due_in_quiet_hours_is_sent_before_them(due, sent):
    assert before_quiet_hours(due.astimezone(UTC), NY, QuietHours()) == sent.astimezone(UTC)


def test_a_plan_for_an_early_appointment_moves_sms_out_of_quiet_hours_but_not_email():
    start = local(2027, 5, 10, 8, 30).astimezone(UTC)
    booked = local(2027, 5, 1, 10, 0).astimezone(UTC)
    plan = plan_reminders(
        start=start, booked_at=booked, now=booked, tz=NY, channels=["email", "sms"], offsets=OFFSETS
    )
    by_key = {(r.kind, r.channel): r.due_at.astimezone(NY) for r in plan}
    assert by_key[("2h", "email")] == local(2027, 5, 10, 6, 30)
    assert by_key[("2h", "sms")] == local(2027, 5, 9, 20, 59)
    assert by_key[("24h", "sms")] == local(2027, 5, 9, 8, 30)
    assert by_key[("confirmation", "sms")] == local(2027, 5, 1, 10, 0)
    assert len(plan) == 8


def test_reminders_already_past_when_booked_are_dropped_and_an_evening_sms_confirmation_waits_for_morning():
    start = local(2027, 5, 11, 10, 0).astimezone(UTC)
    booked = local(2027, 5, 10, 22, 0).astimezone(UTC)  # 12 h ahead, in quiet hours
    plan = plan_reminders(
        start=start, booked_at=booked, now=booked, tz=NY, channels=["email", "sms"], offsets=OFFSETS
    )
    kinds = {(r.kind, r.channel): r.due_at.astimezone(NY) for r in plan}
    assert set(kinds) == {("confirmation", "email"), ("confirmation", "sms"), ("2h", "email"), ("2h", "sms")}
    assert kinds[("confirmation", "sms")] == local(2027, 5, 11, 8, 0)


@pytest.mark.parametrize("text", ["", "h", "0h", "-2h", "2x", "2.5h"])
def test_bad_offsets_are_refused_with_a_message(text):
    with pytest.raises(ValueError, match="reminder offset"):
        ReminderOffset.parse(text)


NAIVE_BOUNDS: dict[str, Any] = {"min_value": datetime(2026, 1, 1), "max_value": datetime(2030, 12, 31)}  # noqa: DTZ001 (hypothesis wants naive)


@given(
    start=st.datetimes(**NAIVE_BOUNDS).map(lambda d: d.replace(tzinfo=UTC)),
    lead=st.integers(min_value=0, max_value=60 * 24 * 10),
)
def test_no_sms_is_ever_due_in_quiet_hours_and_nothing_is_due_after_the_start(start, lead):
    from datetime import timedelta

    booked = start - timedelta(minutes=lead)
    plan = plan_reminders(
        start=start, booked_at=booked, now=booked, tz=NY, channels=["email", "sms"], offsets=OFFSETS
    )
    quiet = QuietHours()
    for reminder in plan:
        assert reminder.due_at < start
        if reminder.channel == "sms":
            assert not quiet.contains(reminder.due_at.astimezone(NY)), reminder
    assert len({(r.kind, r.channel) for r in plan}) == len(plan)
