"""The patient review page: a real intake (through intake.services.submit_intake) shown in full, within a budget."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_review_patient as make_patient
from tests.factories import rescreen, submit_full_intake


@pytest.fixture
def reviewed(location, on_call):
    patient = make_patient(first="Alex", last="Morgan", location=location)
    submission = submit_full_intake(patient, now=NOW - timedelta(days=2), aneurysm="yes")
    rescreen(patient, now=NOW - timedelta(days=1))
    return patient, submission


def text(response) -> str:
    """The page as words, tags dropped: what a reader (or a screen reader) gets."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_the_page_shows_everything_a_clinician_decides_on(client, clinician, reviewed, frozen_clock):
    patient, submission = reviewed
    client.force_login(clinician)
    response = client.get(reverse("review:patient", args=[patient.pk]))
    assert response.status_code == 200
    page = text(response)

    # Every answer, grouped by step, with the question as the patient read it.
    for title in ("Contact details", "Reason for care", "Medical history", "Medicines and allergies",
                  "Treatment history", "Height and weight", "Mood (PHQ-9)", "Anxiety (GAD-7)",
                  "Stress after trauma (PCL-5)", "Obsessions and compulsions (OCI-R)", "Safety questions (C-SSRS)",
                  "Consent and signature"):  # fmt: skip
        assert title in page, title
    assert "An aneurysm (a bulging blood vessel) in the aorta, the brain, or anywhere else Yes" in page
    assert "Item 1. Little interest or pleasure in doing things 3 — Nearly every day" in page
    assert "Question 3: Have you been thinking about how you might do this?" in page or "Not asked" in page
    # Each score with its band and cut-off; PCL-5 clusters and the provisional rule; OCI-R subscales.
    assert "17 of 27" in page and "Moderately severe" in page
    assert "Screening cut-off (10 or more) At or above" in page
    assert "Major depressive syndrome (PHQ algorithm) Yes, met" in page
    assert "Cluster B, intrusion (items 1–5) 2 of 20; 1 symptom(s) endorsed, 1 needed" in page
    assert "Provisional DSM-5 diagnosis rule Yes, met" in page
    assert "Below the probable-PTSD cut-off" in page
    assert "Hoarding (items 1, 7, 13) 9 of 12" in page
    assert "Checking (items 2, 8, 14) 3 of 12" in page
    assert "Low risk" in page  # C-SSRS in words
    # Findings with rule, severity, modality and source.
    assert "Hard stop Aneurysmal vascular disease · concerns IV ketamine and Spravato" in page
    assert "Rule aneurysm. Source: SPRAVATO US label §4 (contraindication) [V]" in page
    # TRD with the trials behind it, BMI, medication flags.
    assert "Meets the TRD definition" in page
    assert "Failed trials: Sertraline, Bupropion." in page
    assert "Escitalopram: 2 weeks is under 4; stopping early is not a failure." in page
    assert "24.9 kg/m²" in page
    assert "Xanax : Benzodiazepine: about 40.0 mg/day diazepam-equivalent" in page
    # Earlier submissions side by side, and the decision still to make.
    assert "Submissions side by side" in page and "Pre-session re-screen" in page
    assert "Awaiting a decision" in page
    # Severity is in words; times carry their zone.
    assert "EST" in page and "Times are in Harbor Review Clinic's time zone, America/New_York." in page


def test_an_earlier_submission_can_be_opened_and_a_foreign_one_cannot(
    client, clinician, reviewed, frozen_clock
):
    patient, submission = reviewed
    client.force_login(clinician)
    later = submit_full_intake(make_patient(first="Other"), now=NOW - timedelta(hours=5))
    rescreen_row = patient.submissions.filter(kind="rescreen").get()
    page = client.get(reverse("review:submission", args=[patient.pk, rescreen_row.pk]))
    assert page.status_code == 200
    assert (
        "You are looking at an earlier submission" in page.content.decode()
        or "Pre-session re-screen of" in text(page)
    )
    assert client.get(reverse("review:submission", args=[patient.pk, later.pk])).status_code == 404


def test_the_patient_page_keeps_a_fixed_query_budget(
    client, clinician, reviewed, django_assert_max_num_queries, frozen_clock
):
    from review.decisions import record_decision

    patient, _ = reviewed
    client.force_login(clinician)
    with CaptureQueriesContext(connection) as first:
        assert client.get(reverse("review:patient", args=[patient.pk])).status_code == 200
    # Many more re-screens, alerts and decisions: the same number of queries.
    for day in range(1, 30):
        rescreen(
            patient,
            now=NOW - timedelta(days=1) + timedelta(hours=day),
            items=(1, 1, 1, 1, 1, 1, 1, 1, day % 2),
        )
    for n in range(5):
        record_decision(
            patient=patient, decided_by=clinician, outcome="not_eligible", reason=f"Reason {n}",
            now=NOW + timedelta(minutes=n),
        )  # fmt: skip
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(reverse("review:patient", args=[patient.pk]))
    assert response.status_code == 200
    assert "the latest 6 of 31" in text(response)
    assert len(first.captured_queries) <= 14, [q["sql"][:100] for q in first.captured_queries]
