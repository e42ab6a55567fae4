"""Review's tasks: thin, they take ids, re-read state and call a service. Intake enqueues the urgent-alert one by
name (``intake.services.NOTIFY_URGENT_ALERT_TASK``), since intake does not import review."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from clinic import policies
from intake.models import EligibilityDecision
from review import alerts


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=120, max_retries=10)
def notify_urgent_alert(self, alert_id: int) -> None:
    """Tell the on-call clinicians about a positive suicide-risk screen (initials and a sign-in link only)."""
    alerts.notify_on_call(alert_id=alert_id)


@shared_task(expires=55)
def sweep_urgent_alerts() -> dict[str, int]:
    """Every minute (Celery beat): re-send lost urgent-alert notifications and escalate overdue alerts to the
    clinic admins. Expires before the next run, so a stopped worker does not find a pile of sweeps waiting."""
    return alerts.sweep_urgent_alerts(now=timezone.now())


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_information_request_email(self, decision_id: int) -> None:
    """Tell the patient a clinician needs more from them: a sign-in link only, the question is in the portal."""
    decision = EligibilityDecision.objects.select_related("patient").filter(pk=decision_id).first()
    if decision is None or decision.outcome != EligibilityDecision.Outcome.MORE_INFO_NEEDED:
        return
    context = {
        "link": settings.SITE_URL + reverse("portal:home"),
        "clinic_name": policies.value("CLINIC_NAME"),
        "crisis_text": policies.value("CLINIC_CRISIS_TEXT"),
    }
    EmailMultiAlternatives(
        subject=f"{policies.value('CLINIC_NAME')} has a question about your intake",
        body=render_to_string("review/email/information_request.txt", context),
        to=[decision.patient.email],
    ).send()
