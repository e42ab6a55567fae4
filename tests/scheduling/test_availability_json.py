"""The staff availability endpoint: free starts by chair and clinician as JSON, behind the staff gate and the
location rule, with bad input refused as a 400 naming the problem."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import time_machine
from django.urls import reverse

from tests.factories import A_WEDNESDAY, NOW, local, make_patient

pytestmark = pytest.mark.django_db

URL = reverse("scheduling:availability_json")


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _ask(client, user, clinic, **params):
    client.force_login(user)
    query = {"location": clinic.location.pk, "treatment": "iv-ketamine", "from": A_WEDNESDAY.isoformat()}
    query.update(params)
    return client.get(URL, {k: v for k, v in query.items() if v is not None})


def _z(moment) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_a_day_lists_each_chair_and_clinician_free_starts_around_a_booked_session(
    client, front_desk, clinic, book
):
    book(make_patient(location=clinic.location), local(A_WEDNESDAY, 9), chair=0, clinician=0)
    response = _ask(client, front_desk, clinic)
    assert response.status_code == 200
    body = response.json()
    assert (body["treatment"], body["from"], body["to"]) == ("iv-ketamine", "2027-03-03", "2027-03-03")
    chairs = {row["id"]: row["starts"] for row in body["resources"]}
    clinicians = {row["id"]: row["starts"] for row in body["clinicians"]}
    assert set(chairs) == {c.pk for c in clinic.chairs}  # the room is not a chair
    every = [_z(local(A_WEDNESDAY, 8) + timedelta(minutes=15 * k)) for k in range(33)]  # 08:00 to 16:00
    assert chairs[clinic.chairs[1].pk] == every
    # Chair 1 is held 09:00-11:00: a 120-minute session there starts at 11:00 or later (none fits before).
    assert chairs[clinic.chairs[0].pk] == every[12:]
    # Clinician 1 doses 09:15-10:00: their window (start+15, 45 min) must miss it.
    busy = {_z(local(A_WEDNESDAY, 8, 30) + timedelta(minutes=15 * k)) for k in range(5)}  # 08:30 ... 09:30
    assert clinicians[clinic.clinicians[0].pk] == [s for s in every if s not in busy]
    assert clinicians[clinic.clinicians[1].pk] == every


def test_a_month_is_answered_and_a_longer_range_refused(client, clinician, clinic):
    from scheduling.models import Clinician

    Clinician.objects.create(user=clinician, credentials="MD").locations.add(clinic.location)
    last = A_WEDNESDAY + timedelta(days=30)
    month = _ask(client, clinician, clinic, to=last.isoformat())
    assert month.status_code == 200
    assert month.json()["resources"][0]["starts"][-1] == _z(local(last, 16))
    too_long = _ask(client, clinician, clinic, to=(last + timedelta(days=1)).isoformat())
    assert too_long.status_code == 400
    assert "31 days" in too_long.json()["error"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"from": None}, "from"),
        ({"from": "03/03/2027"}, "from"),
        ({"to": "2027-02-30"}, "to"),
        ({"to": "2027-03-02"}, "before"),
        ({"treatment": "no-such-thing"}, "treatment"),
        ({"treatment": None}, "treatment"),
    ],
)
def test_bad_input_is_a_400_with_a_json_error(client, front_desk, clinic, params, says):
    response = _ask(client, front_desk, clinic, **params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert says in response.json()["error"]


def test_a_patient_gets_404_and_a_visitor_is_sent_to_sign_in(client, clinic, patient):
    client.force_login(patient)
    assert (
        client.get(
            URL, {"location": clinic.location.pk, "treatment": "iv-ketamine", "from": "2027-03-03"}
        ).status_code
        == 404
    )
    client.logout()
    response = client.get(
        URL, {"location": clinic.location.pk, "treatment": "iv-ketamine", "from": "2027-03-03"}
    )
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_location_outside_the_persons_reach_is_404(client, front_desk, clinic, settings):
    from scheduling.models import FrontDeskAssignment
    from tests.factories import build_clinic

    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    other, *_ = build_clinic()
    FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    assert _ask(client, front_desk, clinic).status_code == 200
    client.force_login(front_desk)
    response = client.get(URL, {"location": other.pk, "treatment": "iv-ketamine", "from": "2027-03-03"})
    assert response.status_code == 404
    assert _ask(client, front_desk, clinic, location="x").status_code == 404


def test_the_treatment_is_read_whole_by_its_code(clinic):
    from django.forms.models import model_to_dict

    from scheduling import selectors
    from scheduling.models import TreatmentType

    for treatment in TreatmentType.objects.all():
        read = selectors.treatment_type_by_code(treatment.code)
        assert read is not None and read.get_deferred_fields() == set()
        assert model_to_dict(read) == model_to_dict(treatment)
    assert selectors.treatment_type_by_code("no-such-thing") is None
