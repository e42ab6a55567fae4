"""Walk the whole URL configuration: every pattern that takes an object id refuses, with a 404, a second patient
(for every one of the first patient's records) and the staff roles the page is not for. A URL added later is
covered automatically."""

import re

import pytest

from intake.models import IntakeSubmission
from tests.support import app_routes


def _id_patterns() -> list[str]:
    return [route for route in app_routes() if "<int:" in route]


def _fill(route: str, value: int) -> str:
    path = re.sub(r"<int:\w+>", str(value), route)
    return re.sub(r"<(?:slug|str):\w+>", "contact", path)


def _refused(client, path: str) -> bool:
    response = client.get(path)
    if response.status_code == 405:
        response = client.post(path, {})
    return response.status_code == 404


def test_every_url_with_an_object_id_is_404_for_a_second_patient(client, second_patient, patient_records):
    patterns = _id_patterns()
    assert len(patterns) > 20
    client.force_login(second_patient)
    leaks = [
        _fill(route, pk)
        for route in patterns
        for pk in patient_records.all_ids
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
def test_pages_of_other_roles_are_404_for_staff(client, request, patient_records, role_fixture, prefixes):
    client.force_login(request.getfixturevalue(role_fixture))
    routes = [route for route in _id_patterns() if route.startswith(prefixes)]
    assert routes
    leaks = [
        _fill(route, pk)
        for route in routes
        for pk in patient_records.all_ids
        if not _refused(client, _fill(route, pk))
    ]
    assert not leaks, f"{role_fixture} reached: {leaks[:10]}"


def test_the_first_patient_does_reach_their_own_records(client, patient, patient_records):
    """The walk above proves something only if these same URLs open for the right person."""
    client.force_login(patient)
    submission = IntakeSubmission.objects.filter(patient=patient.patient).latest("submitted_at")
    assert client.get(f"/patient/submissions/{submission.pk}/").status_code == 200
