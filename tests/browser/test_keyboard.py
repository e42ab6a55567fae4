"""The intake with the keyboard alone: Tab to a control, Space or the arrow keys to answer, Enter to go on."""

import pytest

from intake.models import Intake
from tests.support import PASSWORD, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def tab_to(page, describe: str, test: str, limit: int = 80) -> None:
    """Press Tab until the focused element passes the JavaScript `test` (an expression over `el`)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({test}); }}"):
            return
    raise AssertionError(f"could not reach {describe} with Tab")


def test_a_patient_answers_steps_with_the_keyboard_alone(new_page, live_server, patient):
    from django.utils import timezone

    from intake.services import current_intake

    intake = current_intake(patient=patient.patient, now=timezone.now())
    page = new_page()
    sign_in(page, patient.email, PASSWORD)
    page.goto(f"/patient/intake/{intake.pk}/reasons/")

    tab_to(
        page,
        "the Depression box",
        "el.type === 'checkbox' && el.labels[0].textContent.includes('Depression')",
    )
    page.keyboard.press("Space")
    tab_to(
        page, "Save and continue", "el.tagName === 'BUTTON' && el.textContent.includes('Save and continue')"
    )
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Medical history").wait_for()

    page.goto(f"/patient/intake/{intake.pk}/phq9/")
    # In a radio group, Tab lands on the group and the arrow keys choose: "Several days" is one step right.
    tab_to(page, "the first PHQ-9 question", "el.type === 'radio' && el.name === 'item1'")
    page.keyboard.press("ArrowDown")
    assert page.locator("input[name=item1][value='1']").is_checked()
    tab_to(page, "the second question", "el.type === 'radio' && el.name === 'item2'")
    page.keyboard.press("Space")
    assert page.locator("input[name=item2][value='0']").is_checked()

    # A skip link leads past the navigation to the content.
    page.goto(f"/patient/intake/{intake.pk}/contact/")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    assert Intake.objects.get(pk=intake.pk).answers["reasons"]["reasons"] == ["depression"]
