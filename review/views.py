"""Clinician review pages: the queue, urgent alerts, a patient's screening, eligibility decisions, score trends and
clinician-rated scores.

Views parse input and render; every change goes through one service (``review.decisions``, ``review.alerts``) and
every patient is fetched through the access gate in ``review.selectors`` (a 404 for anyone else).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction
from functools import cache, lru_cache
from html import escape as text_escape  # Django's escape without its lazy-string wrapper (same output)
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.forms.utils import flatatt
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from clinic.access import role_required
from clinic.parsing import next_path, object_id
from clinic.roles import Role
from intake import medications, rules, scoring
from intake.export import IN_THE_DOWNLOAD
from intake.instruments import UnknownInstrumentError, load_instrument, same_value
from intake.models import EligibilityDecision, IntakeSubmission, Patient
from intake.steps import ALL_STEPS, STEPS_BY_KEY
from review import trends
from review.alerts import AlertError, acknowledge_alert
from review.decisions import DecisionError, hard_stops_for, record_clinician_rating, record_decision
from review.models import ClinicianRating
from review.selectors import (
    QUEUE_PAGE_SIZE,
    QueueFilters,
    alert_for_clinician,
    all_open_alerts,
    current_decision,
    decision_history,
    open_alerts,
    patient_for_clinician,
    patient_zone,
    queue_page,
    queue_size,
    recently_acknowledged_alerts,
    review_navigation,
    treatment_starts,
    trend_inputs,
    zone_of,
)
from scheduling.access import AccessError, break_glass_duration, break_the_glass, restricts_to_locations
from scheduling.models import BREAK_GLASS_MIN_REASON

COMPARE_LIMIT = 6  # submissions side by side on the patient page
SEVERITY_WORDS = {
    "hard_stop": (
        "Hard stop",
        "badge-risk-high",
        "Blocks booking until a clinician overrides it in writing.",
    ),
    "review": ("Review", "badge-risk-moderate", "A clinician should weigh it before deciding."),
    "info": ("For information", "badge-risk-none", "Recorded for the clinician."),
}
MODALITY_WORDS = {"iv": "IV ketamine", "spravato": "Spravato", "both": "IV ketamine and Spravato"}
RISK_WORDS = {
    "high": ("High risk", "badge-risk-high"),
    "moderate": ("Moderate risk", "badge-risk-moderate"),
    "low": ("Low risk", "badge-risk-low"),
    "none": ("No risk identified", "badge-risk-none"),
}
PHQ9_SCREENING_CUTOFF = 10  # >= 10: sensitivity and specificity 88 % for major depression (Kroenke 2001) [V]


def _reasons_for_care() -> list[tuple[str, str]]:
    from intake.forms import REASONS_FOR_CARE

    return list(REASONS_FOR_CARE)


# --- Forms ------------------------------------------------------------------------------------------------------


class ReviewForm(forms.Form):
    """Bootstrap classes and error wiring (aria-invalid, aria-describedby) for the review forms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, form_field in self.fields.items():
            widget = form_field.widget
            if form_field.help_text:
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}_help"
            if isinstance(widget, forms.RadioSelect | forms.CheckboxSelectMultiple | forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            elif not isinstance(widget, forms.HiddenInput):
                widget.attrs.setdefault("class", "form-control")

    def full_clean(self) -> None:
        super().full_clean()
        self._describe_errors()

    def add_error(self, field: str | None, error: Any) -> None:
        # A view adds the service's refusals after validation: their fields must be marked invalid too.
        super().add_error(field, error)
        self._describe_errors()

    def _describe_errors(self) -> None:
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                described = [f"{self[name].auto_id}_error"]
                if self.fields[name].help_text:
                    described.append(f"{self[name].auto_id}_help")
                attrs["aria-describedby"] = " ".join(described)


class PlainSelect(forms.Select):
    """A single-choice <select> of flat choices, written out in Python. Django renders every <option> through
    templates of its own; the queue's filters have 44 options, which cost more than the rest of the page did."""

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> str:
        chosen = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((key, " selected" if str(key) in chosen else "", label) for key, label in self.choices),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options
        )


QUEUE_FILTER_NAMES = ("reason", "modality", "finding")


class QueueFilterForm(ReviewForm):
    reason = forms.ChoiceField(label="Reason for care", required=False, widget=PlainSelect)
    modality = forms.ChoiceField(
        label="Findings that concern",
        required=False,
        choices=[("", "Any treatment"), ("iv", "IV ketamine"), ("spravato", "Spravato")],
        widget=PlainSelect,
    )
    finding = forms.ChoiceField(label="Finding", required=False, widget=PlainSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = [("", "Any reason"), *_reasons_for_care()]
        self.fields["finding"].choices = [("", "Any finding")] + [
            (rule.code, rule.label) for rule in sorted(rules.DEFAULT_RULES, key=lambda rule: rule.label)
        ]


class AcknowledgeForm(ReviewForm):
    note = forms.CharField(
        label="What was done",
        help_text="For example: called the patient, reviewed the safety plan, arranged an urgent assessment, "
        f"referred to emergency care. Your name and the time are recorded with it. {IN_THE_DOWNLOAD}",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        error_messages={"required": "Write what was done before acknowledging the alert."},
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Write what was done before acknowledging the alert.")
        return note


class BreakGlassForm(ReviewForm):
    patient_number = forms.IntegerField(
        label="Patient number",
        min_value=1,
        help_text="Shown on the patient's record pages: ask the clinic that looks after them.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={
            "required": "Enter the patient's number.",
            "invalid": "A patient number is digits only.",
            "min_value": "A patient number is 1 or more.",
        },
    )
    reason = forms.CharField(
        label="Why you need this patient's record now",
        help_text=f"At least {BREAK_GLASS_MIN_REASON} characters, for example: came to this clinic in crisis, "
        "their own clinic is closed. The clinic admins are told, with your name.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": "Say why you need this patient's record now."},
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < BREAK_GLASS_MIN_REASON:
            raise forms.ValidationError(
                f"Say why you need this patient's record now, in at least {BREAK_GLASS_MIN_REASON} characters."
            )
        return reason


class DecisionForm(ReviewForm):
    outcome = forms.ChoiceField(
        label="Decision",
        choices=EligibilityDecision.Outcome.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a decision."},
    )
    modality = forms.ChoiceField(
        label="Eligible for",
        required=False,
        choices=[(value, label) for value, label in EligibilityDecision.Modality.choices if value != "none"],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason",
        required=False,
        help_text=f"Required when the patient is not eligible. The front desk does not see it. {IN_THE_DOWNLOAD}",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    message_to_patient = forms.CharField(
        label="Message to the patient",
        required=False,
        help_text="Required when more information is needed. The patient reads it in their portal and in the "
        "download of their data; write it in plain words.",
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )
    reopened_steps = forms.MultipleChoiceField(
        label="Intake steps the patient should answer again",
        required=False,
        choices=[(step.key, step.title) for step in ALL_STEPS],
        widget=forms.CheckboxSelectMultiple,
    )
    override_justification = forms.CharField(
        label="Justification for overriding a hard-stop finding",
        required=False,
        help_text="Required when the patient is eligible despite a hard-stop finding that concerns that treatment. "
        + IN_THE_DOWNLOAD,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
    )
    sign = forms.BooleanField(
        label="Sign",
        error_messages={"required": "Tick this box to sign the decision."},
    )
    submission_id = forms.IntegerField(widget=forms.HiddenInput)
    current_decision_id = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, submission: IntakeSubmission, signer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.submission = submission
        self.fields["sign"].label = f"Sign this decision as {signer}"
        self.fields[
            "sign"
        ].help_text = "It is recorded with your name and the time and cannot be changed; a later decision can replace it."
        self.fields["sign"].widget.attrs["aria-describedby"] = f"{self['sign'].auto_id}_help"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        for name in ("reason", "message_to_patient", "override_justification"):
            cleaned[name] = (cleaned.get(name) or "").strip()
        if outcome == EligibilityDecision.Outcome.ELIGIBLE:
            modality = cleaned.get("modality")
            if not modality:
                self.add_error("modality", "Choose the treatment the patient is eligible for.")
            elif hard_stops_for(self.submission, modality) and not cleaned["override_justification"]:
                labels = "; ".join(f["label"] for f in hard_stops_for(self.submission, modality))
                self.add_error(
                    "override_justification",
                    f"This overrides a hard-stop finding ({labels}). Write why treatment is safe despite it.",
                )
        elif outcome == EligibilityDecision.Outcome.NOT_ELIGIBLE and not cleaned["reason"]:
            self.add_error("reason", "Give the reason the patient is not eligible.")
        elif outcome == EligibilityDecision.Outcome.MORE_INFO_NEEDED and not cleaned["message_to_patient"]:
            self.add_error(
                "message_to_patient", "Write the message the patient will read: what you need from them."
            )
        return cleaned


class RatingForm(ReviewForm):
    scale = forms.ChoiceField(
        label="Scale",
        choices=[("madrs", "MADRS (0 to 60)"), ("ybocs", "Y-BOCS (0 to 40)")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the scale you rated."},
    )
    total = forms.IntegerField(
        label="Total score",
        min_value=0,
        max_value=60,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": "Enter the total score.",
            "invalid": "Enter the total as a whole number.",
            "min_value": "A total cannot be below 0.",
            "max_value": "The highest MADRS total is 60 and the highest Y-BOCS total is 40.",
        },
    )
    rated_on = forms.DateField(
        label="Date rated",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": "Enter the date of the rating.",
            "invalid": "Enter a date such as 2027-03-03.",
        },
    )
    appointment = forms.TypedChoiceField(
        label="Session (optional)", required=False, coerce=int, empty_value=None
    )
    note = forms.CharField(
        label="Note (optional)",
        required=False,
        help_text=IN_THE_DOWNLOAD,
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
    )

    def __init__(self, *args: Any, today: date, appointments: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["appointment"].choices = [("", "Not linked to a session"), *appointments]

    def clean_rated_on(self) -> date:
        rated_on = self.cleaned_data["rated_on"]
        if rated_on > self.today:
            raise forms.ValidationError("The date rated cannot be in the future.")
        if rated_on.year < 2000:
            raise forms.ValidationError("Please check the year of the rating.")
        return rated_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scale, total = cleaned.get("scale"), cleaned.get("total")
        if scale and total is not None and total > ClinicianRating.MAXIMUM[scale]:
            label = dict(ClinicianRating.Scale.choices)[scale]
            self.add_error("total", f"A {label} total is 0 to {ClinicianRating.MAXIMUM[scale]}.")
        return cleaned


# --- Presenting a submission ------------------------------------------------------------------------------------


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
    from intake import forms as intake_forms

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


def _humanise(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _words(form_field: forms.Field | None, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
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
        label = str(form_field.label) if form_field is not None and form_field.label else _humanise(name)
        lines.append(AnswerLine(label, _words(form_field, value), flagged=value in ("yes", "unsure")))
    return lines


def _row_table(
    caption: str, form: forms.Form | None, rows: list[dict[str, Any]], extra: dict[str, Any]
) -> AnswerTable:
    names = list(form.fields) if form is not None else sorted({key for row in rows for key in row})
    headers = [str(form.fields[name].label) if form is not None else _humanise(name) for name in names]
    body = [
        [_words(form.fields.get(name) if form else None, row.get(name)) for name in names] for row in rows
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
        return [AnswerLine(_humanise(key), _words(None, value)) for key, value in answers.items()]
    lines = []
    for item in definition.items:
        value = answers.get(item.key)
        label = f"{item.label}. {item.text}" if item.number else f"{item.label}: {item.text}"
        if value is None:
            shown = item.shown_if is None or same_value(answers.get(item.shown_if.item), item.shown_if.equals)
            words = "Not answered" if shown else "Not asked (the form skips it after this answer)"
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
        title = step.title if step else _humanise(key)
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
                        "Medicines",
                        step_forms["medications.items"],
                        rows,
                        {"Flag": [medication_flag(row) for row in rows]},
                    )
                )
        elif key == "treatment":
            group.lines = _form_lines(step_forms.get(key), data, skip={"trials"})
            rows = data.get("trials") or []
            if rows:
                group.tables.append(
                    _row_table("Antidepressant trials", step_forms["treatment.trials"], rows, {})
                )
        elif key == "consent":
            group.lines = _form_lines(step_forms.get(key), data, skip={"consent_id"})
            if submission.consent_id:
                consent = submission.consent
                group.lines.append(AnswerLine("Signed", f"{consent.typed_name}, version {consent.version}"))
                group.lines.append(
                    AnswerLine("Consent text fingerprint (SHA-256)", consent.text_sha256[:16] + "…")
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
        return "No flag"
    label = next((m.label for m in rules.MEDICATION_CLASSES if m.code == code), code)
    if code != "benzodiazepine":
        return label
    dose = _decimal(row.get("dose_mg"))
    times = _decimal(row.get("times_per_day"))
    equivalent = medications.diazepam_equivalent_mg_per_day(row.get("name") or "", dose, times)
    if equivalent is None:
        return f"{label}: diazepam-equivalent dose unknown, confirm it"
    return f"{label}: about {equivalent} mg/day diazepam-equivalent"


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@dataclass
class MedicationFlag:
    name: str
    flag: str


def medication_flags(submission: IntakeSubmission) -> list[MedicationFlag]:
    rows = ((submission.answers or {}).get("medications") or {}).get("items") or []
    flagged = [MedicationFlag(row.get("name") or "—", medication_flag(row)) for row in rows]
    return [item for item in flagged if item.flag != "No flag"]


# --- Scores, with bands and cut-offs -------------------------------------------------------------------------------


@dataclass
class ScoreLine:
    label: str
    value: str
    note: str = ""


@dataclass
class ScoreView:
    code: str
    title: str
    total: str  # "14 of 27", or "" for the C-SSRS
    band: str  # in words
    badge: str  # CSS class; the band or risk is always in words too
    lines: list[ScoreLine] = field(default_factory=list)
    bands: str = ""  # the instrument's bands, for reference


def _met(condition: bool) -> str:
    return "Yes, met" if condition else "No, not met"


def score_views(submission: IntakeSubmission) -> list[ScoreView]:
    order = [step.instrument for step in ALL_STEPS if step.instrument] + ["cssrs_since_last_visit"]
    codes = sorted(submission.scores, key=lambda code: order.index(code) if code in order else len(order))
    return [
        _score_view(code, submission.scores[code], (submission.answers or {}).get(code) or {}, submission)
        for code in codes
    ]


def _score_view(
    code: str, score: dict[str, Any], answers: dict[str, Any], submission: IntakeSubmission
) -> ScoreView:
    try:
        definition = load_instrument(code, submission.instrument_versions.get(code))
        title, bands = definition.title, definition.bands
        total_range = definition.total_range
    except UnknownInstrumentError:
        title, bands, total_range = code, (), None
    band_label = ""
    if score.get("band"):
        band_label = next(
            (band.label for band in bands if band.code == score["band"]), _humanise(score["band"])
        )
    view = ScoreView(
        code=code,
        title=title,
        total=f"{score['total']} of {total_range[1]}"
        if score.get("total") is not None and total_range
        else "",
        band=band_label,
        badge=_band_badge(code, score),
        bands=" · ".join(f"{band.min}–{band.max} {band.label.lower()}" for band in bands),
    )
    if code == "phq9":
        item9 = answers.get("item9")
        view.lines = [
            ScoreLine(
                f"Screening cut-off ({PHQ9_SCREENING_CUTOFF} or more)",
                "At or above" if score["total"] >= PHQ9_SCREENING_CUTOFF else "Below",
                "Sensitivity and specificity 88 % for major depression (Kroenke 2001).",
            ),
            ScoreLine(
                "Item 9 (thoughts of death or self-harm)",
                f"Positive: answered {item9}" if score.get("item9_flag") else "Negative: answered 0",
                "Any answer of 1 or more needs same-day suicide-risk follow-up, whatever the total.",
            ),
            ScoreLine(
                "Major depressive syndrome (PHQ algorithm)",
                _met(score.get("major_depressive_syndrome", False)),
                "5 or more items at 'More than half the days' or more, including item 1 or 2.",
            ),
            ScoreLine("Difficulty (not part of the total)", _difficulty_words(score.get("difficulty"))),
        ]
    elif code == "gad7":
        view.lines = [
            ScoreLine(
                f"Further-evaluation cut-off ({scoring.GAD7_EVALUATION_CUTOFF} or more)",
                "At or above" if score["total"] >= scoring.GAD7_EVALUATION_CUTOFF else "Below",
                "Sensitivity 89 %, specificity 82 % for generalized anxiety disorder (Spitzer 2006).",
            ),
            ScoreLine("Difficulty (not part of the total)", _difficulty_words(score.get("difficulty"))),
        ]
    elif code == "pcl5":
        cutoff = score.get("probable_cutoff", scoring.PCL5_PROBABLE_CUTOFF)
        view.band = "Probable PTSD" if score.get("probable_ptsd") else "Below the probable-PTSD cut-off"
        view.lines = [
            ScoreLine(
                f"Probable-PTSD cut-off ({cutoff} or more)",
                "At or above" if score.get("probable_ptsd") else "Below",
                "The VA gives 31–33 depending on the population; this clinic uses the value shown.",
            )
        ]
        names = {"cluster_b": "B, intrusion", "cluster_c": "C, avoidance", "cluster_d": "D, negative mood and "
                 "thinking", "cluster_e": "E, arousal and reactivity"}  # fmt: skip
        for cluster, numbers in scoring.PCL5_CLUSTERS.items():
            endorsed = sum(1 for n in numbers if (answers.get(f"item{n}") or 0) >= scoring.PCL5_ENDORSED_FROM)
            needed = scoring.PCL5_PROVISIONAL_MINIMUM[cluster]
            view.lines.append(
                ScoreLine(
                    f"Cluster {names[cluster]} (items {numbers[0]}–{numbers[-1]})",
                    f"{score.get(cluster)} of {4 * len(numbers)}; {endorsed} symptom(s) endorsed, {needed} needed",
                )
            )
        view.lines.append(
            ScoreLine(
                "Provisional DSM-5 diagnosis rule",
                _met(score.get("provisional_ptsd", False)),
                "An item rated 2 ('Moderately') or more is endorsed; needs 1 B, 1 C, 2 D and 2 E. A positive screen "
                "needs a structured interview (CAPS-5); it is not a diagnosis.",
            )
        )
        view.bands = "No empirically established severity bands."
    elif code == "ocir":
        view.lines = [
            ScoreLine(
                f"OCD cut-off ({score.get('ocd_cutoff')} or more)",
                "At or above" if score.get("ocd_flag") else "Below",
                "Foa 2002.",
            ),
            ScoreLine(
                f"OCI-OCD, the 15 non-hoarding items ({score.get('oci_ocd_cutoff')} or more)",
                f"{score.get('oci_ocd')} of 60: {'at or above' if score.get('oci_ocd_flag') else 'below'}",
                "Wootton 2015 [secondary source].",
            ),
        ]
        for subscale, numbers in scoring.OCIR_SUBSCALES.items():
            view.lines.append(
                ScoreLine(
                    f"{subscale.capitalize()} (items {', '.join(str(n) for n in numbers)})",
                    f"{score.get(subscale)} of 12",
                )
            )
        view.bands += " (Abramovitch 2020) [secondary source]"
    elif code.startswith("cssrs"):
        risk = score.get("risk", "none")
        view.band = RISK_WORDS.get(risk, (risk, ""))[0]
        try:
            definition = load_instrument(code, submission.instrument_versions.get(code))
            positive = [
                f"Question {definition.item(key).number}: {definition.item(key).text}"
                for key in score.get("positive", [])
            ]
        except (UnknownInstrumentError, KeyError):
            positive = list(score.get("positive", []))
        view.lines = [ScoreLine("Answered yes", "; ".join(positive) or "None")]
        view.bands = (
            "High: yes to 4 or 5, or recent behaviour (6) · Moderate: yes to 3, or older behaviour · "
            "Low: yes to 1 or 2 only (Columbia triage)."
        )
    return view


def _difficulty_words(value: str | None) -> str:
    return {
        "not_difficult": "Not difficult at all",
        "somewhat": "Somewhat difficult",
        "very": "Very difficult (suggests functional impairment)",
        "extremely": "Extremely difficult (suggests functional impairment)",
    }.get(value or "", "Not answered")


def _band_badge(code: str, score: dict[str, Any]) -> str:
    if code.startswith("cssrs"):
        return RISK_WORDS.get(score.get("risk", "none"), ("", "badge-risk-none"))[1]
    if code == "pcl5":
        return "badge-risk-moderate" if score.get("probable_ptsd") else "badge-risk-none"
    band = score.get("band") or ""
    if band in ("severe", "moderately_severe"):
        return "badge-risk-high"
    if band == "moderate":
        return "badge-risk-moderate"
    if band == "mild":
        return "badge-risk-low"
    return "badge-risk-none"


@dataclass
class FindingView:
    code: str
    label: str
    severity: str
    badge: str
    severity_note: str
    modality: str
    source: str
    detail: str
    escalate: bool


def finding_views(submission: IntakeSubmission) -> list[FindingView]:
    views = []
    for finding in submission.findings or []:
        words, badge, note = SEVERITY_WORDS.get(
            finding.get("severity"), (finding.get("severity", ""), "", "")
        )
        views.append(
            FindingView(
                code=finding.get("code", ""),
                label=finding.get("label", ""),
                severity=words,
                badge=badge,
                severity_note=note,
                modality=MODALITY_WORDS.get(finding.get("modality"), finding.get("modality", "")),
                source=finding.get("source", ""),
                detail=finding.get("detail", ""),
                escalate=bool(finding.get("escalate")),
            )
        )
    return views


@dataclass
class CompareColumn:
    submission: IntakeSubmission
    cells: dict[str, str]


COMPARE_ROWS = [
    ("kind", "Kind"),
    ("phq9", "PHQ-9"),
    ("item9", "PHQ-9 item 9"),
    ("gad7", "GAD-7"),
    ("pcl5", "PCL-5"),
    ("ocir", "OCI-R"),
    ("cssrs", "C-SSRS"),
    ("hard_stops", "Hard-stop findings"),
    ("review", "Review findings"),
    ("bmi", "BMI"),
    ("alert", "Urgent alert"),
]


def compare_columns(submissions: list[IntakeSubmission], alert_ids: set[int]) -> list[CompareColumn]:
    columns = []
    for sub in submissions:
        scores = sub.scores or {}
        cells = {"kind": sub.get_kind_display()}
        for code in ("phq9", "gad7", "pcl5", "ocir"):
            score = scores.get(code)
            if score is None:
                cells[code] = "—"
                continue
            if code == "pcl5":
                cells[code] = f"{score['total']}" + (" (probable PTSD)" if score.get("probable_ptsd") else "")
                continue
            view = _score_view(code, score, {}, sub)
            cells[code] = f"{score['total']} ({view.band.lower()})" if view.band else str(score["total"])
        cells["item9"] = "—" if sub.phq9_item9 is None else str(sub.phq9_item9)
        cells["cssrs"] = RISK_WORDS.get(sub.cssrs_risk, ("—", ""))[0] if sub.cssrs_risk else "—"
        severities = [finding.get("severity") for finding in sub.findings or []]
        cells["hard_stops"] = str(severities.count("hard_stop")) if sub.kind == "intake" else "—"
        cells["review"] = str(severities.count("review")) if sub.kind == "intake" else "—"
        cells["bmi"] = f"{sub.bmi} kg/m²" if sub.bmi is not None else "—"
        cells["alert"] = "Yes" if sub.pk in alert_ids else "No"
        columns.append(CompareColumn(sub, cells))
    return columns


# --- Helpers ----------------------------------------------------------------------------------------------------


def _zone_context(patient: Patient) -> dict[str, Any]:
    zone = patient_zone(patient)
    place = patient.location.name if patient.location_id else settings.CLINIC_NAME
    return {"zone": str(zone), "zone_note": f"Times are in {place}'s time zone, {zone}."}


def _log_view(request: HttpRequest, patient: Patient, what: str) -> None:
    """The read-access log: who opened which patient's record, and which page of it (engineering guide 5)."""
    from clinic.audit import record_patient_view

    record_patient_view(request, patient_id=patient.pk, what=what)


def _patient_alerts(patient: Patient):
    from intake.models import UrgentAlert

    return list(
        UrgentAlert.objects.filter(patient=patient)
        .select_related("acknowledged_by")
        .order_by("-created_at")[:20]
    )


def _safe_next(request: HttpRequest, fallback: str) -> str:
    return next_path(request, fallback)


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def _age(born: date | None, today: date) -> int | None:
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


# --- Queue ------------------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN)
def queue(request: HttpRequest) -> HttpResponse:
    """The clinician's home: submitted intakes awaiting a decision, most urgent first."""
    # The form is built only when a filter was asked for: the plain queue (the common case) needs only its markup.
    form = QueueFilterForm(request.GET) if any(name in request.GET for name in QUEUE_FILTER_NAMES) else None
    filters = QueueFilters(**form.cleaned_data) if form is not None and form.is_valid() else QueueFilters()
    filtered = any(filters.__dict__.values())
    # The whole queue's size is the navigation's badge (read once, from the kept counts); a filtered one is counted.
    size = review_navigation(request).queue_count if not filtered else queue_size(request.user, filters)
    page = Paginator(range(size), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    entries = queue_page(request.user, filters, offset=page.start_index() - 1 if size else 0)
    reasons = dict(_reasons_for_care())
    now = timezone.now()
    today = timezone.localdate(now)
    # Each row's markup is made here (_QUEUE_ROW): 25 rows through the template engine cost more than the query.
    rows = []
    for entry in entries:
        zone = zone_of(entry.time_zone)
        findings = [f for f in entry.findings or [] if isinstance(f, dict)]
        age = _age(entry.date_of_birth, today)
        about = [
            *([f"{age} years"] if age is not None else []),
            entry.location_name or "No location yet",
            f"submitted {_moment(entry.submitted_at, zone)}, waiting {_waited(entry.submitted_at, now)}",
        ]
        badges = [
            *(
                [
                    (
                        "badge-risk-high",
                        f"Urgent alert open since {_moment(entry.open_alert_at, zone, year=False)}",
                    )
                ]
                if entry.open_alert_at
                else []
            ),
            *(
                ("badge-risk-high", f"Hard stop: {f.get('label')}")
                for f in findings
                if f.get("severity") == "hard_stop"
            ),
        ]
        to_review = sum(1 for f in findings if f.get("severity") == "review")
        if to_review:
            badges.append(
                ("badge-risk-moderate", f"{to_review} finding{'' if to_review == 1 else 's'} to review")
            )
        cssrs = RISK_WORDS.get(entry.cssrs_risk) if entry.cssrs_risk else None
        rows.append(
            _QUEUE_ROW.format(
                href=text_escape(_patient_href(get_script_prefix(), entry.patient_id)),
                name=text_escape(f"{entry.first_name} {entry.last_name}"),
                about=text_escape(" · ".join(about)),
                badges=_QUEUE_BADGES.format(
                    "".join(_QUEUE_BADGE.format(kind, text_escape(text)) for kind, text in badges)
                )
                if badges
                else "",
                reasons=text_escape(
                    ", ".join(reasons.get(code, code) for code in _codes(entry.reasons)) or "—"
                ),
                phq9=text_escape(_phq9_words(entry.phq9, entry.phq9_version)),
                cssrs=_QUEUE_CSSRS.format(cssrs[1], text_escape(cssrs[0])) if cssrs else "—",
            )
        )
    query = request.GET.copy()
    query.pop("page", None)
    if form is not None and form.errors:
        filter_html = _queue_filter_html(form, filtered)
    else:  # the same few choices on every load: made once per choice (the form is a quarter of the page's time)
        filter_html = _cached_queue_filter_html(get_script_prefix(), filters, filtered)
    return render(
        request,
        "review/queue.html",
        {
            "filter_html": filter_html,
            "page": page,
            "rows_html": mark_safe("".join(rows)),  # noqa: S308 - every value in it was escaped above
            "filtered": filtered,
            "query": query.urlencode(),
        },
    )


# One row of the queue page (review/queue.html places them). Every value put in is escaped first.
_QUEUE_ROW = """  <li class="card card-calm mb-3">
    <div class="card-body">
      <h2 class="h5 mb-1"><a href="{href}">{name}</a></h2>
      <p class="small text-body-secondary mb-2">{about}</p>
{badges}      <dl class="row small mb-0">
        <dt class="col-5 col-sm-3">Reason for care</dt><dd class="col-7 col-sm-9">{reasons}</dd>
        <dt class="col-5 col-sm-3">PHQ-9</dt><dd class="col-7 col-sm-9">{phq9}</dd>
        <dt class="col-5 col-sm-3">C-SSRS</dt><dd class="col-7 col-sm-9">{cssrs}</dd>
      </dl>
    </div>
  </li>
"""
_QUEUE_BADGES = """      <ul class="list-inline mb-2">{}</ul>
"""
_QUEUE_BADGE = '<li class="list-inline-item mb-1"><span class="badge text-wrap text-start {}">{}</span></li>'
_QUEUE_CSSRS = '<span class="badge text-wrap text-start {}">{}</span>'


def _queue_filter_html(form: QueueFilterForm, filtered: bool) -> str:
    return render_to_string("review/_queue_filters.html", {"form": form, "filtered": filtered})


@lru_cache(maxsize=256)
def _cached_queue_filter_html(script_prefix: str, filters: QueueFilters, filtered: bool) -> str:
    """The filter form showing valid ``filters``, which are all it depends on (and the URL prefix, as reverse()
    does). Cleaned values are the choices' own keys, so the form bound to them renders what was asked for."""
    form = QueueFilterForm({name: value for name, value in filters.__dict__.items() if value})
    form.is_valid()
    return _queue_filter_html(form, filtered)


@lru_cache(maxsize=4096)
def _patient_href(script_prefix: str, patient_id: int) -> str:
    """The patient's review page: the queue's first page links the same patients on every load, and reverse() was a
    tenth of its time. The script prefix is part of the key because reverse() depends on it."""
    return reverse("review:patient", args=[patient_id])


def _moment(moment: datetime, zone, *, year: bool = True) -> str:
    """A time in the patient's zone, as "Wed 3 Mar 2027, 10:00 EST": the date filter's "D j M Y, H:i T" (or
    "D j M, H:i T") without its cost per row."""
    local = moment.astimezone(zone)
    day = f"{local:%a} {local.day} {local:%b %Y}" if year else f"{local:%a} {local.day} {local:%b}"
    return f"{day}, {local:%H:%M %Z}"


_WAIT_UNITS = ("year", "month", "week", "day", "hour", "minute")
_WAIT_SECONDS = (7 * 86400, 86400, 3600, 60)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February as timesince counts it


def _waited(then: datetime, now: datetime) -> str:
    """How long since ``then``: what Django's ``timesince`` says ("1\xa0month, 2\xa0weeks"; up to two adjacent
    units, years and months by the calendar), computed the same way without its translation machinery, which was
    most of the queue rows' cost."""
    now = now.astimezone(then.tzinfo)
    delta = now - then
    if delta.days * 86400 + delta.seconds <= 0:  # microseconds aside
        return "0\xa0minutes"
    months = (now.year - then.year) * 12 + (now.month - then.month)
    if then.day > now.day or (then.day == now.day and then.time() > now.time()):
        months -= 1
    pivot = then
    if months:
        year, month = divmod(then.month - 1 + months, 12)
        pivot = then.replace(
            year=then.year + year,
            month=month + 1,
            day=min(_MONTH_DAYS[month], then.day),
            microsecond=0,
        )
    remaining = (now - pivot).total_seconds()
    counts = [*divmod(months, 12)]
    for size in _WAIT_SECONDS:
        count = int(remaining // size)
        counts.append(count)
        remaining -= size * count
    parts: list[str] = []
    for unit, count in zip(_WAIT_UNITS, counts, strict=True):
        if count:
            parts.append(f"{count}\xa0{unit}{'' if count == 1 else 's'}")
            if len(parts) == 2:
                break
        elif parts:
            break  # adjacent units only: "2 weeks, 3 hours" is not said
    return ", ".join(parts) or "0\xa0minutes"


def _codes(value: Any) -> list[str]:
    return [str(code) for code in value] if isinstance(value, list) else []


def _phq9_words(phq9: Any, version: str | None) -> str:
    if not isinstance(phq9, dict) or phq9.get("total") is None:
        return "—"
    band = _band_words("phq9", version, phq9.get("band"))
    words = f"{phq9['total']} of 27" + (f", {band.lower()}" if band else "")
    return words + ("; item 9 positive" if phq9.get("item9_flag") else "")


def _band_words(code: str, version: str | None, band: Any) -> str:
    if not band:
        return ""
    try:
        return load_instrument(code, version).band_label(band)
    except (UnknownInstrumentError, KeyError):
        return _humanise(str(band))


# --- Urgent alerts ----------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN, Role.CLINIC_ADMIN)
def alerts(request: HttpRequest) -> HttpResponse:
    """Open urgent alerts, oldest first. Clinic admins, who are told of escalations, see initials and times only."""
    if request.user.role is Role.CLINIC_ADMIN:
        rows = list(all_open_alerts()[:200])
        for alert in rows:
            alert.zone = settings.TIME_ZONE
        return render(
            request,
            "review/alerts_admin.html",
            {"open_alerts": rows, "zone": settings.TIME_ZONE, "on_call": _on_call_names()},
        )
    listing = open_alerts(request.user, limit=200)
    review_navigation(request).already_read(alerts=listing)
    return render(
        request,
        "review/alerts.html",
        {"listing": listing, "acknowledged": recently_acknowledged_alerts(request.user)},
    )


def _on_call_names() -> list[str]:
    from scheduling.models import Clinician

    return [
        str(clinician)
        for clinician in Clinician.objects.filter(is_on_call=True, user__is_active=True).select_related(
            "user"
        )
    ]


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def alert(request: HttpRequest, pk: int) -> HttpResponse:
    """One alert: why it was raised, how to reach the patient, and the acknowledgement form."""
    urgent = alert_for_clinician(request.user, pk)
    patient = urgent.patient
    _log_view(request, patient, "review: urgent alert")
    fallback = reverse("review:patient", args=[patient.pk])
    if request.method == "POST" and urgent.acknowledged_at is not None:
        messages.info(
            request, f"{urgent.acknowledged_by} acknowledged this alert already; their note is below."
        )
        return redirect("review:alert", pk=urgent.pk)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            acknowledge_alert(
                alert_id=urgent.pk,
                acknowledged_by=request.user,
                note=form.cleaned_data["note"],
                now=timezone.now(),
            )
        except AlertError as exc:
            form.add_error("note" if exc.field == "note" else None, exc.message)
            urgent = alert_for_clinician(request.user, pk)
        else:
            messages.success(request, f"Alert for {patient.full_name} acknowledged. Your note is recorded.")
            return redirect(_safe_next(request, fallback))
    sub = urgent.submission
    screening = [
        view for view in score_views(sub) if view.code in ("phq9", "cssrs", "cssrs_since_last_visit")
    ]
    return render(
        request,
        "review/alert.html",
        {
            "alert": urgent,
            "patient": patient,
            "form": form,
            "screening": screening,
            "next": _safe_next(request, fallback),
            **_zone_context(patient),
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )


# --- Emergency access ("break the glass") --------------------------------------------------------------------


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest) -> HttpResponse:
    """Open a patient of another location in an emergency: their number and a reason. Given at once, for
    BREAK_GLASS_HOURS, recorded, and emailed to the clinic admins (scheduling.access.break_the_glass). A number
    nobody has is said so, and nothing is written."""
    from clinic.audit import client_ip

    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        pk = form.cleaned_data["patient_number"]
        try:
            granted = break_the_glass(
                user=request.user,
                patient_id=pk,
                reason=form.cleaned_data["reason"],
                now=timezone.now(),
                ip_address=client_ip(request),
            )
        except AccessError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            if granted is None:
                messages.info(
                    request,
                    "This patient is one you can see already: no emergency access was needed or recorded.",
                )
            else:
                person = granted.patient
                _log_view(request, person, "review: emergency access (break the glass)")
                until = _moment(granted.expires_at, patient_zone(person))
                messages.warning(
                    request,
                    f"Emergency access to {person.full_name} until {until}. The clinic admins are being emailed.",
                )
            return redirect("review:patient", pk=pk)
    return render(
        request,
        "review/break_glass.html",
        {
            "form": form,
            "hours": int(break_glass_duration().total_seconds() // 3600),
            "restricted": restricts_to_locations(),
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )


# --- Patient ----------------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN)
def patient(request: HttpRequest, pk: int, submission_pk: int | None = None) -> HttpResponse:
    """Everything a clinician needs to decide: answers by step, scores with bands and cut-offs, findings, TRD,
    BMI, medication flags, earlier submissions side by side, alerts and the decision history."""
    person = patient_for_clinician(request.user, pk)
    _log_view(request, person, "review: screening")
    submissions = IntakeSubmission.objects.filter(patient=person).select_related("consent")
    latest_intake = (
        submissions.filter(kind=IntakeSubmission.Kind.INTAKE).order_by("-submitted_at", "-pk").first()
    )
    shown = latest_intake
    if submission_pk is not None and (latest_intake is None or latest_intake.pk != submission_pk):
        shown = submissions.filter(pk=submission_pk).first()
        if shown is None:
            raise Http404("No such submission.")
    recent = list(
        IntakeSubmission.objects.filter(patient=person)
        .order_by("-submitted_at", "-pk")
        .annotate(total_count=_window_count())[:COMPARE_LIMIT]
    )
    history = _with_step_titles(decision_history(person))
    current = history[0] if history else None
    person_alerts = _patient_alerts(person)
    columns = compare_columns(recent, {a.submission_id for a in person_alerts})
    return render(
        request,
        "review/patient.html",
        {
            "patient": person,
            "age": _age(person.date_of_birth, timezone.localdate()),
            "shown": shown,
            "latest_intake": latest_intake,
            "steps": answers_by_step(shown) if shown else [],
            "scores": score_views(shown) if shown else [],
            "findings": finding_views(shown) if shown else [],
            "medication_flags": medication_flags(shown) if shown else [],
            "trd": shown.trd if shown else None,
            "trials": ((shown.answers or {}).get("treatment") or {}).get("trials", []) if shown else [],
            "compare": columns,
            "compare_rows": [
                {"label": label, "cells": [column.cells[key] for column in columns]}
                for key, label in COMPARE_ROWS
            ],
            "submission_total": recent[0].total_count if recent else 0,
            "decisions": history,
            "current": current,
            "awaiting_decision": latest_intake is not None
            and (current is None or current.submission_id != latest_intake.pk),
            "alerts": person_alerts,
            "open_alert_count": sum(1 for a in person_alerts if a.acknowledged_at is None),
            **_zone_context(person),
        },
    )


def _with_step_titles(decisions: list[EligibilityDecision]) -> list[EligibilityDecision]:
    """Words for the codes a decision stores: reopened step titles and overridden finding labels."""
    for decision in decisions:
        decision.reopened_titles = [
            STEPS_BY_KEY[key].title if key in STEPS_BY_KEY else key for key in decision.reopened_steps
        ]
        labels = {
            f.get("code"): f.get("label")
            for f in (decision.submission.findings if decision.submission else [])
        }
        decision.overridden_labels = [labels.get(code) or code for code in decision.overridden_findings]
    return decisions


def _window_count():
    from django.db.models import Count, Window

    return Window(Count("pk"))


# --- Decision ---------------------------------------------------------------------------------------------------


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    person = patient_for_clinician(request.user, pk)
    _log_view(request, person, "review: eligibility decision")
    submission = (
        IntakeSubmission.objects.filter(patient=person, kind=IntakeSubmission.Kind.INTAKE)
        .order_by("-submitted_at", "-pk")
        .first()
    )
    if submission is None:
        messages.info(
            request, f"{person.full_name} has not submitted an intake yet; there is nothing to decide on."
        )
        return redirect("review:patient", pk=person.pk)
    current = current_decision(person)
    if current is not None:
        _with_step_titles([current])
    signer = request.user.full_name or request.user.email
    initial = {"submission_id": submission.pk, "current_decision_id": current.pk if current else None}
    form = DecisionForm(request.POST or None, initial=initial, submission=submission, signer=signer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            decision = record_decision(
                patient=person,
                decided_by=request.user,
                outcome=data["outcome"],
                modality=data.get("modality") or EligibilityDecision.Modality.NONE,
                reason=data["reason"],
                message_to_patient=data["message_to_patient"],
                reopened_steps=data.get("reopened_steps") or [],
                override_justification=data["override_justification"],
                submission_id=data["submission_id"],
                expected_current_id=data.get("current_decision_id"),
                now=timezone.now(),
            )
        except DecisionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            what = decision.get_outcome_display()
            if decision.outcome == EligibilityDecision.Outcome.ELIGIBLE:
                what += f" for {decision.get_modality_display()}"
            messages.success(request, f"Decision recorded and signed: {what}.")
            return redirect("review:patient", pk=person.pk)
    hard_stops = finding_views(submission)
    return render(
        request,
        "review/decide.html",
        {
            "patient": person,
            "submission": submission,
            "form": form,
            "current": current,
            "findings": [f for f in hard_stops if f.severity != "For information"],
            "hard_stop_count": sum(1 for f in hard_stops if f.badge == "badge-risk-high"),
            "open_alert_count": sum(1 for a in _patient_alerts(person) if a.acknowledged_at is None),
            **_zone_context(person),
        },
        status=422 if request.method == "POST" and form.errors else 200,
    )


# --- Trends and clinician ratings ---------------------------------------------------------------------------------


def outcome_definition(code: str) -> trends.OutcomeDefinition:
    """The response and remission definitions in force, from settings (clinical reference 4.3)."""
    drop = Fraction(str(getattr(settings, "REVIEW_RESPONSE_DROP", "0.5")))
    if code == "phq9":
        return trends.OutcomeDefinition(
            response_drop=drop, remission_below=getattr(settings, "REVIEW_PHQ9_REMISSION_BELOW", 5)
        )
    if code == "madrs":
        return trends.OutcomeDefinition(
            response_drop=drop, remission_at_most=getattr(settings, "REVIEW_MADRS_REMISSION_AT_MOST", 12)
        )
    return trends.OutcomeDefinition(response_drop=drop)


def trend_scales() -> dict[str, trends.Scale]:
    pcl5_cutoff = getattr(settings, "INTAKE_PCL5_PROBABLE_CUTOFF", scoring.PCL5_PROBABLE_CUTOFF)
    ocir_cutoff = getattr(settings, "INTAKE_OCIR_OCD_CUTOFF", scoring.OCIR_OCD_CUTOFF)
    return {
        "phq9": trends.Scale(
            "phq9", "PHQ-9", 27, ((5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe"))
        ),
        "gad7": trends.Scale("gad7", "GAD-7", 21, ((5, "mild"), (10, "moderate"), (15, "severe"))),
        "pcl5": trends.Scale("pcl5", "PCL-5", 80, ((pcl5_cutoff, "probable PTSD"),)),
        "ocir": trends.Scale(
            "ocir", "OCI-R", 72, ((16, "moderate"), (ocir_cutoff, "OCD cut-off"), (28, "severe"))
        ),
        "madrs": trends.Scale(
            "madrs", "MADRS", 60, ((7, "mild"), (20, "moderate"), (35, "severe")), clinician_rated=True
        ),
        "ybocs": trends.Scale(
            "ybocs",
            "Y-BOCS",
            40,
            ((8, "mild"), (16, "moderate"), (24, "severe"), (32, "extreme")),
            clinician_rated=True,
        ),
    }


RATING_BANDS = {
    # Snaith bands for the MADRS; Goodman 1989 convention for the Y-BOCS (clinical reference 1.5, 1.8) [V].
    "madrs": ((0, "Normal"), (7, "Mild"), (20, "Moderate"), (35, "Severe")),
    "ybocs": ((0, "Subclinical"), (8, "Mild"), (16, "Moderate"), (24, "Severe"), (32, "Extreme")),
}


def rating_band(scale: str, total: int) -> str:
    return [label for lower, label in RATING_BANDS[scale] if total >= lower][-1]


@role_required(Role.CLINICIAN)
def patient_trends(request: HttpRequest, pk: int) -> HttpResponse:
    """PHQ-9, GAD-7, PCL-5, OCI-R and the clinician-rated MADRS and Y-BOCS over time, marked by treatment count,
    with response and remission flagged. Each chart is inline SVG with the same data in a table beside it."""
    person = patient_for_clinician(request.user, pk)
    _log_view(request, person, "review: score trends")
    zone = patient_zone(person)
    inputs = trend_inputs(person.pk)
    sessions = inputs.sessions
    starts = [start for start, _ in sessions]
    session_index = {appointment_id: index for index, (_, appointment_id) in enumerate(sessions)}
    observations: dict[str, list[tuple[trends.Observation, Any]]] = {}
    scales = trend_scales()
    for response in inputs.responses:
        if response.total is None:
            continue
        band = ""
        if response.band:
            try:
                band = load_instrument(response.instrument).band_label(response.band)
            except (UnknownInstrumentError, KeyError):
                band = _humanise(response.band)
        observations.setdefault(response.instrument, []).append(
            (
                trends.Observation(
                    when=response.answered_at.astimezone(zone),
                    total=response.total,
                    treatments_before=bisect_left(starts, response.answered_at),
                    source="Intake" if response.submission_kind == "intake" else "Re-screen",
                    band=band,
                ),
                None,
            )
        )
    for rating in inputs.ratings:
        if rating.appointment_id in session_index:
            before = session_index[rating.appointment_id]
        else:
            before = bisect_left(starts, datetime.combine(rating.rated_on, time.min, tzinfo=zone))
        observations.setdefault(rating.scale, []).append(
            (
                trends.Observation(
                    when=datetime.combine(rating.rated_on, time(12), tzinfo=zone),
                    total=rating.total,
                    treatments_before=before,
                    source=f"Rated by {rating.rater}",
                    band=rating_band(rating.scale, rating.total),
                ),
                rating,
            )
        )
    charts = []
    correct_url = reverse("review:add_rating", args=[person.pk])
    for code, scale in scales.items():
        if code not in observations:
            continue
        pairs = sorted(observations[code], key=lambda pair: pair[0].when)
        trend = trends.build_trend(scale, [obs for obs, _ in pairs], outcome_definition(code))
        rating_for = {id(obs): rating for obs, rating in pairs}
        svg = trends.trend_chart_svg(trend, chart_id=f"chart-{code}")  # every text in it is escaped
        rows = [
            _trend_row(point, scale, rating_for.get(id(point.observation)), correct_url)
            for point in trend.points
        ]
        charts.append(_trend_section(trend, svg, rows))
    return render(
        request,
        "review/trends.html",
        {
            "patient": person,
            "charts_html": mark_safe("".join(charts)),  # noqa: S308 - every value in it is escaped
            "session_count": len(sessions),
            "missing": [scale.title for code, scale in scales.items() if code not in observations],
            **_zone_context(person),
        },
    )


def _trend_row(point: trends.TrendPoint, scale: trends.Scale, rating: Any, correct_url: str) -> str:
    """One line of a trend's table: a course of treatment has dozens of scores, and the template's date filters and
    tags per line cost more than the rest of the page."""
    obs = point.observation
    when = obs.when  # already in the patient's zone
    before = obs.treatments_before
    if before is None:
        sessions = "Sessions before it unknown"
    elif before == 0:
        sessions = "Before the first session (T0)"
    else:
        sessions = f"After {before} session{'s' if before != 1 else ''} (T{before})"
    correct = ""
    if rating is not None:
        correct = _TREND_CORRECT.format(
            href=text_escape(f"{correct_url}?corrects={rating.pk}"),
            what=text_escape(f"the {scale.title} rating of {when.day} {when:%b %Y}"),
        )
    status = trends.status_words(point)
    return _TREND_ROW.format(
        when=text_escape(
            f"{when:%a} {when.day} {when:%b %Y}" + ("" if scale.clinician_rated else f", {when:%H:%M %Z}")
        ),
        sessions=text_escape(sessions),
        source=text_escape(obs.source),
        correct=correct,
        total=text_escape(f"{obs.total} of {scale.maximum}"),
        band=f'<br><span class="text-body-secondary">{text_escape(obs.band)}</span>' if obs.band else "",
        drop=text_escape(point.drop_percent or "—"),
        status=f"<br><strong>{text_escape(status)}</strong>" if status else "",
    )


# A trend's section of the page, and a line of its table (patient_trends places them). Every value put in is
# escaped first, or is markup made here.
_TREND_SECTION = """
<section class="card card-calm mb-4" aria-labelledby="trend-{code}-title"><div class="card-body">
  <h2 id="trend-{code}-title" class="h4">{title}{rated}</h2>
  <ul class="list-inline mb-2">
    {baseline}{latest}<li class="list-inline-item">{response}</li>
    {remission}
  </ul>
  <p class="small text-body-secondary">{definitions} Baseline: the last score before the first treatment session.</p>
  <div class="row g-3">
    <div class="col-12 col-xl-7">{svg}</div>
    <div class="col-12 col-xl-5">
      <div class="table-responsive" tabindex="0" role="region" aria-label="{title} scores">
      <table class="table table-sm small align-top">
        <caption>{title} scores, oldest first</caption>
        <thead><tr><th scope="col">When</th><th scope="col">Total</th><th scope="col">From baseline</th></tr></thead>
        <tbody>
{rows}        </tbody>
      </table>
      </div>
    </div>
  </div>
</div></section>
"""
_TREND_ROW = """          <tr>
            <th scope="row">{when}<br>
              <span class="fw-normal">{sessions}</span><br>
              <span class="fw-normal text-body-secondary">{source}</span>{correct}</th>
            <td>{total}{band}</td>
            <td>{drop}{status}</td>
          </tr>
"""
_TREND_CORRECT = (
    '<br><a class="fw-normal" href="{href}">Correct<span class="visually-hidden"> {what}</span></a>'
)
_BADGE = '<span class="badge text-wrap text-start {}">{}</span>'


def _trend_section(trend: trends.Trend, svg: str, rows: list[str]) -> str:
    """A scale's card: baseline and latest with the outcome badges, the chart, and the same scores as a table."""
    scale, baseline, latest = trend.scale, trend.baseline, trend.latest
    baseline_html = latest_html = ""
    if baseline:
        baseline_html = (
            f'<li class="list-inline-item">Baseline <strong>{baseline.observation.total}</strong> on '
            f"{_day(baseline.observation.when)}.</li>"
        )
    if latest:
        since = f" ({text_escape(latest.drop_percent)} from baseline)" if latest.drop_percent else ""
        latest_html = (
            f'<li class="list-inline-item">Latest <strong>{latest.observation.total}</strong> on '
            f"{_day(latest.observation.when)}{since}.</li>"
        )
    if latest and latest.response:
        response = _BADGE.format("badge-risk-none", "In response")
    elif trend.first_response:
        response = _BADGE.format("badge-risk-low", "Responded earlier, not now")
    else:
        response = _BADGE.format("badge-risk-low", "No response yet")
    remission = ""
    if trend.definition.remission_threshold is not None:
        in_remission = latest is not None and latest.remission and not latest.is_baseline
        remission = '<li class="list-inline-item">{}</li>'.format(
            _BADGE.format("badge-risk-none", "In remission")
            if in_remission
            else _BADGE.format("badge-risk-low", "Not in remission")
        )
    return _TREND_SECTION.format(
        code=text_escape(scale.code),
        title=text_escape(scale.title),
        rated=' <span class="h6 text-body-secondary">(clinician-rated)</span>'
        if scale.clinician_rated
        else "",
        baseline=baseline_html,
        latest=latest_html,
        response=response,
        remission=remission,
        definitions=text_escape(f"{trend.definition.response_text} {trend.definition.remission_text}"),
        svg=svg,
        rows="".join(rows),
    )


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def add_rating(request: HttpRequest, pk: int) -> HttpResponse:
    """Enter a clinician-rated total (MADRS or Y-BOCS) with its date; the signed-in clinician is the rater. With
    ``?corrects=<id>`` the new rating replaces a mistyped one (both are kept)."""
    person = patient_for_clinician(request.user, pk)
    _log_view(request, person, "review: clinician rating")
    zone = patient_zone(person)
    corrects = None
    corrects_id = request.POST.get("corrects") or request.GET.get("corrects")
    if corrects_id:
        corrects = (
            ClinicianRating.objects.filter(patient=person, pk=object_id(corrects_id) or 0)
            .filter(corrected_by__isnull=True)
            .first()
        )
        if corrects is None:
            raise Http404("No such rating.")
    sessions = treatment_starts(person.pk)
    choices = [
        (appointment_id, f"Session {index}: {start.astimezone(zone):%a} {start.astimezone(zone).day} "
         f"{start.astimezone(zone):%b %Y, %H:%M %Z}")
        for index, (start, appointment_id) in enumerate(sessions, start=1)
    ][::-1]  # fmt: skip
    today = timezone.localdate(timezone.now(), zone)
    initial: dict[str, Any] = {"rated_on": today}
    if corrects is not None:
        initial = {
            "scale": corrects.scale,
            "total": corrects.total,
            "rated_on": corrects.rated_on,
            "appointment": corrects.appointment_id,
        }
    form = RatingForm(request.POST or None, initial=initial, today=today, appointments=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rating = record_clinician_rating(
                patient=person,
                rater=request.user,
                scale=data["scale"],
                total=data["total"],
                rated_on=data["rated_on"],
                appointment_id=data.get("appointment"),
                note=data.get("note") or "",
                corrects=corrects,
                now=timezone.now(),
            )
        except DecisionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                f"{rating.get_scale_display()} total {rating.total} recorded for {_day(rating.rated_on)}.",
            )
            return redirect("review:trends", pk=person.pk)
    return render(
        request,
        "review/rating_form.html",
        {"patient": person, "form": form, "corrects": corrects, **_zone_context(person)},
        status=422 if request.method == "POST" and form.errors else 200,
    )
