from django.core.management import call_command

from clinic.models import User
from clinic.roles import Role
from demo.data import DEMO_PASSWORD, demo_logins
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


def test_the_demo_opens_on_a_working_day_and_a_second_load_adds_nothing(db):
    from intake.models import EligibilityDecision, IntakeSubmission, UrgentAlert
    from scheduling.models import Appointment

    call_command("seed_demo")
    story = _story()
    call_command("seed_demo")
    assert _story() == story
    assert story["intakes"] == 6 and story["rescreens"] == 1
    assert story["open_alerts"] == 1 and story["decisions"] == 3
    assert story["appointments"] >= 4
    # Two intakes wait for a clinician; the queue is not empty on the first morning.
    decided = set(EligibilityDecision.objects.values_list("patient_id", flat=True))
    waiting = IntakeSubmission.objects.filter(kind="intake").exclude(patient_id__in=decided)
    assert waiting.count() == 3
    assert UrgentAlert.objects.get().patient.legal_first_name == "Gus"
    assert Appointment.objects.filter(status="booked").count() == story["appointments"]


def _story() -> dict[str, int]:
    from intake.models import EligibilityDecision, IntakeSubmission, UrgentAlert
    from scheduling.models import Appointment

    return {
        "intakes": IntakeSubmission.objects.filter(kind="intake").count(),
        "rescreens": IntakeSubmission.objects.filter(kind="rescreen").count(),
        "open_alerts": UrgentAlert.objects.filter(acknowledged_at__isnull=True).count(),
        "decisions": EligibilityDecision.objects.count(),
        "appointments": Appointment.objects.count(),
    }


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
