"""Contraindication and precaution rules for intake, TRD, BMI and outcome helpers (clinical-reference §2.5, §4).

Pure data and functions: no Django, no database, no clock. ``DEFAULT_RULES`` is the rule table of §2.5, one row
per rule, each citing its source; ``evaluate`` turns a patient's intake answers into findings for a clinician.
Severities: ``hard_stop`` blocks self-scheduling until a clinician overrides it, ``review`` shows a flag to the
clinician, ``info`` is recorded for them. Every finding is for clinician review; none is medical advice.

Blood-pressure limits (>140/90 before SPRAVATO, >180/100 for IV ketamine) need measured vitals, so they belong to
the day-of-session gate, not to intake; intake only flags self-reported uncontrolled hypertension.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Literal

Answer = Literal["yes", "no", "unsure"]
Severity = Literal["hard_stop", "review", "info"]
Modality = Literal["iv", "spravato", "both"]

ANSWERS: tuple[Answer, ...] = ("yes", "no", "unsure")
SEVERITIES: tuple[Severity, ...] = ("hard_stop", "review", "info")  # most serious first
MODALITIES: tuple[Modality, ...] = ("iv", "spravato", "both")
CHILD_PUGH_CLASSES = ("A", "B", "C")
CSSRS_RISKS = ("none", "low", "moderate", "high")

MIN_AGE_YEARS = 18  # SPRAVATO is not approved under 18 (label) [V]
# Andrashko 2020: > 8 mg/day diazepam-equivalent separated non-responders (one study, n = 47) [V for the study].
BENZODIAZEPINE_BLUNTING_MG = 8.0


@dataclass(frozen=True)
class Condition:
    code: str
    label: str  # what the patient reads: plain words first, the medical term in brackets


@dataclass(frozen=True)
class MedicationClass:
    code: str
    label: str  # what staff read when coding a medication list
    examples: str


# The tables themselves are data (intake/rules.json): the history questions of §4.2 (each answered yes / no / unsure;
# treated hypertension, seizures and breathing problems are captured for the clinician but have no rule, the
# reference gives none), the medication classes coded from the medication list (benzodiazepines also carry a
# diazepam-equivalent dose), and the rule table of §2.5, each row citing its source.
_TABLES = json.loads((Path(__file__).with_name("rules.json")).read_text(encoding="utf-8"))
MEDICAL_HISTORY_CONDITIONS: tuple[Condition, ...] = tuple(
    Condition(**row) for row in _TABLES["medical_history_conditions"]
)
MEDICATION_CLASSES: tuple[MedicationClass, ...] = tuple(
    MedicationClass(**row) for row in _TABLES["medication_classes"]
)

_CONDITION_CODES = frozenset(condition.code for condition in MEDICAL_HISTORY_CONDITIONS)
_MEDICATION_CODES = frozenset(medication.code for medication in MEDICATION_CLASSES)


@dataclass(frozen=True)
class IntakeFacts:
    """A patient's intake answers. None means "not asked yet" and raises no finding, except the age: a missing age
    is flagged for review, because the under-18 hard stop must never pass silently."""

    medical_history: Mapping[str, Answer] = field(default_factory=dict)  # condition code -> yes / no / unsure
    age_years: int | None = None
    medications: frozenset[str] = frozenset()  # MEDICATION_CLASSES codes present
    benzodiazepine_diazepam_mg_per_day: float | None = None
    allergy_ketamine: Answer | None = None  # ketamine or esketamine
    pregnant: Answer | None = None
    breastfeeding: Answer | None = None
    child_pugh: Literal["A", "B", "C"] | None = None
    cssrs_risk: Literal["none", "low", "moderate", "high"] | None = None


@dataclass(frozen=True)
class Rule:
    """One row of the table: when ``question`` has an answer in ``when``, raise a finding.

    An "unsure" answer to a yes/no question raises the finding too, at ``review`` when the rule is a hard stop
    (a clinician has to confirm before anything is booked), and says so in the detail.
    """

    code: str
    label: str
    question: str  # "history.<condition>", "medication.<class>", or a derived fact such as "age_under_18"
    severity: Severity
    modality: Modality
    source: str
    detail: str
    when: frozenset[str] = frozenset({"yes"})
    escalate: bool = False  # act now (crisis resources, page on-call), not just a queue entry


@dataclass(frozen=True)
class Finding:
    code: str
    label: str
    severity: Severity
    modality: Modality
    source: str
    detail: str
    escalate: bool = False


DEFAULT_RULES: tuple[Rule, ...] = tuple(
    Rule(**{**row, "when": frozenset(row.get("when", ["yes"]))}) for row in _TABLES["rules"]
)


def evaluate(
    facts: IntakeFacts,
    *,
    rules: Sequence[Rule] = DEFAULT_RULES,
    benzodiazepine_blunting_mg: float = BENZODIAZEPINE_BLUNTING_MG,
) -> list[Finding]:
    """Findings for ``facts``, most serious first (hard stops, then review, then info), table order within each."""
    answers = intake_answers(facts, benzodiazepine_blunting_mg=benzodiazepine_blunting_mg)
    _check_rules(rules)
    findings: list[Finding] = []
    for rule in rules:
        answer = answers.get(rule.question)
        if answer in rule.when:
            findings.append(
                Finding(
                    rule.code,
                    rule.label,
                    rule.severity,
                    rule.modality,
                    rule.source,
                    rule.detail,
                    rule.escalate,
                )
            )
        elif answer == "unsure":
            severity: Severity = "review" if rule.severity == "hard_stop" else rule.severity
            detail = f"Not confirmed (answered 'unsure' or not recorded): a clinician must confirm it. {rule.detail}"
            findings.append(
                Finding(rule.code, rule.label, severity, rule.modality, rule.source, detail, rule.escalate)
            )
    return sorted(findings, key=lambda finding: SEVERITIES.index(finding.severity))


def intake_answers(
    facts: IntakeFacts, *, benzodiazepine_blunting_mg: float = BENZODIAZEPINE_BLUNTING_MG
) -> dict[str, str]:
    """Flatten ``facts`` into question key -> answer, the keys the rule table reads. Raises ValueError on bad facts."""
    answers: dict[str, str] = {}
    for code, answer in facts.medical_history.items():
        if code not in _CONDITION_CODES:
            raise ValueError(f"Unknown medical-history condition {code!r}.")
        answers[f"history.{code}"] = _answer(answer, f"medical_history[{code!r}]")
    for name in ("allergy_ketamine", "pregnant", "breastfeeding"):
        value = getattr(facts, name)
        if value is not None:
            answers[name.replace("allergy_", "allergy.")] = _answer(value, name)
    unknown = set(facts.medications) - _MEDICATION_CODES
    if unknown:
        raise ValueError(f"Unknown medication class(es) {', '.join(sorted(unknown))}.")
    for code in facts.medications:
        answers[f"medication.{code}"] = "yes"
    age = facts.age_years
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 130):
        raise ValueError(f"age_years must be a whole number of years from 0 to 130; got {age!r}.")
    answers["age_under_18"] = "unsure" if age is None else "yes" if age < MIN_AGE_YEARS else "no"
    dose = facts.benzodiazepine_diazepam_mg_per_day
    if dose is not None and (
        isinstance(dose, bool) or not isinstance(dose, int | float | Decimal) or dose < 0
    ):
        raise ValueError(
            f"benzodiazepine_diazepam_mg_per_day must be a number of mg, 0 or more; got {dose!r}."
        )
    if "benzodiazepine" in facts.medications:
        answers["benzodiazepine_above_threshold"] = (
            "unsure" if dose is None else "yes" if dose > benzodiazepine_blunting_mg else "no"
        )
    if facts.child_pugh is not None:
        if facts.child_pugh not in CHILD_PUGH_CLASSES:
            raise ValueError(f"child_pugh must be A, B, C or None; got {facts.child_pugh!r}.")
        answers["child_pugh"] = facts.child_pugh
    if facts.cssrs_risk is not None:
        if facts.cssrs_risk not in CSSRS_RISKS:
            raise ValueError(
                f"cssrs_risk must be one of {', '.join(CSSRS_RISKS)} or None; got {facts.cssrs_risk!r}."
            )
        answers["cssrs_risk"] = facts.cssrs_risk
    return answers


def _answer(value: object, name: str) -> str:
    if value not in ANSWERS:
        raise ValueError(f"{name} must be 'yes', 'no' or 'unsure'; got {value!r}.")
    return str(value)


def _check_rules(rules: Sequence[Rule]) -> None:
    codes = [rule.code for rule in rules]
    if len(set(codes)) != len(codes):
        raise ValueError("Rule codes must be unique.")
    for rule in rules:
        if rule.severity not in SEVERITIES or rule.modality not in MODALITIES or not rule.source:
            raise ValueError(f"Rule {rule.code!r} needs a known severity and modality and a source.")


# --- Treatment-resistant depression (§4.1) -----------------------------------------------------------------------


@dataclass(frozen=True)
class AntidepressantTrial:
    drug: str
    weeks: float  # time on an adequate dose
    adherent: bool
    improvement_pct: float | None  # % improvement from the start of the trial; None when unknown
    adequate_dose: bool = True  # clinician's judgement; the ATHF-SF2 per-drug dose table is not encoded [U]
    current_episode: bool = True


@dataclass(frozen=True)
class TrdResult:
    is_trd: bool
    failed_trials: tuple[AntidepressantTrial, ...]
    reasons: tuple[str, ...]


def treatment_resistant_depression(
    trials: Sequence[AntidepressantTrial],
    *,
    min_weeks: float = 4,
    max_improvement_pct: float = 25,
    min_failed: int = 2,
    bipolar_depression: bool = False,
) -> TrdResult:
    """TRD per the EU-PEARL consensus (Sforzini 2022) [V]: at least ``min_failed`` different antidepressants failed
    in the current episode, a failure being an adequate trial (adequate dose, ``min_weeks`` or more, adherent) with
    less than ``max_improvement_pct`` % improvement. Stopping before the end of week 4 is not a failure.
    """
    if min_failed < 1 or min_weeks < 0 or not 0 < max_improvement_pct <= 100:
        raise ValueError(
            "min_failed must be 1 or more, min_weeks 0 or more and max_improvement_pct in (0, 100]."
        )
    reasons: list[str] = []
    failed: list[AntidepressantTrial] = []
    failed_drugs: set[str] = set()
    for trial in trials:
        if isinstance(trial.weeks, bool) or trial.weeks < 0:
            raise ValueError(f"{trial.drug}: weeks must be 0 or more.")
        name = trial.drug.strip() or "unnamed drug"
        if not trial.current_episode:
            reasons.append(f"{name}: not in the current episode, so it does not count.")
        elif not trial.adequate_dose:
            reasons.append(f"{name}: dose not adequate, so not an adequate trial.")
        elif trial.weeks < min_weeks:
            reasons.append(
                f"{name}: {trial.weeks:g} weeks is under {min_weeks:g}; stopping early is not a failure."
            )
        elif not trial.adherent:
            reasons.append(f"{name}: not taken as prescribed, so not an adequate trial.")
        elif trial.improvement_pct is None:
            reasons.append(f"{name}: improvement unknown, so it cannot count as a failure.")
        elif trial.improvement_pct >= max_improvement_pct:
            reasons.append(
                f"{name}: improved {trial.improvement_pct:g} % (not under {max_improvement_pct:g} %)."
            )
        elif name.casefold() in failed_drugs:
            reasons.append(f"{name}: failed again; the same antidepressant counts once.")
        else:
            failed.append(trial)
            failed_drugs.add(name.casefold())
            reasons.append(
                f"{name}: failed ({trial.improvement_pct:g} % improvement after {trial.weeks:g} weeks)."
            )
    if bipolar_depression:
        reasons.append("Bipolar depression is excluded from the TRD definition (EU-PEARL).")
        return TrdResult(False, tuple(failed), tuple(reasons))
    is_trd = len(failed) >= min_failed
    reasons.append(f"{len(failed)} failed trial(s) of different antidepressants; TRD needs {min_failed}.")
    return TrdResult(is_trd, tuple(failed), tuple(reasons))


# --- Body-mass index and outcome helpers (§4.2, §4.3) ------------------------------------------------------------


def bmi(height_cm: float | Decimal, weight_kg: float | Decimal) -> Decimal:
    """BMI = kg / m², rounded half-up to 1 decimal place. Raises ValueError for values no adult can have."""
    height = _measure(height_cm, "height_cm", lowest=50, highest=272)
    weight = _measure(weight_kg, "weight_kg", lowest=2, highest=650)
    metres = height / 100
    return (weight / (metres * metres)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def is_response(baseline: float, current: float, threshold: float = 0.5) -> bool:
    """Response: (baseline - current) / baseline >= threshold (50 % drop on MADRS, PHQ-9 or QIDS) [V]."""
    for name, value in (("baseline", baseline), ("current", current)):
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or value < 0:
            raise ValueError(f"{name} must be a score of 0 or more; got {value!r}.")
    if baseline == 0:
        raise ValueError("A baseline of 0 leaves no room for a response.")
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be a fraction in (0, 1].")
    # Exact arithmetic: 20 -> 10 is a 50 % drop and must not miss the threshold by a float rounding error.
    start, now, cut = (Fraction(str(value)) for value in (baseline, current, threshold))
    return (start - now) / start >= cut


def is_remission_phq9(score: int, below: int = 5) -> bool:
    """PHQ-9 remission: total under 5 (SUSTAIN-3 definition) [V]."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 27:
        raise ValueError(f"A PHQ-9 total is a whole number from 0 to 27; got {score!r}.")
    return score < below


def _measure(value: float | Decimal, name: str, *, lowest: int, highest: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{name} must be a number; got {value!r}.")
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or not lowest <= number <= highest:
        raise ValueError(f"{name} must be between {lowest} and {highest}; got {value!r}.")
    return number
