"""Dosing sessions spaced per patient, by the database: ``TreatmentType.min_days_apart`` and the DayHold table with
its exclusion constraint (one IV infusion a local day; a Spravato session keeps the next dosing session at least
SCHEDULING_SPRAVATO_MIN_DAYS_APART days away).

Existing Spravato types take the setting's spacing. Every live dosing session (one holding its allocations) gets its
day hold, earliest first; a session that already breaks the rule is left without one (ON CONFLICT DO NOTHING: an
exclusion constraint may skip a clashing row) rather than failing the migration, and shows in the check query of
docs/scheduling.md.
"""

import django.contrib.postgres.constraints
import django.contrib.postgres.fields.ranges
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BACKFILL = """
INSERT INTO scheduling_dayhold (appointment_id, patient_id, days, active)
SELECT ap.id, ap.patient_id,
       daterange((ap.start_at AT TIME ZONE l.time_zone)::date,
                 (ap.start_at AT TIME ZONE l.time_zone)::date + tt.min_days_apart, '[)'),
       true
FROM scheduling_appointment ap
JOIN scheduling_treatmenttype tt ON tt.id = ap.treatment_type_id
JOIN scheduling_location l ON l.id = ap.location_id
WHERE tt.modality <> 'consultation'
  AND EXISTS (SELECT 1 FROM scheduling_allocation al WHERE al.appointment_id = ap.id AND al.active)
ORDER BY ap.start_at, ap.id
ON CONFLICT DO NOTHING
"""


def spravato_spacing(apps, schema_editor):
    TreatmentType = apps.get_model("scheduling", "TreatmentType")
    TreatmentType.objects.filter(modality="spravato").update(
        min_days_apart=int(getattr(settings, "SCHEDULING_SPRAVATO_MIN_DAYS_APART", 2))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0008_review_models_move_to_review"),
        ("scheduling", "0012_session_protocol_and_dose_checks"),
    ]

    operations = [
        migrations.CreateModel(
            name="DayHold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("days", django.contrib.postgres.fields.ranges.DateRangeField()),
                ("active", models.BooleanField(default=True)),
            ],
        ),
        migrations.AddField(
            model_name="treatmenttype",
            name="min_days_apart",
            field=models.PositiveSmallIntegerField(
                default=1,
                help_text="Dosing treatments: the fewest local calendar days from a session of this type to the patient's next dosing session of any kind (1: one a day; 2: Monday then Wednesday at the earliest). Not used for consultations.",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmenttype",
            constraint=models.CheckConstraint(
                condition=models.Q(("min_days_apart__gte", 1), ("min_days_apart__lte", 28)),
                name="treatment_min_days_apart_range",
                violation_error_message="Days apart must be from 1 (one session a day) to 28.",
            ),
        ),
        migrations.AddField(
            model_name="dayhold",
            name="appointment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="day_holds",
                to="scheduling.appointment",
            ),
        ),
        migrations.AddField(
            model_name="dayhold",
            name="patient",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="intake.patient"
            ),
        ),
        migrations.AddConstraint(
            model_name="dayhold",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("days__isempty", False), ("days__lower_inf", False), ("days__upper_inf", False)
                ),
                name="dayhold_days_not_empty",
            ),
        ),
        migrations.AddConstraint(
            model_name="dayhold",
            constraint=django.contrib.postgres.constraints.ExclusionConstraint(
                condition=models.Q(("active", True)),
                expressions=[
                    (
                        models.Func(
                            models.F("patient"),
                            models.F("patient"),
                            models.Value("[]"),
                            function="int8range",
                            output_field=django.contrib.postgres.fields.ranges.BigIntegerRangeField(),
                        ),
                        "=",
                    ),
                    ("days", "&&"),
                ],
                name="dayhold_patient_dosing_spaced",
            ),
        ),
        migrations.RunPython(spravato_spacing, migrations.RunPython.noop),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
