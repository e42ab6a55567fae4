"""The intake's form controls as a patient sees them, measured in the rendered page: the brand's teal when checked
(never Bootstrap's blue), outlines with at least 3:1 contrast against the white card (WCAG 1.4.11), and question
headings inside their cards, on a 390 px phone."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.support import PASSWORD, assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEAL = (47, 111, 106)


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_radios_checkboxes_and_fields_are_teal_and_visible(new_page, live_server, patient):
    page = new_page()
    sign_in(page, patient.email, PASSWORD)
    page.goto(reverse("intake:start"))
    assert_accessible(page)

    radio = page.locator('input[name="reminder_channel"]').first
    field = page.get_by_label("City")
    card = page.locator("fieldset.question").first
    white = _rgb(card.evaluate("e => getComputedStyle(e).backgroundColor"))
    for control in (radio, field):
        border = _rgb(control.evaluate("e => getComputedStyle(e).borderTopColor"))
        assert contrast(border, white) >= 3, (border, white)

    radio.check()
    checked = _rgb(radio.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert checked == TEAL
    consent = page.locator('input[name="sms_consent"]')
    consent.check()
    assert _rgb(consent.evaluate("e => getComputedStyle(e).backgroundColor")) == TEAL

    # The question's heading sits inside its card: below the card's top border, not across it.
    legend = card.locator("legend").bounding_box()
    box = card.bounding_box()
    assert legend and box and legend["y"] > box["y"] + 1
