"""Intake fixtures: the patient persona's record, their current intake, and a client signed in as them. The
answers for each step, as a patient posts them, come from tests.factories (``contact_data``, ``fill_intake``, ...).
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from intake.models import Intake, Patient
from intake.services import current_intake


@pytest.fixture
def patient_record(patient) -> Patient:
    return patient.patient


@pytest.fixture
def second_patient_record(second_patient) -> Patient:
    return second_patient.patient


@pytest.fixture
def intake(patient_record) -> Intake:
    return current_intake(patient=patient_record, now=timezone.now())


@pytest.fixture
def patient_client(client, patient, patient_record):
    client.force_login(patient)
    return client
