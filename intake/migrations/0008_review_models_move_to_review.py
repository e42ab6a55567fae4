"""The review queue's tables and clinician ratings belong to the review app now: this only removes them from
intake's model state. The tables, their triggers (0005, 0006) and their data stay as they are; review's 0001 takes
them over under the same names."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0007_eligibility_facts_function"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="clinicianrating",
                    name="corrects",
                ),
                migrations.RemoveField(
                    model_name="clinicianrating",
                    name="patient",
                ),
                migrations.RemoveField(
                    model_name="clinicianrating",
                    name="rater",
                ),
                migrations.DeleteModel(
                    name="ReviewQueueCount",
                ),
                migrations.RemoveField(
                    model_name="reviewqueueentry",
                    name="location",
                ),
                migrations.RemoveField(
                    model_name="reviewqueueentry",
                    name="patient",
                ),
                migrations.RemoveField(
                    model_name="reviewqueueentry",
                    name="submission",
                ),
                migrations.DeleteModel(
                    name="ClinicianRating",
                ),
                migrations.DeleteModel(
                    name="ReviewQueueEntry",
                ),
            ],
            database_operations=[],
        ),
    ]
