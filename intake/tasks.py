"""Thin tasks: they take ids, re-read state and call a service. Enqueued with transaction.on_commit."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_invitation_email(self, invitation_id: int) -> None:
    from intake.models import Invitation
    from intake.services import invitation_token

    invitation = Invitation.objects.select_related("patient").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        return
    context = {
        "patient": invitation.patient,
        "link": settings.SITE_URL + reverse("intake:accept_invitation", args=[invitation_token(invitation)]),
        "expires_at": invitation.expires_at,
        "clinic_name": settings.CLINIC_NAME,
    }
    message = EmailMultiAlternatives(
        subject=f"Your invitation to {settings.CLINIC_NAME}",
        body=render_to_string("intake/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("intake/email/invitation.html", context), "text/html")
    message.send()


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_account_exists_email(self, patient_id: int) -> None:
    from intake.models import Patient

    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        return
    context = {"link": settings.SITE_URL + reverse("login"), "clinic_name": settings.CLINIC_NAME}
    EmailMultiAlternatives(
        subject=f"You already have an account at {settings.CLINIC_NAME}",
        body=render_to_string("intake/email/account_exists.txt", context),
        to=[patient.email],
    ).send()


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=120, max_retries=10)
def notify_urgent_alert(self, alert_id: int) -> None:
    """Tell the on-call clinicians about a positive suicide-risk screen (initials and a sign-in link only)."""
    from intake.alerts import notify_on_call

    notify_on_call(alert_id=alert_id)


# --- Clinician review ---------------------------------------------------------------------------------------------


@shared_task(expires=55)
def sweep_urgent_alerts() -> dict[str, int]:
    """Every minute (Celery beat): re-send lost urgent-alert notifications and escalate overdue alerts to the
    clinic admins. Expires before the next run, so a stopped worker does not find a pile of sweeps waiting."""
    from django.utils import timezone

    from intake.alerts import sweep_urgent_alerts as sweep

    return sweep(now=timezone.now())


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_information_request_email(self, decision_id: int) -> None:
    """Tell the patient a clinician needs more from them: a sign-in link only, the question is in the portal."""
    from intake.models import EligibilityDecision

    decision = EligibilityDecision.objects.select_related("patient").filter(pk=decision_id).first()
    if decision is None or decision.outcome != EligibilityDecision.Outcome.MORE_INFO_NEEDED:
        return
    context = {
        "link": settings.SITE_URL + reverse("intake:portal"),
        "clinic_name": settings.CLINIC_NAME,
        "crisis_text": settings.CLINIC_CRISIS_TEXT,
    }
    EmailMultiAlternatives(
        subject=f"{settings.CLINIC_NAME} has a question about your intake",
        body=render_to_string("review/email/information_request.txt", context),
        to=[decision.patient.email],
    ).send()
