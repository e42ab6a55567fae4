"""The one question scheduling asks intake: may this patient be booked for this modality now?

Until clinicians record eligibility decisions (the clinician-review issue), the answer comes from the patient's
latest submitted intake: it must exist, and none of its findings may be a hard stop for that modality.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Modality(StrEnum):
    IV_KETAMINE = "iv"
    SPRAVATO = "spravato"
    CONSULTATION = "consultation"


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reason: str


def booking_eligibility(*, patient, modality: Modality | str, now: datetime) -> Eligibility:
    """Scheduling's gate. A consultation needs no screening; treatment needs a cleared intake."""
    from intake.models import IntakeSubmission

    modality = Modality(modality)
    if modality is Modality.CONSULTATION:
        return Eligibility(True, "A consultation needs no screening.")
    latest = (
        IntakeSubmission.objects.filter(
            patient=patient, kind=IntakeSubmission.Kind.INTAKE, submitted_at__lte=now
        )
        .order_by("-submitted_at")
        .only("findings", "submitted_at")
        .first()
    )
    if latest is None:
        return Eligibility(False, "The patient has not submitted their intake yet.")
    blocking = [
        finding["label"]
        for finding in latest.findings
        if finding["severity"] == "hard_stop" and finding["modality"] in {"both", modality.value}
    ]
    if blocking:
        return Eligibility(False, "A clinician must review: " + "; ".join(blocking) + ".")
    return Eligibility(True, "Intake submitted with no hard-stop finding for this treatment.")
