"""The clinic told of a patient's consent withdrawal, with the sessions already booked that need the consent:
front desk calls the patient about them (nothing is cancelled silently). Intake records the withdrawal and enqueues
this by name (it sits below scheduling)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.local_time import format_day, format_local
from clinic.roles import Role, emails_of_role
from intake.models import ConsentKind, ConsentRecord
from scheduling import selectors

logger = logging.getLogger(__name__)


def tell_clinic_of_consent_withdrawal(*, record_id: int, now: datetime | None = None) -> bool:
    """Email the clinic admins and front desk that a patient withdrew a consent; True when sent. The email names
    the patient by initials, the document and the sessions still booked that need it, and links to the patient's
    page (sign-in needed)."""
    record = (
        ConsentRecord.objects.select_related("patient")
        .filter(pk=record_id, action=ConsentRecord.Action.WITHDRAWN)
        .first()
    )
    if record is None:
        return False
    recipients = sorted(set(emails_of_role(Role.CLINIC_ADMIN)) | set(emails_of_role(Role.FRONT_DESK)))
    if not recipients:
        logger.error("Consent withdrawal %s: nobody to tell.", record.pk)
        return False
    sessions = selectors.sessions_needing_consent(record.patient_id, record.kind, now=now or timezone.now())
    document = str(ConsentKind(record.kind).label)
    context = {
        "initials": record.patient.initials,
        "document": document,
        "day": format_day(record.agreed_at),
        "sessions": [
            f"{format_local(s.start_at, s.location)}, {s.treatment_type.label} at {s.location.name}"
            for s in sessions
        ],
        "link": settings.SITE_URL + reverse("scheduling:patient_detail", args=[record.patient_id]),
        "clinic_name": policies.value("CLINIC_NAME"),
    }
    send_mail(
        subject=_("Consent withdrawn: %(document)s (%(initials)s)")
        % {"document": document, "initials": record.patient.initials},
        message=render_to_string("scheduling/email/consent_withdrawn.txt", context),
        from_email=None,
        recipient_list=recipients,
    )
    return True
