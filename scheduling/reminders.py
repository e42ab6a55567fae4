"""Appointment reminders as rows: the outbox of engineering guide section 3.

- ``plan_reminders_for`` runs inside every booking change (book, reschedule, cancel, confirm), in the same
  transaction, so a rolled-back booking leaves no reminder behind and a committed one never lacks its plan.
- ``sweep_due_reminders`` (Celery beat, every minute, UTC) claims due rows with FOR UPDATE SKIP LOCKED, marks them
  ``sending`` and hands each id to the short ``send_reminder`` task once the claim has committed. It also reaps
  rows left in ``sending`` by a dead worker.
- ``deliver_reminder`` (the task's body) holds the row's lock while it sends, so two deliveries of the same task
  message (Celery redelivers after a lost worker or a visibility timeout) cannot both send: the second finds the
  row locked, or no longer ``sending``. A worker killed mid-send drops its connection, the lock goes with it,
  and the reaper returns the row to ``pending`` with one more attempt; after REMINDER_MAX_ATTEMPTS it is
  ``failed`` and shown to front desk, who may resend it.

A reminder about an appointment that was cancelled, moved or has started is not sent (it is marked cancelled
with a ``skipped`` delivery), except the cancellation notice itself.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from scheduling.ics import appointment_ics
from scheduling.models import Appointment, Reminder, ReminderDelivery
from scheduling.reminder_plan import CONFIRMATION, QuietHours, ReminderOffset, plan_reminders
from scheduling.sms import SINGLE_SEGMENT, get_sms_backend

logger = logging.getLogger(__name__)

UPDATE = "update"  # sent at a reschedule instead of the booking confirmation
CANCELLATION = "cancellation"
LINK_SALT = "scheduling.reminder-link"
LINK_ACTIONS = {"c": "confirm", "x": "cancel", "m": "manage"}
SENDABLE_APPOINTMENT = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)


# --- Settings ---------------------------------------------------------------------------------------------------


def reminder_offsets() -> list[ReminderOffset]:
    return [ReminderOffset.parse(text) for text in settings.REMINDER_OFFSETS if text.strip()]


def quiet_hours() -> QuietHours:
    starts, ends = settings.REMINDER_QUIET_HOURS.split("-")
    return QuietHours(starts=time.fromisoformat(starts.strip()), ends=time.fromisoformat(ends.strip()))


def max_attempts() -> int:
    return int(getattr(settings, "REMINDER_MAX_ATTEMPTS", 5))


def stuck_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "REMINDER_STUCK_SECONDS", 600)))


def retry_backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after each failed attempt, at most an hour."""
    base = int(getattr(settings, "REMINDER_RETRY_BASE_SECONDS", 60))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def channels_for(patient) -> list[str]:
    """Email and/or SMS as the patient chose; SMS only with recorded consent and a number."""
    chosen = patient.reminder_channel
    channels = []
    if chosen in ("email", "both") and patient.email:
        channels.append(Reminder.Channel.EMAIL)
    if chosen in ("sms", "both") and patient.sms_consent_at and patient.phone:
        channels.append(Reminder.Channel.SMS)
    return channels


# --- Planning (inside the booking change's transaction) --------------------------------------------------------


def plan_reminders_for(appointment: Appointment, *, now: datetime) -> list[Reminder]:
    """Bring the appointment's reminder rows in line with its current state; returns the rows created.

    Idempotent: called again with nothing changed (a confirmation, say) it writes nothing.
    """
    appointment = Appointment.objects.select_related("patient", "location").get(pk=appointment.pk)
    rows = Reminder.objects.filter(appointment=appointment)
    latest = rows.aggregate(latest=Max("sequence"))["latest"]

    if appointment.status == Appointment.Status.CANCELLED:
        # Pending rows only: a row being sent is locked by its worker, which will skip it (the appointment is
        # cancelled). Waiting for that lock while holding the appointment's could deadlock with the worker.
        rows.filter(status=Reminder.Status.PENDING).update(status=Reminder.Status.CANCELLED)
        # A message that may have reached the patient (sent, or in flight) is followed by the CANCEL.
        told = rows.filter(
            channel=Reminder.Channel.EMAIL, status__in=[Reminder.Status.SENT, Reminder.Status.SENDING]
        ).exclude(kind=CANCELLATION)
        already = rows.filter(kind=CANCELLATION).exists()
        if latest is None or already or not told.exists() or not appointment.patient.email:
            return []
        # The patient's calendar holds the event: take it out (METHOD:CANCEL with a higher SEQUENCE).
        return [
            Reminder.objects.create(
                appointment=appointment,
                channel=Reminder.Channel.EMAIL,
                kind=CANCELLATION,
                sequence=latest + 1,
                planned_start_at=appointment.start_at,
                due_at=now,
            )
        ]

    if appointment.status not in SENDABLE_APPOINTMENT:
        # Checked in, in session, no-show...: nothing left to remind about.
        rows.filter(status=Reminder.Status.PENDING).update(status=Reminder.Status.CANCELLED)
        return []

    if latest is not None:
        current = rows.filter(sequence=latest)
        if not current.exclude(planned_start_at=appointment.start_at).exists():
            return []  # planned for this start already
        # Moved: the old time's pending reminders are void (one already claimed is skipped by its sender).
        rows.filter(status=Reminder.Status.PENDING).update(status=Reminder.Status.CANCELLED)
        sequence, first_kind = latest + 1, UPDATE
    else:
        sequence, first_kind = 0, CONFIRMATION

    planned = plan_reminders(
        start=appointment.start_at,
        booked_at=now,
        now=now,
        tz=appointment.location.tz,
        channels=channels_for(appointment.patient),
        offsets=reminder_offsets(),
        quiet=quiet_hours(),
    )
    return Reminder.objects.bulk_create(
        Reminder(
            appointment=appointment,
            channel=item.channel,
            kind=first_kind if item.kind == CONFIRMATION else item.kind,
            sequence=sequence,
            planned_start_at=appointment.start_at,
            due_at=item.due_at,
        )
        for item in planned
    )


# --- The sweep (Celery beat, every minute) ---------------------------------------------------------------------


@transaction.atomic
def reap_stuck_reminders(*, now: datetime) -> int:
    """Rows left in ``sending`` by a worker that died: back to pending with one more attempt, or failed.

    A live worker holds its row's lock while it sends, and SKIP LOCKED passes over it, so a slow send is never
    reaped from under its sender."""
    stuck = list(
        Reminder.objects.select_for_update(skip_locked=True).filter(
            status=Reminder.Status.SENDING, claimed_at__lt=now - stuck_after()
        )
    )
    for reminder in stuck:
        reminder.attempts += 1
        reminder.claimed_at = None
        reminder.last_error = "The worker sending this reminder stopped before it finished."[:500]
        if reminder.attempts >= max_attempts():
            reminder.status = Reminder.Status.FAILED
        else:
            reminder.status = Reminder.Status.PENDING
            reminder.due_at = now
        reminder.save(update_fields=["attempts", "claimed_at", "last_error", "status", "due_at"])
    return len(stuck)


@transaction.atomic
def sweep_due_reminders(*, now: datetime, limit: int = 500) -> list[int]:
    """Claim due reminders (SKIP LOCKED: two beats never claim the same row) and enqueue one send each."""
    from scheduling.tasks import send_reminder

    reap_stuck_reminders(now=now)
    ids = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(status=Reminder.Status.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Reminder.objects.filter(pk__in=ids).update(status=Reminder.Status.SENDING, claimed_at=now)
        transaction.on_commit(lambda: _enqueue(send_reminder, ids))
    return ids


def _enqueue(task, ids: list[int]) -> None:
    for pk in ids:
        try:
            task.delay(pk)
        except Exception:  # noqa: BLE001 (the broker is down: the rows are claimed, and the reaper re-offers them)
            logger.warning("could not enqueue %s reminder send(s); the reaper will retry them", len(ids))
            return


# --- Sending (the task's body) ---------------------------------------------------------------------------------


def _skip_reason(reminder: Reminder, appointment: Appointment, now: datetime) -> str:
    if reminder.kind == CANCELLATION:
        return ""
    if appointment.status not in SENDABLE_APPOINTMENT:
        return f"The appointment is {appointment.get_status_display().lower()}."
    if appointment.start_at != reminder.planned_start_at:
        return "The appointment was moved."
    if now >= appointment.start_at:
        return "The appointment has started."
    return ""


def deliver_reminder(*, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder, at most once. Returns the outcome (for logs and tests)."""
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("appointment__patient", "appointment__location", "appointment__treatment_type")
            .filter(pk=reminder_id, status=Reminder.Status.SENDING)
            .first()
        )
        if reminder is None:
            return "not-claimed"  # sent, cancelled, or another delivery of this task holds it right now
        now = now or timezone.now()
        appointment = reminder.appointment
        reason = _skip_reason(reminder, appointment, now)
        if reason:
            Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
                status=Reminder.Status.CANCELLED, last_error=reason
            )
            _log(reminder, now, ReminderDelivery.Outcome.SKIPPED, error=reason)
            return "skipped"
        try:
            if reminder.channel == Reminder.Channel.EMAIL:
                provider_id = _send_email(reminder, now=now)
            else:
                provider_id = _send_sms(reminder)
        except Exception as exc:  # noqa: BLE001 (any failure of the provider is a failed attempt, retried)
            error = f"{type(exc).__name__}: {exc}"[:500]
            attempts = reminder.attempts + 1
            gave_up = attempts >= max_attempts()
            Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
                status=Reminder.Status.FAILED if gave_up else Reminder.Status.PENDING,
                attempts=attempts,
                due_at=reminder.due_at if gave_up else now + retry_backoff(attempts),
                claimed_at=None,
                last_error=error,
            )
            outcome = ReminderDelivery.Outcome.GAVE_UP if gave_up else ReminderDelivery.Outcome.FAILED
            _log(reminder, now, outcome, error=error)
            logger.warning("reminder %s attempt %s failed: %s", reminder.pk, attempts, error)
            return outcome
        # Compare-and-swap: only the sender holding the claim marks it sent.
        Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
            status=Reminder.Status.SENT,
            sent_at=now,
            attempts=reminder.attempts + 1,
            provider_id=provider_id[:200],
            last_error="",
        )
        _log(reminder, now, ReminderDelivery.Outcome.SENT, provider_id=provider_id)
        return "sent"


def _log(reminder: Reminder, now: datetime, outcome: str, *, provider_id: str = "", error: str = "") -> None:
    ReminderDelivery.objects.create(
        reminder=reminder,
        appointment_id=reminder.appointment_id,
        attempted_at=now,
        channel=reminder.channel,
        kind=reminder.kind,
        outcome=outcome,
        provider_id=provider_id[:200],
        error=error[:500],
    )


@transaction.atomic
def resend_reminder(*, reminder: Reminder, resent_by, now: datetime) -> Reminder:
    """Front desk sends a failed reminder again: back to pending, due now, with a fresh count of attempts."""
    from scheduling.services import InvalidTransition

    reminder = Reminder.objects.select_for_update().select_related("appointment").get(pk=reminder.pk)
    if reminder.status != Reminder.Status.FAILED:
        raise InvalidTransition("Only a reminder that failed can be sent again.")
    if _skip_reason(reminder, reminder.appointment, now):
        raise InvalidTransition("This appointment was cancelled, moved or has started: nothing to resend.")
    reminder.status = Reminder.Status.PENDING
    reminder.due_at = now
    reminder.attempts = 0
    reminder.last_error = ""
    reminder.save(update_fields=["status", "due_at", "attempts", "last_error"])
    return reminder


def failed_reminders(location=None):
    rows = Reminder.objects.filter(status=Reminder.Status.FAILED).select_related(
        "appointment__patient", "appointment__location", "appointment__treatment_type"
    )
    if location is not None:
        rows = rows.filter(appointment__location=location)
    return rows.order_by("-due_at")


# --- Content ---------------------------------------------------------------------------------------------------


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


def format_local(moment: datetime, location) -> str:
    from scheduling.services import format_local as shown

    return shown(moment, location)


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
        "clinic_name": settings.CLINIC_NAME,
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
        summary=f"Appointment at {location.name}",
        location=", ".join(part for part in (location.name, location.address.replace("\n", ", ")) if part),
        description="How to prepare is in your reminder email and in the patient portal.",
        organizer_email=parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@clinic.invalid",
        now=now,
        cancelled=reminder.kind == CANCELLATION,
    )


def reminder_email(reminder: Reminder, *, now: datetime) -> EmailMultiAlternatives:
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


def _send_email(reminder: Reminder, *, now: datetime) -> str:
    message = reminder_email(reminder, now=now)
    message.send(fail_silently=False)
    return message.extra_headers["Message-ID"]


def reminder_sms_text(reminder: Reminder) -> str:
    """Short and with no clinical detail: who, when, where, one link (engineering guide 5)."""
    appointment = reminder.appointment
    when = format_local(appointment.start_at, appointment.location)
    link = link_url(reminder, "manage")
    place = appointment.location.name
    candidates = [
        f"{settings.CLINIC_NAME}: appointment {when} at {place}. Confirm or change: {link}",
        f"Appointment {when} at {place}. Confirm or change: {link}",
        f"{when} at {place}. Confirm/change: {link}",
    ]
    # One segment where possible: shed words until it fits, never the time, the place or the link.
    text = next((c for c in candidates if len(c) <= SINGLE_SEGMENT), candidates[-1])
    return text


def _send_sms(reminder: Reminder) -> str:
    result = get_sms_backend().send(
        to=reminder.appointment.patient.phone,
        body=reminder_sms_text(reminder),
        idempotency_key=f"reminder-{reminder.pk}",
    )
    return result.provider_id


# --- The patient's links ---------------------------------------------------------------------------------------


class LinkRefused(Exception):
    """The link is forged, used, stale or expired. ``message`` is written for the patient."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def reminder_for_link(token: str, *, now: datetime) -> tuple[Reminder, str]:
    """The reminder a link was sent in, and its action; refuses links that can no longer be used."""
    try:
        reminder_id, action = read_link_token(token)
    except signing.BadSignature:
        raise LinkRefused("This link is not valid. Please call the clinic.") from None
    reminder = (
        Reminder.objects.select_related("appointment__location", "appointment__treatment_type")
        .filter(pk=reminder_id)
        .first()
    )
    if reminder is None:
        raise LinkRefused("This link is not valid. Please call the clinic.")
    appointment = reminder.appointment
    if appointment.start_at != reminder.planned_start_at:
        raise LinkRefused("This appointment was moved: please use the link in the newest message we sent.")
    if appointment.status == Appointment.Status.CANCELLED:
        raise LinkRefused("This appointment is cancelled.")
    if now >= appointment.start_at:
        raise LinkRefused("This link has expired: the appointment time has passed.")
    if appointment.status not in SENDABLE_APPOINTMENT:
        raise LinkRefused("This appointment can no longer be changed online. Please call the clinic.")
    return reminder, action


@transaction.atomic
def use_reminder_link(*, token: str, action: str, now: datetime, reason_code: str = "") -> Appointment:
    """Confirm, cancel, or ask to move from a reminder's link, through the same services as the patient portal
    (scheduling.patient_services): a late cancellation is marked late and front desk is emailed; a request to
    move puts the patient on the waitlist against this session and front desk is emailed. Each link works once.
    """
    from scheduling import patient_services
    from scheduling.models import ReminderLinkUse
    from scheduling.services import SchedulingError

    reminder, link_action = reminder_for_link(token, now=now)
    allowed = {
        "confirm": {"confirm"},
        "cancel": {"cancel", "reschedule"},
        "manage": {"confirm", "cancel", "reschedule"},
    }
    if action not in allowed[link_action]:
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
                appointment = patient_services.confirm_by_patient(appointment=appointment, user=None, now=now)
        elif action == "cancel":
            appointment = patient_services.cancel_by_patient(
                appointment=appointment, user=None, reason_code=reason_code, now=now
            )
        else:
            patient_services.ask_to_reschedule(appointment=appointment, user=None, now=now)
    except SchedulingError as exc:
        raise LinkRefused(exc.message) from None
    return appointment
