"""Every page that shows a patient's suicide risk shows the latest, from any source (intake, re-screen, alert):
never an older intake's "no risk" beside a newer high-risk step, re-screen or open alert."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from django.urls import reverse

from intake import services
from intake.models import UrgentAlert
from intake.selectors import latest_risk, latest_risks
from review.alerts import acknowledge_alert
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_intake, rescreen
from tests.factories import make_review_patient as make_patient

HIGH_STEP = {
    "q1": True,
    "q2": True,
    "q3": True,
    "q4": True,
    "q5": False,
    "q6": False,
    "q6_past_3_months": None,
}


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def high_risk_step(patient, *, at):
    """A new intake, not submitted, whose safety step is saved with high-risk answers (raising its alert)."""
    intake = services.current_intake(patient=patient, now=at)
    return services.save_intake_step(intake=intake, step_key="cssrs", answers=HIGH_STEP, now=at)


def queue_row(page: str, name: str) -> str:
    start = page.index(name, page.index('<ol class="list-unstyled"'))  # past the urgent banner
    ends = [end for end in (page.find('<li class="card', start), page.find("</ol>", start)) if end != -1]
    return page[start : min(ends)]


def test_the_queue_and_the_patient_page_show_a_newer_high_risk_step_over_an_older_no_risk_intake(
    client, clinician, location, on_call, frozen_clock
):
    patient = make_patient(first="Riley", last="Stone", location=location)
    make_intake(patient, at=NOW - timedelta(days=20))  # C-SSRS "none"
    calm = make_patient(first="Calm", last="Case", location=location)
    make_intake(calm, at=NOW - timedelta(days=10))
    high_risk_step(patient, at=NOW - timedelta(hours=2))
    client.force_login(clinician)

    page = client.get(reverse("review:queue")).content.decode()
    riley = queue_row(page, "Riley Stone")
    assert "High risk" in riley and "No risk identified" not in riley
    assert "before the intake was submitted" in riley and "urgent alert (open)" in riley
    assert "No risk identified" in queue_row(page, "Calm Case")  # the current risk, when it is none

    screening = text(client.get(reverse("review:patient", args=[patient.pk])))
    current = screening[screening.index("Suicide risk, latest") :][:300]
    assert "High risk" in current and "No risk identified" not in current


def test_an_open_alert_outranks_a_newer_calm_screen_until_it_is_acknowledged(
    client, clinician, location, on_call, frozen_clock
):
    patient = make_patient(first="Sam", last="Reyes", location=location)
    make_intake(patient, at=NOW - timedelta(days=9))
    rescreen(patient, now=NOW - timedelta(days=3), high=True)  # raises an alert
    rescreen(patient, now=NOW - timedelta(days=1))  # calm, newer
    risk = latest_risk(patient)
    assert risk is not None and risk.level == "high" and risk.alert_open and risk.source == "alert"
    client.force_login(clinician)
    assert "High risk" in queue_row(client.get(reverse("review:queue")).content.decode(), "Sam Reyes")

    acknowledge_alert(
        alert_id=UrgentAlert.objects.get(patient=patient).pk,
        acknowledged_by=clinician,
        note="Called: safe, plan reviewed.",
        now=NOW - timedelta(hours=20),
    )
    risk = latest_risk(patient)
    assert risk is not None and risk.level == "none" and risk.source == "rescreen"
    row = queue_row(client.get(reverse("review:queue")).content.decode(), "Sam Reyes")
    assert "No risk identified" in row and "re-screen" in row


def test_the_latest_risk_takes_the_newest_source_and_the_alert_at_the_same_moment(db):
    older, newer, phq9_only, nothing = (make_patient() for _ in range(4))
    make_intake(older, at=NOW - timedelta(days=5))
    rescreen(older, now=NOW - timedelta(days=1), high=True)
    acknowledge_target = UrgentAlert.objects.get(patient=older)
    rescreen(newer, now=NOW - timedelta(days=5), high=True)
    # PHQ-9 item 9 alone: the C-SSRS says none, the alert raised with it says urgent.
    rescreen(phq9_only, now=NOW - timedelta(days=1), items=(1, 1, 1, 1, 1, 1, 1, 1, 2))
    risks = latest_risks([older.pk, newer.pk, phq9_only.pk, nothing.pk])
    assert set(risks) == {older.pk, newer.pk, phq9_only.pk}
    assert risks[older.pk].level == "high" and risks[older.pk].at == acknowledge_target.created_at
    assert risks[phq9_only.pk].level == "high" and risks[phq9_only.pk].source == "alert"
    assert any("PHQ-9 item 9" in reason for reason in risks[phq9_only.pk].reasons)


def test_the_alert_of_an_unsubmitted_intake_says_so_and_shows_the_step(
    client, clinician, location, on_call, frozen_clock
):
    patient = make_patient(first="Noor", last="Aziz", location=location)
    high_risk_step(patient, at=NOW - timedelta(minutes=30))
    alert = UrgentAlert.objects.get()
    client.force_login(clinician)
    page = text(client.get(reverse("review:alert", args=[alert.pk])))
    assert "from the intake's safety step, saved before the intake was submitted (not submitted yet)" in page
    assert "High risk" in page  # the step's C-SSRS, scored from the draft
    listing = text(client.get(reverse("review:alerts")))
    assert "Noor Aziz" in listing and "before the intake was submitted" in listing
