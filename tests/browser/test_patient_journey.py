"""A new patient from the invitation email to a booked session and its check-in, in a real browser, on a 390 px
phone and on a 1366 px desktop. Front desk invites; the patient follows the link in the email, sets a password,
fills every intake step and submits; a clinician opens the intake and clears the patient; front desk books a
session; the next day (the server's clock moves on) the check-in is open; the patient answers it. At every stage
the patient's home page says where they stand, and nothing from an earlier stage remains. Every page passes
axe-core.

The clock is set to Mon, Mar 1, 2027, 9:00 AM EST (and ticks); the session is on Wed, Mar 3 at 10:00 AM, so its
check-in opens on Tue, Mar 2 at 10:00 AM.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.core import mail

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

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
START = datetime(2027, 3, 1, 14, 0, tzinfo=UTC)  # Mon, Mar 1, 2027, 9:00 AM EST
EMAIL = "nova.patient@example.org"

# What each stage tells the patient, and what must be gone once they have moved on. The appointment card's
# check-in notes belong to the stages where they are true.
STAGE_WORDS = {
    "submitted": ["Your intake is submitted", "A clinician will review your answers"],
    "under_review": ["A clinician is reviewing your intake"],
    "cleared": [
        "You are cleared for treatment",
        "cleared you for IV ketamine",
        "The front desk will call you",
    ],
    "booked": ["Your next session is booked", "A short check-in opens here 24 hours before"],
    "checkin_due": ["Your check-in is open", "Your check-in for this session is open", "Answer the check-in"],
    "checkin_done": ["Your check-in is done", "Check-in done."],
}
# Words that may never reach a patient's home page at any of these stages.
NEVER = ["Welcome: your first step is the intake", "Start your intake", "Continue your intake"]


# The innermost elements that reach past the right edge of the screen (for the failure message).
WIDER_THAN_THE_SCREEN = """() => {
  const edge = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter((e) => e.getBoundingClientRect().right > edge + 0.5);
  return wide.filter((e) => !wide.some((o) => o !== e && e.contains(o))).slice(0, 5)
    .map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")} (${Math.round(e.getBoundingClientRect().right)} px)`);
}"""


# Buttons and section toggles a thumb cannot comfortably hit on a phone (under 44 px high).
SMALL_TARGETS = """() => [...document.querySelectorAll("main .btn, main summary")]
  .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
  .map((e) => `${e.textContent.trim().slice(0, 40)} (${Math.round(e.getBoundingClientRect().height)} px)`)"""


def see(page, text: str) -> None:
    """Wait until ``text`` shows; on failure, say what the page showed instead."""
    try:
        page.get_by_text(text).first.wait_for(timeout=10_000)
    except Exception as exc:  # noqa: BLE001 (re-raised with the page's words)
        shown = page.locator("main").inner_text() if page.locator("main").count() else page.content()
        raise AssertionError(f"{text!r} not shown on {page.url}:\n{shown[:3000]}") from exc


def assert_home_shows(page, stage: str) -> None:
    """The patient's home page is at ``stage``: its words are there, every other stage's words are not."""
    page.goto("/patient/")
    page.locator(f'[data-stage="{stage}"]').wait_for()
    text = page.locator("main").inner_text()
    for words in STAGE_WORDS[stage]:
        assert words in text, f"{stage}: {words!r} missing from:\n{text}"
    for other, stale in STAGE_WORDS.items():
        for words in stale if other != stage else []:
            if words not in STAGE_WORDS[stage]:
                assert words not in text, f"{stage}: stale {other!r} words {words!r} in:\n{text}"
    for words in NEVER:
        assert words not in text, f"{stage}: {words!r} in:\n{text}"
    assert page.locator("[data-stage]").count() == 1
    assert_fits_the_screen(page)
    assert_accessible(page)


def assert_fits_the_screen(page) -> None:
    """No sideways scrolling, and on a phone every button and toggle is big enough to tap."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if overflow > 0:
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        raise AssertionError(f"{page.url} scrolls sideways by {overflow} px; too wide: {wide}")
    if page.viewport_size["width"] < 576:
        small = page.evaluate(SMALL_TARGETS)
        assert not small, f"{page.url}: tap targets under 44 px: {small}"


def link_in(message, pattern: str) -> str:
    found = re.search(pattern, message.body)
    assert found, message.body
    return found.group(0)


def complete_intake(page) -> None:
    """Every step of a first intake, for a patient with depression and nothing that rules treatment out."""
    assert page.get_by_label("Legal first name").input_value() == "Nova"
    assert_accessible(page)
    fill_contact(page)
    save_and_continue(page, "Reason for care")
    assert_fits_the_screen(page)
    page.get_by_label("Depression").check()
    save_and_continue(page, "Medical history")
    assert_fits_the_screen(page)
    answer_every_question_no(page)
    page.get_by_role("group", name="Are you breastfeeding?").get_by_label("Does not apply to me").check()
    save_and_continue(page, "Medicines and allergies")
    assert_fits_the_screen(page)
    page.locator("#id_items-0-name").fill("sertraline")
    page.locator("#id_items-0-dose_mg").fill("150")
    page.locator("#id_items-0-times_per_day").fill("1")
    page.get_by_label("Allergies to medicines").fill("none")
    answer_every_question_no(page)
    save_and_continue(page, "Treatment history")
    assert_fits_the_screen(page)
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
    assert_fits_the_screen(page)
    rate_every_question(page, 2)  # "More than half the days"; item 9 is answered "Not at all" below
    page.locator("input[name=item9][value='0']").check()
    save_and_continue(page, "GAD-7")
    rate_every_question(page, 1)
    save_and_continue(page, "C-SSRS screener")
    assert_fits_the_screen(page)
    answer_every_question_no(page)
    save_and_continue(page, "Consent and signature")
    assert_fits_the_screen(page)
    page.get_by_label("Type your full legal name to sign").fill("Nova Patient")
    page.get_by_label("I have read the consent above and I agree to it.").check()
    save_and_continue(page, "Review your answers")
    assert_fits_the_screen(page)
    page.get_by_role("button", name="Submit my intake").click()
    page.get_by_role("heading", name="What happens next").wait_for()
    assert_accessible(page)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_a_new_patient_from_the_invitation_to_a_booked_session_and_its_check_in(
    viewport, new_page, live_server, front_desk, clinician, eager_celery, settings
):
    import time_machine

    from intake.models import EligibilityDecision, IntakeSubmission, Patient
    from scheduling.models import Appointment, Clinician
    from tests.factories import build_clinic, treatment_type

    settings.SITE_URL = live_server.url  # the links in the emails lead to this server
    with time_machine.travel(START, tick=True) as traveller:
        treatment_type("iv-ketamine")
        location, _chairs, _room, _clinicians = build_clinic(chairs=2)
        location.phone = "+16175550100"
        location.save(update_fields=["phone"])
        Clinician.objects.create(user=clinician, credentials="MD").locations.add(location)

        # --- Front desk invites; the patient follows the link in the email -----------------------------------
        desk = new_page(viewport=DESKTOP)
        sign_in(desk, front_desk.email, PASSWORD)
        invite(desk, first="Nova", last="Patient", email=EMAIL)
        [invitation] = [m for m in mail.outbox if m.to == [EMAIL]]
        page = new_page(viewport=viewport)
        accept(page, link_in(invitation, r"https?://\S+/invite/\S+/"))
        complete_intake(page)
        assert_home_shows(page, "submitted")

        # --- A clinician opens the intake (under review), then clears the patient for IV ketamine ------------
        doc = new_page(viewport=DESKTOP)
        sign_in(doc, clinician.email, PASSWORD)
        doc.get_by_role("heading", name="Review queue").wait_for()
        doc.get_by_role("link", name="Nova Patient").first.click()
        doc.get_by_role("heading", name="Nova Patient", level=1).wait_for()
        assert_home_shows(page, "under_review")
        doc.get_by_role("link", name="Record a decision").click()
        doc.get_by_role("group", name="Decision").get_by_label("Eligible", exact=True).check()
        doc.get_by_role("group", name="Eligible for").get_by_label("IV ketamine", exact=True).check()
        doc.get_by_label(re.compile(r"^Sign this decision as")).check()
        doc.get_by_role("button", name="Sign and record the decision").click()
        see(doc, "Decision recorded and signed: Eligible for IV ketamine.")
        assert_home_shows(page, "cleared")

        # --- Front desk books a session on Wed, Mar 3 at 10:00 AM --------------------------------------------
        desk.goto("/front-desk/patients/")
        desk.get_by_label("Name, email or phone").fill("Nova")
        desk.get_by_role("button", name="Search").click()
        desk.get_by_role("link", name="Book a session for Nova Patient").click()
        desk.get_by_role("combobox", name="Treatment").select_option(label="IV ketamine infusion")
        desk.get_by_role("textbox", name="Day").fill("2027-03-03")
        desk.get_by_role("button", name="Show free times").click()
        desk.get_by_role("heading", name=re.compile(r"^2\. Choose a time on")).wait_for()
        desk.get_by_role("radio", name=re.compile(r"^10:00 AM to ")).first.check()
        desk.get_by_role("button", name="Book this time").click()
        desk.wait_for_url(re.compile(r"/front-desk/appointments/\d+/$"))
        assert_home_shows(page, "booked")
        see(page, "Wed, Mar 3, 2027, 10:00 AM EST")

        # --- The next day, after 10:00 AM, the check-in is open; the patient signs in and answers it ---------
        traveller.move_to(datetime(2027, 3, 2, 15, 30, tzinfo=UTC))  # Tue, Mar 2, 10:30 AM EST
        page.context.close()
        page = new_page(viewport=viewport)  # a fresh browser: the patient signs in again
        sign_in(page, EMAIL, NEW_PASSWORD)
        assert_home_shows(page, "checkin_due")
        page.get_by_role("link", name="Answer the check-in").first.click()
        page.get_by_role("heading", name="Check-in before your session").wait_for()
        assert_fits_the_screen(page)
        assert_accessible(page)
        rate_every_question(page, 1)  # PHQ-9, "Several days"; then no to each C-SSRS question
        page.locator("input[name='phq9-item9'][value='0']").check()
        answer_every_question_no(page)
        page.get_by_role("button", name="Submit check-in").click()
        page.get_by_role("heading", name="What happens next").wait_for()
        assert_accessible(page)
        assert_home_shows(page, "checkin_done")
        assert page.get_by_role("link", name="Answer the check-in").count() == 0

    patient = Patient.objects.get(email=EMAIL)
    kinds = list(
        IntakeSubmission.objects.filter(patient=patient).order_by("submitted_at").values_list("kind")
    )
    assert kinds == [("intake",), ("rescreen",)]
    decision = EligibilityDecision.objects.get(patient=patient)
    assert (decision.outcome, decision.modality, decision.decided_by) == ("eligible", "iv", clinician)
    [appointment] = Appointment.objects.filter(patient=patient)
    assert appointment.start_at == datetime(2027, 3, 3, 15, 0, tzinfo=UTC)
