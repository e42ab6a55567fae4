"""An urgent alert can be raised by a saved high-risk C-SSRS step of an intake not yet submitted: it belongs to
the intake (one alert per intake) and may have no submission. Alerts raised by submitted intakes are linked to
their intake here, so a later step save of that intake finds them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0008_review_models_move_to_review"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="urgentalert",
            name="intake",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="urgent_alert",
                to="intake.intake",
            ),
        ),
        migrations.AlterField(
            model_name="urgentalert",
            name="submission",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="urgent_alert",
                to="intake.intakesubmission",
            ),
        ),
        migrations.RunSQL(
            "UPDATE intake_urgentalert a SET intake_id = s.intake_id FROM intake_intakesubmission s "
            "WHERE s.id = a.submission_id AND s.intake_id IS NOT NULL AND a.intake_id IS NULL",
            migrations.RunSQL.noop,
        ),
        migrations.AddConstraint(
            model_name="urgentalert",
            constraint=models.CheckConstraint(
                condition=models.Q(("submission__isnull", False), ("intake__isnull", False), _connector="OR"),
                name="alert_has_a_source",
            ),
        ),
    ]
