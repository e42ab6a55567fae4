"""What a patient may do with their own appointments online: confirm, cancel, ask to move one, and (when the clinic
allows it) book their own maintenance sessions. Each goes through the front-desk services, so the rules are the
same; front desk is told of a late cancellation or a request to move, once the change is committed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from clinic.local_time import format_local
from clinic.models import User
from clinic.roles import Role
from scheduling import selectors
from scheduling.errors import BookingRefused, InvalidTransition, LinkRefused, SchedulingError
from scheduling.models import Appointment, ReminderLinkUse, WaitlistEntry
from scheduling.services.booking import book_appointment, cancel_appointment, late_cancel_hours
from scheduling.services.holds import retry_aborted
from scheduling.services.session_day import confirm_appointment
from scheduling.services.waitlist import add_to_waitlist

logger = logging.getLogger(__name__)

CANCEL_REASONS = {
    "unwell": "I am unwell",
    "transport": "I have no driver or escort that day",
    "conflict": "Something else came up",
    "stopping": "I want to stop or pause treatment",
    "other": "Another reason",
}


def _tell_front_desk(subject: str, message: str) -> None:
    """Email the front desk after the change commits. No name or treatment: the email says where to look."""
    recipients = list(
        User.objects.filter(groups__name=Role.FRONT_DESK.group_name, is_active=True).values_list(
            "email", flat=True
        )
    )

    def send() -> None:
        try:
            send_mail(subject, message, None, recipients)
        except OSError:  # the change stands; the front-desk lists show it too
            logger.warning("could not email front desk: %s", subject)

    if recipients:
        transaction.on_commit(send)


@transaction.atomic
def confirm_by_patient(*, appointment: Appointment, user: User, now: datetime) -> Appointment:
    return confirm_appointment(appointment=appointment, confirmed_by=user, now=now)


@retry_aborted
@transaction.atomic
def cancel_by_patient(
    *, appointment: Appointment, user: User, reason_code: str, now: datetime
) -> Appointment:
    if reason_code not in CANCEL_REASONS:
        raise BookingRefused("Choose a reason for cancelling.", field="reason")
    appointment = cancel_appointment(
        appointment=appointment,
        reason=f"Cancelled online by the patient: {CANCEL_REASONS[reason_code]}",
        cancelled_by=user,
        now=now,
    )
    if appointment.late_cancellation:
        when = format_local(appointment.start_at, appointment.location)
        _tell_front_desk(
            "Late cancellation",
            f"A patient cancelled their {when} session at {appointment.location.name} online, inside the notice "
            f"window. The chair is free again. Appointment {appointment.pk}: {settings.SITE_URL}/front-desk/"
            f"appointments/{appointment.pk}/",
        )
    return appointment


@transaction.atomic
def ask_to_reschedule(*, appointment: Appointment, user: User, now: datetime) -> WaitlistEntry:
    """Put the patient on the waitlist to move this session (front desk sees it with matching free times)."""
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
        raise InvalidTransition("Only a booked or confirmed session can be moved.")
    local_start = appointment.start_at.astimezone(appointment.location.tz).date()
    entry = add_to_waitlist(
        patient=appointment.patient,
        location=appointment.location,
        treatment_type=appointment.treatment_type,
        earliest_date=now.astimezone(appointment.location.tz).date(),
        latest_date=local_start + timedelta(days=14),
        added_by=user,
        current_appointment=appointment,
        notes="The patient asked online to move this session.",
    )
    late = appointment.start_at - now < timedelta(hours=late_cancel_hours())
    _tell_front_desk(
        "A patient asked to move a session" + (" (inside the notice window)" if late else ""),
        f"A patient asked online to move their session at {appointment.location.name}. See the waitlist: "
        f"{settings.SITE_URL}/front-desk/waitlist/",
    )
    return entry


@retry_aborted
@transaction.atomic
def book_by_patient(
    *, patient, user: User, treatment_type, location, start: datetime, now: datetime
) -> Appointment:
    """A patient books their own session (SCHEDULING_PATIENT_SELF_BOOKING), through the same booking service and
    gates as front desk: eligibility, REMS, opening hours, no double booking."""
    if not settings.SCHEDULING_PATIENT_SELF_BOOKING:
        raise BookingRefused("Please call the clinic to book.")
    return book_appointment(
        patient=patient,
        treatment_type=treatment_type,
        location=location,
        start=start,
        booked_by=user,
        now=now,
    )


# --- A reminder's links -----------------------------------------------------------------------------------------

# What each link may do: a confirm link confirms; a cancel link cancels or asks to move; an SMS carries one link
# that does all three.
LINK_ALLOWS = {
    "confirm": {"confirm"},
    "cancel": {"cancel", "reschedule"},
    "manage": {"confirm", "cancel", "reschedule"},
}


@retry_aborted
@transaction.atomic
def use_reminder_link(*, token: str, action: str, now: datetime, reason_code: str = "") -> Appointment:
    """Confirm, cancel, or ask to move from a reminder's link, through the same services as the patient portal: a
    late cancellation is marked late and front desk is emailed; a request to move puts the patient on the waitlist
    against this session and front desk is emailed. Each link works once; every refusal is a ``LinkRefused``.
    """
    reminder, link_action = selectors.reminder_for_link(token, now=now)
    if action not in LINK_ALLOWS[link_action]:
        raise LinkRefused("This link is not valid for that. Please call the clinic.")
    _, created = ReminderLinkUse.objects.get_or_create(
        reminder=reminder, action=link_action, defaults={"used_at": now}
    )
    if not created:
        raise LinkRefused("This link was already used.")
    appointment = reminder.appointment
    try:
        if action == "confirm":
            if appointment.status != Appointment.Status.CONFIRMED:
                appointment = confirm_by_patient(appointment=appointment, user=None, now=now)
        elif action == "cancel":
            appointment = cancel_by_patient(
                appointment=appointment, user=None, reason_code=reason_code, now=now
            )
        else:
            ask_to_reschedule(appointment=appointment, user=None, now=now)
    except SchedulingError as exc:
        raise LinkRefused(exc.message) from None
    return appointment
