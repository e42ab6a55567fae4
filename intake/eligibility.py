"""The one question scheduling asks intake: may this patient be booked for this modality now?

The answer comes from the clinician's eligibility decision in force (``intake.decisions``), in this order:

1. A consultation needs no screening.
2. An open urgent suicide-risk alert refuses every treatment until a clinician acknowledges it.
3. No submitted intake: refused.
4. No decision on the latest intake (never reviewed, or the patient submitted a newer one): refused, naming any
   hard-stop finding that concerns this treatment.
5. The decision in force: eligible for this treatment, or refused with what was decided.

The reasons are read by front-desk staff and may be shown to the patient, so they carry no clinical detail beyond
the hard-stop labels a booking needs (the clinician's reasons stay on the review page).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Modality(StrEnum):
    IV_KETAMINE = "iv"
    SPRAVATO = "spravato"
    CONSULTATION = "consultation"


MODALITY_LABELS = {Modality.IV_KETAMINE: "IV ketamine", Modality.SPRAVATO: "Spravato"}


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reason: str


def _day(moment: datetime, patient) -> str:
    """A date in the patient's location's zone when the location is already loaded, else the clinic's zone."""
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    location = patient.location if type(patient).location.is_cached(patient) else None
    local = timezone.localtime(moment, ZoneInfo(location.time_zone) if location else None)
    return f"{local:%a} {local.day} {local:%b %Y}"


def booking_eligibility(*, patient, modality: Modality | str, now: datetime) -> Eligibility:
    """Scheduling's gate. A consultation needs no screening; treatment needs a clinician's decision."""
    from intake.models import EligibilityDecision, IntakeSubmission, UrgentAlert

    modality = Modality(modality)
    if modality is Modality.CONSULTATION:
        return Eligibility(True, "A consultation needs no screening.")
    label = MODALITY_LABELS[modality]

    alert_at = (
        UrgentAlert.objects.filter(patient=patient, acknowledged_at__isnull=True, created_at__lte=now)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if alert_at is not None:
        return Eligibility(
            False,
            f"An urgent screening alert from {_day(alert_at, patient)} is open: a clinician must acknowledge it before "
            "any treatment is booked.",
        )

    latest = (
        IntakeSubmission.objects.filter(
            patient=patient, kind=IntakeSubmission.Kind.INTAKE, submitted_at__lte=now
        )
        .order_by("-submitted_at", "-pk")
        .only("pk", "findings", "submitted_at")
        .first()
    )
    if latest is None:
        return Eligibility(False, "The patient has not submitted their intake yet.")

    decision = (
        EligibilityDecision.objects.filter(patient=patient, decided_at__lte=now)
        .order_by("-decided_at", "-pk")
        .only("outcome", "modality", "submission_id", "decided_at")
        .first()
    )
    if decision is None or decision.submission_id != latest.pk:
        blocking = [
            finding["label"]
            for finding in latest.findings
            if finding.get("severity") == "hard_stop" and finding.get("modality") in {"both", modality.value}
        ]
        if decision is None:
            waiting = "A clinician has not yet reviewed the intake"
        else:
            waiting = f"The patient submitted a new intake on {_day(latest.submitted_at, patient)}; a clinician must review it"
        if blocking:
            waiting += " (hard-stop finding: " + "; ".join(blocking) + ")"
        return Eligibility(False, waiting + ".")

    decided = _day(decision.decided_at, patient)
    if decision.outcome == EligibilityDecision.Outcome.ELIGIBLE:
        if modality.value in decision.allows:
            return Eligibility(True, f"A clinician cleared the patient for {label} on {decided}.")
        other = EligibilityDecision.Modality(decision.modality).label
        return Eligibility(
            False, f"A clinician cleared the patient for {other} only, not {label} ({decided})."
        )
    if decision.outcome == EligibilityDecision.Outcome.MORE_INFO_NEEDED:
        return Eligibility(
            False,
            f"A clinician asked the patient for more information on {decided}; it has not been answered yet.",
        )
    return Eligibility(
        False, f"A clinician decided on {decided} that the patient is not eligible for treatment."
    )
