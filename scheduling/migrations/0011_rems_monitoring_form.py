"""The REMS Patient Monitoring Form gets its own record with every field of the form; the "sent" stamp moves
there from the session record."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_sent_forms(apps, schema_editor):
    """A form marked sent before the form had its own record keeps who sent it and when; its answers were never
    recorded, so they stay blank."""
    SessionRecord = apps.get_model("scheduling", "SessionRecord")
    RemsMonitoringForm = apps.get_model("scheduling", "RemsMonitoringForm")
    RemsMonitoringForm.objects.bulk_create(
        RemsMonitoringForm(
            appointment_id=record.appointment_id,
            submitted_at=record.rems_form_submitted_at,
            submitted_by_id=record.rems_form_submitted_by_id,
        )
        for record in SessionRecord.objects.filter(rems_form_submitted_at__isnull=False)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0010_staff_locations_and_break_glass"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RemsMonitoringForm",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "patient_sex",
                    models.CharField(
                        blank=True,
                        choices=[("male", "Male"), ("female", "Female"), ("other", "Other")],
                        max_length=6,
                    ),
                ),
                ("first_treatment", models.BooleanField(blank=True, null=True)),
                ("enrolled_in_rems", models.BooleanField(blank=True, null=True)),
                ("takes_benzodiazepines", models.BooleanField(blank=True, null=True)),
                ("takes_sedative_hypnotics", models.BooleanField(blank=True, null=True)),
                ("takes_psychostimulants", models.BooleanField(blank=True, null=True)),
                ("takes_maois", models.BooleanField(blank=True, null=True)),
                ("takes_opioids", models.BooleanField(blank=True, null=True)),
                ("provider_first_name", models.CharField(blank=True, max_length=100)),
                ("provider_last_name", models.CharField(blank=True, max_length=100)),
                ("provider_phone", models.CharField(blank=True, max_length=40)),
                ("provider_email", models.EmailField(blank=True, max_length=254)),
                ("setting_name", models.CharField(blank=True, max_length=120)),
                ("setting_address1", models.CharField(blank=True, max_length=200)),
                ("setting_address2", models.CharField(blank=True, max_length=200)),
                ("setting_city", models.CharField(blank=True, max_length=100)),
                ("setting_state", models.CharField(blank=True, max_length=40)),
                ("setting_zip", models.CharField(blank=True, max_length=12)),
                ("dose_mg", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("lot_number", models.CharField(blank=True, max_length=40)),
                ("first_administration_at", models.DateTimeField(blank=True, null=True)),
                ("monitoring_completed_at", models.DateTimeField(blank=True, null=True)),
                ("ready_to_leave_minutes", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("vitals_ok_before_administration", models.BooleanField(blank=True, null=True)),
                ("vitals_ok_at_completion", models.BooleanField(blank=True, null=True)),
                ("bp_before_systolic", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("bp_before_diastolic", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("bp_40_min_systolic", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("bp_40_min_diastolic", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("bp_at_completion_systolic", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("bp_at_completion_diastolic", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("sedation", models.BooleanField(blank=True, null=True)),
                ("sedation_resolved", models.BooleanField(blank=True, null=True)),
                ("dissociation", models.BooleanField(blank=True, null=True)),
                ("dissociation_resolved", models.BooleanField(blank=True, null=True)),
                ("respiratory_depression", models.BooleanField(blank=True, null=True)),
                ("respiratory_depression_resolved", models.BooleanField(blank=True, null=True)),
                ("adverse_events", models.BooleanField(blank=True, null=True)),
                ("adverse_event_serious", models.BooleanField(blank=True, null=True)),
                ("adverse_event_description", models.TextField(blank=True)),
                ("adverse_event_reported", models.BooleanField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(blank=True, null=True)),
                ("submitted_at", models.DateTimeField(blank=True, null=True)),
                (
                    "appointment",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="rems_form",
                        to="scheduling.appointment",
                    ),
                ),
                (
                    "submitted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "updated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "REMS patient monitoring form",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("monitoring_completed_at__isnull", True),
                            ("first_administration_at__isnull", True),
                            ("monitoring_completed_at__gte", models.F("first_administration_at")),
                            _connector="OR",
                        ),
                        name="rems_form_monitoring_ends_after_administration",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("dose_mg__isnull", True), ("dose_mg__range", (1, 200)), _connector="OR"
                        ),
                        name="rems_form_dose_plausible",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("ready_to_leave_minutes__isnull", True),
                            ("ready_to_leave_minutes__lte", 1440),
                            _connector="OR",
                        ),
                        name="rems_form_ready_within_a_day",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("bp_before_systolic__isnull", True), ("bp_before_diastolic__isnull", True)
                            ),
                            models.Q(
                                ("bp_before_systolic__range", (40, 300)),
                                ("bp_before_diastolic__range", (20, 200)),
                                ("bp_before_systolic__gt", models.F("bp_before_diastolic")),
                            ),
                            _connector="OR",
                        ),
                        name="rems_form_bp_before_plausible",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("bp_40_min_systolic__isnull", True), ("bp_40_min_diastolic__isnull", True)
                            ),
                            models.Q(
                                ("bp_40_min_systolic__range", (40, 300)),
                                ("bp_40_min_diastolic__range", (20, 200)),
                                ("bp_40_min_systolic__gt", models.F("bp_40_min_diastolic")),
                            ),
                            _connector="OR",
                        ),
                        name="rems_form_bp_40_min_plausible",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("bp_at_completion_systolic__isnull", True),
                                ("bp_at_completion_diastolic__isnull", True),
                            ),
                            models.Q(
                                ("bp_at_completion_systolic__range", (40, 300)),
                                ("bp_at_completion_diastolic__range", (20, 200)),
                                ("bp_at_completion_systolic__gt", models.F("bp_at_completion_diastolic")),
                            ),
                            _connector="OR",
                        ),
                        name="rems_form_bp_at_completion_plausible",
                    ),
                ],
            },
        ),
        migrations.RunPython(copy_sent_forms, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="sessionrecord",
            name="rems_form_submitted_at",
        ),
        migrations.RemoveField(
            model_name="sessionrecord",
            name="rems_form_submitted_by",
        ),
    ]
