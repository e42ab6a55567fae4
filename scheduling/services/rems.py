"""The patient's SPRAVATO REMS enrolment (the Patient Enrollment Form), required before a Spravato session."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from intake.models import Patient
from scheduling.models import RemsEnrollment


@transaction.atomic
def record_rems_enrollment(
    *, patient: Patient, enrolled_on: date, rems_patient_id: str = "", recorded_by
) -> RemsEnrollment:
    """Record (or correct) the patient's SPRAVATO REMS Patient Enrollment Form."""
    enrolment, _ = RemsEnrollment.objects.update_or_create(
        patient=patient,
        defaults={
            "enrolled_on": enrolled_on,
            "rems_patient_id": rems_patient_id.strip(),
            "recorded_by": recorded_by,
        },
    )
    return enrolment


@transaction.atomic
def remove_rems_enrollment(*, enrolment: RemsEnrollment) -> None:
    """Take back an enrolment recorded in error (the wrong patient): no Spravato session can be booked on it."""
    enrolment.delete()
