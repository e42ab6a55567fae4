"""The patient's home page: where they stand (``portal.stage``), what a clinician asked, their upcoming sessions.
It sits above the apps because it reads all of them; it writes nothing."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic import policies
from clinic.access import SignedInRequest, role_required
from clinic.roles import Role
from intake.models import Intake
from intake.selectors import latest_risk, patient_for_user
from intake.steps import progress
from portal.consent import consents_due
from portal.selectors import portal_facts
from portal.stage import portal_stage
from scheduling.selectors import upcoming_appointments_for_patient
from scheduling.services import CANCEL_REASONS, late_cancel_hours


@role_required(Role.PATIENT)
def home(request: SignedInRequest) -> HttpResponse:
    patient = patient_for_user(request.user)
    intake = Intake.objects.filter(patient=patient, status=Intake.Status.IN_PROGRESS).first()
    now = timezone.now()
    appointments = upcoming_appointments_for_patient(patient, now=now, late_cancel_hours=late_cancel_hours())
    risk = latest_risk(patient)
    # While an urgent alert is open (until a clinician has acted on it) the patient keeps seeing crisis resources.
    urgent = risk is not None and risk.alert_open
    self_booking = policies.value("SCHEDULING_PATIENT_SELF_BOOKING")
    facts = portal_facts(
        patient, intake=intake, appointments=appointments, self_booking=self_booking, now=now
    )
    context = {
        "patient": patient,
        "stage": portal_stage(facts),
        "intake": intake,
        "progress": progress(intake.answers, None) if intake else None,
        "appointments": appointments,
        "cancel_reasons": list(CANCEL_REASONS.items()),
        "late_cancel_hours": late_cancel_hours(),
        "self_booking": self_booking,
        "consents_due": consents_due(
            patient,
            has_intake=facts.latest_intake_id is not None,
            cleared_for=facts.decision_modality if facts.decision_outcome == "eligible" else None,
            upcoming={a.treatment_type.modality for a in appointments},
        ),
        "crisis_block": urgent,
        "crisis_block_urgent": urgent,
    }
    return render(request, "portal/home.html", context)
