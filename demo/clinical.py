"""The demo clinic's clinical story, written through the real services (intake, decisions, bookings), so that
`make run` opens on a working day: intakes in the review queue, one urgent alert, cleared patients and sessions
booked this week. Only used by `manage.py seed_demo`; every record is for an invented patient."""

from __future__ import annotations

import contextlib
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone

from intake import rules
from intake import services as intake_services
from intake.models import IntakeSubmission
from review.decisions import record_decision
from scheduling import services as scheduling_services
from scheduling.models import TreatmentType

# (patient index in demo.data.PATIENTS, PHQ-9 answers, reasons for care, what happens after the intake)
STORIES = [
    (0, (2, 2, 2, 1, 1, 2, 1, 1, 0), ["depression"], "eligible_iv"),
    (2, (3, 3, 2, 2, 2, 2, 2, 1, 0), ["depression", "ptsd"], "eligible_both"),
    (3, (2, 3, 2, 2, 1, 2, 2, 1, 0), ["depression"], "eligible_spravato"),
    (4, (3, 2, 2, 2, 2, 1, 1, 1, 0), ["depression", "anxiety"], "waiting"),
    (5, (3, 3, 3, 2, 2, 3, 2, 2, 0), ["depression", "ocd"], "waiting"),
    (6, (2, 2, 1, 1, 1, 1, 1, 0, 0), ["depression"], "urgent"),
]


def _answers(patient, phq9: tuple[int, ...], reasons: list[str]) -> dict[str, dict[str, Any]]:
    medical = {condition.code: "no" for condition in rules.MEDICAL_HISTORY_CONDITIONS}
    medical.update(liver_severity="", pregnant="no", breastfeeding="not_applicable", other_conditions="")
    steps: dict[str, dict[str, Any]] = {
        "contact": {
            "legal_first_name": patient.legal_first_name, "legal_last_name": patient.legal_last_name,
            "preferred_name": "", "date_of_birth": patient.date_of_birth.isoformat(), "phone": "+16175550142",
            "email": patient.email, "address_line1": "12 Elm Street", "address_line2": "", "city": "Somerville",
            "state": "MA", "postal_code": "02144", "emergency_contact_name": "A. Friend",
            "emergency_contact_relationship": "Friend", "emergency_contact_phone": "+16175550177",
            "reminder_channel": "email", "sms_consent": False,
        },
        "reasons": {"reasons": reasons, "other_reason": ""},
        "medical": medical,
        "medications": {
            "allergies": "none", "allergy_ketamine": "no",
            "items": [{"name": "sertraline", "dose_mg": "100", "times_per_day": "1", "medication_class": ""}],
        },
        "treatment": {
            "ect": "no", "ect_sessions": None, "tms": "no", "prior_ketamine": "no", "prior_esketamine": "no",
            "prior_ketamine_details": "",
            "trials": [
                {"drug": "sertraline", "highest_dose_mg": "150", "weeks": 10, "adherent": "yes",
                 "improvement": "none", "current_episode": True},
                {"drug": "bupropion", "highest_dose_mg": "300", "weeks": 8, "adherent": "yes",
                 "improvement": "little", "current_episode": True},
            ],
        },
        "body": {"units": "metric", "height_ft": None, "height_in": None, "weight_lb": None,
                 "height_cm": "172.0", "weight_kg": "74.0"},
        "phq9": {**{f"item{n}": value for n, value in enumerate(phq9, start=1)}, "functional": "very"},
        "gad7": {**{f"item{n}": 2 for n in range(1, 8)}, "functional": "somewhat"},
        "cssrs": {"q1": False, "q2": False, "q3": None, "q4": None, "q5": None, "q6": False, "q6_past_3_months": None},
    }  # fmt: skip
    if "ptsd" in reasons:
        steps["pcl5"] = {f"item{n}": 2 for n in range(1, 21)}
    if "ocd" in reasons:
        steps["ocir"] = {f"item{n}": 2 for n in range(1, 19)}
    return steps


def _business_day_at(location, *, business_days_ahead: int, hour: int, now: datetime) -> datetime:
    """`hour` local on the n-th business day from today (0: today, if it is one and the hour is still ahead)."""
    day = timezone.localdate(now, location.tz)
    start = datetime.combine(day, time(hour), tzinfo=location.tz)
    left = business_days_ahead
    while left > 0 or day.weekday() >= 5 or start <= now + timedelta(hours=1):
        day += timedelta(days=1)
        if day.weekday() < 5:
            left = max(left - 1, 0)
        start = datetime.combine(day, time(hour), tzinfo=location.tz)
    return start


def tell_the_story(*, location, clinician_user, front_desk_user, patients: list, now: datetime) -> int:
    """Write the stories that are not there yet; returns how many patients got one."""
    told = 0
    for index, phq9, reasons, outcome in STORIES:
        patient = patients[index]
        if IntakeSubmission.objects.filter(patient=patient).exists():
            continue
        intake = intake_services.current_intake(patient=patient, now=now - timedelta(days=3))
        for step, answers in _answers(patient, phq9, reasons).items():
            intake_services.save_intake_step(
                intake=intake, step_key=step, answers=answers, now=now - timedelta(days=3)
            )
        name = f"{patient.legal_first_name} {patient.legal_last_name}"
        intake_services.sign_consent(intake=intake, typed_name=name, now=now - timedelta(days=3), ip_address=None,
                                     user_agent="demo")  # fmt: skip
        intake_services.submit_intake(
            intake=intake, now=now - timedelta(days=3) + timedelta(minutes=20), ip_address=None
        )
        told += 1
        if outcome == "urgent":
            answers = {
                "phq9": {
                    **{f"item{n}": value for n, value in enumerate(phq9, start=1)},
                    "item9": 2,
                    "functional": None,
                },
                "cssrs_since_last_visit": {
                    "q1": True,
                    "q2": True,
                    "q3": True,
                    "q4": True,
                    "q5": False,
                    "q6": False,
                },
            }
            intake_services.submit_rescreen(patient=patient, answers=answers, now=now - timedelta(hours=1))
            continue
        if outcome == "waiting":
            continue
        modality = {"eligible_iv": "iv", "eligible_spravato": "spravato", "eligible_both": "both"}[outcome]
        record_decision(patient=patient, decided_by=clinician_user, outcome="eligible", modality=modality,
                        reason="Demo: treatment-resistant depression, no contraindication.", now=now - timedelta(days=2))  # fmt: skip
        if modality in ("spravato", "both"):
            scheduling_services.record_rems_enrollment(
                patient=patient,
                enrolled_on=timezone.localdate(now) - timedelta(days=2),
                recorded_by=front_desk_user,
            )
        code = "spravato-56" if modality == "spravato" else "iv-ketamine"
        treatment_type = TreatmentType.objects.get(code=code)
        # Each cleared patient: a session today when the clinic is open (so the day view is busy), another two
        # business days later, at mid-day hours when two clinicians work.
        for business_days_ahead in (0, 2):
            start = _business_day_at(
                location, business_days_ahead=business_days_ahead, hour=10 + 2 * (told % 3), now=now
            )
            # A slot already taken (a re-run on another day): the demo does without that session.
            with contextlib.suppress(scheduling_services.SchedulingError):
                scheduling_services.book_appointment(
                    patient=patient, treatment_type=treatment_type, location=location, start=start,
                    booked_by=front_desk_user, now=now,
                )  # fmt: skip
    return told
