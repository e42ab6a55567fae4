"""Intake personas and valid answers for every step, as a patient would post them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from intake.models import Intake, Patient

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
    from intake.rules import MEDICAL_HISTORY_CONDITIONS

    data = {condition.code: "no" for condition in MEDICAL_HISTORY_CONDITIONS}
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


@pytest.fixture
def patient_record(patient) -> Patient:
    return patient.patient


@pytest.fixture
def second_patient_record(second_patient) -> Patient:
    return second_patient.patient


@pytest.fixture
def intake(patient_record) -> Intake:
    from intake.services import current_intake

    return current_intake(patient=patient_record, now=timezone.now())


@pytest.fixture
def patient_client(client, patient, patient_record):
    client.force_login(patient)
    return client
