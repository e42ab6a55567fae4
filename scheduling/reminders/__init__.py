"""Appointment reminders as rows, not timers (engineering guide section 3), split by job:

- ``plan``: when each reminder is due (pure: no ORM, no clock);
- ``outbox``: the rows, planned in the booking's transaction, claimed by the sweep, sent by the workers, reaped;
- ``content``: what each message says, its calendar file and its signed links;
- ``channels``: email over one kept SMTP connection per worker, text messages through ``scheduling.sms``.

What a patient does with a link is a service (``scheduling.services.use_reminder_link``); which reminders failed,
and which reminder a link names, are reads (``scheduling.selectors``).
"""

from scheduling.reminders.channels import close_mail_connection
from scheduling.reminders.content import (
    link_token,
    link_url,
    read_link_token,
    reminder_email,
    reminder_sms_text,
)
from scheduling.reminders.outbox import (
    SEND_BATCH,
    SENDABLE_APPOINTMENT,
    deliver_reminder,
    deliver_reminders,
    max_attempts,
    new_booking_reminders,
    plan_reminders_for,
    reap_stuck_reminders,
    resend_reminder,
    retry_backoff,
    send_batches,
    sweep_due_reminders,
)

__all__ = [
    "SENDABLE_APPOINTMENT",
    "SEND_BATCH",
    "close_mail_connection",
    "deliver_reminder",
    "deliver_reminders",
    "link_token",
    "link_url",
    "max_attempts",
    "new_booking_reminders",
    "plan_reminders_for",
    "read_link_token",
    "reap_stuck_reminders",
    "reminder_email",
    "reminder_sms_text",
    "resend_reminder",
    "retry_backoff",
    "send_batches",
    "sweep_due_reminders",
]
