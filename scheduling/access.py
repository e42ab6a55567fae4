"""Which locations and patients a member of staff may see: the one rule every access gate asks (review, scheduling,
the session day, downloads).

With ``REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS`` on, clinicians see the locations they work at
(``Clinician.locations``), front desk the locations a clinic admin assigned them to (``FrontDeskAssignment``), and
clinic admins every location. With it off, staff see every location. Then:

- a location is visible when it is one of theirs;
- an appointment, when it is at one of their locations;
- a patient, when their location is one of theirs or they have none yet (so that nobody's suicide-risk alert falls
  between two clinics).

Break the glass: in an emergency a clinician may open a patient of another location, with a stated reason
(``break_the_glass``). For ``BREAK_GLASS_HOURS`` the gates then let them see that patient (the review pages, their
appointments and session day); each opening is kept, and the clinic admins are emailed.

Both kinds of assignment are read through one database view, ``scheduling_stafflocation`` (migration 0010), so the
written-out SQL of the busiest pages (``STAFF_LOCATIONS_SQL``) and the ORM filters here ask the same question.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import policies
from clinic.celery import app
from clinic.local_time import format_local
from clinic.roles import Role, emails_of_role
from intake.models import Patient
from scheduling.errors import AccessError
from scheduling.models import BREAK_GLASS_MIN_REASON, BreakGlassAccess, Clinician, Location

logger = logging.getLogger(__name__)

STAFF_ROLES = frozenset({Role.FRONT_DESK, Role.CLINICIAN, Role.CLINIC_ADMIN})

# The locations of the member of staff whose user id is the one parameter.
STAFF_LOCATIONS_SQL = "SELECT location_id FROM scheduling_stafflocation WHERE user_id = %s"
# The patients a clinician (first parameter) holds an emergency access to at a moment (second parameter).
GRANTED_PATIENTS_SQL = (
    "SELECT patient_id FROM scheduling_breakglassaccess WHERE user_id = %s AND expires_at > %s"
)
# Enqueued by name: the task (scheduling.tasks) calls this module's tell_clinic_admins, so this module does not
# import it. The task registers under this name.
TELL_ADMINS_TASK = "scheduling.tasks.tell_admins_of_break_glass"


def restricts_to_locations() -> bool:
    return bool(getattr(settings, "REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS", False))


def _staff_role(user) -> Role | None:
    if user is None or not user.is_authenticated:
        return None
    role = user.role
    return role if role in STAFF_ROLES else None


def sees_every_location(user) -> bool:
    """True for clinic admins, and for every member of staff when the clinic does not restrict locations."""
    role = _staff_role(user)
    return role is Role.CLINIC_ADMIN or (role is not None and not restricts_to_locations())


def _their_locations(user) -> RawSQL:
    # Constant SQL; the user id is a parameter.
    return RawSQL(STAFF_LOCATIONS_SQL, [user.pk])  # noqa: S611


def location_ids(user) -> frozenset[int] | None:
    """The ids of the locations ``user`` may see; None means every location (one query when restricted)."""
    if sees_every_location(user):
        return None
    if _staff_role(user) is None:
        return frozenset()
    return frozenset(Location.objects.filter(pk__in=_their_locations(user)).values_list("pk", flat=True))


def location_filter(user, field: str = "location") -> Q:
    """A Q over a path to a location (``"location"``, ``"appointment__location"``, ``"pk"`` on Location) for the
    locations ``user`` may see. Nothing for anyone who is not staff."""
    if _staff_role(user) is None:
        return Q(pk__in=[])
    if sees_every_location(user):
        return Q()
    return Q(**{f"{field}__in": _their_locations(user)})


def visible_locations(user) -> QuerySet[Location]:
    """The locations ``user`` may see, active or not (callers choose), by name."""
    return Location.objects.filter(location_filter(user, "pk")).order_by("name", "pk")


def visible_clinicians(user) -> QuerySet[Clinician]:
    """The clinicians who work at a location ``user`` may see (every clinician when they see every location)."""
    if sees_every_location(user):
        return Clinician.objects.all()
    places = Clinician.locations.through.objects.filter(location_filter(user, "location"))
    return Clinician.objects.filter(pk__in=places.values("clinician_id"))


def granted_patients(user, *, now: datetime) -> QuerySet:
    """The ids of the patients ``user`` opened in an emergency and may still see at ``now``."""
    return BreakGlassAccess.objects.filter(user_id=user.pk, expires_at__gt=now).values("patient_id")


def patient_filter(user, *, via: str = "", now: datetime | None = None) -> Q:
    """A Q over ``<via>`` (a path to a Patient, e.g. ``"patient__"``) for the patients ``user`` may see: of their
    locations, or of none yet. With ``now``, also those they hold an emergency access to (the gates of one
    patient pass it; lists and counts, such as the review queue, do not)."""
    if _staff_role(user) is None:
        return Q(pk__in=[])
    if sees_every_location(user):
        return Q()
    visible = Q(**{f"{via}location__isnull": True}) | Q(**{f"{via}location__in": _their_locations(user)})
    if now is not None:
        visible |= Q(**{f"{via}pk__in": granted_patients(user, now=now)})
    return visible


def appointment_filter(user, *, now: datetime) -> Q:
    """A Q over Appointment for the staff member's sessions: at one of their locations, or of a patient they hold
    an emergency access to."""
    if _staff_role(user) is None:
        return Q(pk__in=[])
    if sees_every_location(user):
        return Q()
    return Q(location__in=_their_locations(user)) | Q(patient__in=granted_patients(user, now=now))


# --- Break the glass ------------------------------------------------------------------------------------------


def break_glass_duration() -> timedelta:
    return timedelta(hours=getattr(settings, "BREAK_GLASS_HOURS", 12))


@transaction.atomic
def break_the_glass(
    *, user, patient_id: int, reason: str, now: datetime, ip_address: str | None = None
) -> BreakGlassAccess | None:
    """Let a clinician see a patient of another location until ``now + BREAK_GLASS_HOURS``, for the reason they
    give; the clinic admins are emailed once it is committed. None when the patient is theirs to see already
    (nothing is recorded then). Raises AccessError, writing nothing, for anyone but a clinician, a reason shorter
    than ``BREAK_GLASS_MIN_REASON`` or a patient number nobody has."""
    if _staff_role(user) is not Role.CLINICIAN:
        raise AccessError(_("Only a clinician can open a patient's record in an emergency."))
    reason = (reason or "").strip()
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise AccessError(
            _(
                "Say why you need this patient's record now, in at least %(break_glass_min_reason)s characters."
            )
            % {"break_glass_min_reason": BREAK_GLASS_MIN_REASON},
            field="reason",
        )
    patient = Patient.objects.filter(pk=patient_id).first()
    if patient is None:
        raise AccessError(
            _("No patient has that number. Check it with whoever gave it to you."), field="patient_number"
        )
    if Patient.objects.filter(patient_filter(user), pk=patient.pk).exists():
        return None
    access = BreakGlassAccess.objects.create(
        user=user,
        patient=patient,
        reason=reason,
        created_at=now,
        expires_at=now + break_glass_duration(),
        ip_address=ip_address,
    )
    transaction.on_commit(lambda: app.signature(TELL_ADMINS_TASK).delay(access.pk))
    return access


def tell_clinic_admins(*, access_id: int, now: datetime | None = None) -> bool:
    """Email every clinic admin about one emergency access, once; True when this call sent it. The email names the
    clinician and the patient's initials and links to the record in the clinic's admin (sign-in needed): the
    reason may hold clinical detail, so it stays in the app."""
    with transaction.atomic():
        access = (
            BreakGlassAccess.objects.select_for_update(of=("self",))
            .select_related("user", "patient__location")
            .filter(pk=access_id, admins_told_at__isnull=True)
            .first()
        )
        if access is None:  # told already (a redelivered task), or no such row
            return False
        recipients = emails_of_role(Role.CLINIC_ADMIN)
        if recipients:
            # Sent while the row is locked: a second copy of the task waits, then finds it told.
            _email_admins(access, recipients)
        else:
            logger.error("Emergency access %s: there is no clinic admin to tell.", access.pk)
        access.admins_told_at = now or timezone.now()
        access.save(update_fields=["admins_told_at"])
        return bool(recipients)


def _email_admins(access: BreakGlassAccess, recipients: list[str]) -> None:
    location = access.patient.location
    zone_of = location or Location(name=policies.value("CLINIC_NAME"), time_zone=settings.TIME_ZONE)
    context = {
        "clinician": access.user,
        "initials": access.patient.initials,
        "location": location.name if location else None,
        "opened": format_local(access.created_at, zone_of),
        "until": format_local(access.expires_at, zone_of),
        "link": settings.SITE_URL + reverse("admin:scheduling_breakglassaccess_change", args=[access.pk]),
        "clinic_name": policies.value("CLINIC_NAME"),
    }
    send_mail(
        subject=f"Emergency access: {access.user} opened a patient of another location ({access.patient.initials})",
        message=render_to_string("scheduling/email/break_glass.txt", context),
        from_email=None,
        recipient_list=recipients,
    )
