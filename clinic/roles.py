"""The four roles, as Django groups with permissions, and where each lands after signing in.

The group is the single source of truth for a person's role: `assign_role` is the one way to change it.
"""

from enum import StrEnum
from typing import TYPE_CHECKING

from django.db import transaction

if TYPE_CHECKING:
    from clinic.models import User


class Role(StrEnum):
    PATIENT = "patient"
    FRONT_DESK = "front_desk"
    CLINICIAN = "clinician"
    CLINIC_ADMIN = "clinic_admin"

    @property
    def group_name(self) -> str:
        return ROLE_GROUP_NAMES[self]

    @property
    def is_staff_role(self) -> bool:
        return self is not Role.PATIENT


ROLE_GROUP_NAMES = {
    Role.PATIENT: "Patient",
    Role.FRONT_DESK: "Front desk",
    Role.CLINICIAN: "Clinician",
    Role.CLINIC_ADMIN: "Clinic admin",
}
GROUP_ROLES = {name: role for role, name in ROLE_GROUP_NAMES.items()}

# Model permissions per role, as "app_label.codename". Patients hold none: they reach only their own records,
# through the per-object access gates. Codenames of models that do not exist yet are skipped, so a later app's
# permissions join when its models do.
ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.PATIENT: (),
    Role.FRONT_DESK: (
        "intake.view_patient",
        "intake.add_patient",
        "intake.change_patient",
        "scheduling.view_location",
        "scheduling.view_resource",
        "scheduling.view_clinician",
        "scheduling.view_appointment",
        "scheduling.add_appointment",
        "scheduling.change_appointment",
        "scheduling.view_treatmenttype",
        "scheduling.view_remsenrollment",
        "scheduling.add_remsenrollment",
        "scheduling.change_remsenrollment",
        "scheduling.view_treatmentseries",
        "scheduling.add_treatmentseries",
        "scheduling.change_treatmentseries",
        "scheduling.view_waitlistentry",
        "scheduling.add_waitlistentry",
        "scheduling.change_waitlistentry",
    ),
    Role.CLINICIAN: (
        "intake.view_patient",
        "intake.view_intakesubmission",
        "intake.view_instrumentresponse",
        "intake.view_consentrecord",
        "intake.view_urgentalert",
        "intake.change_urgentalert",  # acknowledging, through review.alerts.acknowledge_alert
        "intake.add_eligibilitydecision",
        "intake.view_eligibilitydecision",
        "review.add_clinicianrating",
        "review.view_clinicianrating",
        "scheduling.view_location",
        "scheduling.view_resource",
        "scheduling.view_clinician",
        "scheduling.view_appointment",
        "scheduling.change_appointment",
        "scheduling.view_sessionrecord",
        "scheduling.add_sessionrecord",
        "scheduling.change_sessionrecord",
        "scheduling.view_vitalsigns",
        "scheduling.add_vitalsigns",
    ),
    Role.CLINIC_ADMIN: (
        "clinic.view_auditevent",
        "clinic.view_recordview",
        "clinic.view_accountevent",
        "clinic.view_user",
        "clinic.add_user",
        "clinic.change_user",
        "intake.view_patient",
        "scheduling.view_location",
        "scheduling.add_location",
        "scheduling.change_location",
        "scheduling.view_openinghours",
        "scheduling.add_openinghours",
        "scheduling.change_openinghours",
        "scheduling.delete_openinghours",
        "scheduling.view_closure",
        "scheduling.add_closure",
        "scheduling.change_closure",
        "scheduling.delete_closure",
        "scheduling.view_resource",
        "scheduling.add_resource",
        "scheduling.change_resource",
        "scheduling.view_clinician",
        "scheduling.add_clinician",
        "scheduling.change_clinician",
        "scheduling.view_workinghours",
        "scheduling.add_workinghours",
        "scheduling.change_workinghours",
        "scheduling.delete_workinghours",
        "scheduling.view_treatmenttype",
        "scheduling.add_treatmenttype",
        "scheduling.change_treatmenttype",
        "scheduling.view_cliniciantimeoff",
        "scheduling.add_cliniciantimeoff",
        "scheduling.change_cliniciantimeoff",
        "scheduling.delete_cliniciantimeoff",
        "scheduling.view_appointment",
        "scheduling.view_remsenrollment",
        "scheduling.view_frontdeskassignment",
        "scheduling.add_frontdeskassignment",
        "scheduling.change_frontdeskassignment",
        "scheduling.delete_frontdeskassignment",
        "scheduling.view_breakglassaccess",
    ),
}

# Where each role lands after signing in (URL names).
ROLE_HOME_URLS = {
    Role.PATIENT: "portal:home",
    Role.FRONT_DESK: "scheduling:today",
    Role.CLINICIAN: "review:queue",
    Role.CLINIC_ADMIN: "clinic_settings",
}


def role_of(user: "User") -> Role | None:
    if not user.is_authenticated:
        return None
    # Read with the user by clinic.security.ClinicModelBackend when it signed them in; else one query.
    preloaded = user.__dict__.get("role_groups")
    names = set(preloaded if preloaded is not None else user.groups.values_list("name", flat=True))
    # A person should hold one role; if someone was given two, the more privileged one decides their home page.
    for role in (Role.CLINIC_ADMIN, Role.CLINICIAN, Role.FRONT_DESK, Role.PATIENT):
        if role.group_name in names:
            return role
    if user.is_superuser:
        return Role.CLINIC_ADMIN
    return None


def sync_role_groups(**kwargs) -> None:
    """Create the role groups and give them exactly the permissions listed above (idempotent)."""
    from django.contrib.auth.models import Group, Permission  # auth's models load after this module

    using = kwargs.get("using", "default")
    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_key = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.using(using).values_list(
            "pk", "content_type__app_label", "codename"
        )
        if f"{app_label}.{codename}" in wanted
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role.group_name)
        group.permissions.set([by_key[p] for p in perms if p in by_key])


@transaction.atomic
def assign_role(*, user: "User", role: Role) -> None:
    """Give a person exactly one role. Clinic admins may use the Django admin; nobody else may."""
    from django.contrib.auth.models import Group  # auth's models load after this module

    sync_needed = not Group.objects.filter(name=role.group_name).exists()
    if sync_needed:
        sync_role_groups()
    user.groups.remove(*Group.objects.filter(name__in=GROUP_ROLES.keys()).exclude(name=role.group_name))
    user.groups.add(Group.objects.get(name=role.group_name))
    _set_admin_access(user, role is Role.CLINIC_ADMIN)


@transaction.atomic
def remove_role(*, user: "User") -> None:
    """Take every role from a person: they can sign in but reach nothing."""
    from django.contrib.auth.models import Group  # auth's models load after this module

    user.groups.remove(*Group.objects.filter(name__in=GROUP_ROLES.keys()))
    _set_admin_access(user, False)


def _set_admin_access(user: "User", is_staff: bool) -> None:
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("role", None)


def emails_of_role(role: Role) -> list[str]:
    """The addresses of everyone active who holds ``role``."""
    from clinic.models import User  # the user model imports these roles

    return sorted(
        set(User.objects.filter(is_active=True, groups__name=role.group_name).values_list("email", flat=True))
    )
