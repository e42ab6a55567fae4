"""A new patient's intake, tried in a real browser as a patient would: the invitation email arrives over SMTP
from a real worker, the patient sets a password, fills every step on a phone-sized screen, and submits. A second
patient leaves half-way and finds every answer in place on a fresh browser. Every page passes axe-core."""

from __future__ import annotations

import re

import pytest

from clinic.roles import Role
from intake.models import Intake, IntakeSubmission, Patient
from tests.browser.patient_steps import (
    NEW_PASSWORD,
    accept,
    answer_every_question_no,
    fill_contact,
    invite,
    rate_every_question,
    save_and_continue,
)
from tests.support import PASSWORD, assert_accessible, sign_in

# Both journeys start a Celery worker on the tests' Redis database: in one process, never two workers at once.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("celery_worker")]


def invitation_link(smtp_server, email: str, count: int) -> str:
    messages = smtp_server.wait_for(count, timeout=60)
    message = next(m for m in messages if m["To"] == email)
    body = message.get_payload(0).get_payload(decode=True).decode()
    link = re.search(r"https?://\S+/invite/\S+/", body)
    assert link, body
    return link.group(0)


def test_a_new_patient_is_invited_fills_in_every_step_and_submits(
    new_page, live_server, mailing_worker, smtp_server, make_user
):
    desk = make_user(Role.FRONT_DESK, email="desk.journey@example.org")
    staff = new_page(viewport={"width": 1280, "height": 900})
    sign_in(staff, desk.email, PASSWORD)
    invite(staff, first="Nia", last="Journey", email="nia.journey@example.org")

    page = new_page()
    accept(page, invitation_link(smtp_server, "nia.journey@example.org", 1))

    # 1 Contact details: the name and email the clinic entered are already there.
    assert page.get_by_label("Legal first name").input_value() == "Nia"
    assert_accessible(page)
    fill_contact(page)
    save_and_continue(page, "Reason for care")
    assert page.get_by_text("Step 2 of 10").is_visible()

    page.get_by_label("Depression").check()
    page.get_by_label("PTSD or trauma").check()
    save_and_continue(page, "Medical history")
    assert page.get_by_text("Step 3 of 11").is_visible()  # PTSD adds the PCL-5

    assert_accessible(page)
    answer_every_question_no(page)
    page.get_by_role("group", name="Are you breastfeeding?").get_by_label("Does not apply to me").check()
    save_and_continue(page, "Medicines and allergies")

    page.locator("#id_items-0-name").fill("sertraline")
    page.locator("#id_items-0-dose_mg").fill("150")
    page.locator("#id_items-0-times_per_day").fill("1")
    page.get_by_label("Allergies to medicines").fill("none")
    answer_every_question_no(page)
    assert_accessible(page)
    save_and_continue(page, "Treatment history")

    answer_every_question_no(page)
    for row, drug in enumerate(["sertraline", "escitalopram"]):
        page.locator(f"#id_trials-{row}-drug").fill(drug)
        page.locator(f"#id_trials-{row}-weeks").fill("8")
        page.locator(f"#id_trials-{row}-adherent").select_option("yes")
        page.locator(f"#id_trials-{row}-improvement").select_option("none")
    save_and_continue(page, "Height and weight")

    page.get_by_label("Height: feet").fill("5")
    page.get_by_label("Height: inches").fill("6")
    page.get_by_label("Weight: pounds").fill("140")
    save_and_continue(page, "PHQ-9")

    assert_accessible(page)
    rate_every_question(page, 1)  # "Several days" ... but item 9 and the difficulty question are set below
    page.locator("input[name=item9][value='0']").check()
    save_and_continue(page, "GAD-7")
    rate_every_question(page, 1)
    save_and_continue(page, "PCL-5")
    rate_every_question(page, 2)
    save_and_continue(page, "C-SSRS screener")

    assert_accessible(page)
    answer_every_question_no(page)
    save_and_continue(page, "Consent and signature")

    assert_accessible(page)
    page.get_by_label("Type your full legal name to sign").fill("Nia Journey")
    page.get_by_label("I have read the consent above and I agree to it.").check()
    save_and_continue(page, "Review your answers")

    assert_accessible(page)
    assert page.get_by_text("escitalopram: 8 weeks").is_visible()
    page.get_by_role("button", name="Submit my intake").click()
    page.get_by_role("heading", name="What happens next").wait_for()
    assert_accessible(page)
    assert page.get_by_role("heading", name="Please reach out for support now").count() == 0

    patient = Patient.objects.get(email="nia.journey@example.org")
    submission = IntakeSubmission.objects.get(patient=patient)
    assert set(submission.scores) == {"phq9", "gad7", "pcl5", "cssrs"}
    assert submission.scores["pcl5"]["total"] == 40
    assert submission.trd["is_trd"] is True
    assert patient.phone == "+16175550142" and patient.city == "Somerville"


def test_a_patient_who_leaves_half_way_finds_every_answer_on_another_device(
    new_page, live_server, mailing_worker, smtp_server, make_user
):
    desk = make_user(Role.FRONT_DESK, email="desk.resume@example.org")
    staff = new_page(viewport={"width": 1280, "height": 900})
    sign_in(staff, desk.email, PASSWORD)
    invite(staff, first="Leo", last="Later", email="leo.later@example.org")

    phone = new_page()
    accept(phone, invitation_link(smtp_server, "leo.later@example.org", 1))
    fill_contact(phone)
    save_and_continue(phone, "Reason for care")
    phone.get_by_label("Anxiety").check()
    save_and_continue(phone, "Medical history")
    answer_every_question_no(phone)
    phone.get_by_role("group", name="Bleeding inside the brain (intracerebral hemorrhage)").get_by_label(
        "Not sure"
    ).check()
    phone.get_by_role("group", name="Are you breastfeeding?").get_by_label("Does not apply to me").check()
    phone.get_by_role("button", name="Save and finish later").click()
    phone.get_by_text("Saved. You can come back").wait_for()
    phone.context.close()

    laptop = new_page(viewport={"width": 1280, "height": 900})
    sign_in(laptop, "leo.later@example.org", NEW_PASSWORD)
    assert_accessible(laptop)
    assert laptop.get_by_text("You have finished 3 of 10 steps").is_visible()
    laptop.get_by_role("link", name="Continue your intake").click()
    laptop.get_by_role("heading", name="Medicines and allergies").wait_for()

    laptop.get_by_text("All steps").click()
    laptop.get_by_role("link", name="Contact details").click()
    assert laptop.get_by_label("Mobile phone").input_value() == "+16175550142"
    assert laptop.get_by_label("City").input_value() == "Somerville"
    assert laptop.get_by_label("Date of birth").input_value() == "1988-06-15"
    assert (
        laptop.get_by_role("group", name="How should we remind you of appointments?")
        .get_by_label("Email", exact=True)
        .is_checked()
    )

    laptop.get_by_text("All steps").click()
    laptop.get_by_role("link", name="Medical history").click()
    unsure = laptop.get_by_role(
        "group", name="Bleeding inside the brain (intracerebral hemorrhage)"
    ).get_by_label("Not sure")
    assert unsure.is_checked()
    assert (
        laptop.get_by_role("group", name="Seizures or epilepsy").get_by_label("No", exact=True).is_checked()
    )

    intake = Intake.objects.get(patient__email="leo.later@example.org")
    assert set(intake.answers) >= {"contact", "reasons", "medical"}
    assert intake.answers["medical"]["intracerebral_hemorrhage"] == "unsure"
