"""Who may see which location (scheduling.access): front desk's locations and clinicians' emergency accesses."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThanOrEqual
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clinic.roles import ROLE_GROUP_NAMES, Role
from scheduling.models.places import Location


class FrontDeskAssignment(models.Model):
    """A front-desk person works at this location. When the clinic restricts staff to their locations, front desk
    see, search and book only at the locations they are assigned to (clinicians: ``Clinician.locations``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="front_desk_assignments",
        limit_choices_to={"groups__name": ROLE_GROUP_NAMES[Role.FRONT_DESK]},
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="front_desk_assignments")

    class Meta:
        verbose_name = _("front-desk location")
        ordering = ["location", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "location"], name="front_desk_assignment_once_per_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} at {self.location}"


# A reason is what makes an emergency access accountable: a word or two ("urgent") says nothing an auditor can check.
BREAK_GLASS_MIN_REASON = 10


class BreakGlassAccess(models.Model):
    """A clinician opened a patient of a location they do not work at, in an emergency, with a stated reason
    ("break the glass"). Until ``expires_at`` the access gates let them see that patient; the clinic admins are told
    of each one (``admins_told_at``). Kept for the record: nobody edits or deletes these in the app."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    patient = models.ForeignKey("intake.Patient", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    admins_told_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("emergency access (break the glass)")
        verbose_name_plural = _("emergency accesses (break the glass)")
        ordering = ["-created_at", "-pk"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["user", "patient", "expires_at"], name="break_glass_grant_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="break_glass_expires_after_it_opens"
            ),
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length(Trim("reason")), BREAK_GLASS_MIN_REASON),
                name="break_glass_has_a_reason",
                violation_error_message=format_lazy(
                    _("Say why, in at least {minimum} characters."), minimum=BREAK_GLASS_MIN_REASON
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"Emergency access of user {self.user_id} to patient {self.patient_id}"
