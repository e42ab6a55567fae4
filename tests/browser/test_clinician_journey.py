"""A clinician's morning, tried in a real browser as a clinician would: a patient with a submitted intake has just
sent a high-risk re-screen. The clinician signs in and the urgent alert is the first thing on the page; they
acknowledge it with a note, open the patient, and sign a decision: eligible for IV ketamine. The patient becomes
bookable for IV ketamine (and front desk books a session through the pages), but not for Spravato. A second clinician,
on a phone, signs in and sees the decision history and the acknowledgement. Every page passes axe-core."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support import PASSWORD, PHONE, assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
NOTE = "Called the patient at once: safe at home with their sister; safety plan reviewed; seen tomorrow 9:00."


def see(page, text: str) -> None:
    """Wait until ``text`` shows; on failure, say what the page showed instead."""
    try:
        page.get_by_text(text).first.wait_for(timeout=10_000)
    except Exception as exc:  # noqa: BLE001 (re-raised with the page's words)
        shown = page.locator("main").inner_text() if page.locator("main").count() else page.content()
        raise AssertionError(f"{text!r} not shown on {page.url}:\n{shown[:3000]}") from exc


def test_a_clinician_acts_on_an_urgent_alert_decides_and_a_colleague_sees_it(
    new_page, live_server, clinician, make_user, front_desk
):
    from django.utils import timezone

    from clinic.roles import Role
    from intake.eligibility import booking_eligibility
    from intake.models import EligibilityDecision, UrgentAlert
    from scheduling.models import Appointment, Clinician
    from tests.factories import build_clinic, rescreen, submit_full_intake, treatment_type
    from tests.factories import make_review_patient as make_patient

    treatment_type("iv-ketamine")
    treatment_type("spravato-56")
    location, _chairs, _room, _clinicians = build_clinic()
    Clinician.objects.create(user=clinician, credentials="MD", is_on_call=True).locations.add(location)
    colleague = make_user(Role.CLINICIAN, email="second.doc@example.org", full_name="Jordan Second")
    Clinician.objects.create(user=colleague, credentials="NP").locations.add(location)

    now = timezone.now()
    patient = make_patient(first="Alex", last="Morgan", location=location)
    submit_full_intake(patient, now=now - timedelta(days=2))
    rescreen(patient, now=now - timedelta(minutes=20), high=True)  # yes to C-SSRS Q2 and Q4: high risk
    alert = UrgentAlert.objects.get(patient=patient)
    assert not booking_eligibility(patient=patient, modality="iv", now=timezone.now()).allowed

    # --- The on-call clinician signs in: the urgent alert comes first ---------------------------------------
    doc = new_page(viewport=DESKTOP)
    sign_in(doc, clinician.email, PASSWORD)
    doc.get_by_role("heading", name="Review queue").wait_for()
    assert_accessible(doc)
    banner = doc.locator("main > *").first
    assert banner.get_by_role(
        "heading", name="Urgent: 1 suicide-risk alert waiting for a clinician"
    ).is_visible()
    assert "Alex Morgan" in banner.inner_text()
    queue_entry = doc.get_by_role("listitem").filter(
        has=doc.get_by_role("link", name="Alex Morgan", exact=True)
    )
    assert "Urgent alert open since" in queue_entry.inner_text()

    banner.get_by_role("link", name="Act on this alert for Alex Morgan").click()
    doc.get_by_role("heading", name="Urgent alert: Alex Morgan").wait_for()
    assert_accessible(doc)
    see(doc, "Open: needs a clinician now")

    # Acknowledging without a note is refused, with the error next to the field and at the top.
    doc.get_by_role("button", name="Acknowledge with this note").click()
    see(doc, "Write what was done before acknowledging the alert.")
    assert_accessible(doc)
    assert doc.get_by_label("What was done").get_attribute("aria-invalid") == "true"
    doc.get_by_label("What was done").fill(NOTE)
    doc.get_by_role("button", name="Acknowledge with this note").click()
    see(doc, "Alert for Alex Morgan acknowledged. Your note is recorded.")
    doc.get_by_role("heading", name="Alex Morgan", level=1).wait_for()
    assert_accessible(doc)
    assert doc.get_by_role("heading", name=re.compile(r"^Urgent: \d+ suicide-risk alert")).count() == 0
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinician and alert.acknowledgement_note == NOTE
    gate = booking_eligibility(patient=patient, modality="iv", now=timezone.now())
    assert not gate.allowed  # acknowledged, but no decision yet
    see(doc, "Awaiting a decision")

    # --- The decision ---------------------------------------------------------------------------------------
    doc.get_by_role("link", name="Record a decision").click()
    doc.get_by_role("heading", name="Eligibility decision: Alex Morgan").wait_for()
    assert_accessible(doc)
    doc.get_by_role("group", name="Decision").get_by_label("Eligible", exact=True).check()
    doc.get_by_role("group", name="Eligible for").get_by_label("IV ketamine", exact=True).check()
    doc.get_by_role("button", name="Sign and record the decision").click()
    see(doc, "Tick this box to sign the decision.")  # not signed: nothing recorded
    assert_accessible(doc)
    assert not EligibilityDecision.objects.filter(patient=patient, decided_by=clinician).exists()
    doc.get_by_label("Sign this decision as Casey Doc").check()
    doc.get_by_role("button", name="Sign and record the decision").click()
    see(doc, "Decision recorded and signed: Eligible for IV ketamine.")
    doc.get_by_role("heading", name="Alex Morgan", level=1).wait_for()
    assert_accessible(doc)

    # --- The patient is bookable for IV ketamine, and only that ---------------------------------------------
    assert booking_eligibility(patient=patient, modality="iv", now=timezone.now()).allowed
    assert not booking_eligibility(patient=patient, modality="spravato", now=timezone.now()).allowed

    desk = new_page(viewport=DESKTOP)
    sign_in(desk, front_desk.email, PASSWORD)
    desk.goto("/front-desk/patients/")
    desk.get_by_label("Name, email or phone").fill("Morgan")
    desk.get_by_role("button", name="Search").click()
    desk.get_by_role("link", name="Book a session for Alex Morgan").click()
    desk.get_by_role("heading", name="Book a session").wait_for()
    assert_accessible(desk)
    desk.get_by_role("combobox", name="Treatment").select_option(label="IV ketamine infusion")
    desk.get_by_role("button", name="Show free times").click()
    desk.get_by_role("heading", name=re.compile(r"^2\. Choose a time on")).wait_for()
    assert_accessible(desk)
    desk.get_by_role("radio", name=re.compile(r"^10:00 AM to ")).first.check()
    desk.get_by_role("button", name="Book this time").click()
    desk.wait_for_url(re.compile(r"/front-desk/appointments/\d+/$"))
    assert_accessible(desk)
    booked = Appointment.objects.get(patient=patient)
    assert booked.status == "booked" and booked.treatment_type.modality == "iv"

    # --- A colleague, on a phone, sees the history and the acknowledgement ---------------------------------
    other = new_page(viewport=PHONE)
    sign_in(other, colleague.email, PASSWORD)
    other.get_by_role("heading", name="Review queue").wait_for()
    assert_accessible(other)
    assert other.get_by_role("heading", name=re.compile(r"^Urgent: \d+ suicide-risk alert")).count() == 0
    other.goto("/review/alerts/")
    acknowledged = other.get_by_role("region", name="Recently acknowledged alerts")
    assert "Casey Doc" in acknowledged.inner_text()
    assert_accessible(other)
    acknowledged.get_by_role("link", name="Alex Morgan").click()
    other.get_by_role("heading", name="Alex Morgan", level=1).wait_for()
    assert_accessible(other)
    decision = other.get_by_role("region", name="Eligibility decision")
    text = decision.inner_text()
    assert re.search(r"Eligible\s+for\s+IV ketamine\s+\(in force\)", text), text
    assert "Signed by Casey Doc on" in text
    alerts = other.get_by_role("region", name="Urgent alerts")
    assert "Acknowledged" in alerts.inner_text() and NOTE in alerts.inner_text()

    decisions = list(EligibilityDecision.objects.filter(patient=patient).order_by("decided_at"))
    assert [(d.outcome, d.modality, d.decided_by) for d in decisions] == [("eligible", "iv", clinician)]
