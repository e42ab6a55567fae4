"""Walk the whole URL configuration: every pattern that takes an object id refuses, with a 404, a second patient
(for every one of the first patient's records) and the staff roles the page is not for. A URL added later is
covered automatically."""

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from intake.models import ConsentRecord, Intake, IntakeSubmission, UrgentAlert
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


def _id_patterns() -> list[str]:
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif (
                isinstance(pattern, URLPattern) and "<int:" in route and not route.startswith(("admin/", "^"))
            ):
                found.append("/" + route)

    walk(get_resolver().url_patterns)
    return found


def _fill(route: str, value: int) -> str:
    path = re.sub(r"<int:\w+>", str(value), route)
    return re.sub(r"<(?:slug|str):\w+>", "contact", path)


@pytest.fixture
def first_patients_records(patient, front_desk):
    """Pat One with an intake in progress, a submitted intake, an urgent alert, a decision and an appointment."""
    from intake.models import EligibilityDecision
    from intake.services import current_intake
    from scheduling import services
    from scheduling.models import Appointment

    record = patient.patient
    clinic = Clinic(*build_clinic())
    give_cleared_intake(record)
    clear_for_treatment(record)
    appointment = services.book_appointment(
        patient=record, treatment_type=clinic.iv, location=clinic.location, start=local(A_WEDNESDAY, 9),
        booked_by=front_desk, now=NOW,
    )  # fmt: skip
    rescreen(record, now=NOW + timedelta(days=3), high=True)
    current_intake(patient=record, now=NOW)
    ids = {record.pk, appointment.pk}
    for model in (Intake, IntakeSubmission, UrgentAlert, ConsentRecord, EligibilityDecision):
        ids |= set(model.objects.filter(patient=record).values_list("pk", flat=True))
    ids |= set(Appointment.objects.filter(patient=record).values_list("pk", flat=True))
    return sorted(ids)


def _refused(client, path: str) -> bool:
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {})
    return response.status_code == 404


def test_every_url_with_an_object_id_is_404_for_a_second_patient(
    client, second_patient, first_patients_records
):
    patterns = _id_patterns()
    assert len(patterns) > 20
    client.force_login(second_patient)
    leaks = [
        _fill(route, pk)
        for route in patterns
        for pk in first_patients_records
        if not _refused(client, _fill(route, pk))
    ]
    assert not leaks, f"a second patient reached: {leaks[:10]}"


@pytest.mark.parametrize(
    ("role_fixture", "prefixes"),
    [
        ("front_desk", ("/review/", "/patient/")),  # booking needs no clinical detail
        ("clinician", ("/patient/",)),
        ("clinic_admin", ("/patient/",)),
    ],
)
def test_pages_of_other_roles_are_404_for_staff(
    client, request, first_patients_records, role_fixture, prefixes
):
    client.force_login(request.getfixturevalue(role_fixture))
    routes = [route for route in _id_patterns() if route.startswith(prefixes)]
    assert routes
    leaks = [
        _fill(route, pk)
        for route in routes
        for pk in first_patients_records
        if not _refused(client, _fill(route, pk))
    ]
    assert not leaks, f"{role_fixture} reached: {leaks[:10]}"


def test_the_first_patient_does_reach_their_own_records(client, patient, first_patients_records):
    """The walk above proves something only if these same URLs open for the right person."""
    client.force_login(patient)
    submission = IntakeSubmission.objects.filter(patient=patient.patient).latest("submitted_at")
    assert client.get(f"/patient/submissions/{submission.pk}/").status_code == 200
