"""Thin tasks: they take ids, re-read state and call a service (engineering guide 1)."""

from celery import shared_task


@shared_task(acks_late=True)
def send_waitlist_offer_email(entry_id: int) -> None:
    from scheduling import services

    services.deliver_waitlist_offer(entry_id=entry_id)


@shared_task(acks_late=True)
def sweep_reminders() -> int:
    """Celery beat, every minute: reap stuck reminders, claim the due ones, enqueue one send each."""
    from django.utils import timezone

    from scheduling import reminders

    return len(reminders.sweep_due_reminders(now=timezone.now()))


@shared_task(acks_late=True)
def send_reminder(reminder_id: int) -> str:
    from scheduling import reminders

    return reminders.deliver_reminder(reminder_id=reminder_id)
