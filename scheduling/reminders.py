"""Appointment reminders as rows: the outbox of engineering guide section 3.

- ``plan_reminders_for`` runs inside every booking change (book, reschedule, cancel, confirm), in the same
  transaction, so a rolled-back booking leaves no reminder behind and a committed one never lacks its plan.
- ``sweep_due_reminders`` (Celery beat, every minute, UTC) claims due rows with FOR UPDATE SKIP LOCKED, marks them
  ``sending`` and, once the claim has committed, hands their ids in small batches to the ``send_reminders`` task.
  It also reaps rows left in ``sending`` by a dead worker.
- ``deliver_reminders`` (the task's body) sends each reminder of its batch in a transaction of its own, holding the
  row's lock while it sends, so two deliveries of the same task message (Celery redelivers after a lost worker or
  a visibility timeout) cannot both send: the second finds the row locked, or no longer ``sending``. A worker
  killed mid-send drops its connection, the lock goes with it, and the reaper returns the row to ``pending`` with
  one more attempt; after REMINDER_MAX_ATTEMPTS it is ``failed`` and shown to front desk, who may resend it.
- A failure is retried only when the message certainly did not arrive. When the whole message reached the mail
  server (or the SMS provider) and its answer did not come back, it may have been delivered: the reminder is
  ``failed`` at once with a reason that says so, and never sent again without a person deciding to.
- Each worker process keeps one SMTP connection and reuses it for every reminder it sends.

A reminder about an appointment that was cancelled, moved or has started is not sent (it is marked cancelled
with a ``skipped`` delivery), except the cancellation notice itself.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import smtplib
import threading
import time as clock
from collections import Counter
from datetime import datetime, time, timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpEmailBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from scheduling.ics import appointment_ics
from scheduling.models import Appointment, Reminder, ReminderDelivery
from scheduling.reminder_plan import CONFIRMATION, QuietHours, ReminderOffset, plan_reminders
from scheduling.sms import SINGLE_SEGMENT, SmsError, SmsOutcomeUnknown, SmsRejected, get_sms_backend

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


# A send task takes a batch of claimed ids, so what each task costs (broker round trips, the worker's bookkeeping,
# one read of the batch's rows) is paid once per batch rather than once per message. A small sweep is still spread
# over several tasks, so that every worker gets a share and a lost task message holds back only a few reminders
# (the reaper offers them again).
SEND_BATCH = 25
SPREAD_OVER = 8


def send_batches(ids: list[int]) -> list[list[int]]:
    size = max(1, min(SEND_BATCH, math.ceil(len(ids) / SPREAD_OVER)))
    return [ids[start : start + size] for start in range(0, len(ids), size)]


@transaction.atomic
def sweep_due_reminders(*, now: datetime, limit: int = 500) -> list[int]:
    """Claim due reminders (SKIP LOCKED: two beats never claim the same row) and enqueue their sends in batches."""
    from scheduling.tasks import send_reminders

    reap_stuck_reminders(now=now)
    ids = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(status=Reminder.Status.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Reminder.objects.filter(pk__in=ids).update(status=Reminder.Status.SENDING, claimed_at=now)
        transaction.on_commit(lambda: _enqueue(send_reminders, send_batches(ids)))
    return ids


def _enqueue(task, batches: list[list[int]]) -> None:
    for number, batch in enumerate(batches):
        try:
            task.delay(batch)
        except Exception:  # noqa: BLE001 (the broker is down: the rows are claimed, and the reaper re-offers them)
            left = sum(len(rest) for rest in batches[number:])
            logger.warning("could not enqueue %s reminder send(s); the reaper will retry them", left)
            return


# --- Sending (the task's body) ---------------------------------------------------------------------------------


class DeliveryProblem(Exception):
    """Why a send did not end in a plain "sent". ``what`` is written for front desk; ``detail`` is technical."""

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(f"{what} ({detail})" if detail else what)
        self.what = what
        self.detail = detail


class DeliveryFailed(DeliveryProblem):
    """Not delivered, and certainly not (no connection, a 4xx answer, a break before the end of the message):
    tried again with backoff, up to REMINDER_MAX_ATTEMPTS."""


class DeliveryRefused(DeliveryProblem):
    """Not delivered: the provider refused it for good (a 5xx answer, a bad number). Failed at once, no retries."""


class DeliveryUncertain(DeliveryProblem):
    """The whole message reached the provider, but its answer did not reach us: it may have been delivered.

    Never retried automatically (that is how a patient gets the same reminder twice): the reminder is failed with
    a reason that says so, and front desk decides whether to send it again."""


UNCERTAIN = {
    Reminder.Channel.EMAIL: "The mail server stopped answering after receiving the message; it may have been "
    "delivered. Check with the patient before resending.",
    Reminder.Channel.SMS: "The text-message service stopped answering after receiving the message; it may have "
    "been delivered. Check with the patient before resending.",
}
CONTACT = {Reminder.Channel.EMAIL: "email address", Reminder.Channel.SMS: "mobile number"}


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


def _with_content(queryset):
    return queryset.select_related(
        "appointment__patient", "appointment__location", "appointment__treatment_type"
    )


def deliver_reminders(*, reminder_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """Send a batch of claimed reminders (one task's worth), each at most once and each in its own transaction.

    What the messages say is read for the whole batch in one query; each reminder is then locked and checked on
    its own just before it is sent, so the claim and the appointment's state are as fresh as for a lone send.
    Returns how many ended how (for logs and tests)."""
    content = _with_content(Reminder.objects.all()).in_bulk(reminder_ids)
    outcomes: Counter[str] = Counter()
    for pk in reminder_ids:
        try:
            outcomes[_deliver(pk, content.get(pk), now=now or timezone.now())] += 1
        except Exception:  # noqa: BLE001 (the rest of the batch goes on; see below)
            # A database error, say: this reminder's transaction rolled back, so it is still `sending`, and the
            # reaper offers it again.
            logger.exception("reminder %s: the delivery broke off; the reaper will offer it again", pk)
            outcomes["error"] += 1
    return dict(outcomes)


def deliver_reminder(*, reminder_id: int, now: datetime | None = None) -> str:
    """Send one claimed reminder, at most once. Returns the outcome (for logs and tests)."""
    reminder = _with_content(Reminder.objects.filter(pk=reminder_id)).first()
    return _deliver(reminder_id, reminder, now=now or timezone.now())


def _deliver(pk: int, reminder: Reminder | None, *, now: datetime) -> str:
    with transaction.atomic():
        # The claim: the row is still `sending` and no other delivery of its task (Celery redelivers a message
        # after a lost worker or a visibility timeout) holds it. The lock lasts through the send, so a second
        # delivery, or the reaper, passes over the row meanwhile; a killed worker's lock ends with its
        # connection. The appointment's state is read here, under the lock, not taken from the batch's read.
        with connection.cursor() as cursor:
            cursor.execute(CLAIM_SQL, [pk, Reminder.Status.SENDING.value])
            claim = cursor.fetchone()
        if reminder is None or claim is None:
            return "not-claimed"  # sent, cancelled, or another delivery of this task holds it right now
        appointment = reminder.appointment
        reminder.attempts, reminder.due_at, appointment.status, appointment.start_at = claim
        reason = _skip_reason(reminder, appointment, now)
        if reason:
            _record(
                reminder, now, ReminderDelivery.Outcome.SKIPPED, error=reason,
                status=Reminder.Status.CANCELLED, last_error=reason,
            )  # fmt: skip
            return "skipped"
        attempts = reminder.attempts + 1
        try:
            if reminder.channel == Reminder.Channel.EMAIL:
                provider_id = _send_email(reminder, now=now)
            else:
                provider_id = _send_sms(reminder)
        except DeliveryUncertain as exc:
            _record(
                reminder, now, ReminderDelivery.Outcome.GAVE_UP, error=str(exc),
                status=Reminder.Status.FAILED, attempts=attempts, claimed_at=None, last_error=exc.what[:500],
            )  # fmt: skip
            logger.error("reminder %s: outcome unknown, not retried: %s", reminder.pk, exc.detail)
            return "uncertain"
        except DeliveryRefused as exc:
            error = f"{exc} It was not delivered and will not be tried again: check the patient's "
            error += f"{CONTACT[reminder.channel]}, then send it again."
            _record(
                reminder, now, ReminderDelivery.Outcome.GAVE_UP, error=error,
                status=Reminder.Status.FAILED, attempts=attempts, claimed_at=None, last_error=error[:500],
            )  # fmt: skip
            logger.warning("reminder %s refused: %s", reminder.pk, exc)
            return "refused"
        except Exception as exc:  # noqa: BLE001 (DeliveryFailed, or anything that broke before the message left)
            gave_up = attempts >= max_attempts()
            error = str(exc) if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}"
            error += f" Gave up after {attempts} attempts." if gave_up else " It will be tried again."
            _record(
                reminder, now, ReminderDelivery.Outcome.GAVE_UP if gave_up else ReminderDelivery.Outcome.FAILED,
                error=error, status=Reminder.Status.FAILED if gave_up else Reminder.Status.PENDING,
                attempts=attempts, due_at=reminder.due_at if gave_up else now + retry_backoff(attempts),
                claimed_at=None, last_error=error[:500],
            )  # fmt: skip
            logger.warning("reminder %s attempt %s failed: %s", reminder.pk, attempts, error)
            return ReminderDelivery.Outcome.GAVE_UP if gave_up else ReminderDelivery.Outcome.FAILED
        _record(
            reminder, now, ReminderDelivery.Outcome.SENT, provider_id=provider_id[:200],
            status=Reminder.Status.SENT, sent_at=now, attempts=attempts, last_error="",
        )  # fmt: skip
        return "sent"


def _record(
    reminder: Reminder, now: datetime, outcome: str, *, error: str = "", provider_id: str = "", **changes
) -> None:
    """The attempt's outcome in one statement: the row's new state, compare-and-swap on `sending` (only the holder
    of the claim writes it), and its line in the delivery log."""
    if provider_id:
        changes["provider_id"] = provider_id
    fields = [Reminder._meta.get_field(name) for name in changes]
    assignments = ", ".join(f'"{field.column}" = %s' for field in fields)
    values = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(fields, changes.values(), strict=True)
    ]
    sending = Reminder.Status.SENDING.value
    logged = [now, outcome, provider_id[:200], error[:500]]
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SQL.format(assignments=assignments), [*values, reminder.pk, sending, *logged])


# The two statements each message costs, written out once: composed by the ORM, they took more of a worker's time
# than PostgreSQL took to run them (bench/reminder_drain.py).
CLAIM_SQL = f"""
    SELECT r.attempts, r.due_at, a.status, a.start_at
      FROM {Reminder._meta.db_table} r JOIN {Appointment._meta.db_table} a ON a.id = r.appointment_id
     WHERE r.id = %s AND r.status = %s
       FOR UPDATE OF r SKIP LOCKED
"""  # noqa: S608 (table names from the models; every value is a parameter)
RECORD_SQL = f"""
    WITH changed AS (
        UPDATE {Reminder._meta.db_table} SET {{assignments}} WHERE id = %s AND status = %s
        RETURNING id, appointment_id, channel, kind
    )
    INSERT INTO {ReminderDelivery._meta.db_table}
        (reminder_id, appointment_id, attempted_at, channel, kind, outcome, provider_id, error)
    SELECT id, appointment_id, %s, channel, kind, %s, %s, %s FROM changed
"""  # noqa: S608 (table and column names from the models; every value is a parameter)


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


# --- Email: one SMTP connection per worker process, and a send that knows what it does not know ----------------

# A kept connection idle longer than this is replaced rather than trusted (servers drop idle ones after a timeout
# of their own, at least five minutes by RFC 5321 4.5.3.2; a dropped one is also noticed and replaced, see below).
SMTP_IDLE_SECONDS = 60


class _MailConnection(threading.local):
    """This worker process's email connection, opened at its first reminder and reused for the next ones, instead
    of a new SMTP connection (connect, EHLO, maybe TLS and login, QUIT) for every message. One per thread; replaced
    when the email settings change, after a failure that leaves it in doubt, and after SMTP_IDLE_SECONDS idle."""

    def __init__(self) -> None:
        self.backend = None
        self.key: tuple = ()
        self.pid = 0
        self.used_at = 0.0

    def get(self):
        key = (
            settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER,
            settings.EMAIL_HOST_PASSWORD, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL, settings.EMAIL_TIMEOUT,
        )  # fmt: skip
        if self.pid != os.getpid():
            self.backend = None  # a forked child: a socket it inherited is its parent's, not its own to close
        elif self.backend is not None and key != self.key:
            self.close()
        elif self.backend is not None and clock.monotonic() - self.used_at > SMTP_IDLE_SECONDS:
            self.drop()  # no QUIT: on a connection dropped silently (a firewall's timeout) it would wait in vain
        if self.backend is None:
            self.backend, self.key, self.pid = get_connection(fail_silently=False), key, os.getpid()
        self.used_at = clock.monotonic()
        return self.backend

    def close(self) -> None:
        """Goodbye to the server (QUIT): when the worker process shuts down, or the email settings changed."""
        backend, self.backend = self.backend, None
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.close()

    def drop(self) -> None:
        """Forget a connection in doubt without a word to the server: after a timeout, a late reply to the last
        message could otherwise be read as the answer to the next one."""
        backend, self.backend = self.backend, None
        smtp = getattr(backend, "connection", None)
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()


_mail = _MailConnection()


def close_mail_connection() -> None:
    _mail.close()


def _send_email(reminder: Reminder, *, now: datetime) -> str:
    message = reminder_email(reminder, now=now)
    backend = _mail.get()
    if isinstance(backend, SmtpEmailBackend):
        _send_over_smtp(message)
    else:
        # The console, file and in-memory backends of development and tests: no network, nothing to be unsure of.
        message.connection = backend
        message.send(fail_silently=False)
    return message.extra_headers["Message-ID"]


class _ConnectionBroke(Exception):
    """The connection failed before the end of the message was sent: the server cannot have accepted it."""


def _send_over_smtp(message: EmailMultiAlternatives) -> None:
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    data = message.message().as_bytes(linesep="\r\n")
    for last_try in (False, True):
        backend = _mail.get()
        try:
            fresh = backend.open()
        except OSError as exc:  # refused, unreachable, TLS or login failed (smtplib's errors are OSErrors)
            _mail.drop()
            raise DeliveryFailed(f"Could not reach the mail server ({_technical(exc)}).") from exc
        try:
            _smtp_transaction(backend.connection, sender, recipients, data)
            return
        except _ConnectionBroke as exc:
            _mail.drop()
            if fresh or last_try:
                raise DeliveryFailed(
                    f"The connection to the mail server broke before the message was complete ({exc})."
                ) from exc
            # A kept connection that the server had closed (idle, or a limit of its own): nothing of this message
            # was accepted, so once more on a new connection.
        except DeliveryUncertain:
            _mail.drop()
            raise


def _smtp_transaction(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """MAIL, RCPT, DATA and the message, in the steps that tell a certain failure from an unknown outcome."""
    # A line that starts with a dot gets a second one (RFC 5321 4.5.2); the message ends with a line of one dot.
    body = re.sub(rb"(?m)^\.", b"..", data)
    body += b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"
    try:
        smtp.ehlo_or_helo_if_needed()
        options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
        _expect(smtp.mail(sender, options), 250)
        for recipient in recipients:
            _expect(smtp.rcpt(recipient), 250, 251)
        smtp.putcmd("data")
        _expect(smtp.getreply(), 354)
        # One write, with the end-of-data line last: if the write fails, its last bytes did not all leave (sendall
        # stops at the first error), and without its end-of-data line the server cannot accept the message.
        smtp.send(body)
    except (DeliveryFailed, DeliveryRefused):
        # Refused before it had the message: reset the transaction, and the connection serves the next one.
        try:
            smtp.rset()
        except OSError:
            _mail.drop()
        raise
    except OSError as exc:  # a broken connection, a timeout, a refused HELO: smtplib's errors are OSErrors
        raise _ConnectionBroke(_technical(exc)) from exc
    # The whole message has left, end-of-data line included: the server may accept it at any moment, and a timeout
    # or a dropped connection while we wait for its answer cannot tell us whether it did.
    try:
        code, reply = smtp.getreply()
    except Exception as exc:  # noqa: BLE001 (whatever it was, the message may have been accepted)
        raise DeliveryUncertain(UNCERTAIN[Reminder.Channel.EMAIL], _technical(exc)) from exc
    if 200 <= code < 300:
        return
    if 400 <= code < 500:
        raise DeliveryFailed(f"The mail server did not take the message for now ({_answer(code, reply)}).")
    if 500 <= code < 600:
        raise DeliveryRefused(f"The mail server refused the message ({_answer(code, reply)}).")
    raise DeliveryUncertain(UNCERTAIN[Reminder.Channel.EMAIL], f"unexpected reply {_answer(code, reply)}")


def _expect(reply: tuple[int, bytes], *expected: int) -> None:
    code, text = reply
    if code in expected:
        return
    if code == 421 or not 400 <= code < 600:
        # The server is closing the connection (421), or not speaking SMTP as expected.
        raise _ConnectionBroke(_answer(code, text))
    if code < 500:
        raise DeliveryFailed(f"The mail server asked to try again later ({_answer(code, text)}).")
    raise DeliveryRefused(f"The mail server refused the message ({_answer(code, text)}).")


def _answer(code: int, text: bytes) -> str:
    return f"{code} {' '.join(text.decode('utf-8', 'replace').split())}"[:200]


def _technical(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


# --- Text messages --------------------------------------------------------------------------------------------


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
    try:
        result = get_sms_backend().send(
            to=reminder.appointment.patient.phone,
            body=reminder_sms_text(reminder),
            idempotency_key=f"reminder-{reminder.pk}",
        )
    except SmsOutcomeUnknown as exc:
        raise DeliveryUncertain(UNCERTAIN[Reminder.Channel.SMS], str(exc)) from exc
    except SmsRejected as exc:
        raise DeliveryRefused(f"The text-message service refused the message ({exc}).") from exc
    except SmsError as exc:
        raise DeliveryFailed(f"The text-message service could not take the message ({exc}).") from exc
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
