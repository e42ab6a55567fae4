"""The questionnaire steps write their questions with a template tag (intake_questions) for speed: every page must
show exactly what intake/_form_fields.html shows for the same form, whatever the patient answered or got wrong."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from intake.forms import InstrumentForm
from intake.instruments import load_instrument
from intake.templatetags.intake_questions import question_groups


def _same_page(html: str) -> str:
    return re.sub(r"\s+", " ", html).strip()


@pytest.mark.parametrize(
    ("code", "data", "initial"),
    [
        ("phq9", None, {}),  # a first visit
        ("phq9", None, {"item1": 2, "item9": 0, "functional": "very"}),  # answers saved earlier, shown ticked
        ("phq9", {"item1": "1", "item2": "7", "functional": "<b>"}, {}),  # missing and forged answers
        ("gad7", {}, {}),  # every question unanswered
        ("cssrs", None, {}),  # the help text under a question
        ("cssrs", {"q1": "yes", "q2": "yes"}, {}),  # follow-up questions opened by a yes
        ("cssrs", None, {"q1": "no", "q2": "yes", "q3": "no"}),
    ],
)
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_questions_read_as_the_form_template_writes_them(code, data, initial, language):
    definition = load_instrument(code)
    with translation.override(language):
        form = InstrumentForm(data, initial=initial, definition=definition)
        if form.is_bound:
            form.is_valid()
        expected = render_to_string("intake/_form_fields.html", {"form": form})
        written = question_groups(form)
    assert _same_page(written) == _same_page(expected)
    assert written.count('type="radio"') == expected.count('type="radio"') > 0
    if form.is_bound and form.errors:
        assert 'aria-invalid="true"' in written and "field-error" in written


def test_a_prefixed_form_keeps_its_names_and_ids():
    """The re-screen shows two questionnaires on one page, each under its own prefix."""
    form = InstrumentForm({"phq9-item1": "3"}, definition=load_instrument("phq9"), prefix="phq9")
    form.is_valid()
    written = question_groups(form)
    assert 'name="phq9-item1" value="3"' in written and 'id="id_phq9-item1_3" required checked' in written
    assert _same_page(written) == _same_page(render_to_string("intake/_form_fields.html", {"form": form}))
