"""The clinic told of a patient's consent withdrawal, with the sessions already booked that need the consent:
front desk calls the patient about them (nothing is cancelled silently). Intake records the withdrawal and enqueues
this by name (it sits below scheduling)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.local_time import format_day, format_local
from clinic.models import User
from clinic.roles import Role, emails_of_role
from intake.models import ConsentKind, ConsentRecord
from scheduling import access, selectors

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
    sessions = selectors.sessions_needing_consent(record.patient_id, record.kind, now=now or timezone.now())
    location_ids = {s.location_id for s in sessions} | {record.patient.location_id} - {None}
    recipients = sorted(set(emails_of_role(Role.CLINIC_ADMIN)) | set(_front_desk_emails(location_ids)))
    if not recipients:
        logger.error("Consent withdrawal %s: nobody to tell.", record.pk)
        return False
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


def _front_desk_emails(location_ids: set[int]) -> list[str]:
    """The active front desk who work at one of ``location_ids``: those assigned there, and, when the clinic does
    not restrict staff to their locations, those assigned nowhere (they work at every location). Front desk of
    other locations are not told of this patient."""
    works_there = Q(front_desk_assignments__location__in=location_ids)
    if not access.restricts_to_locations():
        works_there |= Q(front_desk_assignments__isnull=True)
    return sorted(
        set(
            User.objects.filter(
                works_there, is_active=True, groups__name=Role.FRONT_DESK.group_name
            ).values_list("email", flat=True)
        )
    )
