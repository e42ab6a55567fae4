"""Urgent suicide-risk alerts: who is told, and how. (The clinician-review issue adds acknowledgement and
escalation.)"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from intake.models import UrgentAlert


def notify_on_call(*, alert_id: int) -> None:
    """Email every on-call clinician once. The message has initials and a link that needs sign-in: no clinical
    detail leaves the app."""
    from scheduling.models import Clinician

    with transaction.atomic():
        alert = UrgentAlert.objects.select_for_update().select_related("patient").filter(pk=alert_id).first()
        if alert is None or alert.notified_at is not None or alert.acknowledged_at is not None:
            return
        recipients = list(
            Clinician.objects.filter(is_on_call=True, user__is_active=True).values_list(
                "user__email", flat=True
            )
        )
        if recipients:
            send_mail(
                subject=f"Urgent: a patient screening needs review ({alert.patient.initials})",
                message=(
                    f"A patient ({alert.patient.initials}) has a screening result that needs a clinician now.\n\n"
                    f"Sign in to review and acknowledge it: {settings.SITE_URL}{reverse('home')}\n"
                ),
                from_email=None,
                recipient_list=recipients,
            )
        alert.notified_at = timezone.now()
        alert.save(update_fields=["notified_at"])
