"""Plain messages for the constraints the clinic admin's set-up forms can break (Django checks them before saving;
until now it said 'Constraint "opening_hours_closes_after_opens" is violated.'). No change to the database."""

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0008_calendar_guards"),
    ]

    operations = [
        migrations.AlterConstraint(
            model_name="cliniciantimeoff",
            name="time_off_ends_after_starts",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                name="time_off_ends_after_starts",
                violation_error_message="Time off must end after it starts.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="openinghours",
            name="opening_hours_closes_after_opens",
            constraint=models.CheckConstraint(
                condition=models.Q(("closes__gt", models.F("opens"))),
                name="opening_hours_closes_after_opens",
                violation_error_message="Closing time must be after opening time.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="treatmenttype",
            name="treatment_chair_minutes_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("chair_minutes__gt", 0)),
                name="treatment_chair_minutes_positive",
                violation_error_message="The chair or room must be held for at least a minute.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="treatmenttype",
            name="treatment_clinician_minutes_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("clinician_minutes__gt", 0)),
                name="treatment_clinician_minutes_positive",
                violation_error_message="The clinician must be held for at least a minute.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="treatmenttype",
            name="treatment_clinician_inside_chair_span",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "chair_minutes__gte",
                        django.db.models.expressions.CombinedExpression(
                            django.db.models.expressions.CombinedExpression(
                                models.F("clinician_offset_minutes"), "+", models.F("clinician_minutes")
                            ),
                            "+",
                            models.F("discharge_minutes"),
                        ),
                    )
                ),
                name="treatment_clinician_inside_chair_span",
                violation_error_message="The clinician's offset, dosing and discharge minutes together must fit inside the chair or room minutes.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="treatmenttype",
            name="treatment_chair_minutes_at_most_a_day",
            constraint=models.CheckConstraint(
                condition=models.Q(("chair_minutes__lte", 1440)),
                name="treatment_chair_minutes_at_most_a_day",
                violation_error_message="A session can hold its chair or room for a day at most.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="workinghours",
            name="working_hours_ends_after_starts",
            constraint=models.CheckConstraint(
                condition=models.Q(("ends__gt", models.F("starts"))),
                name="working_hours_ends_after_starts",
                violation_error_message="Working hours must end after they start.",
            ),
        ),
    ]
