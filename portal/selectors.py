"""The facts the patient's home page is built from, read from every app (the portal sits above them all)."""

from __future__ import annotations

from datetime import datetime

from clinic.models import RecordView
from intake.models import Intake, Patient
from portal.stage import NextSession, PortalFacts
from review.selectors import current_decision, latest_intake
from scheduling.models import Appointment, TreatmentType

# The clinician's pages that mean the review of an intake has begun (review.views log them as they are opened).
REVIEW_PAGES = ("review: screening", "review: eligibility decision")


def portal_facts(
    patient: Patient,
    *,
    intake: Intake | None,
    appointments: list[Appointment],
    self_booking: bool,
    now: datetime,
) -> PortalFacts:
    """``intake`` is the patient's intake in progress and ``appointments`` their upcoming sessions
    (``upcoming_appointments_for_patient``, with its check-in annotations), both already read for the page."""
    latest = latest_intake(patient, now=now)
    decision = current_decision(patient, now=now)
    # As review.selectors.open_information_request: answered once a newer intake is submitted.
    request = (
        decision
        if decision
        and decision.outcome == decision.Outcome.MORE_INFO_NEEDED
        and not (latest and latest.submitted_at > decision.decided_at)
        else None
    )
    review_opened = bool(
        latest
        and RecordView.objects.filter(
            patient_id=patient.pk, what__in=REVIEW_PAGES, occurred_at__gte=latest.submitted_at
        ).exists()
    )
    upcoming = appointments[0] if appointments else None
    had_session = Appointment.objects.filter(
        patient=patient,
        status=Appointment.Status.DISCHARGED,
        start_at__lte=now,
    ).exists()
    location = patient.location
    return PortalFacts(
        has_intake_in_progress=intake is not None,
        latest_intake_id=latest.pk if latest else None,
        review_opened=review_opened,
        decision_outcome=decision.outcome if decision else None,
        decision_submission_id=decision.submission_id if decision else None,
        decision_modality=decision.modality if decision else "none",
        information_request=request.message_to_patient if request else "",
        next_session=NextSession(
            start_at=upcoming.start_at,
            is_treatment=upcoming.treatment_type.modality != TreatmentType.Modality.CONSULTATION,
            checkin_open=bool(getattr(upcoming, "checkin_open", False)),
            checkin_done=bool(getattr(upcoming, "checkin_done", False)),
        )
        if upcoming
        else None,
        had_session=had_session,
        self_booking=self_booking,
        clinic_phone=location.phone if location and location.phone else "",
    )
