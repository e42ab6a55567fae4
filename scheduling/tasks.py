"""Thin tasks: they take ids, re-read state and call a service (engineering guide 1).

The services enqueue these by name, once their change has committed (``SEND_OFFER_TASK``, ``SEND_TASK``,
``TELL_ADMINS_TASK``, ``TELL_CLINIC_OF_DOSE_TASK``): this module imports them, so they do not import it. The names are declared here too, so a
renamed task cannot drift from the name its service sends. The beat schedule is in clinic/settings.py.
"""

from celery import shared_task
from celery.signals import worker_process_shutdown, worker_shutdown
from django.utils import timezone

from intake.consent.services import TELL_CLINIC_OF_WITHDRAWAL_TASK
from scheduling import access, reminders, services
from scheduling.reminders.outbox import SEND_TASK
from scheduling.services import consent
from scheduling.services.waitlist import SEND_OFFER_TASK


@shared_task(name=SEND_OFFER_TASK, acks_late=True)
def send_waitlist_offer_email(entry_id: int) -> None:
    services.deliver_waitlist_offer(entry_id=entry_id)


@shared_task(acks_late=True)
def sweep_reminders() -> int:
    """Celery beat, every minute: reap stuck reminders, claim the due ones, enqueue their sends in batches."""
    return len(reminders.sweep_due_reminders(now=timezone.now()))


@shared_task(name=SEND_TASK, acks_late=True)
def send_reminders(reminder_ids: list[int]) -> dict[str, int]:
    """A batch of claimed reminders (scheduling.reminders.send_batches), each sent at most once."""
    return reminders.deliver_reminders(reminder_ids=reminder_ids)


@shared_task(acks_late=True)
def send_reminder(reminder_id: int) -> str:
    """One claimed reminder: kept for task messages queued before the sweep sent batches."""
    return reminders.deliver_reminder(reminder_id=reminder_id)


@shared_task(
    name=access.TELL_ADMINS_TASK,
    bind=True,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def tell_admins_of_break_glass(self, access_id: int) -> bool:
    """Email the clinic admins that a clinician opened a patient of another location in an emergency (once)."""
    return access.tell_clinic_admins(access_id=access_id)


@shared_task(
    name=services.TELL_CLINIC_OF_DOSE_TASK,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def tell_clinic_of_dose_flags(record_id: int) -> bool:
    """Email the clinic that a dose given departs from its checked plan (once)."""
    return services.tell_clinic_of_dose_flags(record_id=record_id)


@shared_task(
    name=TELL_CLINIC_OF_WITHDRAWAL_TASK,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
)
def tell_clinic_of_consent_withdrawal(record_id: int) -> bool:
    """Email the clinic that a patient withdrew a consent, with the sessions still booked that need it."""
    return consent.tell_clinic_of_consent_withdrawal(record_id=record_id)


@worker_process_shutdown.connect  # a prefork pool's child process
@worker_shutdown.connect  # the worker itself (where a solo pool runs its tasks)
def _close_reminder_mail_connection(**kwargs) -> None:
    """A worker process keeps its SMTP connection open between reminders: close it (QUIT) when the process ends."""
    reminders.close_mail_connection()
