"""Getting in: invitations the front desk sends, the patient accepting one (choosing a password), and
self-registration where the clinic allows it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from clinic import policies
from clinic.models import User
from clinic.roles import Role, assign_role
from intake.errors import IntakeError
from intake.models import Invitation, Patient

INVITATION_SALT = "intake.invitation"


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"n": invitation.nonce}, salt=INVITATION_SALT, compress=True)


def invitation_link(invitation: Invitation) -> str:
    """The link the invitation email carries."""
    return settings.SITE_URL + reverse("intake:accept_invitation", args=[invitation_token(invitation)])


@transaction.atomic
def invite_patient(
    *,
    created_by: User | None,
    legal_first_name: str,
    legal_last_name: str,
    email: str,
    date_of_birth=None,
    location=None,
    now: datetime,
) -> Invitation:
    """Create (or find) the patient and email them a signed, single-use invitation that expires."""
    email = email.strip().lower()
    patient = Patient.objects.filter(email__iexact=email).first()
    if patient is not None and patient.user_id is not None:
        raise IntakeError(
            _("This email address already has an account. The patient can sign in or reset their password.")
        )
    if patient is None:
        patient = Patient.objects.create(
            legal_first_name=legal_first_name.strip(),
            legal_last_name=legal_last_name.strip(),
            email=email,
            date_of_birth=date_of_birth,
            location=location,
            created_at=now,
        )
    invitation = Invitation.objects.create(
        patient=patient,
        email=email,
        nonce=secrets.token_hex(16),
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(days=settings.INTAKE_INVITATION_DAYS),
    )

    from intake.tasks import send_invitation_email  # the tasks import this module

    transaction.on_commit(lambda: send_invitation_email.delay(invitation.pk))
    return invitation


@dataclass(frozen=True)
class InvitationCheck:
    invitation: Invitation | None
    problem: str  # empty when the invitation can be used


def check_invitation(*, token: str, now: datetime) -> InvitationCheck:
    try:
        nonce = signing.loads(token, salt=INVITATION_SALT)["n"]
    except (signing.BadSignature, KeyError, TypeError):
        return InvitationCheck(None, "This invitation link is not valid. Please check you copied all of it.")
    invitation = Invitation.objects.select_related("patient").filter(nonce=nonce).first()
    if invitation is None:
        return InvitationCheck(None, "This invitation link is not valid. Please check you copied all of it.")
    if invitation.accepted_at is not None:
        return InvitationCheck(invitation, "This invitation has been used already. Please sign in instead.")
    if invitation.revoked_at is not None:
        return InvitationCheck(
            invitation,
            _("The clinic has withdrawn this invitation. Please ask the clinic to send a new one."),
        )
    if invitation.expires_at <= now:
        return InvitationCheck(
            invitation, "This invitation has expired. Please ask the clinic to send a new one."
        )
    return InvitationCheck(invitation, "")


@transaction.atomic
def accept_invitation(*, token: str, password: str, now: datetime) -> User:
    """Create the patient's account from a valid invitation; following the emailed link verifies the email."""
    checked = check_invitation(token=token, now=now)
    if checked.problem:
        raise IntakeError(checked.problem)
    assert checked.invitation is not None  # no problem: the invitation was found
    invitation = Invitation.objects.select_for_update().get(pk=checked.invitation.pk)
    if invitation.accepted_at is not None:  # a second tab won the race
        raise IntakeError(_("This invitation has been used already. Please sign in instead."))
    patient = Patient.objects.select_for_update().get(pk=invitation.patient_id)
    if patient.user_id is not None:
        raise IntakeError(_("This email address already has an account. Please sign in instead."))
    user = User(email=invitation.email, full_name=patient.full_name)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    assign_role(user=user, role=Role.PATIENT)
    patient.user = user
    patient.email_verified_at = now
    patient.save(update_fields=["user", "email_verified_at"])
    invitation.accepted_at = now
    invitation.save(update_fields=["accepted_at"])
    return user


def open_invitation(patient: Patient, *, now: datetime) -> Invitation | None:
    """The patient's invitation that still works (not used, withdrawn or expired), newest first; None if none."""
    return (
        Invitation.objects.filter(
            patient=patient, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        )
        .order_by("-created_at", "-pk")
        .first()
    )


@transaction.atomic
def resend_invitation(*, patient: Patient, sent_by: User, now: datetime) -> Invitation:
    """Email the patient a fresh invitation, to the address on their record; the older links stop working, so
    only the newest one can create the account."""
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    if patient.user_id is not None:
        raise IntakeError(_("This patient already has an account: they can sign in or reset their password."))
    if not patient.email:
        raise IntakeError(_("This patient's record has no email address to send the invitation to."))
    Invitation.objects.filter(patient=patient, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=sent_by
    )
    return invite_patient(
        created_by=sent_by,
        legal_first_name=patient.legal_first_name,
        legal_last_name=patient.legal_last_name,
        email=patient.email,
        now=now,
    )


@transaction.atomic
def revoke_invitations(*, patient: Patient, revoked_by: User, now: datetime) -> int:
    """Withdraw every open invitation of the patient (sent to a wrong address, say): the links stop working at
    once. Returns how many were withdrawn; none open is a refusal, so the page never claims what did not happen."""
    withdrawn = Invitation.objects.filter(
        patient=patient, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(revoked_at=now, revoked_by=revoked_by)
    if not withdrawn:
        raise IntakeError(_("This patient has no invitation that still works."))
    return withdrawn


@transaction.atomic
def register_patient(
    *, legal_first_name: str, legal_last_name: str, email: str, date_of_birth, now: datetime
) -> None:
    """Self-registration (when the clinic allows it). It answers the same whether or not the email is known, so
    the page cannot be used to find out who is a patient; a known patient gets a sign-in reminder instead."""
    if not policies.value("INTAKE_SELF_REGISTRATION"):
        raise IntakeError(_("This clinic does not take online registrations. Please call the clinic."))
    existing = Patient.objects.filter(email__iexact=email).first()
    if existing is not None and existing.user_id is not None:
        from intake.tasks import send_account_exists_email  # the tasks import this module

        transaction.on_commit(lambda: send_account_exists_email.delay(existing.pk))
        return
    invite_patient(
        created_by=None,
        legal_first_name=legal_first_name,
        legal_last_name=legal_last_name,
        email=email,
        date_of_birth=date_of_birth,
        now=now,
    )
