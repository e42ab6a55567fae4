"""Walk the whole URL configuration: every pattern that takes an object id refuses, with a 404, a second patient
(for every one of the first patient's records) and the staff roles the page is not for. A URL added later is
covered automatically."""

import re

import pytest

from clinic.parsing import BIGINT_MAX
from intake.models import IntakeSubmission
from tests.support import ID_PARAMETER, app_routes, fill_route


def _id_patterns() -> list[str]:
    return [route for route in app_routes() if ID_PARAMETER.search(route)]


def _fill(route: str, value: int | str) -> str:
    path = ID_PARAMETER.sub(str(value), route)
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


# Past PostgreSQL's bigint (2**63 and a 20-digit number), the largest it holds (no such record), zero. A sign
# does not match the pattern at all.
OUT_OF_RANGE_IDS = [str(BIGINT_MAX + 1), "99999999999999999999", str(BIGINT_MAX), "0"]


def test_every_id_in_a_url_is_the_bounded_converter():
    """<id:...> matches only what the database's bigint holds; Django's <int:...> matches any length of digits."""
    assert not [route for route in app_routes() if "<int:" in route]


@pytest.mark.parametrize("role_fixture", ["patient", "front_desk", "clinician", "clinic_admin"])
def test_out_of_range_ids_in_every_url_are_404_for_every_role(client, request, patient_records, role_fixture):
    """Each id of each pattern in turn, the others the patient's real records, GET and POST: 404, never a 500."""
    client.force_login(request.getfixturevalue(role_fixture))
    answers = {}
    for route in _id_patterns():
        for match in ID_PARAMETER.finditer(route):
            for value in OUT_OF_RANGE_IDS:
                crafted = route[: match.start()] + value + route[match.end() :]
                path = fill_route(crafted, patient_records)
                for method in (client.get, client.post):
                    status = method(path).status_code
                    # The largest bigint reaches the view, which may refuse a GET first (405).
                    if status != 404 and not (value == str(BIGINT_MAX) and status == 405):
                        answers[f"{method.__name__.upper()} {path}"] = status
    assert not answers, answers
