"""When each reminder of an appointment is due: pure, no ORM, no clock (pass `now`).

What "N hours before" means across a daylight-saving change (engineering guide, section 4):
- offsets of whole days (72 h, 24 h) are calendar days in the clinic's zone at the same wall-clock time, so a
  Monday 09:00 appointment gets its "24 h" reminder on Sunday at 09:00 even when the clocks changed overnight
  (23 or 25 elapsed hours);
- shorter offsets (2 h) are elapsed time: two real hours before the appointment.
SMS is never sent in quiet hours (default 21:00-08:00 local): a reminder due then is sent before, at the last
minute before quiet hours began. One due in the past when planned is dropped, except the booking confirmation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The kinds of message besides the offsets ("72h", "24h", "2h"): the booking's confirmation, the update sent at a
# reschedule instead of it, and the cancellation notice.
CONFIRMATION = "confirmation"
UPDATE = "update"
CANCELLATION = "cancellation"


@dataclass(frozen=True)
class ReminderOffset:
    kind: str  # "72h", "24h", "2h"
    before: timedelta

    @classmethod
    def parse(cls, text: str) -> ReminderOffset:
        """'72h', '90m' or '2d' (a clinic setting)."""
        text = text.strip().lower()
        units = {"d": "days", "h": "hours", "m": "minutes"}
        if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit() or int(text[:-1]) <= 0:
            raise ValueError(f"{text!r} is not a reminder offset such as 72h, 24h, 2h or 90m.")
        return cls(kind=text, before=timedelta(**{units[text[-1]]: int(text[:-1])}))


@dataclass(frozen=True)
class QuietHours:
    starts: time = time(21, 0)
    ends: time = time(8, 0)

    def contains(self, local: datetime) -> bool:
        moment = local.time()
        if self.starts > self.ends:  # spans midnight
            return moment >= self.starts or moment < self.ends
        return self.starts <= moment < self.ends


@dataclass(frozen=True)
class PlannedReminder:
    kind: str
    channel: str
    due_at: datetime  # UTC


def due_before(start: datetime, offset: ReminderOffset, tz: ZoneInfo) -> datetime:
    """The moment `offset` before `start` (see the module docstring for what that means across DST)."""
    if offset.before % timedelta(days=1) == timedelta(0):
        local = start.astimezone(tz)
        wall = local.replace(tzinfo=None) - offset.before
        # fold=0: in the repeated fall-back hour, the first occurrence; a wall time inside the spring-forward gap
        # normalises forward, as the clocks do.
        return wall.replace(tzinfo=tz).astimezone(UTC)
    return (start - offset.before).astimezone(UTC)


def before_quiet_hours(due: datetime, tz: ZoneInfo, quiet: QuietHours) -> datetime:
    """A due time inside quiet hours moves to the last minute before they began."""
    local = due.astimezone(tz)
    if not quiet.contains(local):
        return due.astimezone(UTC)
    day = local.date() if local.time() >= quiet.starts else local.date() - timedelta(days=1)
    began = datetime.combine(day, quiet.starts, tzinfo=tz)
    return (began - timedelta(minutes=1)).astimezone(UTC)


def plan_reminders(
    *,
    start: datetime,
    booked_at: datetime,
    now: datetime,
    tz: ZoneInfo,
    channels: Sequence[str],
    offsets: Sequence[ReminderOffset],
    quiet: QuietHours = QuietHours(),
) -> list[PlannedReminder]:
    """The reminders to send for an appointment starting at `start`, sorted by due time."""
    planned: list[PlannedReminder] = []
    for channel in channels:
        confirmation = booked_at
        if channel == "sms" and quiet.contains(booked_at.astimezone(tz)):
            # Booked in the evening: the confirmation waits for the morning rather than going out earlier.
            local = booked_at.astimezone(tz)
            day = local.date() if local.time() < quiet.ends else local.date() + timedelta(days=1)
            confirmation = datetime.combine(day, quiet.ends, tzinfo=tz).astimezone(UTC)
        if confirmation < start:
            planned.append(PlannedReminder(CONFIRMATION, channel, confirmation.astimezone(UTC)))
        for offset in offsets:
            due = due_before(start, offset, tz)
            if channel == "sms":
                due = before_quiet_hours(due, tz, quiet)
            if now <= due < start:
                planned.append(PlannedReminder(offset.kind, channel, due))
    return sorted(planned, key=lambda reminder: (reminder.due_at, reminder.channel, reminder.kind))
