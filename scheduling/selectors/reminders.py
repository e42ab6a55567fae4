"""Reminders as people see them: the failed ones front desk must look at, and the reminder a patient's link names."""

from __future__ import annotations

from datetime import datetime

from django.core import signing
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from scheduling.errors import LinkRefused
from scheduling.models import Appointment, Location, Reminder
from scheduling.reminders.content import read_link_token
from scheduling.reminders.outbox import SENDABLE_APPOINTMENT


def failed_reminders(location: Location | None = None) -> QuerySet[Reminder]:
    """Reminders that failed, newest first (at one location, or every one), with what their rows show."""
    rows = Reminder.objects.filter(status=Reminder.Status.FAILED).select_related(
        "appointment__patient", "appointment__location", "appointment__treatment_type"
    )
    if location is not None:
        rows = rows.filter(appointment__location=location)
    return rows.order_by("-due_at")


def reminder_for_link(token: str, *, now: datetime) -> tuple[Reminder, str]:
    """The reminder a link was sent in, and its action; refuses (``LinkRefused``) links that can no longer be
    used: forged, of a moved or cancelled appointment, or past its time."""
    try:
        reminder_id, action = read_link_token(token)
    except signing.BadSignature:
        raise LinkRefused(_("This link is not valid. Please call the clinic.")) from None
    reminder = (
        Reminder.objects.select_related("appointment__location", "appointment__treatment_type")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None:
        raise LinkRefused(_("This link is not valid. Please call the clinic."))
    appointment = reminder.appointment
    if appointment.start_at != reminder.planned_start_at:
        raise LinkRefused(_("This appointment was moved: please use the link in the newest message we sent."))
    if appointment.status == Appointment.Status.CANCELLED:
        raise LinkRefused(_("This appointment is cancelled."))
    if now >= appointment.start_at:
        raise LinkRefused(_("This link has expired: the appointment time has passed."))
    if appointment.status not in SENDABLE_APPOINTMENT:
        raise LinkRefused(_("This appointment can no longer be changed online. Please call the clinic."))
    return reminder, action
