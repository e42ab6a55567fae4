from django.core.management import call_command

from clinic.demo_data import DEMO_PASSWORD, demo_logins
from clinic.models import User
from clinic.roles import Role
from intake.models import Patient
from scheduling.models import Clinician, Location, OpeningHours, Resource, WorkingHours


def test_demo_clinic_is_complete_and_loading_it_twice_duplicates_nothing(db):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    assert first == {
        "locations": 1,
        "chairs": 6,
        "rooms": 1,
        "clinicians": 3,
        "front_desk": 2,
        "admins": 1,
        "patients": 20,
        "opening_hours": 6,
        "working_hours": first["working_hours"],
    }
    assert first["working_hours"] >= 12
    location = Location.objects.get()
    assert location.time_zone == "America/New_York"


def test_every_demo_login_signs_in_to_its_role(client, db):
    call_command("seed_demo")
    for label, email in demo_logins():
        assert client.login(username=email, password=DEMO_PASSWORD), email
        user = User.objects.get(email=email)
        assert (
            user.role
            is {
                "clinic admin": Role.CLINIC_ADMIN,
                "front desk": Role.FRONT_DESK,
                "clinician": Role.CLINICIAN,
                "patient": Role.PATIENT,
            }[label]
        )
        client.logout()


def _counts() -> dict[str, int]:
    return {
        "locations": Location.objects.count(),
        "chairs": Resource.objects.filter(kind=Resource.Kind.CHAIR).count(),
        "rooms": Resource.objects.filter(kind=Resource.Kind.ROOM).count(),
        "clinicians": Clinician.objects.count(),
        "front_desk": User.objects.filter(groups__name="Front desk").count(),
        "admins": User.objects.filter(groups__name="Clinic admin").count(),
        "patients": Patient.objects.count(),
        "opening_hours": OpeningHours.objects.count(),
        "working_hours": WorkingHours.objects.count(),
    }
