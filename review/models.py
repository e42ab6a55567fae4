"""Review's own tables: clinician-rated scales and the review queue, which database triggers keep (intake
migrations 0005 and 0006). The tables kept the names they were created with in intake."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from intake.models import IntakeSubmission, Patient


class ClinicianRating(models.Model):
    """A clinician-administered scale's total (MADRS, Y-BOCS), entered with its date and rater."""

    class Scale(models.TextChoices):
        MADRS = "madrs", _("MADRS")
        YBOCS = "ybocs", _("Y-BOCS")

    # Highest possible total of each scale (clinical reference 1.5 and 1.8) [V].
    MAXIMUM = {"madrs": 60, "ybocs": 40}

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="clinician_ratings")
    scale = models.CharField(max_length=10, choices=Scale.choices)
    total = models.PositiveSmallIntegerField()
    rated_on = models.DateField()
    rater = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()
    # A plain id: a rating outlives any change to the appointment.
    appointment_id = models.BigIntegerField(null=True, blank=True)
    note = models.TextField(blank=True)
    corrects = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrected_by"
    )

    class Meta:
        db_table = "intake_clinicianrating"
        indexes = [models.Index(fields=["patient", "scale", "rated_on"], name="rating_trend_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(scale="madrs", total__gte=0, total__lte=60)
                | Q(scale="ybocs", total__gte=0, total__lte=40),
                name="rating_total_in_scale_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_scale_display()} {self.total} on {self.rated_on:%Y-%m-%d}"


class ReviewQueueEntry(models.Model):
    """An intake waiting for an eligibility decision: the review queue, one row per waiting intake.

    Derived rows, written only by database triggers (migration 0005) in the transaction of the write that changes
    the queue, whatever makes it (services, admin, bulk inserts): a new intake replaces the patient's older entry,
    a decision on the intake removes it, an urgent alert raised or acknowledged sets ``open_alert_at``, a patient
    moving location moves their entry. Each row carries the sort keys (indexed, so a page of the queue is one index
    range scan with a LIMIT), the location (for the access filter) and the keys the filters match, so neither the
    page nor its count reads the submissions table. ``review.selectors.rebuild_review_queue`` recomputes
    every row from the source tables, for data loaded with the triggers off.
    """

    submission = models.OneToOneField(
        IntakeSubmission, primary_key=True, on_delete=models.CASCADE, related_name="queue_entry"
    )
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    location = models.ForeignKey(
        "scheduling.Location", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Copies of the (immutable) submission's sort and filter keys.
    submitted_at = models.DateTimeField()
    has_hard_stop = models.BooleanField()
    reasons = models.JSONField(null=True, blank=True)  # answers -> reasons -> reasons, as submitted
    finding_keys = models.JSONField(default=list)  # [{"code": ..., "modality": ...}] of each finding
    # The patient's oldest unacknowledged urgent alert (from an intake or a re-screen), else null.
    open_alert_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "intake_reviewqueueentry"
        indexes = [
            # The queue's order: open alerts (oldest first), then hard stops, then the longest waiting.
            models.Index(
                models.F("open_alert_at").asc(nulls_last=True),
                models.F("has_hard_stop").desc(),
                models.F("submitted_at").asc(),
                models.F("submission_id").asc(),
                name="review_queue_order_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Review queue entry for submission {self.submission_id}"


class ReviewQueueCount(models.Model):
    """How many intakes wait at each location: the review queue's size for the navigation badge, without counting
    its rows on every clinician page.

    Derived, written only by statement-level triggers on ``ReviewQueueEntry`` (migration 0006): each statement that
    enters, removes or moves entries adds its net change per location, in its own transaction. ``location_key`` is
    the location's id, or 0 for patients with no location yet. ``rebuild_review_queue`` recomputes it with the
    entries.
    """

    location_key = models.BigIntegerField(primary_key=True)
    waiting = models.IntegerField()

    class Meta:
        db_table = "intake_reviewqueuecount"

    def __str__(self) -> str:
        return f"{self.waiting} waiting at location {self.location_key or 'none'}"
