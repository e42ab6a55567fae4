"""The intake's steps, in order. Which questionnaires are asked depends on the reasons for care (a setting)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext, gettext_noop


@dataclass(frozen=True)
class Step:
    key: str
    # The title in English, marked for translation where written; ``title`` is it in the page's language.
    words: str
    instrument: str | None = None  # the instrument code for questionnaire steps

    @property
    def title(self) -> str:
        return gettext(self.words)


CONTACT = Step("contact", gettext_noop("Contact details"))
REASONS = Step("reasons", gettext_noop("Reason for care"))
MEDICAL = Step("medical", gettext_noop("Medical history"))
MEDICATIONS = Step("medications", gettext_noop("Medicines and allergies"))
TREATMENT = Step("treatment", gettext_noop("Treatment history"))
BODY = Step("body", gettext_noop("Height and weight"))
PHQ9 = Step("phq9", gettext_noop("Mood (PHQ-9)"), "phq9")
GAD7 = Step("gad7", gettext_noop("Anxiety (GAD-7)"), "gad7")
PCL5 = Step("pcl5", gettext_noop("Stress after trauma (PCL-5)"), "pcl5")
OCIR = Step("ocir", gettext_noop("Obsessions and compulsions (OCI-R)"), "ocir")
CSSRS = Step("cssrs", gettext_noop("Safety questions (C-SSRS)"), "cssrs")
CONSENT = Step("consent", gettext_noop("Consent and signature"))

ALL_STEPS = (CONTACT, REASONS, MEDICAL, MEDICATIONS, TREATMENT, BODY, PHQ9, GAD7, PCL5, OCIR, CSSRS, CONSENT)
STEPS_BY_KEY = {step.key: step for step in ALL_STEPS}


def steps_for(answers: Mapping[str, Any]) -> list[Step]:
    """The steps this patient answers: PCL-5 and OCI-R only for the reasons for care that call for them."""
    reasons = set((answers.get("reasons") or {}).get("reasons", []))
    wanted = settings.INTAKE_INSTRUMENTS_BY_REASON
    return [
        step
        for step in ALL_STEPS
        if step.instrument not in wanted or reasons.intersection(wanted[step.instrument])
    ]


def instrument_codes_for(answers: Mapping[str, Any]) -> list[str]:
    return [step.instrument for step in steps_for(answers) if step.instrument]


def progress(answers: dict[str, Any], current: Step | None) -> dict[str, Any]:
    """Where an intake with these answers stands, for its progress bar: the steps, which one is shown, how many
    are done."""
    steps = steps_for(answers)
    done = sum(1 for step in steps if step.key in answers)
    number = steps.index(current) + 1 if current in steps else done
    return {
        "steps": steps,
        "number": number,
        "total": len(steps),
        "done": done,
        "percent": round(100 * done / len(steps)),
        "current": current,
    }
