"""Builders for test data: people, patients, a small clinic, intakes, decisions, re-screens, bookings, and the
answers a patient posts at each intake step. Plain functions over the real models and services; the conftests wrap
the persona fixtures around them.

Dates are fixed in 2027 and every service call passes ``now``, so no test depends on today's date: ``NOW`` is the
booking tests' clock (Mon, Mar 1, 2027, two days before ``A_WEDNESDAY``), ``REVIEW_NOW`` the review tests' (that
Wednesday, 10:00 in New York).
"""

from __future__ import annotations

import importlib
import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.urls import reverse

from clinic.models import User
from clinic.roles import Role, assign_role
from intake import rules
from intake.models import (
    ConsentRecord,
    EligibilityDecision,
    Intake,
    IntakeSubmission,
    Patient,
    UrgentAlert,
)
from intake.services import current_intake, submit_intake, submit_rescreen
from review.decisions import record_decision
from scheduling import services
from scheduling.models import (
    Appointment,
    Clinician,
    Location,
    OpeningHours,
    Resource,
    TreatmentType,
    WorkingHours,
    default_min_days_apart,
)
from tests.support import PASSWORD

NY = ZoneInfo("America/New_York")
# A Wednesday well before the spring-forward change (2027-03-14).
A_WEDNESDAY = date(2027, 3, 3)
NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
REVIEW_NOW = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)  # Wed, Mar 3, 2027, 10:00 AM EST

_counter = itertools.count(1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NY)


# --- People -----------------------------------------------------------------------------------------------------


def make_user(
    role: Role, email: str | None = None, full_name: str = "Test Person", password: str = PASSWORD
) -> User:
    user = User.objects.create_user(
        email=email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.org",
        password=password,
        full_name=full_name,
    )
    assign_role(user=user, role=role)
    return user


def patient_with_account(email: str, first: str, last: str, born: date) -> User:
    """A patient's account with their patient record (``user.patient``)."""
    user = make_user(Role.PATIENT, email=email, full_name=f"{first} {last}")
    Patient.objects.create(
        user=user, legal_first_name=first, legal_last_name=last, email=email, date_of_birth=born
    )
    return user


# --- A small clinic to book in ----------------------------------------------------------------------------------

# The default treatment types, from the data migrations that install them and their session-day protocol (one
# source of truth).
_PROTOCOLS = importlib.import_module("scheduling.migrations.0012_session_protocol_and_dose_checks").PROTOCOL
DEFAULT_TYPES = {
    row["code"]: {**{k: v for k, v in row.items() if k != "code"}, **_PROTOCOLS.get(row["code"], {})}
    for row in importlib.import_module("scheduling.migrations.0003_default_treatment_types").DEFAULTS
}


def treatment_type(code: str) -> TreatmentType:
    """The default treatment types come from a data migration; transactional tests flush them, so re-create."""
    defaults = DEFAULT_TYPES[code]
    defaults = {**defaults, "min_days_apart": default_min_days_apart(defaults["modality"])}
    return TreatmentType.objects.get_or_create(code=code, defaults=defaults)[0]


def build_clinic(*, chairs: int = 6, clinicians: int = 3):
    """Location open every day 08:00-18:00 local, chairs, a room, clinicians working 08:00-18:00 there."""
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
        user = make_user(Role.CLINICIAN, email=f"clin{n}-{i}@example.org", full_name=f"Clin Ician{i}")
        clinician = Clinician.objects.create(user=user, credentials="MD")
        clinician.locations.add(location)
        WorkingHours.objects.bulk_create(
            WorkingHours(clinician=clinician, location=location, weekday=d, starts=time(8), ends=time(18))
            for d in range(7)
        )
        people.append(clinician)
    return location, chair_rows, room, people


class Clinic:
    def __init__(
        self, location: Location, chairs: list[Resource], room: Resource, clinicians: list[Clinician]
    ):
        self.location = location
        self.chairs = chairs
        self.room = room
        self.clinicians = clinicians

    @property
    def iv(self) -> TreatmentType:
        return treatment_type("iv-ketamine")

    @property
    def spravato(self) -> TreatmentType:
        return treatment_type("spravato-56")

    @property
    def consultation(self) -> TreatmentType:
        return treatment_type("consultation")


# --- Patients ready to book -------------------------------------------------------------------------------------


def make_patient(
    *, first: str = "Pat", last: str | None = None, eligible: bool = True, location=None
) -> Patient:
    """A patient record; ``eligible`` gives them a submitted intake with no hard-stop finding and a clearance."""
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


def give_cleared_intake(patient: Patient) -> None:
    """A submitted intake with no finding, and a clinician's decision clearing the patient for treatment."""
    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=patient,
        submitted_at=datetime(2027, 1, 1, tzinfo=UTC),
        answers={},
        findings=[],
    )
    clear_for_treatment(patient)


def clear_for_treatment(patient: Patient, *, modality: str = "both") -> None:
    """A clinician's eligibility decision on the patient's latest intake, through intake's own service."""
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


def give_rescreen(patient: Patient, *, at: datetime, cssrs_risk: str = "low") -> None:
    """A pre-session re-screen submission (intake owns the form; the session gate reads the row)."""
    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.RESCREEN,
        patient=patient,
        submitted_at=at,
        answers={},
        findings=[],
        cssrs_risk=cssrs_risk,
        is_urgent=cssrs_risk == "high",
    )


def ready_to_dose(
    appointment: Appointment, *, by: User, now: datetime, bp: tuple[int, int] = (128, 82)
) -> None:
    """Check in, complete the checklist, a re-screen, pre-dose vitals and the planned dose (by the session's
    clinician: IV 0.5 mg/kg at 70 kg, Spravato the booked dose): everything dosing needs."""
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
    if appointment.treatment_type.modality != "consultation":
        services.plan_dose(
            appointment=appointment, planned_by=appointment.clinician.user, weight_kg=Decimal(70),
            mg_per_kg=Decimal("0.5"), dose_mg=appointment.treatment_type.dose_mg or 56, now=now,
        )  # fmt: skip


# --- Intakes and re-screens for review --------------------------------------------------------------------------

HARD_STOP = {
    "code": "aneurysm",
    "label": "Aneurysmal vascular disease",
    "severity": "hard_stop",
    "modality": "both",
    "source": "SPRAVATO US label §4 (contraindication) [V]",
    "detail": "Aneurysm of the aorta, intracranial or peripheral arteries.",
    "escalate": False,
}
IV_HARD_STOP = {**HARD_STOP, "code": "iv_only_stop", "label": "A stop for IV only", "modality": "iv"}
REVIEW_FLAG = {
    "code": "glaucoma_or_eye_injury",
    "label": "Glaucoma, raised eye pressure or recent eye injury",
    "severity": "review",
    "modality": "iv",
    "source": "Ketalar US label [V]",
    "detail": "Ketamine can raise intraocular pressure.",
    "escalate": False,
}


def phq9(items=(2, 2, 1, 1, 1, 1, 1, 1, 0), functional=None) -> dict:
    answers: dict[str, Any] = {f"item{n}": value for n, value in enumerate(items, start=1)}
    answers["functional"] = functional
    return answers


def cssrs_since_last_visit(*, high: bool = False) -> dict:
    if high:  # yes to Q2 and Q4: high risk (Columbia triage)
        return {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}
    return {"q1": False, "q2": False, "q6": False}


def rescreen(patient: Patient, *, now: datetime, items=(2, 2, 1, 1, 1, 1, 1, 1, 0), high: bool = False):
    """A pre-session re-screen through the real service; ``high`` or a non-zero item 9 raises an urgent alert."""
    return submit_rescreen(
        patient=patient,
        answers={"phq9": phq9(items), "cssrs_since_last_visit": cssrs_since_last_visit(high=high)},
        now=now,
    )


def make_review_patient(
    *, first: str = "Pat", last: str | None = None, location=None, user=None, born: date | None = None
) -> Patient:
    """A patient record with the contact details the review pages show, and no intake yet."""
    n = next(_counter)
    return Patient.objects.create(
        legal_first_name=first,
        legal_last_name=last or f"Reviewee{n}",
        email=f"review-patient-{n}@example.org",
        location=location,
        user=user,
        date_of_birth=born or date(1985, 4, 2),
        phone="+16175550100",
        emergency_contact_name="Robin Contact",
        emergency_contact_phone="+16175550101",
        emergency_contact_relationship="Sister",
    )


def make_intake(
    patient: Patient,
    *,
    at: datetime,
    findings=(),
    reasons=("depression",),
    phq9_total: int = 12,
    item9: int = 0,
) -> IntakeSubmission:
    """A bare submitted-intake row (no service): enough for the queue, decisions and booking."""
    finding_rows = [dict(finding) for finding in findings]
    return IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=patient,
        submitted_at=at,
        answers={"reasons": {"reasons": list(reasons), "other_reason": ""}},
        scores={
            "phq9": {
                "instrument": "phq9",
                "total": phq9_total,
                "band": "moderate" if 10 <= phq9_total <= 14 else "mild",
                "item9_flag": item9 > 0,
                "major_depressive_syndrome": False,
                "other_depressive_syndrome": False,
                "difficulty": None,
                "functional_impairment": None,
            }
        },
        findings=finding_rows,
        has_hard_stop=any(finding["severity"] == "hard_stop" for finding in finding_rows),
        phq9_item9=item9,
        cssrs_risk="none",
    )


def full_intake_answers(*, consent_id: int, aneurysm: str = "no", version: str) -> dict:
    """Every step of a real intake, answered as a patient would (PTSD and OCD bring in the PCL-5 and OCI-R)."""
    medical: dict[str, Any] = {condition.code: "no" for condition in rules.MEDICAL_HISTORY_CONDITIONS}
    medical.update(aneurysm=aneurysm, liver_severity="", pregnant="no", breastfeeding="not_applicable")
    medical["other_conditions"] = ""
    return {
        "contact": {
            "legal_first_name": "Alex", "legal_last_name": "Morgan", "preferred_name": "Al",
            "date_of_birth": "1985-04-02", "phone": "+16175550100", "email": "alex.review@example.org",
            "address_line1": "1 Harbor Way", "address_line2": "", "city": "Cambridge", "state": "MA",
            "postal_code": "02139", "emergency_contact_name": "Robin Morgan",
            "emergency_contact_relationship": "Sister", "emergency_contact_phone": "+16175550101",
            "reminder_channel": "email", "sms_consent": False,
        },
        "reasons": {"reasons": ["depression", "ptsd", "ocd"], "other_reason": ""},
        "medical": medical,
        "medications": {
            "allergies": "none",
            "allergy_ketamine": "no",
            "items": [
                {"name": "Xanax", "dose_mg": "1", "times_per_day": "2", "medication_class": ""},
                {"name": "Sertraline", "dose_mg": "100", "times_per_day": "1", "medication_class": ""},
            ],
        },
        "treatment": {
            "ect": "no", "ect_sessions": None, "tms": "no", "prior_ketamine": "no", "prior_esketamine": "no",
            "prior_ketamine_details": "",
            "trials": [
                {"drug": "Sertraline", "highest_dose_mg": "150", "weeks": 10, "adherent": "yes",
                 "improvement": "none", "current_episode": True},
                {"drug": "Bupropion", "highest_dose_mg": "300", "weeks": 8, "adherent": "yes",
                 "improvement": "little", "current_episode": True},
                {"drug": "Escitalopram", "highest_dose_mg": "10", "weeks": 2, "adherent": "yes",
                 "improvement": "none", "current_episode": True},
            ],
        },
        "body": {"units": "metric", "height_ft": None, "height_in": None, "weight_lb": None,
                 "height_cm": "170.0", "weight_kg": "72.0"},
        "phq9": phq9((3, 3, 2, 2, 2, 2, 2, 1, 0), "very"),
        "gad7": {**{f"item{n}": 2 for n in range(1, 8)}, "functional": "somewhat"},
        # Cluster B 1 endorsed, C 1, D 2, E 4: the provisional rule is met; total 18, under the cut-off.
        "pcl5": {f"item{n}": value for n, value in enumerate(
            [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 1, 1, 2, 2], start=1)},
        "ocir": {f"item{n}": (3 if n in (1, 7, 13) else 1) for n in range(1, 19)},
        "cssrs": {"q1": True, "q2": False, "q3": None, "q4": None, "q5": None, "q6": False, "q6_past_3_months": None},
        "consent": {"typed_name": "Alex Morgan", "agree": True, "version": version, "consent_id": consent_id},
    }  # fmt: skip


# The general consent's first version (seeded by intake migration 0013).
GENERAL_CONSENT_VERSION = "2026-11"


def submit_full_intake(patient: Patient, *, now: datetime, aneurysm: str = "no"):
    """A complete intake through intake.services.submit_intake (consent recorded directly: its text is not ours)."""
    consent = ConsentRecord.objects.create(
        patient=patient,
        version=GENERAL_CONSENT_VERSION,
        text_sha256="0" * 64,
        typed_name="Alex Morgan",
        agreed_at=now - timedelta(minutes=5),
    )
    intake = Intake.objects.create(
        patient=patient,
        answers=full_intake_answers(consent_id=consent.pk, aneurysm=aneurysm, version=consent.version),
        started_at=now - timedelta(hours=1),
        updated_at=now - timedelta(minutes=1),
    )
    return submit_intake(intake=intake, now=now, ip_address="127.0.0.1")


# --- A patient with a record of every kind ----------------------------------------------------------------------


@dataclass(frozen=True)
class PatientRecords:
    patient_id: int
    appointment_id: int
    submission_id: int  # the high-risk re-screen, with its urgent alert
    all_ids: list[int]  # every record's primary key, of every kind


def make_patient_records(patient: User, front_desk: User) -> PatientRecords:
    """Pat One cleared for treatment and booked, with a high-risk re-screen (an urgent alert), a decision, a signed
    consent and an intake in progress: what the whole-app walks (tests/test_object_access.py,
    tests/test_fuzz_forms.py) reach through the pages."""
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


# --- The intake's steps, as a patient posts them ----------------------------------------------------------------

ADULT_BIRTHDAY = "1985-04-12"


def contact_data(**overrides) -> dict[str, str]:
    data = {
        "legal_first_name": "Pat",
        "legal_last_name": "One",
        "preferred_name": "",
        "date_of_birth": ADULT_BIRTHDAY,
        "phone": "(617) 555-0123",
        "email": "pat.one@example.org",
        "address_line1": "1 Main Street",
        "address_line2": "",
        "city": "Cambridge",
        "state": "MA",
        "postal_code": "02139",
        "emergency_contact_name": "Jo One",
        "emergency_contact_relationship": "Sister",
        "emergency_contact_phone": "617-555-0199",
        "reminder_channel": "both",
        "sms_consent": "on",
    }
    data.update(overrides)
    return data


def medical_data(**overrides) -> dict[str, str]:
    data = {condition.code: "no" for condition in rules.MEDICAL_HISTORY_CONDITIONS}
    data.update(
        {"liver_severity": "", "pregnant": "no", "breastfeeding": "not_applicable", "other_conditions": ""}
    )
    data.update(overrides)
    return data


def rows_data(prefix: str, rows: list[dict[str, str]], blank_rows: int = 1) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows) + blank_rows),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "40",
    }
    for index, row in enumerate(rows):
        data.update({f"{prefix}-{index}-{key}": value for key, value in row.items()})
    return data


def medications_data(rows=None, **overrides) -> dict[str, str]:
    rows = (
        rows
        if rows is not None
        else [{"name": "clonazepam", "dose_mg": "1", "times_per_day": "2", "medication_class": ""}]
    )
    data = {"allergies": "none", "allergy_ketamine": "no", **rows_data("items", rows)}
    data.update(overrides)
    return data


def treatment_data(trials=None, **overrides) -> dict[str, str]:
    trials = (
        trials
        if trials is not None
        else [
            {
                "drug": "sertraline",
                "highest_dose_mg": "200",
                "weeks": "10",
                "adherent": "yes",
                "improvement": "none",
                "current_episode": "on",
            },
            {
                "drug": "bupropion",
                "highest_dose_mg": "300",
                "weeks": "8",
                "adherent": "yes",
                "improvement": "little",
                "current_episode": "on",
            },
        ]
    )
    data = {"ect": "no", "ect_sessions": "", "tms": "no", "prior_ketamine": "no", "prior_esketamine": "no",
            "prior_ketamine_details": "", **rows_data("trials", trials)}  # fmt: skip
    data.update(overrides)
    return data


def body_data(**overrides) -> dict[str, str]:
    data = {"units": "us", "height_ft": "5", "height_in": "9", "weight_lb": "170"}
    data.update(overrides)
    return data


def ratings(count: int, value: int = 1, **items: int) -> dict[str, str]:
    data = {f"item{n}": str(value) for n in range(1, count + 1)}
    data.update({key: str(val) for key, val in items.items()})
    return data


def phq9_data(**items) -> dict[str, str]:
    return {**ratings(9, 1, **{"item9": 0, **items}), "functional": "somewhat"}


def gad7_data(**items) -> dict[str, str]:
    return {**ratings(7, 1, **items), "functional": "somewhat"}


def cssrs_data(**answers: str) -> dict[str, str]:
    data = {"q1": "no", "q2": "no", "q6": "no"}
    data.update(answers)
    return data


def all_steps(**overrides) -> list[tuple[str, dict[str, str]]]:
    """Every step with valid answers, in order (PHQ-9 item 9 is 0 and C-SSRS is all no: no urgent alert)."""
    steps = [
        ("contact", contact_data()),
        ("reasons", {"reasons": ["depression"], "other_reason": ""}),
        ("medical", medical_data()),
        ("medications", medications_data()),
        ("treatment", treatment_data()),
        ("body", body_data()),
        ("phq9", phq9_data(item1=2, item2=3)),
        ("gad7", gad7_data()),
        ("cssrs", cssrs_data()),
        ("consent", {"typed_name": "Pat One", "agree": "on"}),
    ]
    return [(key, overrides.get(key, data)) for key, data in steps]


def post_step(client, intake: Intake, step: str, data: dict, action: str = "next"):
    return client.post(reverse("intake:step", args=[intake.pk, step]), {**data, "action": action})


def fill_intake(client, intake: Intake, **overrides) -> None:
    for key, data in all_steps(**overrides):
        response = post_step(client, intake, key, data)
        assert response.status_code == 302, (key, response.content.decode()[:3000])
