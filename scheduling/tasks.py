"""Thin tasks: they take ids, re-read state and call a service (engineering guide 1)."""

from celery import shared_task


@shared_task(acks_late=True)
def send_waitlist_offer_email(entry_id: int) -> None:
    from scheduling import services

    services.deliver_waitlist_offer(entry_id=entry_id)
