"""A session is at most a day long (models.MAX_SESSION_LENGTH), so schedule reads can bound their range scans."""

import datetime

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0006_reminders"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "end_at__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("start_at"), "+", models.Value(datetime.timedelta(days=1))
                        ),
                    )
                ),
                name="appointment_at_most_a_day_long",
            ),
        ),
        migrations.AddConstraint(
            model_name="treatmenttype",
            constraint=models.CheckConstraint(
                condition=models.Q(("chair_minutes__lte", 1440)), name="treatment_chair_minutes_at_most_a_day"
            ),
        ),
    ]
