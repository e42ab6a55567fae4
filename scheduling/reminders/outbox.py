"""The reminder outbox (engineering guide section 3): reminders are rows, not timers.

- ``plan_reminders_for`` runs inside every booking change (reschedule, cancel, confirm), in the same transaction,
  so a rolled-back booking leaves no reminder behind and a committed one never lacks its plan; a new booking
  writes the same plan's rows (``new_booking_reminders``) in its appointment's own statement.
- ``sweep_due_reminders`` (Celery beat, every minute, UTC) claims due rows with FOR UPDATE SKIP LOCKED, marks them
  ``sending`` and, once the claim has committed, hands their ids in small batches to the ``send_reminders`` task.
  It also reaps rows left in ``sending`` by a dead worker.
- ``deliver_reminders`` (the task's body) sends each reminder of its batch in a transaction of its own, holding the
  row's lock while it sends, so two deliveries of the same task message (Celery redelivers after a lost worker or
  a visibility timeout) cannot both send: the second finds the row locked, or no longer ``sending``. A worker
  killed mid-send drops its connection, the lock goes with it, and the reaper returns the row to ``pending`` with
  one more attempt; after REMINDER_MAX_ATTEMPTS it is ``failed`` and shown to front desk, who may resend it.
- A failure is retried only when the message certainly did not arrive (``channels``): when the whole message
  reached the mail server (or the SMS provider) and its answer did not come back, it may have been delivered, so
  the reminder is ``failed`` at once with a reason that says so, and never sent again without a person deciding to.

A reminder about an appointment that was cancelled, moved or has started is not sent (it is marked cancelled
with a ``skipped`` delivery), except the cancellation notice itself.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.celery import app
from scheduling.errors import InvalidTransition
from scheduling.models import Appointment, Reminder, ReminderDelivery
from scheduling.reminders.channels import (
    CONTACT,
    DeliveryFailed,
    DeliveryRefused,
    DeliveryUncertain,
    send_email,
    send_sms,
)
from scheduling.reminders.plan import (
    CANCELLATION,
    CONFIRMATION,
    UPDATE,
    QuietHours,
    ReminderOffset,
    plan_reminders,
)

logger = logging.getLogger(__name__)

SENDABLE_APPOINTMENT = (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED)
# Enqueued by name: the task (scheduling.tasks) calls this module's deliver_reminders, so this module does not
# import it. The task registers under this name.
SEND_TASK = "scheduling.tasks.send_reminders"


# --- Settings ---------------------------------------------------------------------------------------------------


def reminder_offsets(in_force: Mapping[str, Any] | None = None) -> list[ReminderOffset]:
    offsets = (in_force or policies.in_force())["REMINDER_OFFSETS"]
    return [ReminderOffset.parse(text) for text in offsets if text.strip()]


def quiet_hours(in_force: Mapping[str, Any] | None = None) -> QuietHours:
    starts, ends = (in_force or policies.in_force())["REMINDER_QUIET_HOURS"].split("-")
    return QuietHours(starts=time.fromisoformat(starts.strip()), ends=time.fromisoformat(ends.strip()))


def max_attempts() -> int:
    return int(getattr(settings, "REMINDER_MAX_ATTEMPTS", 5))


def stuck_after() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "REMINDER_STUCK_SECONDS", 600)))


def retry_backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 ... minutes after each failed attempt, at most an hour."""
    base = int(getattr(settings, "REMINDER_RETRY_BASE_SECONDS", 60))
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def channels_for(patient, in_force: Mapping[str, Any] | None = None) -> list[str]:
    """Email and/or SMS as the patient chose; SMS only with recorded consent and a number, and only while the
    clinic sends text messages (the REMINDER_SMS policy): otherwise a patient who chose text alone gets email, so
    no one is left without reminders. ``in_force``: the policies already read for this change."""
    chosen = patient.reminder_channel
    sms_on = (in_force or policies.in_force())["REMINDER_SMS"]
    channels = []
    if (chosen in ("email", "both") or (chosen == "sms" and not sms_on)) and patient.email:
        channels.append(Reminder.Channel.EMAIL)
    if sms_on and chosen in ("sms", "both") and patient.sms_consent_at and patient.phone:
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

    return Reminder.objects.bulk_create(
        _planned_rows(
            appointment, patient=appointment.patient, now=now, sequence=sequence, first_kind=first_kind
        )
    )


def new_booking_reminders(appointment: Appointment, *, patient, now: datetime) -> list[Reminder]:
    """The reminder rows of an appointment booked in this transaction (no rows of its own yet), unsaved: the
    booking writes them in the same statement as the appointment. The plan is ``plan_reminders_for``'s for a new
    appointment, from ``patient`` as the booking read it."""
    return _planned_rows(appointment, patient=patient, now=now, sequence=0, first_kind=CONFIRMATION)


def _planned_rows(
    appointment: Appointment, *, patient, now: datetime, sequence: int, first_kind: str
) -> list[Reminder]:
    """The rows of one plan version, unsaved. The policies are read once (one cache read) for all three."""
    in_force = policies.in_force()
    planned = plan_reminders(
        start=appointment.start_at,
        booked_at=now,
        now=now,
        tz=appointment.location.tz,
        channels=channels_for(patient, in_force),
        offsets=reminder_offsets(in_force),
        quiet=quiet_hours(in_force),
    )
    return [
        Reminder(
            appointment=appointment,
            channel=item.channel,
            kind=first_kind if item.kind == CONFIRMATION else item.kind,
            sequence=sequence,
            planned_start_at=appointment.start_at,
            due_at=item.due_at,
        )
        for item in planned
    ]


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


def send_batches(ids: list[int], *, together: Mapping[int, int] | None = None) -> list[list[int]]:
    """``ids`` in batches; ids that share a key in ``together`` (the booking confirmations of one series, which go
    out as one email) stay in one batch, side by side, so the first of them to be sent carries the others."""
    size = max(1, min(SEND_BATCH, math.ceil(len(ids) / SPREAD_OVER)))
    groups: dict[tuple[str, int], list[int]] = {}
    for pk in ids:
        key = ("series", together[pk]) if together and pk in together else ("one", pk)
        groups.setdefault(key, []).append(pk)
    batches: list[list[int]] = []
    batch: list[int] = []
    for group in groups.values():
        if batch and len(batch) + len(group) > size:
            batches.append(batch)
            batch = []
        batch.extend(group)
    if batch:
        batches.append(batch)
    return batches


@transaction.atomic
def sweep_due_reminders(*, now: datetime, limit: int = 500) -> list[int]:
    """Claim due reminders (SKIP LOCKED: two beats never claim the same row) and enqueue their sends in batches."""
    reap_stuck_reminders(now=now)
    ids = list(
        Reminder.objects.select_for_update(skip_locked=True)
        .filter(status=Reminder.Status.PENDING, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    if ids:
        Reminder.objects.filter(pk__in=ids).update(status=Reminder.Status.SENDING, claimed_at=now)
        together = dict(
            Reminder.objects.filter(
                pk__in=ids,
                channel=Reminder.Channel.EMAIL,
                kind=CONFIRMATION,
                appointment__series__isnull=False,
            ).values_list("pk", "appointment__series_id")
        )
        batches = send_batches(ids, together=together)
        transaction.on_commit(lambda: _enqueue(app.signature(SEND_TASK), batches))
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


def _skip_reason(reminder: Reminder, appointment: Appointment, now: datetime) -> str:
    if reminder.kind == CANCELLATION:
        return ""
    if appointment.status not in SENDABLE_APPOINTMENT:
        return f"The appointment is {appointment.get_status_display().lower()}."
    if appointment.start_at != reminder.planned_start_at:
        return "The appointment was moved."
    if now >= appointment.start_at:
        return "The appointment has started."
    if reminder.channel == Reminder.Channel.SMS and appointment.patient.sms_consent_at is None:
        return "The patient has stopped text messages."
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
        siblings = _series_siblings(reminder, appointment, now=now)
        try:
            if reminder.channel == Reminder.Channel.EMAIL:
                provider_id = send_email(reminder, now=now, series_siblings=siblings)
            else:
                provider_id = send_sms(reminder)
        except DeliveryUncertain as exc:
            _record(
                reminder, now, ReminderDelivery.Outcome.GAVE_UP, error=str(exc),
                status=Reminder.Status.FAILED, attempts=attempts, claimed_at=None, last_error=exc.what[:500],
                siblings=siblings,
            )  # fmt: skip
            logger.error("reminder %s: outcome unknown, not retried: %s", reminder.pk, exc.detail)
            return "uncertain"
        except DeliveryRefused as exc:
            error = f"{exc} It was not delivered and will not be tried again: check the patient's "
            error += f"{CONTACT[reminder.channel]}, then send it again."
            _record(
                reminder, now, ReminderDelivery.Outcome.GAVE_UP, error=error,
                status=Reminder.Status.FAILED, attempts=attempts, claimed_at=None, last_error=error[:500],
                siblings=siblings,
            )  # fmt: skip
            logger.warning("reminder %s refused: %s", reminder.pk, exc)
            return "refused"
        except Exception as exc:  # noqa: BLE001 (DeliveryFailed, or anything that broke before the message left)
            gave_up = attempts >= max_attempts()
            error = str(exc) if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}"
            error += f" Gave up after {attempts} attempts." if gave_up else " It will be tried again."
            _record(
                reminder, now,
                ReminderDelivery.Outcome.GAVE_UP if gave_up else ReminderDelivery.Outcome.FAILED,
                error=error, status=Reminder.Status.FAILED if gave_up else Reminder.Status.PENDING,
                attempts=attempts, due_at=reminder.due_at if gave_up else now + retry_backoff(attempts),
                claimed_at=None, last_error=error[:500], siblings=siblings,
            )  # fmt: skip
            logger.warning("reminder %s attempt %s failed: %s", reminder.pk, attempts, error)
            return ReminderDelivery.Outcome.GAVE_UP if gave_up else ReminderDelivery.Outcome.FAILED
        _record(
            reminder, now, ReminderDelivery.Outcome.SENT, provider_id=provider_id[:200],
            status=Reminder.Status.SENT, sent_at=now, attempts=attempts, last_error="", siblings=siblings,
        )  # fmt: skip
        return "sent"


def _series_siblings(reminder: Reminder, appointment: Appointment, *, now: datetime) -> list[Reminder]:
    """The other sessions' booking confirmations of the series this confirmation belongs to, still to be sent,
    locked for this send (SKIP LOCKED: a row another delivery holds is sent by that one). They go out in this
    reminder's email, one calendar file each, and share its outcome: a series booked in one go is one email.

    Only rows not yet sent (``pending`` or ``sending``) of sessions still booked at the time they were planned for:
    a confirmation that failed waits for front desk, as any other."""
    if (
        reminder.channel != Reminder.Channel.EMAIL
        or reminder.kind != CONFIRMATION
        or not appointment.series_id
    ):
        return []
    return list(
        _with_content(Reminder.objects.select_for_update(skip_locked=True, of=("self",)))
        .filter(
            appointment__series_id=appointment.series_id,
            appointment__status__in=SENDABLE_APPOINTMENT,
            appointment__start_at=F("planned_start_at"),
            appointment__start_at__gt=now,
            channel=Reminder.Channel.EMAIL,
            kind=CONFIRMATION,
            status__in=[Reminder.Status.PENDING, Reminder.Status.SENDING],
        )
        .exclude(pk=reminder.pk)
        .order_by("appointment__start_at", "pk")
    )


def _record(
    reminder: Reminder,
    now: datetime,
    outcome: str,
    *,
    error: str = "",
    provider_id: str = "",
    siblings: list[Reminder] | None = None,
    **changes,
) -> None:
    """The attempt's outcome in one statement: the row's new state, compare-and-swap on `sending` (only the holder
    of the claim writes it), and its line in the delivery log. ``siblings`` (``_series_siblings``, locked by this
    delivery) rode in the same email, so they get the same outcome, each with its own line in the log."""
    if provider_id:
        changes["provider_id"] = provider_id
    if siblings:
        Reminder.objects.filter(pk__in=[row.pk for row in siblings]).update(
            **{**changes, "attempts": F("attempts") + 1} if "attempts" in changes else changes
        )
        ReminderDelivery.objects.bulk_create(
            ReminderDelivery(
                reminder_id=row.pk,
                appointment_id=row.appointment_id,
                attempted_at=now,
                channel=row.channel,
                kind=row.kind,
                outcome=outcome,
                provider_id=provider_id[:200],
                error=error[:500],
            )  # fmt: skip
            for row in siblings
        )
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
    # The reminder's row alone: a move locks its appointment and then its reminders, so locking both here, in the
    # other order, could deadlock with it.
    reminder = (
        Reminder.objects.select_for_update(of=("self",)).select_related("appointment").get(pk=reminder.pk)
    )
    if reminder.status != Reminder.Status.FAILED:
        raise InvalidTransition(_("Only a reminder that failed can be sent again."))
    if _skip_reason(reminder, reminder.appointment, now):
        raise InvalidTransition(_("This appointment was cancelled, moved or has started: nothing to resend."))
    reminder.status = Reminder.Status.PENDING
    reminder.due_at = now
    reminder.attempts = 0
    reminder.last_error = ""
    reminder.save(update_fields=["status", "due_at", "attempts", "last_error"])
    return reminder
