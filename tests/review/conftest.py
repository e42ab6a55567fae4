"""Clinician-review fixtures: a location, the clinician persona as an on-call Clinician there, and quick ways to
make patients, intakes (through the real service, or as bare rows for volume) and high-risk re-screens."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

NOW = datetime(2027, 3, 3, 15, 0, tzinfo=UTC)  # Wed 3 Mar 2027, 10:00 EST
_counter = itertools.count(1)

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
    answers = {f"item{n}": value for n, value in enumerate(items, start=1)}
    answers["functional"] = functional
    return answers


def cssrs_since_last_visit(*, high: bool = False) -> dict:
    if high:  # yes to Q2 and Q4: high risk (Columbia triage)
        return {"q1": True, "q2": True, "q3": True, "q4": True, "q5": False, "q6": False}
    return {"q1": False, "q2": False, "q6": False}


def rescreen(patient, *, now, items=(2, 2, 1, 1, 1, 1, 1, 1, 0), high: bool = False):
    """A pre-session re-screen through the real service; ``high`` or a non-zero item 9 raises an urgent alert."""
    from intake.services import submit_rescreen

    return submit_rescreen(
        patient=patient,
        answers={"phq9": phq9(items), "cssrs_since_last_visit": cssrs_since_last_visit(high=high)},
        now=now,
    )


def make_patient(*, first: str = "Pat", last: str | None = None, location=None, user=None, born=None):
    from datetime import date

    from intake.models import Patient

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


def make_intake(patient, *, at, findings=(), reasons=("depression",), phq9_total=12, item9=0):
    """A bare submitted-intake row (no service): enough for the queue, decisions and booking."""
    from intake.models import IntakeSubmission

    findings = [dict(finding) for finding in findings]
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
        findings=findings,
        has_hard_stop=any(finding["severity"] == "hard_stop" for finding in findings),
        phq9_item9=item9,
        cssrs_risk="none",
    )


def full_intake_answers(*, consent_id: int, aneurysm: str = "no", version: str) -> dict:
    """Every step of a real intake, answered as a patient would (PTSD and OCD bring in the PCL-5 and OCI-R)."""
    from intake import rules

    medical = {condition.code: "no" for condition in rules.MEDICAL_HISTORY_CONDITIONS}
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


def submit_full_intake(patient, *, now, aneurysm: str = "no"):
    """A complete intake through intake.services.submit_intake (consent recorded directly: its text is not ours)."""
    from django.conf import settings

    from intake.models import ConsentRecord, Intake
    from intake.services import submit_intake

    consent = ConsentRecord.objects.create(
        patient=patient,
        version=settings.INTAKE_CONSENT_VERSION,
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


@pytest.fixture
def location(db):
    from scheduling.models import Location

    return Location.objects.create(name="Harbor Review Clinic", time_zone="America/New_York")


@pytest.fixture
def other_location(db):
    from scheduling.models import Location

    return Location.objects.create(name="Bayside Clinic", time_zone="America/Los_Angeles")


@pytest.fixture
def on_call(clinician, location):
    """The clinician persona as an on-call Clinician working at ``location``."""
    from scheduling.models import Clinician

    row = Clinician.objects.create(user=clinician, credentials="MD", is_on_call=True)
    row.locations.add(location)
    return row


@pytest.fixture
def second_clinician(make_user, location):
    from clinic.roles import Role
    from scheduling.models import Clinician

    user = make_user(Role.CLINICIAN, email="second.doc@example.org", full_name="Jordan Second")
    Clinician.objects.create(user=user, credentials="NP").locations.add(location)
    return user


@pytest.fixture
def frozen_clock():
    """The web pages use the real clock: start it at NOW (it keeps ticking), so fixed test dates are the past."""
    import time_machine

    with time_machine.travel(NOW + timedelta(minutes=1), tick=True):
        yield
