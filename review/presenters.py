"""What the patient page shows, in words: answers by step, scores with their bands and cut-offs, findings, past
submissions side by side. Pure functions of the records, so the views only choose and render."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from clinic.local_time import format_in_zone
from intake import scoring
from intake.answers import humanise
from intake.instruments import UnknownInstrumentError, load_instrument
from intake.models import IntakeSubmission, UrgentAlert
from intake.selectors import RISK_LABELS, LatestRisk
from intake.steps import ALL_STEPS

COMPARE_LIMIT = 6  # submissions side by side on the patient page
# Words marked with gettext_noop here and translated where a page shows them (the page's language).
SEVERITY_WORDS = {
    "hard_stop": (
        gettext_noop("Hard stop"),
        "badge-risk-high",
        gettext_noop("Blocks booking until a clinician overrides it in writing."),
    ),
    "review": (
        gettext_noop("Review"),
        "badge-risk-moderate",
        gettext_noop("A clinician should weigh it before deciding."),
    ),
    "info": (gettext_noop("For information"), "badge-risk-none", gettext_noop("Recorded for the clinician.")),
}
MODALITY_WORDS = {
    "iv": gettext_noop("IV ketamine"),
    "spravato": gettext_noop("Spravato"),
    "both": gettext_noop("IV ketamine and Spravato"),
}
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


def risk_view(
    risk: LatestRisk | None, zone, *, texts: dict[tuple[str, str, bool], tuple[str, str]] | None = None
) -> RiskView | None:
    """The current risk (``intake.selectors.latest_risks``) in words, with its source and time in ``zone``.

    ``texts``, a dict kept by the caller for one page, holds the translated label and source by level, source and
    whether the alert is open: a list of many patients translates each only once."""
    if risk is None:
        return None
    key = (risk.level, risk.source, risk.alert_open)
    if texts is not None and key in texts:
        label, source_label = texts[key]
    else:
        label, source_label = risk.label, risk.source_label
        if texts is not None:
            texts[key] = (label, source_label)
    words = label
    if risk.source == "alert" and risk.reasons:
        words = f"{label}: {'; '.join(risk.reasons)}"
    return RiskView(
        words=words,
        badge=RISK_BADGES.get(risk.level, "badge-risk-none"),
        source=f"{source_label}, {format_in_zone(risk.at, zone, year=False)}",
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
    return _("Yes, met") if condition else _("No, not met")


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
        total=_("%(total)s of %(maximum)s") % {"total": score["total"], "maximum": total_range[1]}
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
                _("Screening cut-off (%(cutoff)s or more)") % {"cutoff": PHQ9_SCREENING_CUTOFF},
                _("At or above") if score["total"] >= PHQ9_SCREENING_CUTOFF else _("Below"),
                _("Sensitivity and specificity 88 %% for major depression (Kroenke 2001).") % {},
            ),
            ScoreLine(
                _("Item 9 (thoughts of death or self-harm)"),
                _("Positive: answered %(answer)s") % {"answer": item9}
                if score.get("item9_flag")
                else _("Negative: answered 0"),
                _("Any answer of 1 or more needs same-day suicide-risk follow-up, whatever the total."),
            ),
            ScoreLine(
                _("Major depressive syndrome (PHQ algorithm)"),
                _met(score.get("major_depressive_syndrome", False)),
                _("5 or more items at 'More than half the days' or more, including item 1 or 2."),
            ),
            ScoreLine(_("Difficulty (not part of the total)"), _difficulty_words(score.get("difficulty"))),
        ]
    elif code == "gad7":
        view.lines = [
            ScoreLine(
                _("Further-evaluation cut-off (%(cutoff)s or more)")
                % {"cutoff": scoring.GAD7_EVALUATION_CUTOFF},
                _("At or above") if score["total"] >= scoring.GAD7_EVALUATION_CUTOFF else _("Below"),
                _("Sensitivity 89 %%, specificity 82 %% for generalized anxiety disorder (Spitzer 2006).")
                % {},
            ),
            ScoreLine(_("Difficulty (not part of the total)"), _difficulty_words(score.get("difficulty"))),
        ]
    elif code == "pcl5":
        cutoff = score.get("probable_cutoff", scoring.PCL5_PROBABLE_CUTOFF)
        view.band = _("Probable PTSD") if score.get("probable_ptsd") else _("Below the probable-PTSD cut-off")
        view.lines = [
            ScoreLine(
                _("Probable-PTSD cut-off (%(cutoff)s or more)") % {"cutoff": cutoff},
                _("At or above") if score.get("probable_ptsd") else _("Below"),
                _("The VA gives 31–33 depending on the population; this clinic uses the value shown."),
            )
        ]
        names = {"cluster_b": _("B, intrusion"), "cluster_c": _("C, avoidance"), "cluster_d": _("D, negative mood "
                 "and thinking"), "cluster_e": _("E, arousal and reactivity")}  # fmt: skip
        for cluster, numbers in scoring.PCL5_CLUSTERS.items():
            endorsed = sum(1 for n in numbers if (answers.get(f"item{n}") or 0) >= scoring.PCL5_ENDORSED_FROM)
            needed = scoring.PCL5_PROVISIONAL_MINIMUM[cluster]
            view.lines.append(
                ScoreLine(
                    _("Cluster %(cluster)s (items %(first)s–%(last)s)")
                    % {"cluster": names[cluster], "first": numbers[0], "last": numbers[-1]},
                    _("%(score)s of %(maximum)s; %(endorsed)s symptom(s) endorsed, %(needed)s needed")
                    % {
                        "score": score.get(cluster),
                        "maximum": 4 * len(numbers),
                        "endorsed": endorsed,
                        "needed": needed,
                    },
                )
            )
        view.lines.append(
            ScoreLine(
                _("Provisional DSM-5 diagnosis rule"),
                _met(score.get("provisional_ptsd", False)),
                _(
                    "An item rated 2 ('Moderately') or more is endorsed; needs 1 B, 1 C, 2 D and 2 E. A positive "
                    "screen needs a structured interview (CAPS-5); it is not a diagnosis."
                ),
            )
        )
        view.bands = _("No empirically established severity bands.")
    elif code == "ocir":
        view.lines = [
            ScoreLine(
                _("OCD cut-off (%(cutoff)s or more)") % {"cutoff": score.get("ocd_cutoff")},
                _("At or above") if score.get("ocd_flag") else _("Below"),
                "Foa 2002.",
            ),
            ScoreLine(
                _("OCI-OCD, the 15 non-hoarding items (%(cutoff)s or more)")
                % {"cutoff": score.get("oci_ocd_cutoff")},
                (
                    _("%(score)s of 60: at or above")
                    if score.get("oci_ocd_flag")
                    else _("%(score)s of 60: below")
                )
                % {"score": score.get("oci_ocd")},
                _("Wootton 2015 [secondary source]."),
            ),
        ]
        for subscale, numbers in scoring.OCIR_SUBSCALES.items():
            view.lines.append(
                ScoreLine(
                    _("%(subscale)s (items %(items)s)")
                    % {"subscale": subscale.capitalize(), "items": ", ".join(str(n) for n in numbers)},
                    _("%(score)s of 12") % {"score": score.get(subscale)},
                )
            )
        view.bands += " " + _("(Abramovitch 2020) [secondary source]")
    elif code.startswith("cssrs"):
        risk = score.get("risk", "none")
        view.band = _(RISK_WORDS[risk][0]) if risk in RISK_WORDS else risk
        try:
            definition = load_instrument(code, submission.instrument_versions.get(code))
            positive = [
                _("Question %(number)s: %(text)s")
                % {"number": definition.item(key).number, "text": definition.item(key).text}
                for key in score.get("positive", [])
            ]
        except (UnknownInstrumentError, KeyError):
            positive = list(score.get("positive", []))
        view.lines = [ScoreLine(_("Answered yes"), "; ".join(positive) or _("None"))]
        view.bands = _(
            "High: yes to 4 or 5, or recent behavior (6) · Moderate: yes to 3, or older behavior · "
            "Low: yes to 1 or 2 only (Columbia triage)."
        )
    return view


def _difficulty_words(value: str | None) -> str:
    return {
        "not_difficult": _("Not difficult at all"),
        "somewhat": _("Somewhat difficult"),
        "very": _("Very difficult (suggests functional impairment)"),
        "extremely": _("Extremely difficult (suggests functional impairment)"),
    }.get(value or "", _("Not answered"))


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
        modality = finding.get("modality", "")
        views.append(
            FindingView(
                code=finding.get("code", ""),
                label=finding.get("label", ""),
                severity=_(words) if words else "",
                badge=badge,
                severity_note=_(note) if note else "",
                modality=_(MODALITY_WORDS[modality]) if modality in MODALITY_WORDS else modality,
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


# Row labels marked here, translated where the table is drawn.
COMPARE_ROWS = [
    ("kind", gettext_noop("Kind")),
    ("phq9", "PHQ-9"),
    ("item9", gettext_noop("PHQ-9 item 9")),
    ("gad7", "GAD-7"),
    ("pcl5", "PCL-5"),
    ("ocir", "OCI-R"),
    ("cssrs", "C-SSRS"),
    ("hard_stops", gettext_noop("Hard-stop findings")),
    ("review", gettext_noop("Review findings")),
    ("bmi", gettext_noop("BMI")),
    ("alert", gettext_noop("Urgent alert")),
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
                cells[code] = f"{score['total']}" + (
                    " " + _("(probable PTSD)") if score.get("probable_ptsd") else ""
                )
                continue
            view = _score_view(code, score, {}, sub)
            cells[code] = f"{score['total']} ({view.band.lower()})" if view.band else str(score["total"])
        cells["item9"] = "—" if sub.phq9_item9 is None else str(sub.phq9_item9)
        cells["cssrs"] = _(RISK_WORDS[sub.cssrs_risk][0]) if sub.cssrs_risk in RISK_WORDS else "—"
        severities = [finding.get("severity") for finding in sub.findings or []]
        cells["hard_stops"] = str(severities.count("hard_stop")) if sub.kind == "intake" else "—"
        cells["review"] = str(severities.count("review")) if sub.kind == "intake" else "—"
        cells["bmi"] = _("%(bmi)s kg/m²") % {"bmi": sub.bmi} if sub.bmi is not None else "—"
        cells["alert"] = _("Yes") if sub.pk in alert_ids else _("No")
        columns.append(CompareColumn(sub, cells))
    return columns
