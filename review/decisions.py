"""A clinician's judgements: eligibility decisions, and clinician-rated scale totals (MADRS, Y-BOCS).

Eligibility decisions are the one write path for a clinician's decision on a patient's intake.

A decision is signed (clinician, time) and kept: the database refuses to change or delete one, and a new decision
supersedes the one in force. Scheduling reads the decision in force through ``intake.eligibility``.

Rules applied here (the database checks the same ones as constraints):
- eligible: for IV ketamine, Spravato or both. Clearing a hard-stop finding that concerns the chosen treatment
  needs a written justification; the overridden findings are recorded with it.
- not eligible: a reason.
- more information needed: a message the patient reads in their portal, and optionally intake steps to answer
  again. Those steps are reopened in a new intake draft that keeps every other answer, so the patient only
  redoes what was asked; when they submit it, the new intake returns to the review queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.translation import gettext as _

from clinic.roles import Role
from intake.models import EligibilityDecision, Intake, IntakeSubmission, Patient
from intake.steps import STEPS_BY_KEY
from review.models import ClinicianRating
from review.tasks import send_information_request_email
from scheduling.models import Appointment

Outcome = EligibilityDecision.Outcome
Modality = EligibilityDecision.Modality
TREATMENTS = (Modality.IV, Modality.SPRAVATO, Modality.BOTH)
_UNCHECKED: Any = object()


class DecisionError(Exception):
    """A decision that cannot be recorded as given; ``field`` names the form field to put the message next to."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def hard_stops_for(submission: IntakeSubmission | None, modality: str) -> list[dict]:
    """The submission's hard-stop findings that concern ``modality`` ("iv", "spravato" or "both")."""
    if submission is None:
        return []
    wanted = {"iv", "spravato"} if modality == Modality.BOTH else {modality}
    return [
        finding
        for finding in submission.findings
        if finding.get("severity") == "hard_stop"
        and (finding.get("modality") == "both" or finding.get("modality") in wanted)
    ]


@transaction.atomic
def record_decision(
    *,
    patient: Patient,
    decided_by,
    outcome: str,
    now: datetime,
    modality: str = Modality.NONE,
    reason: str = "",
    message_to_patient: str = "",
    reopened_steps: Iterable[str] = (),
    override_justification: str = "",
    submission_id: int | None = _UNCHECKED,
    expected_current_id: int | None = _UNCHECKED,
) -> EligibilityDecision:
    """Record a clinician's decision on the patient's latest intake; it supersedes the decision in force.

    ``submission_id`` and ``expected_current_id`` are what the clinician's page showed (the intake reviewed, the
    decision then in force). When either has changed since, the decision is refused rather than made on stale
    information: a newer intake arrived, or a colleague decided meanwhile.
    """
    if decided_by is None or not decided_by.is_authenticated or decided_by.role is not Role.CLINICIAN:
        raise DecisionError(_("Only a clinician can record an eligibility decision."))
    # One decision at a time per patient: the row lock orders concurrent decisions; the one-to-one supersedes key
    # and the partial unique index would refuse a fork in the history even without it.
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    submission = (
        IntakeSubmission.objects.filter(
            patient=patient, kind=IntakeSubmission.Kind.INTAKE, submitted_at__lte=now
        )
        .order_by("-submitted_at", "-pk")
        .first()
    )
    if submission is None:
        raise DecisionError(
            _("The patient has not submitted an intake yet, so there is nothing to decide on.")
        )
    if submission_id is not _UNCHECKED and submission_id != submission.pk:
        raise DecisionError(
            _("The patient has submitted a newer intake since this page was opened. Review it, then decide.")
        )
    current = (
        EligibilityDecision.objects.filter(patient=patient, decided_at__lte=now)
        .select_related("decided_by")
        .order_by("-decided_at", "-pk")
        .first()
    )
    if expected_current_id is not _UNCHECKED and expected_current_id != (current.pk if current else None):
        who = current.decided_by if current else "another clinician"
        raise DecisionError(
            _(
                "%(who)s recorded a decision for this patient while this page was open. Read it below, then decide again if you still need to."
            )
            % {"who": who}
        )
    if EligibilityDecision.objects.filter(patient=patient, decided_at__gt=now).exists():
        raise DecisionError(_("A later decision is already on record for this patient."))

    reason = reason.strip()
    message_to_patient = message_to_patient.strip()
    override_justification = override_justification.strip()
    steps = list(dict.fromkeys(reopened_steps))
    overridden: list[str] = []

    if outcome == Outcome.ELIGIBLE:
        if modality not in TREATMENTS:
            raise DecisionError(_("Choose the treatment the patient is eligible for."), field="modality")
        hard_stops = hard_stops_for(submission, modality)
        overridden = [finding["code"] for finding in hard_stops]
        if hard_stops and not override_justification:
            labels = "; ".join(finding["label"] for finding in hard_stops)
            raise DecisionError(
                _("This overrides a hard-stop finding (%(labels)s). Write why treatment is safe despite it.")
                % {"labels": labels},
                field="override_justification",
            )
        if not hard_stops:
            override_justification = ""
        message_to_patient, steps = "", []
    elif outcome == Outcome.NOT_ELIGIBLE:
        if not reason:
            raise DecisionError(_("Give the reason the patient is not eligible."), field="reason")
        modality, message_to_patient, steps, override_justification = Modality.NONE, "", [], ""
    elif outcome == Outcome.MORE_INFO_NEEDED:
        if not message_to_patient:
            raise DecisionError(
                _("Write the message the patient will read: what you need from them."),
                field="message_to_patient",
            )
        unknown = [step for step in steps if step not in STEPS_BY_KEY]
        if unknown:
            raise DecisionError(
                _("There is no intake step %(unknown)s.") % {"unknown": ", ".join(unknown)},
                field="reopened_steps",
            )
        modality, override_justification = Modality.NONE, ""
    else:
        raise DecisionError(_("Choose an outcome."), field="outcome")

    # A database trigger takes the intake decided on out of the review queue in this transaction (migration 0005).
    decision = EligibilityDecision.objects.create(
        patient=patient,
        submission=submission,
        outcome=outcome,
        modality=modality,
        reason=reason,
        message_to_patient=message_to_patient,
        reopened_steps=steps,
        overridden_findings=overridden,
        override_justification=override_justification,
        decided_by=decided_by,
        decided_at=now,
        supersedes=current,
    )
    if outcome == Outcome.MORE_INFO_NEEDED:
        if steps:
            _reopen_intake_steps(patient=patient, submission=submission, decision=decision, now=now)
        transaction.on_commit(lambda: send_information_request_email.delay(decision.pk))
    return decision


def _reopen_intake_steps(
    *, patient: Patient, submission: IntakeSubmission, decision: EligibilityDecision, now: datetime
) -> Intake:
    """Put the reopened steps back in front of the patient, keeping every other answer they gave."""
    marker = {"decision_id": decision.pk, "steps": decision.reopened_steps}
    draft = (
        Intake.objects.select_for_update().filter(patient=patient, status=Intake.Status.IN_PROGRESS).first()
    )
    if draft is None:
        answers = {
            key: value for key, value in submission.answers.items() if key not in decision.reopened_steps
        }
        return Intake.objects.create(
            patient=patient,
            status=Intake.Status.IN_PROGRESS,
            answers={**answers, "_reopened": marker},
            started_at=now,
            updated_at=now,
        )
    answers = {key: value for key, value in draft.answers.items() if key not in decision.reopened_steps}
    draft.answers = {**answers, "_reopened": marker}
    draft.updated_at = now
    draft.save(update_fields=["answers", "updated_at"])
    return draft


# --- Clinician-rated scores ---------------------------------------------------------------------------------------


@transaction.atomic
def record_clinician_rating(
    *,
    patient: Patient,
    rater,
    scale: str,
    total: int,
    rated_on: date,
    now: datetime,
    appointment_id: int | None = None,
    note: str = "",
    corrects: ClinicianRating | None = None,
) -> ClinicianRating:
    """Record a MADRS or Y-BOCS total rated by the signed-in clinician. A correction is a new rating that replaces
    an earlier one of the same patient (both are kept; trends read the replacement)."""
    if rater is None or not rater.is_authenticated or rater.role is not Role.CLINICIAN:
        raise DecisionError(_("Only a clinician can record a clinician-rated score."))
    if scale not in ClinicianRating.MAXIMUM:
        raise DecisionError(_("Choose the MADRS or the Y-BOCS."), field="scale")
    highest = ClinicianRating.MAXIMUM[scale]
    if isinstance(total, bool) or not isinstance(total, int) or not 0 <= total <= highest:
        label = ClinicianRating.Scale(scale).label
        raise DecisionError(
            _("A %(label)s total is a whole number from 0 to %(highest)s.")
            % {"label": label, "highest": highest},
            field="total",
        )
    zone = ZoneInfo(patient.time_zone)
    if rated_on > now.astimezone(zone).date():
        raise DecisionError(_("The date rated cannot be in the future."), field="rated_on")
    if rated_on.year < 2000:
        raise DecisionError(_("Please check the year of the rating."), field="rated_on")
    if (
        appointment_id is not None
        and not Appointment.objects.filter(pk=appointment_id, patient=patient).exists()
    ):
        raise DecisionError(_("That session is not one of this patient's."), field="appointment")
    if corrects is not None:
        corrects = ClinicianRating.objects.select_for_update().get(pk=corrects.pk)
        if corrects.patient_id != patient.pk:
            raise DecisionError(_("That rating is not this patient's."))
        if ClinicianRating.objects.filter(corrects=corrects).exists():
            raise DecisionError(_("That rating has been corrected already; correct the newer one."))
    return ClinicianRating.objects.create(
        patient=patient,
        scale=scale,
        total=total,
        rated_on=rated_on,
        rater=rater,
        recorded_at=now,
        appointment_id=appointment_id,
        note=note.strip(),
        corrects=corrects,
    )
