"""A submission's answers in words: each question as the patient read it and the option they chose, grouped by
intake step. The clinician's patient page and the patient's own download both show answers this way."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from clinic.local_time import format_day
from clinic.phones import display_phone
from intake import forms as intake_forms
from intake import medications, rules
from intake.instruments import UnknownInstrumentError, load_instrument, same_value
from intake.models import IntakeSubmission
from intake.steps import ALL_STEPS, STEPS_BY_KEY


@dataclass
class AnswerLine:
    label: str
    value: str
    flagged: bool = False  # a "yes" or "not sure" to a medical question, an item-9 answer above 0


@dataclass
class AnswerTable:
    caption: str
    headers: list[str]
    rows: list[list[str]]


@dataclass
class StepAnswers:
    key: str
    title: str
    lines: list[AnswerLine] = field(default_factory=list)
    tables: list[AnswerTable] = field(default_factory=list)


@cache
def _step_forms() -> dict[str, forms.Form]:

    return {
        "contact": intake_forms.ContactForm(),
        "reasons": intake_forms.ReasonsForm(),
        "medical": intake_forms.MedicalHistoryForm(),
        "medications": intake_forms.MedicationsForm(),
        "treatment": intake_forms.TreatmentHistoryForm(),
        "body": intake_forms.BodyForm(),
        "consent": intake_forms.ConsentForm(),
        "medications.items": intake_forms.MedicationForm(),
        "treatment.trials": intake_forms.AntidepressantTrialForm(),
    }


# Initialisms a field name spells in lower case, as people write them.
_INITIALISMS = {"rems": "REMS", "sms": "SMS", "iv": "IV", "id": "ID", "zip": "ZIP", "bmi": "BMI"}


def humanise(key: str) -> str:
    words = key.replace("_", " ").capitalize().split(" ")
    return " ".join(_INITIALISMS.get(word.lower(), word) for word in words)


def answer_words(form_field: forms.Field | None, value: Any, *, name: str = "") -> str:
    """One saved answer as the patient would say it: the chosen option's label, a US date, a phone number as it
    is read."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name.endswith("phone") and isinstance(value, str):
        return display_phone(value)
    if isinstance(form_field, forms.DateField) and isinstance(value, str):
        try:
            return format_day(date.fromisoformat(value))
        except ValueError:
            return value
    choices = dict(getattr(form_field, "choices", None) or [])
    if isinstance(value, list):
        return ", ".join(str(choices.get(item, item)) for item in value)
    return str(choices.get(value, value))


def _form_lines(form: forms.Form | None, answers: dict[str, Any], *, skip: set[str]) -> list[AnswerLine]:
    lines = []
    names = list(form.fields) if form is not None else []
    names += [key for key in answers if key not in names]
    for name in names:
        if name in skip or name.startswith("_") or name not in answers:
            continue
        form_field = form.fields.get(name) if form is not None else None
        value = answers[name]
        label = str(form_field.label) if form_field is not None and form_field.label else humanise(name)
        words = answer_words(form_field, value, name=name)
        lines.append(AnswerLine(label, words, flagged=value in ("yes", "unsure")))
    return lines


def _row_table(
    caption: str, form: forms.Form | None, rows: list[dict[str, Any]], extra: dict[str, Any]
) -> AnswerTable:
    names = list(form.fields) if form is not None else sorted({key for row in rows for key in row})
    headers = [str(form.fields[name].label) if form is not None else humanise(name) for name in names]
    body = [
        [answer_words(form.fields.get(name) if form else None, row.get(name), name=name) for name in names]
        for row in rows
    ]
    for header, cells in extra.items():
        headers.append(header)
        for row_cells, cell in zip(body, cells, strict=True):
            row_cells.append(cell)
    return AnswerTable(caption, headers, body)


def _instrument_lines(code: str, version: str | None, answers: dict[str, Any]) -> list[AnswerLine]:
    try:
        definition = load_instrument(code, version)
    except UnknownInstrumentError:
        return [
            AnswerLine(humanise(key), answer_words(None, value, name=key)) for key, value in answers.items()
        ]
    lines = []
    for item in definition.items:
        value = answers.get(item.key)
        label = f"{item.label}. {item.text}" if item.number else f"{item.label}: {item.text}"
        if value is None:
            shown = item.shown_if is None or same_value(answers.get(item.shown_if.item), item.shown_if.equals)
            words = _("Not answered") if shown else _("Not asked (the form skips it after this answer)")
            lines.append(AnswerLine(label, words))
            continue
        try:
            option = item.option_label(value)
        except KeyError:
            option = str(value)
        words = option if isinstance(value, bool | str) else f"{value} — {option}"
        flagged = (code == "phq9" and item.key == "item9" and value != 0) or (
            code.startswith("cssrs") and value is True
        )
        lines.append(AnswerLine(label, words, flagged=flagged))
    return lines


def answers_by_step(submission: IntakeSubmission) -> list[StepAnswers]:
    """Every answer of the submission, in the intake's step order, with the question as the patient read it."""
    answers = submission.answers or {}
    step_forms = _step_forms()
    grouped = []
    order = [step.key for step in ALL_STEPS] + [key for key in answers if key not in STEPS_BY_KEY]
    for key in order:
        if key not in answers or key.startswith("_"):
            continue
        step = STEPS_BY_KEY.get(key)
        title = step.title if step else humanise(key)
        data = answers[key] if isinstance(answers[key], dict) else {"answer": answers[key]}
        group = StepAnswers(key=key, title=title)
        if step is not None and step.instrument:
            group.lines = _instrument_lines(step.instrument, submission.instrument_versions.get(key), data)
        elif key == "medications":
            group.lines = _form_lines(step_forms.get(key), data, skip={"items"})
            rows = data.get("items") or []
            if rows:
                group.tables.append(
                    _row_table(
                        _("Medicines"),
                        step_forms["medications.items"],
                        rows,
                        {_("Flag"): [medication_flag(row) for row in rows]},
                    )
                )
        elif key == "treatment":
            group.lines = _form_lines(step_forms.get(key), data, skip={"trials"})
            rows = data.get("trials") or []
            if rows:
                group.tables.append(
                    _row_table(_("Antidepressant trials"), step_forms["treatment.trials"], rows, {})
                )
        elif key == "consent":
            group.lines = _form_lines(step_forms.get(key), data, skip={"consent_id"})
            consent = submission.consent if submission.consent_id else None
            if consent is not None:
                group.lines.append(
                    AnswerLine(
                        _("Signed"),
                        _("%(name)s, version %(version)s")
                        % {"name": consent.typed_name, "version": consent.version},
                    )
                )
                group.lines.append(
                    AnswerLine(_("Consent text fingerprint (SHA-256)"), consent.text_sha256[:16] + "…")
                )
        elif key == "body":  # only the units the patient used
            group.lines = _form_lines(
                step_forms.get(key), data, skip={k for k, v in data.items() if v in (None, "")}
            )
        else:
            group.lines = _form_lines(step_forms.get(key), data, skip=set())
        grouped.append(group)
    return grouped


def medication_flag(row: dict[str, Any]) -> str:
    """The class a medicine was coded as and, for benzodiazepines, the diazepam-equivalent daily dose."""
    code = medications.medication_class(row.get("name") or "", row.get("medication_class") or "")
    if not code:
        return _("No flag")
    label = next((m.label for m in rules.MEDICATION_CLASSES if m.code == code), code)
    if code != "benzodiazepine":
        return label
    dose = _decimal(row.get("dose_mg"))
    times = _decimal(row.get("times_per_day"))
    equivalent = medications.diazepam_equivalent_mg_per_day(row.get("name") or "", dose, times)
    if equivalent is None:
        return _("%(label)s: diazepam-equivalent dose unknown, confirm it") % {"label": label}
    return _("%(label)s: about %(dose)s mg/day diazepam-equivalent") % {"label": label, "dose": equivalent}


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@dataclass
class MedicationFlag:
    name: str
    flag: str


def medication_flags(submission: IntakeSubmission) -> list[MedicationFlag]:
    rows = ((submission.answers or {}).get("medications") or {}).get("items") or []
    flagged = [MedicationFlag(row.get("name") or "—", medication_flag(row)) for row in rows]
    no_flag = _("No flag")
    return [item for item in flagged if item.flag != no_flag]
