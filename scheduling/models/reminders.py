"""Reminders: the outbox (engineering guide section 3), its delivery log and the single-use links."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from scheduling.models.appointments import Appointment


class Reminder(models.Model):
    """One message to send about one appointment: a row written in the same transaction as the booking change.

    ``sequence`` is the appointment's plan version: 0 at booking, one more at each reschedule and at the
    cancellation. It is the .ics SEQUENCE, so a calendar replaces the old event with the update. A reminder
    is unique per (appointment, channel, kind) within a plan version; the old version's rows stay, cancelled,
    as the record of what was planned. (A row of an old version still being sent when the appointment moved
    is left to its sender, which skips it: the services never wait on a row a worker holds.)
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("Text message")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    kind = models.CharField(
        max_length=20, help_text=_("confirmation, update, cancellation, or an offset: 72h, 24h, 2h")
    )
    sequence = models.PositiveIntegerField(default=0)
    planned_start_at = models.DateTimeField(
        help_text=_("The appointment start this reminder was planned for.")
    )
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["due_at"], name="reminder_pending_due_idx", condition=Q(status="pending")),
            models.Index(fields=["claimed_at"], name="reminder_sending_idx", condition=Q(status="sending")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["appointment", "channel", "kind", "sequence"], name="reminder_one_per_kind_per_plan"
            ),
            models.CheckConstraint(condition=Q(channel__in=["email", "sms"]), name="reminder_channel_known"),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="reminder_sending_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False), name="reminder_sent_has_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.channel} reminder for appointment {self.appointment_id} ({self.status})"


class ReminderDelivery(models.Model):
    """One attempt to send a reminder, whatever came of it: the delivery log front desk sees."""

    class Outcome(models.TextChoices):
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed, will retry")
        GAVE_UP = "gave_up", _("Failed, gave up")
        SKIPPED = "skipped", _("Not sent (appointment changed)")

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="deliveries")
    # Denormalised so an appointment's page reads its whole log in one query.
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminder_deliveries")
    attempted_at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Reminder.Channel.choices)
    kind = models.CharField(max_length=20)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    provider_id = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name_plural = _("reminder deliveries")
        ordering = ["-attempted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.reminder} at {self.attempted_at:%Y-%m-%d %H:%M} UTC: {self.outcome}"


class ReminderLinkUse(models.Model):
    """A confirm or cancel link that was used: the unique key is what makes each link single use."""

    reminder = models.ForeignKey(Reminder, on_delete=models.CASCADE, related_name="link_uses")
    action = models.CharField(max_length=20)
    used_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["reminder", "action"], name="reminder_link_single_use")
        ]

    def __str__(self) -> str:
        return f"{self.action} link of reminder {self.reminder_id}, used {self.used_at:%Y-%m-%d %H:%M} UTC"
