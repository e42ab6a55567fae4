"""The one question scheduling asks intake: may this patient be booked for this modality now?

The answer comes from the clinician's eligibility decision in force (``review.decisions``), in this order:

1. A consultation needs no screening.
2. An open urgent suicide-risk alert refuses every treatment until a clinician acknowledges it.
3. No submitted intake: refused.
4. No decision on the latest intake (never reviewed, or the patient submitted a newer one): refused, naming any
   hard-stop finding that concerns this treatment.
5. The decision in force: eligible for this treatment, or refused with what was decided.

The reasons are read by front-desk staff and may be shown to the patient, so they carry no clinical detail beyond
the hard-stop labels a booking needs (the clinician's reasons stay on the review page).
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.utils import timezone

from clinic.local_time import format_day
from intake.models import EligibilityDecision, Modality

MODALITY_LABELS = {Modality.IV_KETAMINE: "IV ketamine", Modality.SPRAVATO: "Spravato"}


@dataclass(frozen=True)
class Eligibility:
    allowed: bool
    reason: str


def _day(moment: datetime, patient) -> str:
    """A date in the patient's location's zone when the location is already loaded, else the clinic's zone."""

    location = patient.location if type(patient).location.is_cached(patient) else None
    local = timezone.localtime(moment, ZoneInfo(location.time_zone) if location else None)
    return format_day(local)


# The three facts the rules read, in one row: the oldest open urgent alert, the latest submitted intake and the
# decision in force, each as of a moment, for a patient. The query is the database function of migration 0007, so
# that scheduling's gate read calls it in its own statement (a booking reads every gate in one round trip) and both
# read its columns by name (``facts_from_columns``).
FACTS_SQL = "SELECT * FROM intake_eligibility_facts(%(patient)s, %(now)s)"


@dataclass(frozen=True)
class LatestIntake:
    pk: int
    submitted_at: datetime
    findings_json: str  # parsed only when a refusal names the hard-stop findings

    @property
    def findings(self) -> list[dict]:
        return json.loads(self.findings_json or "[]")


@dataclass(frozen=True)
class DecisionInForce:
    submission_id: int | None
    outcome: str
    modality: str
    decided_at: datetime

    @property
    def allows(self) -> frozenset[str]:
        """The treatment modalities this decision clears (as ``EligibilityDecision.allows``)."""
        if self.outcome != "eligible":
            return frozenset()
        return frozenset({"iv", "spravato"}) if self.modality == "both" else frozenset({self.modality})


@dataclass(frozen=True)
class EligibilityFacts:
    """What the rules read, as of one moment: plain data, so ``decide`` is pure."""

    open_alert_at: datetime | None
    latest: LatestIntake | None
    decision: DecisionInForce | None


def facts_from_columns(row: Mapping[str, Any]) -> EligibilityFacts:
    """The facts from a row holding ``intake_eligibility_facts``'s columns, by name (other columns are ignored)."""
    return EligibilityFacts(
        open_alert_at=row["open_alert_at"],
        latest=None
        if row["latest_id"] is None
        else LatestIntake(row["latest_id"], row["latest_submitted_at"], row["latest_findings"]),
        decision=None
        if row["decision_outcome"] is None
        else DecisionInForce(
            row["decision_submission_id"],
            row["decision_outcome"],
            row["decision_modality"],
            row["decision_decided_at"],
        ),
    )


def eligibility_facts(*, patient_id: int, now: datetime) -> EligibilityFacts:
    """The facts for ``patient_id`` as of ``now``, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, {"patient": patient_id, "now": now})
        names = [column.name for column in cursor.description]
        return facts_from_columns(dict(zip(names, cursor.fetchone(), strict=True)))


def booking_eligibility(*, patient, modality: Modality | str, now: datetime) -> Eligibility:
    """Scheduling's gate. A consultation needs no screening; treatment needs a clinician's decision."""
    modality = Modality(modality)
    if modality is Modality.CONSULTATION:
        return Eligibility(True, "A consultation needs no screening.")
    return decide(eligibility_facts(patient_id=patient.pk, now=now), modality=modality, patient=patient)


def decide(facts: EligibilityFacts, *, modality: Modality | str, patient) -> Eligibility:
    """The rules of the module docstring over ``facts`` (no queries: ``patient`` only names the zone)."""
    modality = Modality(modality)
    if modality is Modality.CONSULTATION:
        return Eligibility(True, "A consultation needs no screening.")
    label = MODALITY_LABELS[modality]

    if facts.open_alert_at is not None:
        return Eligibility(
            False,
            f"An urgent screening alert from {_day(facts.open_alert_at, patient)} is open: a clinician must "
            "acknowledge it before any treatment is booked.",
        )

    latest = facts.latest
    if latest is None:
        return Eligibility(False, "The patient has not submitted their intake yet.")

    decision = facts.decision
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


# Front desk's word for the same answer, beside a session or at the top of a patient's page: cleared, not cleared
# (refused: an open alert, or a clinician's decision), or pending (the intake, a clinician's review or the
# patient's answer is still to come). ``clearance(...) == CLEARED`` exactly when ``decide`` allows.
CLEARED, NOT_CLEARED, PENDING = "cleared", "not_cleared", "pending"


def clearance(facts: EligibilityFacts, *, modality: Modality | str) -> str:
    modality = Modality(modality)
    if modality is Modality.CONSULTATION:
        return CLEARED
    if facts.open_alert_at is not None:
        return NOT_CLEARED
    decision, latest = facts.decision, facts.latest
    if latest is None or decision is None or decision.submission_id != latest.pk:
        return PENDING
    if decision.outcome == EligibilityDecision.Outcome.ELIGIBLE:
        return CLEARED if modality.value in decision.allows else NOT_CLEARED
    if decision.outcome == EligibilityDecision.Outcome.MORE_INFO_NEEDED:
        return PENDING
    return NOT_CLEARED
