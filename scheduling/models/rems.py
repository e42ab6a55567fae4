"""The SPRAVATO REMS Patient Monitoring Form of one session, as filled in and as sent (scheduling.rems_form)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from scheduling.models.appointments import Appointment


class RemsMonitoringForm(models.Model):
    """The answers of one session's Patient Monitoring Form. Prefilled from the session record when first opened,
    saved through scheduling.services; once sent it is what the REMS received and is no longer changed.

    The patient's name and birthdate, the treatment date and the REMS patient ID are read from their own records;
    the total time is computed (scheduling.rems_form.total_minutes). A yes/no answer left blank is null."""

    class Sex(models.TextChoices):
        MALE = "male", _("Male")
        FEMALE = "female", _("Female")
        OTHER = "other", _("Other")

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="rems_form")
    patient_sex = models.CharField(max_length=6, choices=Sex.choices, blank=True)
    first_treatment = models.BooleanField(null=True, blank=True)
    enrolled_in_rems = models.BooleanField(null=True, blank=True)
    # Concomitant medicines that may cause sedation or blood pressure changes
    takes_benzodiazepines = models.BooleanField(null=True, blank=True)
    takes_sedative_hypnotics = models.BooleanField(null=True, blank=True)
    takes_psychostimulants = models.BooleanField(null=True, blank=True)
    takes_maois = models.BooleanField(null=True, blank=True)
    takes_opioids = models.BooleanField(null=True, blank=True)
    # The healthcare provider who monitored, and the setting
    provider_first_name = models.CharField(max_length=100, blank=True)
    provider_last_name = models.CharField(max_length=100, blank=True)
    provider_phone = models.CharField(max_length=40, blank=True)
    provider_email = models.EmailField(blank=True)
    setting_name = models.CharField(max_length=120, blank=True)
    setting_address1 = models.CharField(max_length=200, blank=True)
    setting_address2 = models.CharField(max_length=200, blank=True)
    setting_city = models.CharField(max_length=100, blank=True)
    setting_state = models.CharField(max_length=40, blank=True)
    setting_zip = models.CharField(max_length=12, blank=True)
    # Administration and monitoring
    dose_mg = models.PositiveSmallIntegerField(null=True, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    first_administration_at = models.DateTimeField(null=True, blank=True)
    monitoring_completed_at = models.DateTimeField(null=True, blank=True)
    ready_to_leave_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    vitals_ok_before_administration = models.BooleanField(null=True, blank=True)
    vitals_ok_at_completion = models.BooleanField(null=True, blank=True)
    bp_before_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_before_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_40_min_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_40_min_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_at_completion_systolic = models.PositiveSmallIntegerField(null=True, blank=True)
    bp_at_completion_diastolic = models.PositiveSmallIntegerField(null=True, blank=True)
    # Each effect: did it occur, and had it resolved before the patient left (the state at discharge matters)
    sedation = models.BooleanField(null=True, blank=True)
    sedation_resolved = models.BooleanField(null=True, blank=True)
    dissociation = models.BooleanField(null=True, blank=True)
    dissociation_resolved = models.BooleanField(null=True, blank=True)
    respiratory_depression = models.BooleanField(null=True, blank=True)
    respiratory_depression_resolved = models.BooleanField(null=True, blank=True)
    adverse_events = models.BooleanField(null=True, blank=True)
    adverse_event_serious = models.BooleanField(null=True, blank=True)
    adverse_event_description = models.TextField(blank=True)
    adverse_event_reported = models.BooleanField(null=True, blank=True)
    # Who last saved it, and who marked it sent (the audit trail keeps every change)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("REMS patient monitoring form")
        constraints = [
            models.CheckConstraint(
                condition=Q(monitoring_completed_at__isnull=True)
                | Q(first_administration_at__isnull=True)
                | Q(monitoring_completed_at__gte=F("first_administration_at")),
                name="rems_form_monitoring_ends_after_administration",
            ),
            models.CheckConstraint(
                condition=Q(dose_mg__isnull=True) | Q(dose_mg__range=(1, 200)),
                name="rems_form_dose_plausible",
            ),
            models.CheckConstraint(
                condition=Q(ready_to_leave_minutes__isnull=True) | Q(ready_to_leave_minutes__lte=1440),
                name="rems_form_ready_within_a_day",
            ),
            *[
                models.CheckConstraint(
                    condition=(Q(**{f"{bp}_systolic__isnull": True}) & Q(**{f"{bp}_diastolic__isnull": True}))
                    | (
                        Q(**{f"{bp}_systolic__range": (40, 300)})
                        & Q(**{f"{bp}_diastolic__range": (20, 200)})
                        & Q(**{f"{bp}_systolic__gt": F(f"{bp}_diastolic")})
                    ),
                    name=f"rems_form_{bp}_plausible",
                )
                for bp in ("bp_before", "bp_40_min", "bp_at_completion")
            ],
        ]

    def __str__(self) -> str:
        return f"REMS monitoring form of appointment {self.appointment_id}"

    @property
    def sent(self) -> bool:
        return self.submitted_at is not None
