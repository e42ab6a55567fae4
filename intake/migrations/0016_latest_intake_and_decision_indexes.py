"""Indexes that answer ``intake_eligibility_facts``'s latest intake and decision in force from their first entry,
without visiting the table: the day view reads them for each of the day's patients on every request."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0015_invitation_revoked_and_duplicates"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="eligibilitydecision",
            name="decision_patient_idx",
        ),
        migrations.AddIndex(
            model_name="eligibilitydecision",
            index=models.Index(
                fields=["patient", "-decided_at", "-id"],
                include=("submission", "outcome", "modality"),
                name="decision_patient_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="intakesubmission",
            index=models.Index(
                condition=models.Q(("kind", "intake")),
                fields=["patient", "-submitted_at", "-id"],
                name="submission_latest_intake_idx",
            ),
        ),
    ]
