"""Patients never read the interviewer's C-SSRS instructions, and crisis resources are one block, once per page,
with tap-to-call and tap-to-text links for the crisis line and a tap-to-call link for the emergency number."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from intake.instruments import InstrumentDefinitionError, load_instrument, parse_instrument
from tests.factories import all_steps, cssrs_data, phq9_data, post_step

INTERVIEWER = re.compile(r"\bAsk |ask questions|If YES to 2|go directly to question", re.IGNORECASE)


def main_of(page: str) -> str:
    return page.split("<main", 1)[1].split("</main>", 1)[0]


def assert_one_crisis_block(page: str, *, emergency: str = "911") -> None:
    assert page.count("data-crisis-block") == 1
    block = page[page.index("data-crisis-block") :]
    block = block[: block.index("</section>")]
    assert 'href="tel:988"' in block and 'href="sms:988"' in block and f'href="tel:{emergency}"' in block
    # The clinic's crisis text once, and the footer's crisis line stands aside for the block.
    assert page.count("Suicide &amp; Crisis Lifeline") == 1
    footer = page.split("<footer", 1)[1]
    assert "988" not in footer


def test_the_cssrs_step_has_no_interviewer_instructions_and_one_crisis_block(patient_client, intake):
    for key, data in all_steps():
        if key == "cssrs":
            break
        post_step(patient_client, intake, key, data)
    page = patient_client.get(reverse("intake:step", args=[intake.pk, "cssrs"])).content.decode()
    assert "Have you wished you were dead" in page  # the published items are there
    assert not INTERVIEWER.search(page), INTERVIEWER.search(page)
    assert "Please answer yes or no to each question." in main_of(page)
    assert_one_crisis_block(page)
    assert "Please reach out for support now" not in page  # not urgent before any answer

    # Answering yes to question 2 reveals questions 3 to 5: still no interviewer wording, still one block.
    revealed = post_step(patient_client, intake, "cssrs", cssrs_data(q1="yes", q2="yes")).content.decode()
    assert 'name="q3"' in revealed and not INTERVIEWER.search(revealed)
    assert_one_crisis_block(revealed)


def test_the_rescreen_has_no_interviewer_instructions_and_one_crisis_block(patient_client, patient_record):
    page = patient_client.get(reverse("intake:rescreen")).content.decode()
    assert not INTERVIEWER.search(page)
    assert_one_crisis_block(page)


def test_a_high_risk_rescreen_shows_the_crisis_text_once_with_the_clinics_emergency_number(
    patient_client, patient_record, settings
):
    settings.CLINIC_EMERGENCY_NUMBER = "112"
    data = {f"phq9-{k}": v for k, v in phq9_data().items()}
    data.update(
        {
            f"cssrs_since_last_visit-{k}": v
            for k, v in cssrs_data(q1="yes", q2="yes", q3="yes", q4="yes", q5="no").items()
        }
    )
    response = patient_client.post(reverse("intake:rescreen"), data, follow=True)
    page = response.content.decode()
    assert_one_crisis_block(page, emergency="112")
    assert "Please reach out for support now" in page and 'role="alert"' in page
    assert "A clinician from the clinic has been alerted" in page


def test_pages_without_a_crisis_block_keep_the_footer_line_as_links(patient_client, patient_record):
    page = patient_client.get(reverse("portal:home")).content.decode()
    assert "data-crisis-block" not in page
    footer = page.split("<footer", 1)[1]
    assert 'href="tel:988"' in footer and 'href="tel:911"' in footer


def test_an_instrument_file_with_interviewer_instructions_for_patients_is_refused():
    data = json.loads(_raw("cssrs_screener.v1.json"))
    del data["patient_instructions"]
    with pytest.raises(InstrumentDefinitionError, match="tell an interviewer what to ask"):
        parse_instrument(data, origin="cssrs_screener.v1.json")
    cssrs = load_instrument("cssrs")
    assert cssrs.instructions.startswith("Ask Questions 1 and 2")  # the owner's text, kept for the record
    assert not INTERVIEWER.search(cssrs.patient_instructions)
    assert load_instrument("phq9").patient_instructions == load_instrument("phq9").instructions


def _raw(name: str) -> str:
    from importlib import resources

    return resources.files("intake.instruments").joinpath(name).read_text(encoding="utf-8")
