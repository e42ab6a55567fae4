"""The session-day protocol on each treatment type (minimum monitoring, from administration or the end of the dose,
required readings), the planned dose with its co-signature, the dose-flag notice and the discharge override.

The default treatment types get the protocol of the clinical reference (section 3): Spravato 120 minutes from
administration with vitals at about 40 minutes and before discharge (label); IV ketamine 30 minutes after the
infusion ends (clinic policy) with the same readings, and a reading every 15 minutes during the infusion offered
(one published series measured every 10-15 minutes). Any other Spravato type gets the label's minimum too: the
constraint added after it requires it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PROTOCOL = {
    "iv-ketamine": dict(
        min_monitoring_minutes=30, monitoring_from="dose_end", vitals_at_40_min_required=True,
        vitals_before_discharge_required=True, vitals_during_dose_every_minutes=15,
    ),
    "spravato-56": dict(
        min_monitoring_minutes=120, monitoring_from="administration", vitals_at_40_min_required=True,
        vitals_before_discharge_required=True, vitals_during_dose_every_minutes=None,
    ),
    "spravato-84": dict(
        min_monitoring_minutes=120, monitoring_from="administration", vitals_at_40_min_required=True,
        vitals_before_discharge_required=True, vitals_during_dose_every_minutes=None,
    ),
}  # fmt: skip
# The consultation keeps the field defaults: no minimum, no readings required.


def set_protocols(apps, schema_editor):
    TreatmentType = apps.get_model("scheduling", "TreatmentType")
    for code, protocol in PROTOCOL.items():
        TreatmentType.objects.filter(code=code).update(**protocol)
    TreatmentType.objects.filter(modality="spravato").exclude(code__in=PROTOCOL).update(
        **PROTOCOL["spravato-56"]
    )
    TreatmentType.objects.filter(modality="iv").exclude(code__in=PROTOCOL).update(**PROTOCOL["iv-ketamine"])


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0011_rems_monitoring_form"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="sessionrecord",
            name="discharge_override_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="discharge_override_blockers",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="discharge_override_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="discharge_override_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="dose_flags_told_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="plan_cosigned_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="plan_cosigned_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="plan_dose_mg",
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=6, null=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="plan_mg_per_kg",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=5, null=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="plan_warnings",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="plan_weight_kg",
            field=models.DecimalField(
                blank=True, decimal_places=1, max_digits=5, null=True, verbose_name="the day's weight (kg)"
            ),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="planned_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="sessionrecord",
            name="planned_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="treatmenttype",
            name="min_monitoring_minutes",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="Minimum monitoring before discharge, in minutes (0: no minimum). Spravato: at least 120 (label).",
            ),
        ),
        migrations.AddField(
            model_name="treatmenttype",
            name="monitoring_from",
            field=models.CharField(
                choices=[
                    ("administration", "Administration (first device, or the infusion's start)"),
                    ("dose_end", "The end of the dose (the infusion's end)"),
                ],
                default="administration",
                help_text="When the monitoring time starts: at administration (Spravato's first device) or when the dose ends (the end of an infusion).",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="treatmenttype",
            name="vitals_at_40_min_required",
            field=models.BooleanField(
                default=False,
                help_text="Spravato: required (label). IV ketamine: blood pressure peaks at about 40 minutes.",
                verbose_name="vital signs about 40 minutes after the dose required",
            ),
        ),
        migrations.AddField(
            model_name="treatmenttype",
            name="vitals_before_discharge_required",
            field=models.BooleanField(default=False, verbose_name="vital signs before discharge required"),
        ),
        migrations.AddField(
            model_name="treatmenttype",
            name="vitals_during_dose_every_minutes",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Offered, not required: the session page suggests a reading this often while the dose is given (empty: no suggestion).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="vitalsigns",
            name="phase",
            field=models.CharField(
                choices=[
                    ("pre_dose", "Before dosing"),
                    ("during_dose", "During the dose (infusion)"),
                    ("at_40_min", "About 40 minutes after dosing"),
                    ("pre_discharge", "Before discharge"),
                    ("other", "Other check"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(set_protocols, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="sessionrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("discharge_override_at__isnull", True),
                    models.Q(("discharge_override_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="session_discharge_override_has_reason",
            ),
        ),
        migrations.AddConstraint(
            model_name="sessionrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("plan_cosigned_by__isnull", True),
                    models.Q(("plan_cosigned_by", models.F("planned_by")), _negated=True),
                    _connector="OR",
                ),
                name="session_plan_cosigned_by_another_clinician",
            ),
        ),
        migrations.AddConstraint(
            model_name="sessionrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("plan_weight_kg__isnull", True), ("plan_weight_kg__range", (20, 350)), _connector="OR"
                ),
                name="session_plan_weight_plausible",
            ),
        ),
        migrations.AddConstraint(
            model_name="sessionrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("plan_dose_mg__isnull", True), ("plan_dose_mg__gt", 0), _connector="OR"),
                name="session_plan_dose_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="sessionrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("dose_mg__isnull", True), ("dose_mg__gt", 0), _connector="OR"),
                name="session_dose_positive",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmenttype",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("modality", "spravato"), _negated=True),
                    models.Q(
                        ("min_monitoring_minutes__gte", 120),
                        ("monitoring_from", "administration"),
                        ("vitals_at_40_min_required", True),
                        ("vitals_before_discharge_required", True),
                    ),
                    _connector="OR",
                ),
                name="treatment_spravato_monitoring_per_label",
                violation_error_message="Spravato's label asks for at least 120 minutes of monitoring from administration, with vital signs about 40 minutes after the dose and before discharge.",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmenttype",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("vitals_during_dose_every_minutes__isnull", True),
                    ("vitals_during_dose_every_minutes__gt", 0),
                    _connector="OR",
                ),
                name="treatment_vitals_during_dose_positive",
                violation_error_message="Suggest a reading during the dose at least a minute apart, or none.",
            ),
        ),
    ]
