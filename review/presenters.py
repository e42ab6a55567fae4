"""What the patient page shows, in words: answers by step, scores with their bands and cut-offs, findings, past
submissions side by side. Pure functions of the records, so the views only choose and render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from clinic.local_time import format_in_zone
from intake import scoring
from intake.answers import humanise
from intake.instruments import UnknownInstrumentError, load_instrument
from intake.models import IntakeSubmission, UrgentAlert
from intake.selectors import RISK_LABELS, LatestRisk
from intake.steps import ALL_STEPS

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
            "High: yes to 4 or 5, or recent behavior (6) · Moderate: yes to 3, or older behavior · "
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
