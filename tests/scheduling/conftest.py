"""A small clinic for the booking tests: one location in New York, six chairs and a room, three clinicians.

Dates are fixed in 2027 and every service call passes ``now``, so no test depends on today's date.
"""

from __future__ import annotations

import importlib
import itertools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

NY = ZoneInfo("America/New_York")
# A Wednesday well before the spring-forward change (2027-03-14).
A_WEDNESDAY = date(2027, 3, 3)
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)

# The default treatment types, from the data migration that installs them (one source of truth).
DEFAULT_TYPES = {
    row["code"]: {k: v for k, v in row.items() if k != "code"}
    for row in importlib.import_module("scheduling.migrations.0003_default_treatment_types").DEFAULTS
}

_counter = itertools.count(1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


def treatment_type(code: str):
    """The default treatment types come from a data migration; transactional tests flush them, so re-create."""
    from scheduling.models import TreatmentType

    return TreatmentType.objects.get_or_create(code=code, defaults=DEFAULT_TYPES[code])[0]


def build_clinic(*, chairs: int = 6, clinicians: int = 3):
    """Location open every day 08:00-18:00 local, chairs, a room, clinicians working 08:00-18:00 there."""
    from clinic.models import User
    from clinic.roles import Role, assign_role
    from scheduling.models import Clinician, Location, OpeningHours, Resource, WorkingHours

    n = next(_counter)
    location = Location.objects.create(name=f"Harbor Test Clinic {n}", time_zone="America/New_York")
    OpeningHours.objects.bulk_create(
        OpeningHours(location=location, weekday=d, opens=time(8), closes=time(18)) for d in range(7)
    )
    chair_rows = [
        Resource.objects.create(location=location, kind="chair", name=f"Chair {i}")
        for i in range(1, chairs + 1)
    ]
    room = Resource.objects.create(location=location, kind="room", name="Consultation room")
    people = []
    for i in range(1, clinicians + 1):
        user = User.objects.create_user(
            email=f"clin{n}-{i}@example.org", password="a-long-test-password-42", full_name=f"Clin Ician{i}"
        )
        assign_role(user=user, role=Role.CLINICIAN)
        clinician = Clinician.objects.create(user=user, credentials="MD")
        clinician.locations.add(location)
        WorkingHours.objects.bulk_create(
            WorkingHours(clinician=clinician, location=location, weekday=d, starts=time(8), ends=time(18))
            for d in range(7)
        )
        people.append(clinician)
    return location, chair_rows, room, people


def make_patient(
    *, first: str = "Pat", last: str | None = None, eligible: bool = True, location=None, user=None
):
    """An intake.Patient; ``eligible`` gives them a submitted intake with no hard-stop finding."""
    from intake.models import Patient

    n = next(_counter)
    patient = Patient.objects.create(
        legal_first_name=first,
        legal_last_name=last or f"Tester{n}",
        email=f"patient{n}-{first.lower()}@example.org",
        location=location,
    )
    if eligible:
        give_cleared_intake(patient)
    return patient


def give_cleared_intake(patient) -> None:
    """A submitted intake with no finding, and a clinician's decision clearing the patient for treatment."""
    from intake.models import IntakeSubmission

    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=patient,
        submitted_at=datetime(2027, 1, 1, tzinfo=UTC),
        answers={},
        findings=[],
    )
    clear_for_treatment(patient)


def clear_for_treatment(patient, *, modality: str = "both") -> None:
    """A clinician's eligibility decision on the patient's latest intake, through intake's own service."""
    from clinic.models import User
    from clinic.roles import Role, assign_role
    from intake.decisions import record_decision

    reviewer, created = User.objects.get_or_create(
        email="eligibility.reviewer@example.org", defaults={"full_name": "Eli Reviewer"}
    )
    if created:
        assign_role(user=reviewer, role=Role.CLINICIAN)
    record_decision(
        patient=patient,
        decided_by=reviewer,
        outcome="eligible",
        modality=modality,
        now=datetime(2027, 1, 2, tzinfo=UTC),
    )


class Clinic:
    def __init__(self, location, chairs, room, clinicians):
        self.location = location
        self.chairs = chairs
        self.room = room
        self.clinicians = clinicians

    @property
    def iv(self):
        return treatment_type("iv-ketamine")

    @property
    def spravato(self):
        return treatment_type("spravato-56")

    @property
    def consultation(self):
        return treatment_type("consultation")


@pytest.fixture
def clinic(db):
    return Clinic(*build_clinic())


@pytest.fixture
def desk_user(front_desk):
    return front_desk


@pytest.fixture
def book(clinic, front_desk):
    """book(patient, start, chair=0, clinician=0, type=iv) through the real service, with NOW as the clock."""
    from scheduling import services

    def _book(
        patient, start, *, chair: int | None = 0, clinician: int | None = 0, kind=None, now=NOW, **extra
    ):
        return services.book_appointment(
            patient=patient,
            treatment_type=kind or clinic.iv,
            location=clinic.location,
            start=start,
            resource=None if chair is None else clinic.chairs[chair],
            clinician=None if clinician is None else clinic.clinicians[clinician],
            booked_by=front_desk,
            now=now,
            **extra,
        )

    return _book


@pytest.fixture
def book_one(book):
    """The `book` fixture under a name that leaves `book` free for a test module's own helper."""
    return book


def give_rescreen(patient, *, at: datetime, cssrs_risk: str = "low") -> None:
    """A pre-session re-screen submission (intake owns the form; the session gate reads the row)."""
    from intake.models import IntakeSubmission

    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.RESCREEN,
        patient=patient,
        submitted_at=at,
        answers={},
        findings=[],
        cssrs_risk=cssrs_risk,
        is_urgent=cssrs_risk == "high",
    )


def ready_to_dose(appointment, *, by, now: datetime, bp: tuple[int, int] = (128, 82)) -> None:
    """Check in, complete the checklist, a re-screen and pre-dose vitals: everything dosing needs."""
    from scheduling import services

    appointment.refresh_from_db()
    if appointment.status in ("booked", "confirmed"):
        services.check_in(appointment=appointment, checked_in_by=by, now=now)
    services.record_check_in_checklist(
        appointment=appointment, escort_name="Jo Driver", escort_phone="+16175550123", escort_confirmed=True,
        fasting_confirmed=True, recorded_by=by, now=now,
    )  # fmt: skip
    give_rescreen(appointment.patient, at=now)
    services.record_vitals(
        appointment=appointment, phase="pre_dose", systolic=bp[0], diastolic=bp[1], heart_rate=72, spo2=98,
        recorded_by=by, now=now,
    )  # fmt: skip
