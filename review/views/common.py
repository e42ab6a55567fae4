"""What every review page shares: the time-zone note, the read-access log, the alert list."""

from __future__ import annotations

from datetime import date
from typing import Any

from clinic import policies
from clinic.access import SignedInRequest
from clinic.audit import record_patient_view
from intake.models import Patient, UrgentAlert
from review.selectors import (
    patient_zone,
)

# --- Helpers ----------------------------------------------------------------------------------------------------


def zone_context(patient: Patient) -> dict[str, Any]:
    zone = patient_zone(patient)
    place = patient.location.name if patient.location else policies.value("CLINIC_NAME")
    return {"zone": str(zone), "zone_note": f"Times are in {place}'s time zone, {zone}."}


def log_view(request: SignedInRequest, patient: Patient, what: str) -> None:
    """The read-access log: who opened which patient's record, and which page of it (engineering guide 5)."""
    record_patient_view(request, patient_id=patient.pk, what=what)


def patient_alerts(patient: Patient):

    return list(
        UrgentAlert.objects.filter(patient=patient)
        .select_related("acknowledged_by")
        .order_by("-created_at")[:20]
    )


def age_in_years(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
