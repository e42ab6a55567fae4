"""Reads for the clinician review pages: the access gate, the review queue and the open urgent alerts.

Every review page fetches its patient through ``patient_for_clinician`` (or an alert through
``alert_for_clinician``): anyone else gets a 404, so a record's existence is never confirmed. When
``REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS`` is on, a clinician sees only patients of the locations they work at, plus
patients not yet assigned to any location, so that nobody's suicide-risk alert can fall between two clinics.

The queue is one count and one page query however many patients there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cached_property
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.fields.json import KeyTransform
from django.http import Http404

from clinic.roles import Role
from intake.models import EligibilityDecision, IntakeSubmission, Patient, UrgentAlert

QUEUE_PAGE_SIZE = 25
BANNER_ALERT_LIMIT = 5


def restricts_to_locations() -> bool:
    return bool(getattr(settings, "REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS", False))


def patient_zone(patient: Patient) -> tzinfo:
    """The zone the patient's times are shown in: their location's, else the clinic default."""
    location = patient.location if patient.location_id else None
    return ZoneInfo(location.time_zone if location else settings.TIME_ZONE)


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


def review_queue(user, filters: QueueFilters | None = None) -> QuerySet[IntakeSubmission]:
    """Each visible patient's latest intake that no decision has answered yet, most urgent first: open urgent
    alerts (oldest alert first), then hard-stop findings, then the longest waiting.

    A decision answers the intake it was made on; a newer intake goes back into the queue, and so does a patient
    asked for more information once they resubmit.
    """
    filters = filters or QueueFilters()
    newer = IntakeSubmission.objects.filter(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=OuterRef("patient"),
        submitted_at__gt=OuterRef("submitted_at"),
    )
    decided = EligibilityDecision.objects.filter(submission=OuterRef("pk"))
    oldest_open_alert = (
        UrgentAlert.objects.filter(patient=OuterRef("patient"), acknowledged_at__isnull=True)
        .order_by("created_at")
        .values("created_at")[:1]
    )
    queryset = (
        IntakeSubmission.objects.filter(kind=IntakeSubmission.Kind.INTAKE)
        .filter(visible_patient_filter(user, via="patient__"))
        .filter(~Exists(newer), ~Exists(decided))
    )
    if filters.reason:
        queryset = queryset.filter(answers__reasons__reasons__contains=[filters.reason])
    if filters.modality:
        queryset = queryset.filter(
            Q(findings__contains=[{"modality": filters.modality}])
            | Q(findings__contains=[{"modality": "both"}])
        )
    if filters.finding:
        queryset = queryset.filter(findings__contains=[{"code": filters.finding}])
    return (
        queryset.select_related("patient__location")
        .defer("answers", "trd")
        .annotate(
            open_alert_at=Subquery(oldest_open_alert),
            reasons_for_care=KeyTransform("reasons", KeyTransform("reasons", "answers")),
        )
        .order_by(
            F("open_alert_at").asc(nulls_last=True),
            F("has_hard_stop").desc(),
            "submitted_at",
            "pk",
        )
    )


def queue_count(user) -> int:
    return review_queue(user).count() if _is_clinician(user) else 0


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
    pages that show them."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def alerts(self) -> OpenAlerts:
        return open_alerts(self.user)

    @cached_property
    def queue_count(self) -> int:
        return queue_count(self.user)
