"""Steps the journeys share: front desk invites a new patient; the patient accepts the emailed invitation and
fills each intake step as a patient would."""

from __future__ import annotations

from tests.support import assert_accessible

NEW_PASSWORD = "quiet-river-2026"


def invite(page, *, first: str, last: str, email: str) -> None:
    page.goto("/front-desk/patients/invite/")
    assert_accessible(page)
    page.get_by_label("Legal first name").fill(first)
    page.get_by_label("Legal last name").fill(last)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text(f"Invitation sent to {email}").wait_for()


def accept(page, link: str) -> None:
    page.goto(link)
    assert_accessible(page)
    page.get_by_label("Choose a password").fill(NEW_PASSWORD)
    page.get_by_label("Type it again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    page.get_by_role("heading", name="Contact details").wait_for()


def save_and_continue(page, next_heading: str) -> None:
    page.get_by_role("button", name="Save and continue").click()
    page.get_by_role("heading", name=next_heading, exact=True).wait_for()


def fill_contact(page) -> None:
    page.get_by_label("Date of birth").fill("1988-06-15")
    page.get_by_label("Mobile phone").fill("(617) 555-0142")
    page.get_by_label("Street address").fill("12 Elm Street")
    page.get_by_label("City").fill("Somerville")
    page.get_by_label("State").select_option("MA")
    page.get_by_label("ZIP code").fill("02144")
    page.get_by_label("Emergency contact: name").fill("Rae Doe")
    page.get_by_label("Emergency contact: relationship to you").fill("Partner")
    page.get_by_label("Emergency contact: phone").fill("617-555-0177")
    page.get_by_role("group", name="How should we remind you of appointments?").get_by_label(
        "Email", exact=True
    ).check()


def answer_every_question_no(page) -> None:
    for radio in page.locator("fieldset.question input[type=radio][value=no]").all():
        radio.check()


def rate_every_question(page, position: int) -> None:
    for group in page.locator("fieldset.question").all():
        group.get_by_role("radio").nth(position).check()
