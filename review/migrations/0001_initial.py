"""Takes over the tables intake created for the review queue and clinician ratings, under their old names: the
models move into review's state, nothing in the database changes except the content types, which follow the models
so that permissions already granted keep working."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("clinicianrating", "reviewqueueentry", "reviewqueuecount")


def _relabel(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    taken = set(content_type.objects.filter(app_label=new, model__in=MODELS).values_list("model", flat=True))
    content_type.objects.filter(app_label=old, model__in=set(MODELS) - taken).update(app_label=new)


def move_content_types(apps, schema_editor) -> None:
    _relabel(apps, "intake", "review")


def move_content_types_back(apps, schema_editor) -> None:
    _relabel(apps, "review", "intake")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("intake", "0008_review_models_move_to_review"),
        ("scheduling", "0010_staff_locations_and_break_glass"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ReviewQueueCount",
                    fields=[
                        ("location_key", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("waiting", models.IntegerField()),
                    ],
                    options={
                        "db_table": "intake_reviewqueuecount",
                    },
                ),
                migrations.CreateModel(
                    name="ClinicianRating",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "scale",
                            models.CharField(
                                choices=[("madrs", "MADRS"), ("ybocs", "Y-BOCS")], max_length=10
                            ),
                        ),
                        ("total", models.PositiveSmallIntegerField()),
                        ("rated_on", models.DateField()),
                        ("recorded_at", models.DateTimeField()),
                        ("appointment_id", models.BigIntegerField(blank=True, null=True)),
                        ("note", models.TextField(blank=True)),
                        (
                            "corrects",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="corrected_by",
                                to="review.clinicianrating",
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="clinician_ratings",
                                to="intake.patient",
                            ),
                        ),
                        (
                            "rater",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "intake_clinicianrating",
                        "indexes": [
                            models.Index(fields=["patient", "scale", "rated_on"], name="rating_trend_idx")
                        ],
                        "constraints": [
                            models.CheckConstraint(
                                condition=models.Q(
                                    models.Q(("scale", "madrs"), ("total__gte", 0), ("total__lte", 60)),
                                    models.Q(("scale", "ybocs"), ("total__gte", 0), ("total__lte", 40)),
                                    _connector="OR",
                                ),
                                name="rating_total_in_scale_range",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ReviewQueueEntry",
                    fields=[
                        (
                            "submission",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                primary_key=True,
                                related_name="queue_entry",
                                serialize=False,
                                to="intake.intakesubmission",
                            ),
                        ),
                        ("submitted_at", models.DateTimeField()),
                        ("has_hard_stop", models.BooleanField()),
                        ("reasons", models.JSONField(blank=True, null=True)),
                        ("finding_keys", models.JSONField(default=list)),
                        ("open_alert_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "location",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="scheduling.location",
                            ),
                        ),
                        (
                            "patient",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="intake.patient",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "intake_reviewqueueentry",
                        "indexes": [
                            models.Index(
                                models.OrderBy(models.F("open_alert_at"), nulls_last=True),
                                models.OrderBy(models.F("has_hard_stop"), descending=True),
                                models.OrderBy(models.F("submitted_at")),
                                models.OrderBy(models.F("submission_id")),
                                name="review_queue_order_idx",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
