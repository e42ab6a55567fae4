"""Patients who want an earlier session."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from scheduling.models.appointments import Appointment, TreatmentType
from scheduling.models.places import Location


class WaitlistEntry(models.Model):
    """A patient who wants an earlier session. Front desk sees matching free slots and may email an offer."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offer sent")
        BOOKED = "booked", _("Booked")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    patient = models.ForeignKey("intake.Patient", on_delete=models.CASCADE, related_name="waitlist_entries")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+")
    treatment_type = models.ForeignKey(TreatmentType, on_delete=models.PROTECT, related_name="+")
    # The session the patient would like to bring forward (optional); a match must start before it.
    current_appointment = models.ForeignKey(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="waitlist_entries"
    )
    earliest_date = models.DateField(help_text=_("The first day the patient can come."))
    latest_date = models.DateField(help_text=_("The last day that is still worth offering."))
    notes = models.CharField(max_length=300, blank=True)
    # A free time the patient picked when asking online to move their session: front desk's match while it is free.
    requested_start = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    offered_start = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    offer_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = _("waitlist entries")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latest_date__gte=F("earliest_date")), name="waitlist_dates_in_order"
            ),
            models.UniqueConstraint(
                fields=["patient", "treatment_type"],
                condition=Q(status__in=["waiting", "offered"]),
                name="waitlist_one_open_entry_per_treatment",
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist entry {self.pk} ({self.get_status_display()})"
