"""Who may see which location: front desk's assignments to locations, one view that joins them with clinicians'
locations (the rule's single source, scheduling.access.STAFF_LOCATIONS_SQL), and clinicians' emergency accesses to
a patient of another location ("break the glass")."""

import django.db.models.deletion
import django.db.models.functions.text
import django.db.models.lookups
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0006_review_queue_count"),
        ("scheduling", "0009_constraint_messages"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BreakGlassAccess",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reason", models.TextField()),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField()),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("admins_told_at", models.DateTimeField(blank=True, null=True)),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="intake.patient"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "emergency access (break the glass)",
                "verbose_name_plural": "emergency accesses (break the glass)",
                "ordering": ["-created_at", "-pk"],
                "default_permissions": ("view",),
                "indexes": [
                    models.Index(fields=["user", "patient", "expires_at"], name="break_glass_grant_idx")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("expires_at__gt", models.F("created_at"))),
                        name="break_glass_expires_after_it_opens",
                    ),
                    models.CheckConstraint(
                        condition=django.db.models.lookups.GreaterThanOrEqual(
                            django.db.models.functions.text.Length(
                                django.db.models.functions.text.Trim("reason")
                            ),
                            10,
                        ),
                        name="break_glass_has_a_reason",
                        violation_error_message="Say why, in at least 10 characters.",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="FrontDeskAssignment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "location",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="front_desk_assignments",
                        to="scheduling.location",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        limit_choices_to={"groups__name": "Front desk"},
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="front_desk_assignments",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "front-desk location",
                "ordering": ["location", "user"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("user", "location"), name="front_desk_assignment_once_per_location"
                    )
                ],
            },
        ),
        migrations.RunSQL(
            # Where each member of staff works, whatever their role: clinicians through their locations, front
            # desk through their assignments. Written as a view so that the hand-written SQL of the busiest pages
            # and the ORM's filters read one definition (a UNION ALL view: PostgreSQL pushes user_id = ... into both
            # branches, so it stays two index lookups).
            sql="""
                CREATE VIEW scheduling_stafflocation (user_id, location_id) AS
                    SELECT clinician.user_id, places.location_id
                      FROM scheduling_clinician_locations places
                      JOIN scheduling_clinician clinician ON clinician.id = places.clinician_id
                    UNION ALL
                    SELECT assignment.user_id, assignment.location_id
                      FROM scheduling_frontdeskassignment assignment
            """,
            reverse_sql="DROP VIEW scheduling_stafflocation",
        ),
    ]
