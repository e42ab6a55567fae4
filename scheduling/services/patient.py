"""What a patient may do with their own appointments online: confirm, cancel, ask to move one, and (when the clinic
allows it) book their own maintenance sessions. Each goes through the front-desk services, so the rules are the
same; front desk is told of a late cancellation or a request to move, once the change is committed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext, gettext_noop

from clinic import policies
from clinic.local_time import format_local
from clinic.models import User
from clinic.roles import Role
from scheduling import selectors
from scheduling.errors import BookingConflict, BookingRefused, InvalidTransition, LinkRefused, SchedulingError
from scheduling.models import Appointment, ReminderLinkUse, WaitlistEntry
from scheduling.services.booking import (
    book_appointment,
    cancel_appointment,
    late_cancel_hours,
    reschedule_appointment,
)
from scheduling.services.holds import retry_aborted
from scheduling.services.session_day import confirm_appointment
from scheduling.services.waitlist import add_to_waitlist

logger = logging.getLogger(__name__)

# The patient picks one in their language (the page translates it); the record keeps the English.
CANCEL_REASONS = {
    "unwell": gettext_noop("I am unwell"),
    "transport": gettext_noop("I have no driver or escort that day"),
    "conflict": gettext_noop("Something else came up"),
    "stopping": gettext_noop("I want to stop or pause treatment"),
    "other": gettext_noop("Another reason"),
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
        raise BookingRefused(gettext("Choose a reason for cancelling."), field="reason")
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
def ask_to_reschedule(
    *, appointment: Appointment, user: User, now: datetime, preferred_start: datetime | None = None
) -> WaitlistEntry:
    """Put the patient on the waitlist to move this session (front desk sees it with matching free times, earlier
    or later) and tell front desk. With ``preferred_start`` (a free time the patient picked), the entry asks for
    that day and names the time. Asking again for the same session updates the request."""
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
        raise InvalidTransition(gettext("Only a booked or confirmed session can be moved."))
    location = appointment.location
    local_start = appointment.start_at.astimezone(location.tz).date()
    if preferred_start is not None:
        earliest = latest = preferred_start.astimezone(location.tz).date()
        notes = f"The patient asked online to move this session to {format_local(preferred_start, location)}."
    else:
        earliest = now.astimezone(location.tz).date()
        latest = local_start + timedelta(days=selectors.MOVE_WINDOW_DAYS)
        notes = "The patient asked online to move this session: please call them to find a time."
    open_entry = (
        WaitlistEntry.objects.select_for_update()
        .filter(
            current_appointment=appointment,
            status__in=[WaitlistEntry.Status.WAITING, WaitlistEntry.Status.OFFERED],
        )
        .first()
    )
    if open_entry is not None:
        open_entry.earliest_date, open_entry.latest_date, open_entry.notes = earliest, latest, notes[:300]
        open_entry.requested_start = preferred_start
        open_entry.save(update_fields=["earliest_date", "latest_date", "notes", "requested_start"])
        entry = open_entry
    else:
        entry = add_to_waitlist(
            patient=appointment.patient,
            location=location,
            treatment_type=appointment.treatment_type,
            earliest_date=earliest,
            latest_date=latest,
            added_by=user,
            current_appointment=appointment,
            notes=notes,
        )
        if preferred_start is not None:
            entry.requested_start = preferred_start
            entry.save(update_fields=["requested_start"])
    late = appointment.start_at - now < timedelta(hours=late_cancel_hours())
    wish = f" to {format_local(preferred_start, location)}" if preferred_start else " (please call them)"
    _tell_front_desk(
        "A patient asked to move a session" + (" (inside the notice window)" if late else ""),
        f"A patient asked online to move their {format_local(appointment.start_at, location)} session at "
        f"{location.name}{wish}. See the waitlist: {settings.SITE_URL}/front-desk/waitlist/",
    )
    return entry


@retry_aborted
@transaction.atomic
def move_by_patient(
    *, appointment: Appointment, user: User, start: datetime, now: datetime
) -> Appointment | WaitlistEntry:
    """The patient picked one of the free times ``selectors.move_alternatives`` offered. When the clinic lets
    patients book online, the session moves there (through the front desk's reschedule, with its gates);
    otherwise front desk is asked to move it there. A time taken meanwhile is refused, with nothing written."""
    if appointment.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
        raise InvalidTransition(gettext("Only a booked or confirmed session can be moved."))
    location = appointment.location
    first_day = now.astimezone(location.tz).date() + timedelta(days=1)
    last_day = appointment.start_at.astimezone(location.tz).date() + timedelta(
        days=selectors.MOVE_WINDOW_DAYS
    )
    option = (
        selectors.free_option_at(
            location=location,
            treatment_type=appointment.treatment_type,
            start=start,
            now=now,
            patient=appointment.patient,
            ignore_appointment=appointment,
        )  # fmt: skip
        if first_day <= start.astimezone(location.tz).date() <= last_day and start != appointment.start_at
        else None
    )
    if option is None:
        raise BookingConflict(
            gettext("%(start)s is no longer free. Please choose another time.")
            % {"start": format_local(start, location)},
            taken="time",
            taken_kind="resource",
        )
    if policies.value("SCHEDULING_PATIENT_SELF_BOOKING"):
        return reschedule_appointment(
            appointment=appointment, start=option.start, rescheduled_by=user, now=now
        )
    return ask_to_reschedule(appointment=appointment, user=user, now=now, preferred_start=option.start)


@transaction.atomic
def book_by_patient(
    *, patient, user: User, treatment_type, location, start: datetime, now: datetime
) -> Appointment:
    """A patient books their own session (SCHEDULING_PATIENT_SELF_BOOKING), through the same booking service and
    gates as front desk: eligibility, REMS, opening hours, no double booking."""
    if not policies.value("SCHEDULING_PATIENT_SELF_BOOKING"):
        raise BookingRefused(gettext("Please call the clinic to book."))
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
        raise LinkRefused(gettext("This link is not valid for that. Please call the clinic."))
    _, created = ReminderLinkUse.objects.get_or_create(
        reminder=reminder, action=link_action, defaults={"used_at": now}
    )
    if not created:
        raise LinkRefused(gettext("This link was already used."))
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
