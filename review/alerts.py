"""Urgent suicide-risk alerts: who is told, how a clinician acknowledges one, and escalation when nobody does.

A high C-SSRS risk or a PHQ-9 item 9 of 1 or more (at intake or any re-screen) creates one alert
(``intake.services``). Then:

1. ``notify_on_call`` emails the on-call clinicians at once (a Celery task enqueued on commit). With nobody on
   call it emails every active clinician, and with no clinician at all, the clinic admins: an alert is never
   dropped for want of a recipient.
2. A clinician acknowledges it with a note of what was done (``acknowledge_alert``); until then it heads every
   review page.
3. ``sweep_urgent_alerts`` runs every minute from Celery beat. It re-sends a notification whose task was lost
   (Redis down at the time of the screening), and escalates to the clinic admins, once, every alert still
   unacknowledged ``REVIEW_ALERT_ESCALATION_MINUTES`` after it was raised.

Emails carry the patient's initials and a link that needs sign-in: no clinical detail leaves the app.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.models import User
from clinic.roles import Role, emails_of_role
from intake.models import UrgentAlert
from scheduling.access import restricts_to_locations
from scheduling.models import Clinician
from scheduling.sms import SmsError, get_sms_backend

logger = logging.getLogger(__name__)

# A notification task that has not run this long after the screening is taken as lost and sent by the sweep.
NOTIFICATION_GRACE = timedelta(minutes=2)


class AlertError(Exception):
    """An acknowledgement that cannot be recorded as given; the message says why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def escalation_delay() -> timedelta:
    return timedelta(minutes=int(policies.value("REVIEW_ALERT_ESCALATION_MINUTES")))


# --- Who is told ------------------------------------------------------------------------------------------------


def on_call_emails(patient) -> list[str]:
    """On-call clinicians (those of the patient's location first, when locations are restricted); failing that,
    the clinicians of the patient's location (when restricted), then everyone with the clinician role; failing
    that, the clinic admins."""
    clinicians = Clinician.objects.filter(user__is_active=True)
    candidates = [clinicians.filter(is_on_call=True)]
    if restricts_to_locations() and patient.location_id:
        candidates.insert(0, clinicians.filter(is_on_call=True, locations=patient.location_id))
        candidates.append(clinicians.filter(locations=patient.location_id))
    for queryset in candidates:
        emails = sorted(set(queryset.values_list("user__email", flat=True)))
        if emails:
            return emails
    staff = emails_of_role(Role.CLINICIAN)
    if staff:
        return staff
    logger.error(
        "Urgent alert for patient %s: no clinician to notify; telling the clinic admins.", patient.pk
    )
    return emails_of_role(Role.CLINIC_ADMIN)


def _email(*, template: str, alert: UrgentAlert, recipients: list[str], subject: str) -> None:
    context = {
        "initials": alert.patient.initials,
        "link": settings.SITE_URL + reverse("review:alerts"),
        "clinic_name": policies.value("CLINIC_NAME"),
        "minutes": int(escalation_delay().total_seconds() // 60),
    }
    send_mail(
        subject=subject,
        message=render_to_string(template, context),
        from_email=None,
        recipient_list=recipients,
    )


def notify_on_call(*, alert_id: int, now: datetime | None = None) -> bool:
    """Email the on-call clinicians once; True when this call sent it. An acknowledged alert is not sent."""
    with transaction.atomic():
        alert = UrgentAlert.objects.select_for_update().select_related("patient").filter(pk=alert_id).first()
        if alert is None or alert.notified_at is not None or alert.acknowledged_at is not None:
            return False
        recipients = on_call_emails(alert.patient)
        if recipients:
            # Sent while the row is locked: a second copy of the task waits, then sees notified_at and stops.
            _email(
                template="review/email/urgent_alert.txt",
                alert=alert,
                recipients=recipients,
                subject=f"Urgent: a patient screening needs a clinician now ({alert.patient.initials})",
            )
            _text(alert, recipients)
        alert.notified_at = now or timezone.now()
        alert.save(update_fields=["notified_at"])
        return bool(recipients)


def _text(alert: UrgentAlert, emails: list[str]) -> None:
    """Also text the people just emailed who gave a mobile number (staff accounts): initials and a sign-in link,
    one SMS segment, no clinical detail. The email has gone already, so a refused text is logged, not retried."""

    phones = (
        User.objects.filter(email__in=emails, is_active=True)
        .exclude(mobile_phone="")
        .values_list("pk", "mobile_phone")
    )
    body = f"{policies.value('CLINIC_NAME')}: urgent, a patient ({alert.patient.initials}) needs a clinician now. Sign in: {settings.SITE_URL}{reverse('review:alerts')}"
    for user_id, phone in phones:
        try:
            get_sms_backend().send(to=phone, body=body, idempotency_key=f"alert-{alert.pk}-{user_id}")
        except SmsError:
            logger.warning("Could not text user %s about urgent alert %s.", user_id, alert.pk)


# --- Acknowledging ----------------------------------------------------------------------------------------------


@transaction.atomic
def acknowledge_alert(*, alert_id: int, acknowledged_by, note: str, now: datetime) -> UrgentAlert:
    """Close an alert with who, when and what was done. Only the first acknowledgement counts."""
    if acknowledged_by is None or acknowledged_by.role is not Role.CLINICIAN:
        raise AlertError(_("Only a clinician can acknowledge an urgent alert."))
    note = note.strip()
    if not note:
        raise AlertError(
            _(
                "Write what was done (for example: called the patient, safety plan reviewed, referred to emergency "
                "care) before acknowledging."
            ),
            field="note",
        )
    # A compare-and-swap: two clinicians acknowledging at once cannot both win, nor overwrite each other's note.
    # The review queue re-sorts the patient by a database trigger in this transaction (migration 0005).
    claimed = UrgentAlert.objects.filter(pk=alert_id, acknowledged_at__isnull=True).update(
        acknowledged_at=now, acknowledged_by=acknowledged_by, acknowledgement_note=note
    )
    alert = UrgentAlert.objects.select_related("patient", "acknowledged_by").get(pk=alert_id)
    if not claimed:
        raise AlertError(
            _("%(acknowledged_by)s acknowledged this alert already; their note is shown below.")
            % {"acknowledged_by": alert.acknowledged_by}
        )
    return alert


# --- The sweep (Celery beat, every minute) ------------------------------------------------------------------------


def escalate_alert(*, alert_id: int, now: datetime) -> bool:
    """Tell the clinic admins about one overdue alert, once; True when this call sent it."""
    with transaction.atomic():
        alert = (
            UrgentAlert.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("patient")
            .filter(pk=alert_id, acknowledged_at__isnull=True, escalated_at__isnull=True)
            .first()
        )
        if alert is None:  # acknowledged, escalated already, or another sweep holds it
            return False
        recipients = emails_of_role(Role.CLINIC_ADMIN)
        if not recipients:
            logger.error("Urgent alert %s is overdue and there is no clinic admin to escalate to.", alert.pk)
            recipients = on_call_emails(alert.patient)
        _email(
            template="review/email/urgent_alert_escalation.txt",
            alert=alert,
            recipients=recipients,
            subject=f"Escalation: an urgent patient alert is still unacknowledged ({alert.patient.initials})",
        )
        alert.escalated_at = now
        alert.save(update_fields=["escalated_at"])
        return True


def sweep_urgent_alerts(*, now: datetime) -> dict[str, int]:
    """Send lost notifications and escalate overdue alerts. Each alert is handled in its own transaction, so
    one failing email (retried next minute) does not hold up the others."""
    open_alerts = UrgentAlert.objects.filter(acknowledged_at__isnull=True)
    lost = list(
        open_alerts.filter(notified_at__isnull=True, created_at__lte=now - NOTIFICATION_GRACE).values_list(
            "pk", flat=True
        )
    )
    overdue = list(
        open_alerts.filter(escalated_at__isnull=True, created_at__lte=now - escalation_delay()).values_list(
            "pk", flat=True
        )
    )
    done = {"notified": 0, "escalated": 0}
    for alert_id in lost:
        try:
            done["notified"] += notify_on_call(alert_id=alert_id, now=now)
        except OSError:
            logger.exception(
                "Could not send the notification of urgent alert %s; retrying next sweep.", alert_id
            )
    for alert_id in overdue:
        try:
            done["escalated"] += escalate_alert(alert_id=alert_id, now=now)
        except OSError:
            logger.exception("Could not escalate urgent alert %s; retrying next sweep.", alert_id)
    return done
