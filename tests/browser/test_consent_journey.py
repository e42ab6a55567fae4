"""Re-consent in the browser: the clinic admin publishes a material version of the general consent, the patient
finds it as a to-do in the portal and signs it. Every page passes axe; the bookings it holds up are the service
tests' (tests/portal/test_consent.py)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from intake.models import ConsentRecord, ConsentVersion, IntakeSubmission
from review.decisions import record_decision
from tests.support import PASSWORD, assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_material_version_is_published_and_signed_again(new_page, patient, clinic_admin, clinician):
    record = patient.patient
    now = timezone.now()
    IntakeSubmission.objects.create(
        kind="intake", patient=record, submitted_at=now - timedelta(days=2), answers={}, findings=[]
    )
    record_decision(patient=record, decided_by=clinician, outcome="eligible", modality="iv", now=now)
    ConsentRecord.objects.create(
        patient=record, kind="general", version="2026-11", text_sha256="0" * 64, typed_name="Pat One",
        agreed_at=now - timedelta(days=2),
    )  # fmt: skip

    admin = new_page()
    sign_in(admin, clinic_admin.email, PASSWORD)
    admin.goto("/clinic-settings/")
    admin.locator("main").get_by_role("link", name="Consent documents").click()
    admin.get_by_role("heading", name="Consent documents", level=1).wait_for()
    assert_accessible(admin)
    admin.get_by_role("link", name=re.compile(r"Write a new version\W+General consent")).click()
    admin.get_by_label("Version label").fill("2027-01")
    text = admin.get_by_label("Text", exact=True)
    text.fill(text.input_value() + "\n\n7. Recordings. Sessions are never recorded.")
    admin.get_by_role("button", name="Save draft").click()
    admin.get_by_role("heading", name="Preview: what patients will read").wait_for()
    assert_accessible(admin)
    admin.get_by_label("Material: patients must sign it again").check()
    admin.get_by_role("button", name="Publish").click()
    admin.get_by_text("Published version 2027-01 as a material change").wait_for()
    assert ConsentVersion.objects.get(kind="general", version="2027-01").change == "material"

    page = new_page()
    sign_in(page, patient.email, PASSWORD)
    page.get_by_role("heading", name="To do: consent to sign").wait_for()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"Read and sign\W+General consent")).click()
    page.get_by_text("Sessions are never recorded.").wait_for()
    assert_accessible(page)
    page.get_by_label("Type your full legal name to sign").fill("Pat One")
    page.get_by_label("I have read the consent above and I agree to it.").check()
    page.get_by_role("button", name="Sign").click()
    page.get_by_role("heading", name="Your consents").wait_for()
    assert_accessible(page)
    signed = ConsentRecord.objects.filter(patient=record, kind="general").latest("agreed_at")
    assert (signed.version, signed.action, signed.typed_name) == ("2027-01", "signed", "Pat One")
