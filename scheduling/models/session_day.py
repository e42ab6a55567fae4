"""The day of the session: the session record (checklist, override, dose, scores, discharge) and the vital signs.
The REMS monitoring form has its own record (scheduling.models.rems)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from scheduling.models.appointments import Appointment

# A weight outside this range is a typing slip (grams, pounds, a missing digit), not a patient.
WEIGHT_KG_RANGE = (20, 350)


class SessionRecord(models.Model):
    """What happens on the day: the check-in checklist, the dose, the clinician's scores, discharge.

    Written only through scheduling.services; each part records who and when.
    """

    class Route(models.TextChoices):
        IV = "iv", _("Intravenous infusion")
        INTRANASAL = "intranasal", _("Intranasal (nasal spray)")

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="session_record")
    # Check-in checklist
    escort_name = models.CharField(_("escort or driver's name"), max_length=120, blank=True)
    escort_phone = models.CharField(_("escort or driver's phone"), max_length=32, blank=True)
    escort_confirmed_at = models.DateTimeField(null=True, blank=True)
    fasting_confirmed_at = models.DateTimeField(null=True, blank=True)
    checklist_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A pre-dose BP above 180/100 is a hard stop: only a clinician's recorded override lets the session start.
    bp_override_reason = models.TextField(blank=True)
    bp_override_at = models.DateTimeField(null=True, blank=True)
    bp_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The planned dose, checked before dosing (scheduling.session_rules): IV from the day's weight in mg/kg,
    # Spravato 56 or 84 mg. Warnings shown when it was planned are kept with it. A plan above the co-signature
    # threshold needs a second, different clinician's co-signature before dosing starts.
    plan_weight_kg = models.DecimalField(
        _("the day's weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    plan_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    plan_dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    plan_warnings = models.JSONField(default=list, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    plan_cosigned_at = models.DateTimeField(null=True, blank=True)
    plan_cosigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Dose record: the dose as given, whatever it was (documentation is never refused; a difference from the
    # plan is flagged on the summary and told to the clinic once, dose_flags_told_at).
    drug = models.CharField(max_length=80, blank=True)
    dose_mg = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    dose_mg_per_kg = models.DecimalField(max_digits=5, decimal_places=3, null=True, blank=True)
    route = models.CharField(max_length=12, choices=Route.choices, blank=True)
    lot_number = models.CharField(max_length=40, blank=True)
    dose_started_at = models.DateTimeField(null=True, blank=True)
    dose_ended_at = models.DateTimeField(null=True, blank=True)
    dose_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Clinician's observation scores (dissociation: CADSS total 0-92; sedation: MOAA/S 0-5, 5 = awake)
    dissociation_score = models.PositiveSmallIntegerField(null=True, blank=True)
    sedation_score = models.PositiveSmallIntegerField(null=True, blank=True)
    scores_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dose_flags_told_at = models.DateTimeField(null=True, blank=True)
    # Discharge, and a clinician's override of the protocol's minimum time or a missing reading (with what it
    # overrode, in words, as the team saw it).
    escort_present_at_discharge = models.BooleanField(default=False)
    discharge_override_reason = models.TextField(blank=True)
    discharge_override_blockers = models.JSONField(default=list, blank=True)
    discharge_override_at = models.DateTimeField(null=True, blank=True)
    discharge_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(dose_ended_at__isnull=True)
                | Q(dose_started_at__isnull=True)
                | Q(dose_ended_at__gte=F("dose_started_at")),
                name="session_dose_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(sedation_score__isnull=True) | Q(sedation_score__lte=5),
                name="session_sedation_0_5",
            ),
            models.CheckConstraint(
                condition=Q(dissociation_score__isnull=True) | Q(dissociation_score__lte=92),
                name="session_dissociation_0_92",
            ),
            models.CheckConstraint(
                condition=Q(bp_override_at__isnull=True) | ~Q(bp_override_reason=""),
                name="session_bp_override_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(discharge_override_at__isnull=True) | ~Q(discharge_override_reason=""),
                name="session_discharge_override_has_reason",
            ),
            # The second pair of eyes must be a second person.
            models.CheckConstraint(
                condition=Q(plan_cosigned_by__isnull=True) | ~Q(plan_cosigned_by=F("planned_by")),
                name="session_plan_cosigned_by_another_clinician",
            ),
            models.CheckConstraint(
                condition=Q(plan_weight_kg__isnull=True) | Q(plan_weight_kg__range=WEIGHT_KG_RANGE),
                name="session_plan_weight_plausible",
            ),
            models.CheckConstraint(
                condition=Q(plan_dose_mg__isnull=True) | Q(plan_dose_mg__gt=0),
                name="session_plan_dose_positive",
            ),
            models.CheckConstraint(
                condition=Q(dose_mg__isnull=True) | Q(dose_mg__gt=0),
                name="session_dose_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Session record of appointment {self.appointment_id}"

    @property
    def checklist_complete(self) -> bool:
        return bool(self.escort_confirmed_at and self.fasting_confirmed_at and self.escort_name)

    @property
    def dose_recorded(self) -> bool:
        return bool(self.dose_mg and self.dose_started_at and self.lot_number)

    @property
    def dose_planned(self) -> bool:
        return self.plan_dose_mg is not None


class VitalSigns(models.Model):
    """One set of vitals: before dosing, at about 40 minutes, before discharge (REMS form; clinical ref. 3.1, 3.3)."""

    class Phase(models.TextChoices):
        PRE_DOSE = "pre_dose", _("Before dosing")
        DURING_DOSE = "during_dose", _("During the dose (infusion)")
        AT_40_MIN = "at_40_min", _("About 40 minutes after dosing")
        PRE_DISCHARGE = "pre_discharge", _("Before discharge")
        OTHER = "other", _("Other check")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="vitals")
    phase = models.CharField(max_length=20, choices=Phase.choices)
    systolic = models.PositiveSmallIntegerField(_("systolic BP (mmHg)"))
    diastolic = models.PositiveSmallIntegerField(_("diastolic BP (mmHg)"))
    heart_rate = models.PositiveSmallIntegerField(_("heart rate (beats/min)"))
    spo2 = models.PositiveSmallIntegerField(_("SpO2 (%)"))
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = _("vital signs")
        ordering = ["appointment", "recorded_at"]
        constraints = [
            models.CheckConstraint(condition=Q(systolic__range=(40, 300)), name="vitals_systolic_plausible"),
            models.CheckConstraint(
                condition=Q(diastolic__range=(20, 200)), name="vitals_diastolic_plausible"
            ),
            models.CheckConstraint(
                condition=Q(systolic__gt=F("diastolic")), name="vitals_systolic_above_diastolic"
            ),
            models.CheckConstraint(
                condition=Q(heart_rate__range=(20, 250)), name="vitals_heart_rate_plausible"
            ),
            models.CheckConstraint(condition=Q(spo2__range=(50, 100)), name="vitals_spo2_plausible"),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()}: {self.systolic}/{self.diastolic}"
