"""What the patient page shows, in words: answers by step, scores with their bands and cut-offs, findings, past
submissions side by side. Pure functions of the records, so the views only choose and render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from django import forms

from clinic.local_time import format_in_zone
from intake import medications, rules, scoring
from intake.instruments import UnknownInstrumentError, load_instrument, same_value
from intake.models import IntakeSubmission, UrgentAlert
from intake.selectors import RISK_LABELS, LatestRisk
from intake.steps import ALL_STEPS, STEPS_BY_KEY

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
RISK_BADGES = {
    "high": "badge-risk-high",
    "moderate": "badge-risk-moderate",
    "low": "badge-risk-low",
    "none": "badge-risk-none",
}
RISK_WORDS = {level: (RISK_LABELS[level], badge) for level, badge in RISK_BADGES.items()}


@dataclass(frozen=True)
class RiskView:
    """A patient's current suicide risk as a page shows it: the words, the badge, and where it comes from."""

    words: str
    badge: str
    source: str  # "urgent alert (open), Mon 7 Dec, 09:05 EST"


def risk_view(risk: LatestRisk | None, zone) -> RiskView | None:
    """The current risk (``intake.selectors.latest_risks``) in words, with its source and time in ``zone``."""
    if risk is None:
        return None
    words = risk.label
    if risk.source == "alert" and risk.reasons:
        words = f"{risk.label}: {'; '.join(risk.reasons)}"
    return RiskView(
        words=words,
        badge=RISK_BADGES.get(risk.level, "badge-risk-none"),
        source=f"{risk.source_label}, {format_in_zone(risk.at, zone, year=False)}",
    )


PHQ9_SCREENING_CUTOFF = 10  # >= 10: sensitivity and specificity 88 % for major depression (Kroenke 2001) [V]


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


def humanise(key: str) -> str:
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
        label = str(form_field.label) if form_field is not None and form_field.label else humanise(name)
        lines.append(AnswerLine(label, _words(form_field, value), flagged=value in ("yes", "unsure")))
    return lines


def _row_table(
    caption: str, form: forms.Form | None, rows: list[dict[str, Any]], extra: dict[str, Any]
) -> AnswerTable:
    names = list(form.fields) if form is not None else sorted({key for row in rows for key in row})
    headers = [str(form.fields[name].label) if form is not None else humanise(name) for name in names]
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
        return [AnswerLine(humanise(key), _words(None, value)) for key, value in answers.items()]
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
            consent = submission.consent if submission.consent_id else None
            if consent is not None:
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


def alert_screening(alert: UrgentAlert) -> list[ScoreView]:
    """The screening scores that raised an alert: its submission's, or, for an alert raised by the safety step of
    an intake not submitted, that step's C-SSRS as saved in the draft."""
    screening_codes = ("phq9", "cssrs", "cssrs_since_last_visit")
    if alert.submission is not None:
        return [view for view in score_views(alert.submission) if view.code in screening_codes]
    answers = (alert.intake.answers or {}).get("cssrs") if alert.intake is not None else None
    if not answers:
        return []
    try:
        score = scoring.score_instrument("cssrs", answers)
    except scoring.ScoringError:
        return []
    draft = IntakeSubmission(
        kind=IntakeSubmission.Kind.INTAKE,
        answers={"cssrs": answers},
        scores={"cssrs": score.as_dict()},
        instrument_versions={"cssrs": load_instrument("cssrs").version},
    )
    return score_views(draft)


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
            (band.label for band in bands if band.code == score["band"]), humanise(score["band"])
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


def compare_columns(submissions: Sequence[IntakeSubmission], alert_ids: set[int]) -> list[CompareColumn]:
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
