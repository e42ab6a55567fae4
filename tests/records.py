"""What the whole-app walks share (tests/test_object_access.py, tests/test_fuzz_forms.py): the URL configuration's
routes, and one patient with a record of every kind, each reachable through some page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from django.urls import URLPattern, URLResolver, get_resolver


def app_routes() -> list[str]:
    """Every route of the app outside the admin, as "/pattern/with/<id:pk>/" strings."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and not route.startswith(("admin/", "^")):
                found.append("/" + route)

    walk(get_resolver().url_patterns)
    return found


ID_PARAMETER = re.compile(r"<(?:id|int):(\w+)>")
SAMPLE_WORDS = {"step": "contact", "action": "confirm", "fmt": "json"}  # any other word: "x"


def fill_route(route: str, records: PatientRecords) -> str:
    """The route with the patient's own records for its ids (a patient's page takes the patient, any other the
    appointment, a submission's the submission) and a sample for each word (a step, an action, a format)."""
    patient_page = "patients/" in route and "appointments/" not in route

    def record(match: re.Match) -> str:
        if match.group(1) == "submission_pk":
            return str(records.submission_id)
        return str(records.patient_id if patient_page else records.appointment_id)

    path = ID_PARAMETER.sub(record, route)
    return re.sub(r"<(?:slug|str):(\w+)>", lambda match: SAMPLE_WORDS.get(match.group(1), "x"), path)


@dataclass(frozen=True)
class PatientRecords:
    patient_id: int
    appointment_id: int
    submission_id: int  # the high-risk re-screen, with its urgent alert
    all_ids: list[int]  # every record's primary key, of every kind


def make_patient_records(patient, front_desk) -> PatientRecords:
    """Pat One cleared for treatment and booked, with a high-risk re-screen (an urgent alert), a decision, a signed
    consent and an intake in progress."""
    from intake.models import ConsentRecord, EligibilityDecision, Intake, IntakeSubmission, UrgentAlert
    from intake.services import current_intake
    from scheduling import services
    from scheduling.models import Appointment
    from tests.review.conftest import rescreen
    from tests.scheduling.conftest import (
        A_WEDNESDAY,
        NOW,
        Clinic,
        build_clinic,
        clear_for_treatment,
        give_cleared_intake,
        local,
    )

    record = patient.patient
    clinic = Clinic(*build_clinic())
    give_cleared_intake(record)
    clear_for_treatment(record)
    appointment = services.book_appointment(
        patient=record, treatment_type=clinic.iv, location=clinic.location, start=local(A_WEDNESDAY, 9),
        booked_by=front_desk, now=NOW,
    )  # fmt: skip
    submission = rescreen(record, now=NOW + timedelta(days=3), high=True)
    current_intake(patient=record, now=NOW)
    ids = {record.pk}
    for model in (Intake, IntakeSubmission, UrgentAlert, ConsentRecord, EligibilityDecision, Appointment):
        ids |= set(model.objects.filter(patient=record).values_list("pk", flat=True))
    return PatientRecords(record.pk, appointment.pk, submission.pk, sorted(ids))
