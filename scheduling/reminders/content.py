"""What a reminder says: the email (text, HTML and a calendar file), the text message, and the signed links they
carry. Calendar files (RFC 5545) carry the clinic's VTIMEZONE so calendars place them right across daylight-saving
changes; a reschedule is the same UID with a higher SEQUENCE, a cancellation is METHOD:CANCEL.

No clinical detail leaves the app in a calendar file or a text message (engineering guide 5): they name a time, a
place and a link. The treatment's preparation instructions are in the email and the patient portal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress

from clinic import policies
from clinic.local_time import format_in_zone, format_local
from scheduling.models import Appointment, Reminder
from scheduling.reminders.plan import CANCELLATION, CONFIRMATION, UPDATE
from scheduling.sms import SINGLE_SEGMENT

LINK_SALT = "scheduling.reminder-link"
LINK_ACTIONS = {"c": "confirm", "x": "cancel", "m": "manage"}


# --- Links ----------------------------------------------------------------------------------------------------


def link_token(reminder: Reminder, action: str) -> str:
    """Signed, carrying only the reminder id and the action (no PHI in the URL)."""
    code = {v: k for k, v in LINK_ACTIONS.items()}[action]
    # No timestamp: the link expires with the appointment, which is checked on use (and keeps an SMS short).
    return signing.Signer(salt=LINK_SALT).sign_object([reminder.pk, code], compress=True)


def read_link_token(token: str) -> tuple[int, str]:
    """(reminder id, action); raises signing.BadSignature for anything forged or malformed."""
    value = signing.Signer(salt=LINK_SALT).unsign_object(token)
    if (
        not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int))
        or value[1] not in LINK_ACTIONS
    ):
        raise signing.BadSignature("malformed reminder link")
    return value[0], LINK_ACTIONS[value[1]]


def link_url(reminder: Reminder, action: str) -> str:
    return settings.SITE_URL + reverse("reminder_links:link", args=[link_token(reminder, action)])


# --- Email ----------------------------------------------------------------------------------------------------


def _context(reminder: Reminder) -> dict:
    appointment = reminder.appointment
    return {
        "reminder": reminder,
        "appointment": appointment,
        "patient": appointment.patient,
        "location": appointment.location,
        "when": format_local(appointment.start_at, appointment.location),
        "treatment": appointment.treatment_type.label,
        "preparation": appointment.treatment_type.preparation,
        "clinic_name": policies.value("CLINIC_NAME"),
        "is_cancellation": reminder.kind == CANCELLATION,
        "is_update": reminder.kind == UPDATE,
        "is_confirmation": reminder.kind == CONFIRMATION,
        "confirm_url": "" if reminder.kind == CANCELLATION else link_url(reminder, "confirm"),
        "cancel_url": "" if reminder.kind == CANCELLATION else link_url(reminder, "cancel"),
    }


def calendar_file(reminder: Reminder, *, now: datetime) -> bytes:
    appointment = reminder.appointment
    location = appointment.location
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "clinic.invalid"
    return appointment_ics(
        uid=f"appointment-{appointment.pk}@{host}",
        sequence=reminder.sequence,
        start=appointment.start_at,
        end=appointment.end_at,
        tzid=location.time_zone,
        # Calendars sync to outside services: the event names the place, never the treatment (as in the
        # front-desk .ics download); the preparation instructions stay in the email and the portal.
        summary=_("Appointment at %(location)s") % {"location": location.name},
        location=", ".join(part for part in (location.name, location.address.replace("\n", ", ")) if part),
        description=_("How to prepare is in your reminder email and in the patient portal."),
        organizer_email=parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@clinic.invalid",
        now=now,
        cancelled=reminder.kind == CANCELLATION,
    )


def reminder_email(
    reminder: Reminder, *, now: datetime, series_siblings: Sequence[Reminder] = ()
) -> EmailMultiAlternatives:
    """The email of a reminder; with ``series_siblings`` (the other sessions' booking confirmations of the same
    series, sent in this one email), the series' confirmation: every session listed, with its own links and its
    own calendar file (each its own UID, as calendar clients expect one event per file)."""
    if series_siblings:
        return _series_email(reminder, series_siblings, now=now)
    context = _context(reminder)
    subject = render_to_string("scheduling/email/reminder_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("scheduling/email/reminder.txt", context),
        to=[reminder.appointment.patient.email],
        # The reminder id and plan version make the message id: a receiving system that sees it twice can tell.
        headers={"Message-ID": f"<reminder-{reminder.pk}-{reminder.sequence}@clinic.invalid>"},
    )
    message.attach_alternative(render_to_string("scheduling/email/reminder.html", context), "text/html")
    method = "CANCEL" if reminder.kind == CANCELLATION else "REQUEST"
    message.attach("appointment.ics", calendar_file(reminder, now=now), f"text/calendar; method={method}")
    return message


def _series_email(
    reminder: Reminder, siblings: Sequence[Reminder], *, now: datetime
) -> EmailMultiAlternatives:
    members = sorted([reminder, *siblings], key=lambda r: (r.appointment.start_at, r.pk))
    sessions = [_context(member) for member in members]
    first = reminder.appointment
    context = {
        "patient": first.patient,
        "location": first.location,
        "treatment": first.treatment_type.label,
        "preparation": first.treatment_type.preparation,
        "clinic_name": policies.value("CLINIC_NAME"),
        "sessions": sessions,
        "first_when": sessions[0]["when"],
    }
    subject = render_to_string("scheduling/email/series_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("scheduling/email/series.txt", context),
        to=[first.patient.email],
        # Made from the reminder that carries the email, as for a single session's.
        headers={"Message-ID": f"<reminder-{reminder.pk}-{reminder.sequence}@clinic.invalid>"},
    )
    message.attach_alternative(render_to_string("scheduling/email/series.html", context), "text/html")
    for number, member in enumerate(members, start=1):
        message.attach(
            f"session-{number}.ics", calendar_file(member, now=now), "text/calendar; method=REQUEST"
        )
    return message


# --- Text messages --------------------------------------------------------------------------------------------


def reminder_sms_text(reminder: Reminder) -> str:
    """Short and with no clinical detail: who, when, where, one link (engineering guide 5)."""
    appointment = reminder.appointment
    when = format_local(appointment.start_at, appointment.location)
    link = link_url(reminder, "manage")
    place = appointment.location.name
    words = {"clinic": policies.value("CLINIC_NAME"), "when": when, "place": place, "link": link}
    candidates = [
        _("%(clinic)s: appointment %(when)s at %(place)s. Confirm or change: %(link)s") % words,
        _("Appointment %(when)s at %(place)s. Confirm or change: %(link)s") % words,
        _("%(when)s at %(place)s. Confirm/change: %(link)s") % words,
        # A reminder is days away at most: the year is the first thing it can do without.
        _("%(when)s at %(place)s. Confirm/change: %(link)s")
        % {**words, "when": format_in_zone(appointment.start_at, appointment.location.tz, year=False)},
    ]
    # One segment where possible: shed words until it fits, never the time, the place or the link.
    text = next((c for c in candidates if len(c) <= SINGLE_SEGMENT), candidates[-1])
    return text


# --- Calendar files -------------------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, year: int) -> Timezone:
    # Building VTIMEZONE walks the zone's transitions: cache it per zone and year (icalendar's advice).
    first = date(year - 1, 1, 1)
    last = date(year + 2, 1, 1)
    return Timezone.from_tzinfo(ZoneInfo(tzid), first_date=first, last_date=last)


def appointment_ics(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    tzid: str,
    summary: str,
    location: str,
    description: str,
    organizer_email: str,
    now: datetime,
    cancelled: bool = False,
) -> bytes:
    if end <= start:
        raise ValueError("An appointment must end after it starts.")
    tz = ZoneInfo(tzid)
    calendar = Calendar()
    calendar.add("prodid", "-//Ketamine clinic//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    calendar.add_component(_vtimezone(tzid, start.astimezone(tz).year))
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", start.astimezone(tz))
    event.add("dtend", end.astimezone(tz))
    event.add("summary", summary)
    event.add("location", location)
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event["organizer"] = vCalAddress(f"mailto:{organizer_email}")
    if not cancelled:
        alarm_before = timedelta(hours=2)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", summary)
        alarm.add("trigger", -alarm_before)
        event.add_component(alarm)
    calendar.add_component(event)
    return calendar.to_ical()


def appointment_download(appointment: Appointment, *, host: str, now: datetime) -> bytes:
    """The .ics a patient or front desk downloads for one appointment (not a reminder's: no method, no alarm). It
    names no treatment or diagnosis: calendars are synced to other services."""
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic scheduling//EN")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"appointment-{appointment.pk}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", appointment.start_at)
    event.add("dtend", appointment.end_at)
    event.add("summary", _("Appointment at %(location)s") % {"location": appointment.location.name})
    if appointment.location.address:
        event.add("location", appointment.location.address)
    event.add(
        "description",
        _(
            "Your preparation instructions are in the patient portal. Call the clinic to change this appointment."
        ),
    )
    event.add("status", "CANCELLED" if appointment.status == Appointment.Status.CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()
