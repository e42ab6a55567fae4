"""Reads for the clinician review pages: the access gate, the review queue and the open urgent alerts.

Every review page fetches its patient through ``patient_for_clinician`` (or an alert through
``alert_for_clinician``): anyone else gets a 404, so a record's existence is never confirmed. When
``REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS`` is on, a clinician sees only patients of the locations they work at, plus
patients not yet assigned to any location, so that nobody's suicide-risk alert can fall between two clinics.

The queue is one count and one page query however many patients there are, both on the ``ReviewQueueEntry`` table
that database triggers keep (migration 0005); neither grows with the number of submissions. The one write here,
``rebuild_review_queue``, recomputes that table for data loaded with the triggers off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Window
from django.http import Http404

from clinic.roles import Role
from intake.models import EligibilityDecision, IntakeSubmission, Patient, ReviewQueueEntry, UrgentAlert

QUEUE_PAGE_SIZE = 25
BANNER_ALERT_LIMIT = 5


def restricts_to_locations() -> bool:
    return bool(getattr(settings, "REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS", False))


def patient_zone(patient: Patient) -> tzinfo:
    """The zone the patient's times are shown in: their location's, else the clinic default."""
    return zone_of(patient.location.time_zone if patient.location_id else None)


def zone_of(location_time_zone: str | None) -> tzinfo:
    """A location's zone by its name, or the clinic default for a patient with no location."""
    return ZoneInfo(location_time_zone or settings.TIME_ZONE)


# --- Access gate ------------------------------------------------------------------------------------------------


def _is_clinician(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.role is Role.CLINICIAN)


def visible_patient_filter(user, *, via: str = "") -> Q:
    """A Q over ``<via>`` (a path to a Patient, e.g. ``"patient__"``) for the patients ``user`` may review."""
    if not _is_clinician(user):
        return Q(pk__in=[])
    if not restricts_to_locations():
        return Q()
    from scheduling.models import Clinician

    locations = Clinician.locations.through.objects.filter(clinician__user=user).values("location_id")
    return Q(**{f"{via}location__isnull": True}) | Q(**{f"{via}location_id__in": locations})


def patient_for_clinician(user, pk) -> Patient:
    """The patient if this clinician may review them, else 404 (patients, front desk and admins included)."""
    if not _is_clinician(user):
        raise Http404("No such patient.")
    try:
        return Patient.objects.select_related("location").filter(visible_patient_filter(user)).get(pk=pk)
    except (Patient.DoesNotExist, ValueError, TypeError):
        raise Http404("No such patient.") from None


def alert_for_clinician(user, pk) -> UrgentAlert:
    """An urgent alert whose patient this clinician may review, else 404."""
    if not _is_clinician(user):
        raise Http404("No such alert.")
    try:
        return (
            UrgentAlert.objects.select_related("patient__location", "acknowledged_by", "submission")
            .filter(visible_patient_filter(user, via="patient__"))
            .get(pk=pk)
        )
    except (UrgentAlert.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert.") from None


# --- Urgent alerts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenAlerts:
    alerts: list[UrgentAlert]  # oldest first, at most the limit asked for
    total: int  # every open alert the person may see


def open_alerts(user, *, limit: int = BANNER_ALERT_LIMIT) -> OpenAlerts:
    """Unacknowledged alerts this clinician may see, oldest first, and how many there are: one query."""
    if not _is_clinician(user):
        return OpenAlerts([], 0)
    rows = list(
        UrgentAlert.objects.filter(acknowledged_at__isnull=True)
        .filter(visible_patient_filter(user, via="patient__"))
        .select_related("patient__location")
        .annotate(open_total=Window(Count("pk")))
        .order_by("created_at", "pk")[:limit]
    )
    for alert in rows:
        alert.zone = str(patient_zone(alert.patient))  # for showing its time in the patient's location's zone
    return OpenAlerts(rows, rows[0].open_total if rows else 0)


def all_open_alerts() -> QuerySet[UrgentAlert]:
    """For clinic admins, who are told of escalations: every open alert (they see initials only)."""
    return (
        UrgentAlert.objects.filter(acknowledged_at__isnull=True)
        .select_related("patient")
        .order_by("created_at")
    )


def recently_acknowledged_alerts(user, *, limit: int = 20) -> list[UrgentAlert]:
    rows = list(
        UrgentAlert.objects.filter(acknowledged_at__isnull=False)
        .filter(visible_patient_filter(user, via="patient__"))
        .select_related("patient__location", "acknowledged_by")
        .order_by("-acknowledged_at")[:limit]
    )
    for alert in rows:
        alert.zone = str(patient_zone(alert.patient))
    return rows


# --- The review queue -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    reason: str = ""  # a reason-for-care code (intake.forms.REASONS_FOR_CARE)
    modality: str = ""  # "iv" or "spravato": intakes with a finding that concerns it
    finding: str = ""  # a rule code (intake.rules.DEFAULT_RULES)


def review_queue(user, filters: QueueFilters | None = None) -> QuerySet[ReviewQueueEntry]:
    """Each visible patient's latest intake that no decision has answered yet, most urgent first: open urgent
    alerts (oldest alert first), then hard-stop findings, then the longest waiting.

    A decision answers the intake it was made on; a newer intake goes back into the queue, and so does a patient
    asked for more information once they resubmit.

    The rows come from ``ReviewQueueEntry``, which database triggers keep equal to that definition (see the model
    and migration 0005): a page is an index range scan with a LIMIT, and the count reads only the queue.
    """
    filters = filters or QueueFilters()
    # The entry carries its patient's location, so the patient filter applies to it as it is (via="").
    queryset = ReviewQueueEntry.objects.filter(visible_patient_filter(user))
    if filters.reason:
        queryset = queryset.filter(reasons__contains=[filters.reason])
    if filters.modality:
        queryset = queryset.filter(
            Q(finding_keys__contains=[{"modality": filters.modality}])
            | Q(finding_keys__contains=[{"modality": "both"}])
        )
    if filters.finding:
        queryset = queryset.filter(finding_keys__contains=[{"code": filters.finding}])
    return (
        queryset.select_related("submission", "patient__location")
        .defer("submission__answers", "submission__trd")
        .order_by(  # the order of review_queue_order_idx, column for column
            F("open_alert_at").asc(nulls_last=True),
            F("has_hard_stop").desc(),
            "submitted_at",
            "submission_id",
        )
    )


def queue_count(user) -> int:
    return ReviewQueueEntry.objects.filter(visible_patient_filter(user)).count() if _is_clinician(user) else 0


def rebuild_review_queue() -> int:
    """Recompute every review-queue entry from the submissions, decisions, alerts and patients; returns how many
    intakes wait. The triggers keep the queue as data is written; this is for data loaded with them switched off
    (bench/seed.py's COPY) or a repair, safe while the clinic works: writes that change the queue wait while it runs
    (about a second for 100,000 patients), then apply on top."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT intake_rebuild_review_queue()")
        return cursor.fetchone()[0]


# --- Decisions --------------------------------------------------------------------------------------------------


def latest_intake(patient: Patient, *, now: datetime | None = None) -> IntakeSubmission | None:
    queryset = IntakeSubmission.objects.filter(patient=patient, kind=IntakeSubmission.Kind.INTAKE)
    if now is not None:
        queryset = queryset.filter(submitted_at__lte=now)
    return queryset.order_by("-submitted_at", "-pk").first()


def current_decision(patient: Patient, *, now: datetime | None = None) -> EligibilityDecision | None:
    """The decision in force: the latest one (a new decision always supersedes the one before)."""
    queryset = EligibilityDecision.objects.filter(patient=patient)
    if now is not None:
        queryset = queryset.filter(decided_at__lte=now)
    return queryset.select_related("decided_by", "submission").order_by("-decided_at", "-pk").first()


def decision_history(patient: Patient) -> list[EligibilityDecision]:
    return list(
        EligibilityDecision.objects.filter(patient=patient)
        .select_related("decided_by", "submission")
        .order_by("-decided_at", "-pk")
    )


def open_information_request(patient: Patient) -> EligibilityDecision | None:
    """The clinician's request for more information the patient still has to answer, else None.

    For the patient portal: show ``message_to_patient`` and the ``reopened_steps``. It is answered when the
    patient submits a newer intake, or when a later decision replaces it.
    """
    decision = current_decision(patient)
    if decision is None or decision.outcome != EligibilityDecision.Outcome.MORE_INFO_NEEDED:
        return None
    answered = IntakeSubmission.objects.filter(
        patient=patient, kind=IntakeSubmission.Kind.INTAKE, submitted_at__gt=decision.decided_at
    ).exists()
    return None if answered else decision


# --- Navigation -------------------------------------------------------------------------------------------------


class ReviewNavigation:
    """The clinician's counts for the navigation and the urgent-alert banner, read lazily: two queries, only on
    pages that show them, and none when the page's view read the same figures already (``already_read``)."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def alerts(self) -> OpenAlerts:
        return open_alerts(self.user)

    @cached_property
    def queue_count(self) -> int:
        return queue_count(self.user)

    def already_read(self, *, queue_count: int | None = None, alerts: OpenAlerts | None = None) -> None:
        """Figures the view has just read for this user; ``alerts`` may hold more than the banner shows."""
        if queue_count is not None:
            self.__dict__["queue_count"] = queue_count
        if alerts is not None:
            self.__dict__["alerts"] = OpenAlerts(alerts.alerts[:BANNER_ALERT_LIMIT], alerts.total)


def review_navigation(request) -> ReviewNavigation:
    """The request's one ReviewNavigation: the view and the context processor share it."""
    navigation = getattr(request, "_review_navigation", None)
    if navigation is None or navigation.user is not request.user:
        navigation = request._review_navigation = ReviewNavigation(request.user)
    return navigation
