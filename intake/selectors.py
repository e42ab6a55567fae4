"""The access gates for intake records: every view that shows a patient's data gets it from here.
A record the user may not see is a 404, never a 403 that would confirm it exists."""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext

from clinic.db import execute_prepared
from intake import scoring
from intake.models import Intake, IntakeSubmission, Patient


def patient_for_user(user) -> Patient:
    """The patient record of the signed-in patient."""
    # With the location: the portal shows its phone number and times in its zone.
    patient = (
        Patient.objects.select_related("location").filter(user_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if patient is None:
        raise Http404("No patient record.")
    return patient


def _columns(model) -> tuple[list[str], list[tuple[int, Any]]]:
    """A model's field names in column order, and the converters the ORM applies to them (the JSON answers)."""
    fields = model._meta.concrete_fields
    converters = [(i, f.from_db_value) for i, f in enumerate(fields) if hasattr(f, "from_db_value")]
    return [f.attname for f in fields], converters


_INTAKE_NAMES, _INTAKE_CONVERTERS = _columns(Intake)
_PATIENT_NAMES, _PATIENT_CONVERTERS = _columns(Patient)
# Every intake step and its submit read the intake through this gate: as SQL and prepared (generic plan: two key
# lookups), the ORM's compile and PostgreSQL's planning of the join are skipped (bench/README.md). The columns follow
# the models, so a field added to either is read too.
_INTAKE_FOR_USER_SQL = (
    "SELECT "  # noqa: S608 - the column names come from the models; the ids are parameters
    + ", ".join([f"i.{f.column}" for f in Intake._meta.concrete_fields])
    + ", "
    + ", ".join([f"p.{f.column}" for f in Patient._meta.concrete_fields])
    + " FROM intake_intake i JOIN intake_patient p ON p.id = i.patient_id WHERE i.id = %s AND p.user_id = %s"
)


def _from_row(model, names: list[str], converters, values) -> Any:
    values = list(values)
    for i, convert in converters:
        values[i] = convert(values[i], None, connection)
    return model.from_db(connection.alias, names, values)


def intake_for_user(user, pk: int) -> Intake:
    """One of the signed-in patient's own intakes, with its patient (as ``select_related`` would have it)."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, "intake_for_user", _INTAKE_FOR_USER_SQL, [pk, user.pk], generic=True)
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such intake.")
    split = len(_INTAKE_NAMES)
    intake = _from_row(Intake, _INTAKE_NAMES, _INTAKE_CONVERTERS, row[:split])
    patient = _from_row(Patient, _PATIENT_NAMES, _PATIENT_CONVERTERS, row[split:])
    Intake.patient.field.set_cached_value(intake, patient)
    return intake


def submission_for_user(user, pk: int) -> IntakeSubmission:
    """One of the signed-in patient's own submissions."""
    submission = (
        IntakeSubmission.objects.select_related("patient")
        .filter(pk=pk, patient__user_id=user.pk)
        .defer("answers")
        .first()
    )
    if submission is None:
        raise Http404("No such submission.")
    return submission


# --- The latest suicide risk ---------------------------------------------------------------------------------------

RISK_LABELS = scoring.CSSRS_RISK_LABELS


@dataclass(frozen=True)
class LatestRisk:
    """A patient's current suicide risk: the newest of their C-SSRS screens (intake or re-screen) and urgent alerts,
    an open alert outranking any screen (it stands until a clinician acknowledges it)."""

    level: str  # "high", "moderate", "low" or "none" (an urgent alert is "high")
    source: str  # "intake", "rescreen" or "alert"
    at: datetime
    alert_open: bool
    reasons: tuple[str, ...] = ()  # an alert's reasons

    @property
    def label(self) -> str:
        return gettext(RISK_LABELS[self.level]) if self.level in RISK_LABELS else self.level

    @property
    def source_label(self) -> str:
        if self.source == "alert":
            return (
                gettext("urgent alert (open)") if self.alert_open else gettext("urgent alert (acknowledged)")
            )
        return (
            gettext("C-SSRS at the pre-session re-screen")
            if self.source == "rescreen"
            else gettext("C-SSRS at intake")
        )


def latest_risks(patient_ids: Iterable[int]) -> dict[int, LatestRisk]:
    """The current suicide risk of each of these patients that has any (one query, ``intake_latest_risk``: intake
    migration 0010); the one source of "risk" for every page that shows it, so none shows an older "no risk"
    beside a newer screen or an open alert."""
    ids = sorted({int(pk) for pk in patient_ids})
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT patient_id, level, source, at, alert_open, reasons FROM intake_latest_risk(%s::bigint[])",
            [ids],
        )
        rows = cursor.fetchall()
    return {
        patient_id: LatestRisk(level, source, at, alert_open, tuple(_json_list(reasons)))
        for patient_id, level, source, at, alert_open, reasons in rows
    }


def risks_from_json(text: str | None) -> dict[int, LatestRisk]:
    """``latest_risks`` for a statement that reads ``intake_latest_risk`` itself, as a JSON array of its rows
    (``json_agg``): the day view reads everything in one round trip."""
    return {
        int(row["patient_id"]): LatestRisk(
            level=row["level"],
            source=row["source"],
            at=datetime.fromisoformat(row["at"]),
            alert_open=bool(row["alert_open"]),
            reasons=tuple(_json_list(row.get("reasons"))),
        )
        for row in json.loads(text or "[]")
    }


def latest_risk(patient: Patient) -> LatestRisk | None:
    return latest_risks([patient.pk]).get(patient.pk)


def _json_list(value) -> list[str]:
    if isinstance(value, str):
        value = json.loads(value)
    return [str(item) for item in value] if isinstance(value, list) else []


def duplicate_flags_for(patient) -> list:
    """The flags naming this patient as possibly the same person as another record (intake.duplicates), each as
    (flag, the other record), oldest first."""
    from intake.models import PossibleDuplicate

    flags = (
        PossibleDuplicate.objects.filter(Q(patient=patient) | Q(other=patient))
        .select_related("patient", "other", "flagged_by")
        .order_by("flagged_at", "pk")
    )
    return [(flag, flag.other if flag.patient_id == patient.pk else flag.patient) for flag in flags]
