"""Thin tasks: they take ids, re-read state and call a service. Enqueued with transaction.on_commit."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from clinic import policies
from intake.invitations import invitation_link
from intake.models import Invitation, Patient


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_invitation_email(self, invitation_id: int) -> None:

    invitation = Invitation.objects.select_related("patient").filter(pk=invitation_id).first()
    if invitation is None or invitation.accepted_at is not None:
        return
    context = {
        "patient": invitation.patient,
        "link": invitation_link(invitation),
        "expires_at": invitation.expires_at,
        "clinic_name": policies.value("CLINIC_NAME"),
    }
    message = EmailMultiAlternatives(
        subject=f"Your invitation to {policies.value('CLINIC_NAME')}",
        body=render_to_string("intake/email/invitation.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("intake/email/invitation.html", context), "text/html")
    message.send()


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, retry_backoff_max=600, max_retries=8)
def send_account_exists_email(self, patient_id: int) -> None:

    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        return
    context = {"link": settings.SITE_URL + reverse("login"), "clinic_name": policies.value("CLINIC_NAME")}
    EmailMultiAlternatives(
        subject=f"You already have an account at {policies.value('CLINIC_NAME')}",
        body=render_to_string("intake/email/account_exists.txt", context),
        to=[patient.email],
    ).send()
