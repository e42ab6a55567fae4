"""The clinic's set-up, changed by its clinic admins in the app (scheduling/setup): locations, chairs and rooms,
staff and their locations, treatment types. Time off, closures and weekly hours are the calendar services'.

Every change that could strand booked sessions (a location or chair taken out of use, a chair no longer set up for a
treatment, a clinician taken off a location, a treatment needing another kind of chair) is refused while upcoming
sessions are in the way, and lists them, as the calendar services do: nothing is orphaned silently. Each takes the
calendar guard's lock first, so bookings in flight have ended and new ones wait until the answer is written.
Every table written here is in the audit trail (clinic.audit.AUDITED_TABLES), with the admin as actor.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clinic import accounts
from clinic.models import User
from clinic.roles import Role
from scheduling import selectors
from scheduling.errors import SchedulingError
from scheduling.models import Clinician, FrontDeskAssignment, Location, Resource, TreatmentType
from scheduling.services.holds import lock_calendar
from scheduling.services.refusals import clean_or_refuse, raise_if, refusal_for_sessions

FIRST = gettext_lazy("Reschedule or cancel them first (front desk, day view)")


@transaction.atomic
def save_location(*, location: Location, now: datetime) -> Location:
    """Add a location or change its details; taking it out of use is refused while sessions are booked there."""
    if location.pk is not None:
        lock_calendar("location", location.pk)
        was_active, was_zone = Location.objects.filter(pk=location.pk).values_list(
            "is_active", "time_zone"
        ).first() or (False, "")
        if was_active and not location.is_active:
            raise_if(
                refusal_for_sessions(
                    selectors.upcoming_sessions_at_location(location.pk, now=now),
                    lead=_("%(name)s has") % {"name": location.name},
                    then=_("booked"),
                    first=str(FIRST),
                )
            )
        if was_zone and was_zone != location.time_zone:
            # A session is kept as an instant: a new zone would move every booked session's local time.
            raise_if(
                refusal_for_sessions(
                    selectors.upcoming_sessions_at_location(location.pk, now=now),
                    lead=_("The time zone of %(name)s cannot change while it has") % {"name": location.name},
                    then=_("booked"),
                    first=str(FIRST),
                )
            )
    clean_or_refuse(location)
    location.save()
    return location


def resource_refusal(
    *, resource: Resource, is_active: bool, treatment_types: Iterable[TreatmentType], now: datetime
) -> SchedulingError | None:
    """Why the chair or room cannot be saved so: the upcoming sessions it would no longer take, or None."""
    if resource.pk is None:
        return None
    if not is_active:
        sessions = selectors.upcoming_sessions_on_resource(resource.pk, now=now)
        lead = _("%(name)s cannot be taken out of use: it has") % {"name": resource.name}
    else:
        kept = [t.pk for t in treatment_types]
        if not kept:
            return None  # none listed: it takes every treatment of its kind
        sessions = selectors.upcoming_sessions_on_resource(resource.pk, now=now).exclude(
            treatment_type_id__in=kept
        )
        lead = _("%(name)s would no longer take") % {"name": resource.name}
    return refusal_for_sessions(sessions, lead=lead, then=_("booked"), first=str(FIRST))


@transaction.atomic
def save_resource(*, resource: Resource, treatment_types: Iterable[TreatmentType], now: datetime) -> Resource:
    """Add a chair or room or change it, with the treatments it takes (each of its own kind). Refused, nothing
    written, while upcoming sessions on it would no longer fit: taken out of use, or a treatment taken away."""
    treatment_types = list(treatment_types)
    wrong = [t.label for t in treatment_types if t.resource_kind != resource.kind]
    if wrong:
        raise SchedulingError(
            _("%(names)s need another kind of chair or room.") % {"names": ", ".join(wrong)},
            field="treatment_types",
        )
    if resource.pk is not None:
        lock_calendar("location", resource.location_id)
        before = Resource.objects.get(pk=resource.pk)
        if before.kind != resource.kind:
            raise_if(
                refusal_for_sessions(
                    selectors.upcoming_sessions_on_resource(resource.pk, now=now),
                    lead=_("%(name)s cannot change kind: it has") % {"name": before.name},
                    then=_("booked"),
                    first=str(FIRST),
                )
            )
        raise_if(
            resource_refusal(
                resource=before, is_active=resource.is_active, treatment_types=treatment_types, now=now
            )
        )
    clean_or_refuse(resource)
    resource.save()
    resource.treatment_types.set(treatment_types)
    return resource


@transaction.atomic
def save_treatment_type(*, treatment_type: TreatmentType, now: datetime) -> TreatmentType:
    """Add a treatment type or change its protocol. Durations and the session-day protocol apply to sessions
    booked from then on (booked sessions keep the times they hold); what decides where a session may be (its
    modality, its kind of chair or room) cannot change while sessions of it are booked. The database's
    constraints (Spravato's label minimums, the clinician inside the chair span) are the guarantee; full_clean
    says them in words first."""
    if treatment_type.pk is not None:
        before = TreatmentType.objects.select_for_update().get(pk=treatment_type.pk)
        if (before.resource_kind, before.modality) != (treatment_type.resource_kind, treatment_type.modality):
            raise_if(
                refusal_for_sessions(
                    selectors.upcoming_sessions_of_treatment(treatment_type.pk, now=now),
                    lead=_("%(label)s cannot change its kind of treatment or room: it has")
                    % {"label": before.label},
                    then=_("booked"),
                    first=str(FIRST),
                )
            )
    clean_or_refuse(treatment_type)
    treatment_type.save()
    return treatment_type


@transaction.atomic
def set_clinician_locations(
    *, clinician: Clinician, locations: Iterable[Location], credentials: str, is_on_call: bool, now: datetime
) -> Clinician:
    """Where a clinician works, and their details. Taking a location from them is refused while they have
    sessions booked there."""
    lock_calendar("clinician", clinician.pk)
    kept = {location.pk for location in locations}
    gone = set(clinician.locations.values_list("pk", flat=True)) - kept
    if gone:
        raise_if(
            refusal_for_sessions(
                selectors.upcoming_sessions_of_clinician_at(clinician.pk, sorted(gone), now=now),
                lead=_("%(name)s has") % {"name": clinician},
                then=_("booked at the locations taken away"),
                first=_(
                    "Hand them to a colleague (front desk: Clinician cover), reschedule or cancel them first"
                ),
            )
        )
    clinician.credentials = credentials.strip()
    clinician.is_on_call = is_on_call
    clinician.full_clean(exclude=["user"])
    clinician.save(update_fields=["credentials", "is_on_call"])
    clinician.locations.set(kept)
    return clinician


@transaction.atomic
def invite_staff(
    *,
    invited_by: User,
    email: str,
    full_name: str,
    role: Role,
    locations: Iterable[Location],
    credentials: str = "",
) -> User:
    """Create a staff member's account with their role and locations, and email them the link to choose a
    password. A clinician gets their clinician record (working hours are set next); front desk their locations."""
    if not full_name.strip():
        raise SchedulingError(_("Give the person's full name."), field="full_name")
    locations = list(locations)
    if role in (Role.CLINICIAN, Role.FRONT_DESK) and not locations:
        raise SchedulingError(_("Choose at least one location where they work."), field="locations")
    try:
        user = accounts.invite_staff_member(actor=invited_by, email=email, full_name=full_name, role=role)
    except accounts.AccountChangeRefused as exc:
        raise SchedulingError(str(exc), field="email") from None
    if role is Role.CLINICIAN:
        clinician = Clinician.objects.create(user=user, credentials=credentials.strip())
        clinician.locations.set(locations)
    elif role is Role.FRONT_DESK:
        FrontDeskAssignment.objects.bulk_create(
            FrontDeskAssignment(user=user, location=location) for location in locations
        )
    return user


@transaction.atomic
def set_front_desk_locations(*, user: User, locations: Iterable[Location]) -> None:
    """Where a front-desk person works (their bookings stay: the sessions belong to the location, not to them)."""
    kept = {location.pk for location in locations}
    FrontDeskAssignment.objects.filter(user=user).exclude(location_id__in=kept).delete()
    have = set(FrontDeskAssignment.objects.filter(user=user).values_list("location_id", flat=True))
    FrontDeskAssignment.objects.bulk_create(
        FrontDeskAssignment(user=user, location_id=pk) for pk in sorted(kept - have)
    )


def _refuse_clinician_with_sessions(user: User, *, now: datetime, lead: str) -> None:
    """A clinician leaving the calendar (role changed, deactivated) must have no upcoming sessions: they would be
    orphaned. Taken under the clinician's calendar lock, so no booking slips in before the change is written."""
    clinician = Clinician.objects.filter(user=user).first()
    if clinician is None:
        return
    lock_calendar("clinician", clinician.pk)
    raise_if(
        refusal_for_sessions(
            selectors.upcoming_sessions_of_clinician(clinician.pk, now=now),
            lead=lead,
            then=_("booked"),
            first=_(
                "Hand them to a colleague (front desk: Clinician cover), reschedule or cancel them first"
            ),
        )
    )


@transaction.atomic
def change_staff_role(*, changed_by: User, user: User, role: Role, now: datetime) -> bool:
    """Give a staff member another staff role (clinic.accounts.change_role: audited, emailed, signed out). A
    clinician leaving the role must have no upcoming sessions, and stops being offered (their locations go); a new
    clinician gets their clinician record (locations and hours are set next). Front desk's locations go with the
    role."""
    if not role.is_staff_role or user.role is None or not user.role.is_staff_role:
        raise SchedulingError(_("Only staff roles are changed here."), field="role")
    if user.is_superuser and not changed_by.is_superuser:
        raise SchedulingError(_("Only a superuser can change a superuser's account."), field="role")
    if user.role is Role.CLINICIAN and role is not Role.CLINICIAN:
        _refuse_clinician_with_sessions(
            user,
            now=now,
            lead=_("%(name)s cannot stop being a clinician: they have")
            % {"name": user.full_name or user.email},
        )
    try:
        changed = accounts.change_role(actor=changed_by, user=user, role=role)
    except accounts.AccountChangeRefused as exc:
        raise SchedulingError(str(exc), field="role") from None
    if not changed:
        return False
    if role is Role.CLINICIAN:
        Clinician.objects.get_or_create(user=user)
    else:
        clinician = Clinician.objects.filter(user=user).first()
        if clinician is not None:
            clinician.locations.clear()
    if role is not Role.FRONT_DESK:
        FrontDeskAssignment.objects.filter(user=user).delete()
    return True


@transaction.atomic
def set_staff_active(*, changed_by: User, user: User, is_active: bool, now: datetime) -> bool:
    """Deactivate a staff member (refused for oneself, the last clinic admin, and a clinician with upcoming
    sessions, which are listed) or reactivate them. A deactivated clinician is no longer offered for booking."""
    if not is_active and user.is_active:
        _refuse_clinician_with_sessions(
            user,
            now=now,
            lead=_("%(name)s cannot be deactivated: they have") % {"name": user.full_name or user.email},
        )
    try:
        return accounts.set_active(actor=changed_by, user=user, is_active=is_active)
    except accounts.AccountChangeRefused as exc:
        raise SchedulingError(str(exc)) from None


__all__ = [
    "change_staff_role",
    "invite_staff",
    "resource_refusal",
    "save_location",
    "save_resource",
    "save_treatment_type",
    "set_clinician_locations",
    "set_front_desk_locations",
    "set_staff_active",
]
