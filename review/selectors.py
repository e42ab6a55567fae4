"""Reads for the clinician review pages: the access gate, the review queue and the open urgent alerts.

Every review page fetches its patient through ``patient_for_clinician`` (or an alert through
``alert_for_clinician``): anyone else gets a 404, so a record's existence is never confirmed. Which patients a
clinician may see is scheduling.access's rule, the one every gate asks: when ``REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS``
is on, those of the locations they work at, plus patients not yet assigned to any location (so that nobody's
suicide-risk alert can fall between two clinics); and, in the gates of one patient, those they opened in an emergency
("break the glass") while that access lasts. The queue, the alert lists and the counts show their locations only.

The queue is one page query on the ``ReviewQueueEntry`` table that database triggers keep (migration 0005), and its
size is a sum over ``ReviewQueueCount``, per-location counts the triggers keep too (0006); neither grows with the
number of submissions. The one write here, ``rebuild_review_queue``, recomputes both for data loaded with the
triggers off.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, tzinfo
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Sum, Window
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from clinic.db import execute_prepared
from clinic.parsing import object_id
from clinic.roles import Role
from intake.models import EligibilityDecision, IntakeSubmission, Patient, UrgentAlert
from intake.selectors import LatestRisk, risks_from_json
from review.models import ReviewQueueCount, ReviewQueueEntry
from scheduling import access
from scheduling.models import Appointment, Location, TreatmentType

QUEUE_PAGE_SIZE = 25
BANNER_ALERT_LIMIT = 5


def patient_zone(patient: Patient) -> tzinfo:
    """The zone the patient's times are shown in: their location's, else the clinic default."""
    return ZoneInfo(patient.time_zone)


def zone_of(location_time_zone: str | None) -> tzinfo:
    """A location's zone by its name, or the clinic default for a patient with no location."""
    return ZoneInfo(location_time_zone or settings.TIME_ZONE)


# --- Access gate ------------------------------------------------------------------------------------------------


def _is_clinician(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.role is Role.CLINICIAN)


def visible_patient_filter(user, *, via: str = "", now: datetime | None = None) -> Q:
    """A Q over ``<via>`` (a path to a Patient, e.g. ``"patient__"``) for the patients ``user`` may review: the
    queue's and the alert lists' (their locations). With ``now``, also the patients they opened in an emergency
    and may still see then (the gates of one patient or alert)."""
    if not _is_clinician(user):
        return Q(pk__in=[])
    return access.patient_filter(user, via=via, now=now)


def patient_for_clinician(user, pk) -> Patient:
    """The patient (with their location) if this clinician may review them, else 404 (patients, front desk and
    admins included): every page of a patient's record starts here."""
    pk = object_id(pk)
    if not _is_clinician(user) or pk is None:
        raise Http404("No such patient.")
    if access.sees_every_location(user):  # every patient: the lookup by id alone, prepared
        patient = _patient_with_location(pk)
    else:
        visible = Patient.objects.filter(visible_patient_filter(user, now=timezone.now()))
        patient = visible.select_related("location").filter(pk=pk).first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


_PATIENT_FIELDS = [field.attname for field in Patient._meta.concrete_fields]
_PATIENT_COLUMNS = [field.column for field in Patient._meta.concrete_fields]
_LOCATION_FIELDS = [field.attname for field in Location._meta.concrete_fields]
_LOCATION_COLUMNS = [field.column for field in Location._meta.concrete_fields]
# Every page of a patient's record reads this first; the ORM's compile of the same select_related() cost more than
# PostgreSQL spent on it. The columns are the models' own, so the instances are those the ORM would have made.
_PATIENT_SQL = f"""
SELECT {", ".join(f"patient.{column}" for column in _PATIENT_COLUMNS)},
       {", ".join(f"location.{column}" for column in _LOCATION_COLUMNS)}
  FROM {Patient._meta.db_table} patient
  LEFT JOIN {Location._meta.db_table} location ON location.id = patient.location_id
 WHERE patient.id = %s
"""  # noqa: S608 - column and table names from the models, no input


def _patient_with_location(pk: int) -> Patient | None:
    with connection.cursor() as cursor:
        execute_prepared(cursor, "review_patient", _PATIENT_SQL, [pk], generic=True)  # a key lookup: one plan
        row = cursor.fetchone()
    if row is None:
        return None
    patient = Patient.from_db(connection.alias, _PATIENT_FIELDS, row[: len(_PATIENT_FIELDS)])
    location_row = row[len(_PATIENT_FIELDS) :]
    patient.location = (
        None
        if location_row[0] is None
        else Location.from_db(connection.alias, _LOCATION_FIELDS, location_row)
    )
    return patient


def alert_for_clinician(user, pk) -> UrgentAlert:
    """An urgent alert whose patient this clinician may review, else 404."""
    if not _is_clinician(user):
        raise Http404("No such alert.")
    try:
        return (
            UrgentAlert.objects.select_related("patient__location", "acknowledged_by", "submission", "intake")
            .filter(visible_patient_filter(user, via="patient__", now=timezone.now()))
            .get(pk=pk)
        )
    except (UrgentAlert.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert.") from None


# --- Urgent alerts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenAlerts:
    alerts: Sequence[UrgentAlert]  # oldest first, at most the limit asked for
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
    return rows


# --- The review queue -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    reason: str = ""  # a reason-for-care code (intake.forms.REASONS_FOR_CARE)
    modality: str = ""  # "iv" or "spravato": intakes with a finding that concerns it
    finding: str = ""  # a rule code (intake.rules.DEFAULT_RULES)


# The order of review_queue_order_idx, column for column.
_QUEUE_ORDER = (
    F("open_alert_at").asc(nulls_last=True),
    F("has_hard_stop").desc(),
    "submitted_at",
    "submission_id",
)


def _queue_entries(user, filters: QueueFilters) -> QuerySet[ReviewQueueEntry]:
    """The entries this clinician may see that match ``filters``. An entry carries its patient's location, so the
    location rule (scheduling.access's, the one every gate asks) applies to it directly; patients with no location
    yet stay visible, so nobody's alert falls between two clinics."""
    if not _is_clinician(user):
        return ReviewQueueEntry.objects.none()
    entries = ReviewQueueEntry.objects.all()
    if mine := access.location_filter(user):  # empty when the clinician sees every location
        entries = entries.filter(Q(location__isnull=True) | mine)
    if filters.reason:
        entries = entries.filter(reasons__contains=[filters.reason])
    if filters.modality:  # a finding that concerns this treatment, or both
        entries = entries.filter(
            Q(finding_keys__contains=[{"modality": filters.modality}])
            | Q(finding_keys__contains=[{"modality": "both"}])
        )
    if filters.finding:
        entries = entries.filter(finding_keys__contains=[{"code": filters.finding}])
    return entries


def review_queue(user, filters: QueueFilters | None = None) -> QuerySet[ReviewQueueEntry]:
    """Each visible patient's latest intake that no decision has answered yet, most urgent first: open urgent
    alerts (oldest alert first), then hard-stop findings, then the longest waiting.

    A decision answers the intake it was made on; a newer intake goes back into the queue, and so does a patient
    asked for more information once they resubmit.

    The rows come from ``ReviewQueueEntry``, which database triggers keep equal to that definition (see the model
    and intake migration 0005): a page is an index range scan with a LIMIT.
    """
    return (
        _queue_entries(user, filters or QueueFilters())
        .select_related("submission", "patient__location")
        .defer("submission__answers", "submission__trd")
        .order_by(*_QUEUE_ORDER)
    )


@dataclass(frozen=True)
class QueueRow:
    """What a row of the queue page shows, read as plain values."""

    submission_id: int
    patient_id: int
    open_alert_at: datetime | None
    reasons: Any  # the reason codes as submitted (a list, normally)
    submitted_at: datetime
    phq9_version: str | None
    phq9: Any  # the PHQ-9 score dict, or None
    findings: Any  # the submission's findings (a list of dicts, normally)
    first_name: str
    last_name: str
    date_of_birth: date | None
    location_name: str | None
    time_zone: str | None


def queue_page(user, filters: QueueFilters, *, offset: int, limit: int = QUEUE_PAGE_SIZE) -> list[QueueRow]:
    """One page of ``review_queue``, as the values a row shows."""
    rows = (
        _queue_entries(user, filters)
        .order_by(*_QUEUE_ORDER)
        .values_list(
            "submission_id",
            "patient_id",
            "open_alert_at",
            "reasons",
            "submitted_at",
            "submission__instrument_versions__phq9",
            "submission__scores__phq9",
            "submission__findings",
            "patient__legal_first_name",
            "patient__legal_last_name",
            "patient__date_of_birth",
            "patient__location__name",
            "patient__location__time_zone",
        )[offset : offset + limit]
    )
    return [QueueRow(*row) for row in rows]


# The navigation's two figures for a clinician who sees every location (``navigation_counts``): the intakes waiting,
# from the per-location counts the triggers keep, and the open alerts, on a partial index that holds only those.
# The statements that read a page's own data for such a clinician carry them too (``ReviewNavigation.counted``):
# one round trip fewer on every such page.
_ALL_NAVIGATION_COUNTS = f"""(SELECT COALESCE(SUM(waiting), 0) FROM {ReviewQueueCount._meta.db_table})::bigint,
       (SELECT count(*) FROM {UrgentAlert._meta.db_table} WHERE acknowledged_at IS NULL)::bigint"""  # noqa: S608

# The first page of the whole queue, the clinician's home and the page they come back to most, in one round trip:
# the page's rows as one JSON array, and their patients' current risk (intake's own function, as
# ``intake.selectors.latest_risks`` reads it). Written as SQL and prepared: the ORM spent longer compiling the page
# query than PostgreSQL spent running it, and PostgreSQL planned both statements on every request. The order is
# ``_QUEUE_ORDER``'s, review_queue_order_idx's; the LIMIT is a constant, so the one plan is the index scan.
_FIRST_PAGE_SQL = f"""
WITH page AS MATERIALIZED (
    SELECT entry.submission_id, entry.patient_id, entry.open_alert_at, entry.reasons, entry.submitted_at,
           submission.instrument_versions -> 'phq9' AS phq9_version, submission.scores -> 'phq9' AS phq9,
           submission.findings, patient.legal_first_name, patient.legal_last_name, patient.date_of_birth,
           location.name AS location_name, location.time_zone, entry.has_hard_stop
      FROM {ReviewQueueEntry._meta.db_table} entry
      JOIN intake_intakesubmission submission ON submission.id = entry.submission_id
      JOIN intake_patient patient ON patient.id = entry.patient_id
      LEFT JOIN scheduling_location location ON location.id = patient.location_id
     ORDER BY entry.open_alert_at ASC NULLS LAST, entry.has_hard_stop DESC, entry.submitted_at, entry.submission_id
     LIMIT {QUEUE_PAGE_SIZE}
)
SELECT
    (SELECT json_agg(json_build_array(submission_id, patient_id, open_alert_at, reasons, submitted_at, phq9_version,
                                      phq9, findings, legal_first_name, legal_last_name, date_of_birth, location_name,
                                      time_zone)
                     ORDER BY open_alert_at ASC NULLS LAST, has_hard_stop DESC, submitted_at, submission_id)
       FROM page)::text,
    (SELECT json_agg(risk)
       FROM (SELECT array_agg(DISTINCT patient_id) AS patients FROM page) p
            CROSS JOIN LATERAL intake_latest_risk(p.patients) risk)::text,
    {_ALL_NAVIGATION_COUNTS}
"""  # noqa: S608 - table names from the models, no input


@dataclass(frozen=True)
class FirstQueuePage:
    rows: list[QueueRow]
    risks: dict[int, LatestRisk]  # the current risk of each row's patient that has any
    navigation_counts: tuple[int, int]  # as ``navigation_counts`` reads them, in the same statement


def first_queue_page(user) -> FirstQueuePage | None:
    """The whole queue's first page (``queue_page`` without filters, at offset 0), each of its patients' current
    risk (``intake.selectors.latest_risks``) and the navigation's counts, for a clinician who sees every location;
    None for anyone else (their location rule is the ORM's, ``queue_page``)."""
    if not _is_clinician(user) or not access.sees_every_location(user):
        return None
    with connection.cursor() as cursor:
        execute_prepared(cursor, "review_first_queue_page", _FIRST_PAGE_SQL)
        rows_json, risks_json, waiting, alerts = cursor.fetchone()
    rows = [
        QueueRow(
            submission_id, patient_id, _instant(alert_at), reasons, datetime.fromisoformat(submitted_at),
            phq9_version, phq9, findings, first_name, last_name, None if born is None else date.fromisoformat(born), location_name,
            time_zone,
        )  # fmt: skip
        for (submission_id, patient_id, alert_at, reasons, submitted_at, phq9_version, phq9, findings, first_name,
             last_name, born, location_name, time_zone) in json.loads(rows_json or "[]")
    ]  # fmt: skip
    return FirstQueuePage(rows, risks_from_json(risks_json), (int(waiting), int(alerts)))


def _instant(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def queue_size(user, filters: QueueFilters) -> int:
    """How many entries ``review_queue`` holds: for the unfiltered queue, the kept counts (``queue_count``)."""
    if not any(filters.__dict__.values()):
        return queue_count(user)
    return _queue_entries(user, filters).count()


def queue_count(user) -> int:
    """How many intakes wait that this clinician may see (the unfiltered queue's size)."""
    return navigation_counts(user)[0]


# Every clinician page shows these: compiling the two ORM queries cost several times running them.
_NAVIGATION_COUNTS_SQL = f"SELECT {_ALL_NAVIGATION_COUNTS}"  # noqa: S608 - constant SQL, no input


def navigation_counts(user) -> tuple[int, int]:
    """(intakes waiting, open urgent alerts) that this clinician may see; (0, 0) for anyone else.

    The queue's size is a sum over the per-location counts the triggers keep (intake migration 0006: a few rows,
    not one per waiting intake), and the open alerts are counted on a partial index that holds only those: both
    run on every clinician page."""
    if not _is_clinician(user):
        return 0, 0
    if access.sees_every_location(user):  # no filter: both figures in one prepared statement
        with connection.cursor() as cursor:
            execute_prepared(cursor, "review_navigation_counts", _NAVIGATION_COUNTS_SQL)
            waiting, alerts = cursor.fetchone()
        return int(waiting), int(alerts)
    counts = ReviewQueueCount.objects.all()
    if mine := access.location_filter(user, "location_key"):  # empty when the clinician sees every location
        counts = counts.filter(Q(location_key=0) | mine)
    waiting = counts.aggregate(waiting=Coalesce(Sum("waiting"), 0))["waiting"]
    alerts = UrgentAlert.objects.filter(acknowledged_at__isnull=True).filter(
        visible_patient_filter(user, via="patient__")
    )
    return int(waiting), alerts.count()


def rebuild_review_queue() -> int:
    """Recompute every review-queue entry from the submissions, decisions, alerts and patients; returns how many
    intakes wait. The triggers keep the queue as data is written; this is for data loaded with them switched off
    (bench/seed.py's COPY) or a repair, safe while the clinic works: writes that change the queue wait while it runs
    (about a second for 100,000 patients), then apply on top."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT intake_rebuild_review_queue()")
        entered = cursor.fetchone()[0]
        cursor.execute("SELECT intake_recount_review_queue()")  # the navigation's per-location counts (0006)
        return entered


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


# --- Score trends -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _session_kinds() -> tuple[list[str], list[str]]:
    """What "T<n>" counts: sessions checked in or later, of IV ketamine or Spravato (the statuses and treatments)."""
    statuses = [Appointment.Status.CHECKED_IN, Appointment.Status.IN_SESSION, Appointment.Status.RECOVERING,
                Appointment.Status.DISCHARGED]  # fmt: skip
    modalities = [TreatmentType.Modality.IV_KETAMINE, TreatmentType.Modality.SPRAVATO]
    return [status.value for status in statuses], [modality.value for modality in modalities]


# A patient's started treatment sessions: their statuses and treatments are the second and third parameters.
_SESSIONS_SQL = """
SELECT appointment.start_at, appointment.id FROM scheduling_appointment appointment
JOIN scheduling_treatmenttype treatment ON treatment.id = appointment.treatment_type_id
WHERE appointment.patient_id = %s AND appointment.status = ANY(%s) AND treatment.modality = ANY(%s)
"""
# The trend page's three reads in one round trip: the sessions, the self-rated totals (with whether they came with
# an intake or a re-screen) and the clinician ratings nobody corrected (with the rater's name); and a last row with
# the navigation's counts for a clinician who sees every location (``ReviewNavigation.counted``).
_TRENDS_SQL = f"""
SELECT 0 AS part, session.start_at AS at, session.id, NULL::text AS code, NULL::int AS total, NULL::text AS band,
       NULL::text AS kind, NULL::date AS rated_on, NULL::bigint AS appointment_id, NULL::text AS rater,
       NULL::bigint[] AS counts
FROM ({_SESSIONS_SQL}) session
UNION ALL
SELECT 1, response.answered_at, response.id, response.instrument, response.total, response.band, submission.kind,
       NULL, NULL, NULL, NULL
FROM intake_instrumentresponse response
JOIN intake_intakesubmission submission ON submission.id = response.submission_id
WHERE response.patient_id = %s AND response.instrument = ANY(%s)
UNION ALL
SELECT 2, rating.recorded_at, rating.id, rating.scale, rating.total, NULL, NULL, rating.rated_on,
       rating.appointment_id, COALESCE(NULLIF(rater.full_name, ''), rater.email), NULL
FROM intake_clinicianrating rating
JOIN clinic_user rater ON rater.id = rating.rater_id
WHERE rating.patient_id = %s
  AND NOT EXISTS (SELECT 1 FROM intake_clinicianrating later WHERE later.corrects_id = rating.id)
UNION ALL
SELECT 3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, ARRAY[{_ALL_NAVIGATION_COUNTS}]
ORDER BY part, rated_on, at, id
"""  # noqa: S608 - composed of constant SQL only; every value is a query parameter
TREND_INSTRUMENTS = ["phq9", "gad7", "pcl5", "ocir"]


@dataclass(frozen=True)
class TrendResponse:
    instrument: str
    total: int | None
    band: str
    answered_at: datetime
    submission_kind: str  # "intake" or "rescreen"


@dataclass(frozen=True)
class TrendRating:
    pk: int
    scale: str
    total: int
    rated_on: date
    recorded_at: datetime
    appointment_id: int | None
    rater: str  # the rater's name (their email when they have none), as User.__str__ says it


@dataclass(frozen=True)
class TrendInputs:
    sessions: list[tuple[datetime, int]]  # (start, appointment id) of each started session, in order
    responses: list[TrendResponse]  # oldest first
    ratings: list[TrendRating]  # by the day rated, then when recorded
    # What ``navigation_counts`` reads for a clinician who sees every location, in the same statement.
    navigation_counts: tuple[int, int] = (0, 0)


def treatment_starts(patient_id: int) -> list[tuple[datetime, int]]:
    """Start time and id of each treatment session the patient has started, in order (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _SESSIONS_SQL + " ORDER BY appointment.start_at, appointment.id",
            [patient_id, *_session_kinds()],
        )
        return [(start, pk) for start, pk in cursor.fetchall()]


def trend_inputs(patient_id: int) -> TrendInputs:
    """What the score-trend page draws, in one query."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "review_trends",
            _TRENDS_SQL,
            [patient_id, *_session_kinds(), patient_id, TREND_INSTRUMENTS, patient_id],
            generic=True,  # lookups by patient: one plan fits all
        )
        rows = cursor.fetchall()
    inputs = TrendInputs([], [], [])
    for part, at, pk, code, total, band, kind, rated_on, appointment_id, rater, counts in rows:
        if part == 0:
            inputs.sessions.append((at, pk))
        elif part == 1:
            inputs.responses.append(TrendResponse(code, total, band, at, kind))
        elif part == 2:
            inputs.ratings.append(TrendRating(pk, code, total, rated_on, at, appointment_id, rater))
        else:
            inputs = replace(inputs, navigation_counts=(int(counts[0]), int(counts[1])))
    return inputs


# --- Navigation -------------------------------------------------------------------------------------------------


class ReviewNavigation:
    """The clinician's counts for the navigation and the urgent-alert banner, read lazily, only on pages that show
    them: one query for both counts, and a second for the banner's alerts only when some are open. None when the
    page's view read the same figures already (``already_read``)."""

    def __init__(self, user) -> None:
        self.user = user

    @cached_property
    def _counts(self) -> tuple[int, int]:
        return navigation_counts(self.user)

    @cached_property
    def alerts(self) -> OpenAlerts:
        return open_alerts(self.user) if self._counts[1] else OpenAlerts([], 0)

    @cached_property
    def queue_count(self) -> int:
        return self._counts[0]

    def counted(self, counts: tuple[int, int]) -> None:
        """The navigation's counts as a page's own statement read them with ``_ALL_NAVIGATION_COUNTS``: the same
        figures as ``navigation_counts`` for a clinician who sees every location, so kept for them only (anyone
        else's are read with their location rule, when shown)."""
        if _is_clinician(self.user) and access.sees_every_location(self.user):
            self.__dict__["_counts"] = counts

    def already_read(self, *, alerts: OpenAlerts) -> None:
        """The open alerts the view has just read for this user (it may hold more than the banner shows)."""
        self.__dict__["alerts"] = OpenAlerts(alerts.alerts[:BANNER_ALERT_LIMIT], alerts.total)


def review_navigation(request) -> ReviewNavigation:
    """The request's one ReviewNavigation: the view and the context processor share it."""
    navigation = getattr(request, "_review_navigation", None)
    if navigation is None or navigation.user is not request.user:
        navigation = request._review_navigation = ReviewNavigation(request.user)
    return navigation
