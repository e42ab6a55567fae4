"""Contraindication and precaution rules for intake, TRD, BMI and outcome helpers (clinical-reference §2.5, §4).

Pure data and functions: no Django, no database, no clock. ``DEFAULT_RULES`` is the rule table of §2.5, one row
per rule, each citing its source; ``evaluate`` turns a patient's intake answers into findings for a clinician.
Severities: ``hard_stop`` blocks self-scheduling until a clinician overrides it, ``review`` shows a flag to the
clinician, ``info`` is recorded for them. Every finding is for clinician review; none is medical advice.

Blood-pressure limits (>140/90 before SPRAVATO, >180/100 for IV ketamine) need measured vitals, so they belong to
the day-of-session gate, not to intake; intake only flags self-reported uncontrolled hypertension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, Literal

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


# Medical and psychiatric history, each answered yes / no / unsure (§4.2). Treated hypertension, seizures and
# breathing problems are captured for the clinician but have no rule: the reference gives none for them.
MEDICAL_HISTORY_CONDITIONS: tuple[Condition, ...] = (
    Condition("aneurysm", "An aneurysm (a bulging blood vessel) in the aorta, the brain, or anywhere else"),
    Condition(
        "arteriovenous_malformation",
        "An arteriovenous malformation (AVM): a tangle of blood vessels, for example in the brain",
    ),
    Condition("intracerebral_hemorrhage", "Bleeding inside the brain (intracerebral hemorrhage)"),
    Condition("stroke_tia", "A stroke or a mini-stroke (TIA)"),
    Condition("hypertension", "High blood pressure"),
    Condition(
        "hypertension_uncontrolled",
        "High blood pressure that is not treated, or stays high despite treatment",
    ),
    Condition(
        "hypertensive_encephalopathy",
        "A brain problem caused by very high blood pressure (hypertensive encephalopathy)",
    ),
    Condition(
        "heart_disease",
        "Heart disease: blocked heart arteries, a heart attack, chest pain (angina), heart failure, an irregular heartbeat, or a heart-valve problem",
    ),
    Condition(
        "raised_intracranial_pressure",
        "Raised pressure inside the skull, a brain tumour or other growth, or a recent head injury",
    ),
    Condition("glaucoma_or_eye_injury", "Glaucoma or high pressure in the eye, or a recent eye injury"),
    Condition("hyperthyroidism", "An overactive thyroid (hyperthyroidism)"),
    Condition("liver_disease", "Liver disease, such as cirrhosis or hepatitis"),
    Condition(
        "bladder_problems",
        "Bladder inflammation (ulcerative or interstitial cystitis) or ongoing bladder or urinary problems",
    ),
    Condition("seizures", "Seizures or epilepsy"),
    Condition("breathing_problems", "Lung or breathing problems, or sleep apnoea"),
    Condition(
        "psychosis",
        "Schizophrenia, schizoaffective disorder or another psychotic illness, or times of seeing or hearing things others do not (psychosis)",
    ),
    Condition("bipolar_mania", "Bipolar disorder type I, or a current high or mixed mood episode (mania)"),
    Condition(
        "substance_use",
        "A problem with alcohol or drugs, including past misuse of ketamine, PCP or similar drugs",
    ),
)

# Medication classes coded from the medication list (§4.2); benzodiazepines also carry a diazepam-equivalent dose.
MEDICATION_CLASSES: tuple[MedicationClass, ...] = (
    MedicationClass("benzodiazepine", "Benzodiazepine", "alprazolam, clonazepam, diazepam, lorazepam"),
    MedicationClass(
        "opioid", "Opioid", "oxycodone, hydrocodone, morphine, tramadol, buprenorphine, methadone"
    ),
    MedicationClass(
        "cns_depressant",
        "Other sedative or CNS depressant",
        "zolpidem and other Z-drugs, gabapentin, pregabalin, sedating antihistamines",
    ),
    MedicationClass("stimulant", "Psychostimulant", "amphetamine, methylphenidate, modafinil, armodafinil"),
    MedicationClass("maoi", "MAO inhibitor", "tranylcypromine, phenelzine, selegiline"),
    MedicationClass("lamotrigine", "Lamotrigine", "lamotrigine"),
    MedicationClass("theophylline", "Theophylline or aminophylline", "theophylline, aminophylline"),
    MedicationClass("thyroid_hormone", "Thyroid hormone", "levothyroxine, liothyronine"),
    MedicationClass(
        "nasal_steroid_decongestant",
        "Nasal corticosteroid or decongestant",
        "fluticasone, mometasone, oxymetazoline",
    ),
    MedicationClass(
        "strong_cyp3a4_2b6_modifier",
        "Strong CYP3A4 or CYP2B6 inhibitor or inducer",
        "clarithromycin, ketoconazole, ticlopidine, rifampin, carbamazepine",
    ),
)

_CONDITION_CODES = frozenset(condition.code for condition in MEDICAL_HISTORY_CONDITIONS)
_MEDICATION_CODES = frozenset(medication.code for medication in MEDICATION_CLASSES)

_SPRAVATO_CI = "SPRAVATO US label §4 (contraindication) [V]"
_SPRAVATO_WP = "SPRAVATO US label, warnings and precautions [V]"
_SPRAVATO_DDI = "SPRAVATO US label §7 (drug interactions) [V]"
_KETALAR = "Ketalar US label [V]"
_SWISS = "Swiss ketamine product information (ch.oddb.org, reg. 67199) [V]"
_MILLER = "Miller's Anesthesia [V]"


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


def _history(code: str, **row: Any) -> Rule:
    return Rule(code=code, question=f"history.{code}", **row)


def _medication(code: str, **row: Any) -> Rule:
    return Rule(code=code, question=f"medication.{code}", severity="review", **row)


DEFAULT_RULES: tuple[Rule, ...] = (
    # Absolute contraindications on the SPRAVATO label; the same blood-pressure hazard rules out IV ketamine.
    _history(
        "aneurysm",
        label="Aneurysmal vascular disease",
        severity="hard_stop",
        modality="both",
        source=f"{_SPRAVATO_CI}; IV: avoid with vascular aneurysm ({_MILLER})",
        detail="Aneurysm of the aorta, intracranial or peripheral arteries: ketamine and esketamine raise blood pressure.",
    ),
    _history(
        "arteriovenous_malformation",
        label="Arteriovenous malformation",
        severity="hard_stop",
        modality="both",
        source=f"{_SPRAVATO_CI}; IV: same blood-pressure hazard [U]",
        detail="AVM is a SPRAVATO contraindication; the reference applies the same blood-pressure logic to IV ketamine.",
    ),
    _history(
        "intracerebral_hemorrhage",
        label="History of intracerebral hemorrhage",
        severity="hard_stop",
        modality="both",
        source=f"{_SPRAVATO_CI}; IV: contraindicated where a blood-pressure rise is a serious hazard ({_SWISS})",
        detail="A previous bleed inside the brain.",
    ),
    Rule(
        code="ketamine_hypersensitivity",
        label="Allergy to ketamine or esketamine",
        question="allergy.ketamine",
        severity="hard_stop",
        modality="both",
        source=f"{_SPRAVATO_CI}; {_KETALAR}",
        detail="Hypersensitivity to esketamine, ketamine or an excipient.",
    ),
    Rule(
        code="under_18",
        label="Younger than 18",
        question="age_under_18",
        severity="hard_stop",
        modality="both",
        source="SPRAVATO US label: not approved under 18 [V]; IV ketamine under 18 [U]",
        detail="Check the date of birth.",
    ),
    # The "HARD STOP -> REVIEW" rows of the table: blocked until a clinician has looked.
    Rule(
        code="pregnancy",
        label="Pregnant",
        question="pregnant",
        severity="hard_stop",
        modality="both",
        source="SPRAVATO US label (pregnancy): not recommended (embryo-fetal toxicity) [V]; IV: avoid [S]",
        detail="Blocked until a clinician reviews it; consider a pregnancy test where indicated.",
    ),
    _history(
        "raised_intracranial_pressure",
        label="Raised intracranial pressure, intracranial mass or recent head injury",
        severity="hard_stop",
        modality="both",
        source=f"{_SPRAVATO_WP}: do not give if an ICP rise poses a serious risk; IV: avoid ({_KETALAR}; {_MILLER})",
        detail="Blocked until a clinician reviews it.",
    ),
    # Review flags.
    _history(
        "hypertension_uncontrolled",
        label="Untreated or poorly controlled high blood pressure",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP} (blood pressure); IV: contraindicated at resting BP > 180/100 ({_SWISS})",
        detail="Check blood pressure before booking; on the day, > 140/90 before SPRAVATO needs a clinician's "
        "decision and > 180/100 stops IV ketamine.",
    ),
    _history(
        "hypertensive_encephalopathy",
        label="History of hypertensive encephalopathy",
        severity="review",
        modality="spravato",
        source=_SPRAVATO_WP,
        detail="The label asks for more intensive blood-pressure monitoring.",
    ),
    _history(
        "heart_disease",
        label="Heart disease",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP}: weigh benefit and risk; IV: avoid if poorly controlled [S]",
        detail="Coronary disease, heart failure, arrhythmia or valve disease: consider an ECG or a cardiology opinion.",
    ),
    _history(
        "stroke_tia",
        label="Stroke or TIA",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP} (cerebrovascular disease); IV: BP rise hazardous after a cerebrovascular event ({_SWISS})",
        detail="Weigh benefit and risk before prescribing.",
    ),
    _history(
        "glaucoma_or_eye_injury",
        label="Glaucoma, raised eye pressure or recent eye injury",
        severity="review",
        modality="iv",
        source=f"IV: avoid where a rise in eye pressure is harmful ({_KETALAR}; {_MILLER}); not in the SPRAVATO label",
        detail="Ketamine can raise intraocular pressure.",
    ),
    _history(
        "hyperthyroidism",
        label="Hyperthyroidism",
        severity="review",
        modality="iv",
        source=f"IV: contraindicated if untreated or inadequately treated ({_SWISS}); not in the SPRAVATO label",
        detail="Ask whether it is treated and controlled.",
    ),
    _history(
        "psychosis",
        label="Psychotic disorder or psychosis",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP}: carefully assess; IV: avoid in active psychosis [S], contraindicated in {_MILLER}",
        detail="Most clinics exclude current psychosis.",
    ),
    _history(
        "bipolar_mania",
        label="Bipolar I, or current mania or mixed state",
        severity="review",
        modality="both",
        source="Not in the SPRAVATO label [U]; IV [U]",
        detail="Bipolar depression is outside the TRD definition (EU-PEARL); a manic or mixed state needs review.",
    ),
    _history(
        "substance_use",
        label="Substance use disorder",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP} (abuse and misuse); APA consensus (Sanacora 2017): attention to substance use [S]",
        detail="Includes alcohol and past ketamine, PCP or dissociative misuse; consider urine toxicology.",
    ),
    Rule(
        code="breastfeeding",
        label="Breastfeeding",
        question="breastfeeding",
        severity="review",
        modality="both",
        source="SPRAVATO US label (lactation): breastfeeding not recommended [V]; IV [U]",
        detail="Esketamine passes into breast milk (potential neurotoxicity).",
    ),
    _history(
        "liver_disease",
        label="Liver disease",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP} (hepatic impairment); IV: avoid in severe hepatic disease [S]",
        detail="Ask the clinician to grade it (Child-Pugh) if not known.",
    ),
    Rule(
        code="hepatic_impairment_severe",
        label="Severe hepatic impairment (Child-Pugh C)",
        question="child_pugh",
        when=frozenset({"C"}),
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP}: not recommended in Child-Pugh C (not studied); IV: avoid severe hepatic disease [S]",
        detail="SPRAVATO is not recommended.",
    ),
    Rule(
        code="hepatic_impairment_moderate",
        label="Moderate hepatic impairment (Child-Pugh B)",
        question="child_pugh",
        when=frozenset({"B"}),
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP}: may need longer monitoring; IV: caution [S]",
        detail="Book a longer observation slot.",
    ),
    _history(
        "bladder_problems",
        label="Cystitis or bladder symptoms",
        severity="review",
        modality="both",
        source=f"{_SPRAVATO_WP} (monitor urinary symptoms); IV: cystitis with chronic use ({_KETALAR})",
        detail="Monitor urinary and bladder symptoms.",
    ),
    _medication(
        "benzodiazepine",
        label="Benzodiazepine",
        modality="both",
        source=f"{_SPRAVATO_DDI}: CNS depressants increase sedation; Andrade 2017: may blunt the response [V]",
        detail="Monitor sedation; record the diazepam-equivalent dose.",
    ),
    Rule(
        code="benzodiazepine_high_dose",
        label="Benzodiazepine above the blunting threshold",
        question="benzodiazepine_above_threshold",
        severity="info",
        modality="both",
        source="Andrashko et al. 2020, Front Psychiatry (single study, n = 47) [V]",
        detail="More than 8 mg/day diazepam-equivalent separated non-responders in one study.",
    ),
    _medication(
        "opioid",
        label="Opioid",
        modality="both",
        source=f"{_SPRAVATO_DDI}; {_KETALAR}",
        detail="More sedation and possible respiratory depression: monitor closely.",
    ),
    _medication(
        "cns_depressant",
        label="Other CNS depressant",
        modality="both",
        source=f"{_SPRAVATO_DDI}; {_KETALAR}",
        detail="More sedation: monitor closely.",
    ),
    _medication(
        "stimulant",
        label="Psychostimulant",
        modality="both",
        source=f"{_SPRAVATO_DDI}; IV: same mechanism [U]",
        detail="Blood pressure may rise further: monitor it closely.",
    ),
    _medication(
        "maoi",
        label="MAO inhibitor",
        modality="both",
        source=f"{_SPRAVATO_DDI}; IV: same mechanism [U]",
        detail="Blood pressure may rise further: monitor it closely.",
    ),
    _medication(
        "lamotrigine",
        label="Lamotrigine",
        modality="iv",
        source="Andrade 2017, J Clin Psychiatry [V]",
        detail="May reduce ketamine's adverse effects; its effect on the antidepressant response is unknown. "
        "Some clinics hold it before infusions [S].",
    ),
    _medication(
        "theophylline",
        label="Theophylline or aminophylline",
        modality="iv",
        source=_KETALAR,
        detail="The Ketalar label says not to co-administer: it lowers the seizure threshold.",
    ),
    _medication(
        "thyroid_hormone",
        label="Thyroid hormone",
        modality="iv",
        source="Kaplan & Cooperman 1971 (case reports) [V]",
        detail="Severe hypertension and tachycardia have been reported with ketamine.",
    ),
    Rule(
        code="nasal_steroid_decongestant",
        label="Nasal corticosteroid or decongestant",
        question="medication.nasal_steroid_decongestant",
        severity="info",
        modality="spravato",
        source="SPRAVATO US label §2 [V]",
        detail="Give it at least 1 hour before the SPRAVATO dose.",
    ),
    Rule(
        code="strong_cyp3a4_2b6_modifier",
        label="Strong CYP3A4 or CYP2B6 inhibitor or inducer",
        question="medication.strong_cyp3a4_2b6_modifier",
        severity="info",
        modality="spravato",
        source=_SPRAVATO_DDI,
        detail="Esketamine is metabolised by CYP2B6 and CYP3A4 (clarithromycin raised Cmax and AUC; ticlopidine AUC ~29 %).",
    ),
    # C-SSRS triage (Columbia). High risk is an escalation, not a scheduling question: it also blocks self-booking.
    Rule(
        code="cssrs_high",
        label="C-SSRS high risk",
        question="cssrs_risk",
        when=frozenset({"high"}),
        severity="hard_stop",
        modality="both",
        escalate=True,
        source="Columbia C-SSRS triage [V]; SPRAVATO label: does not preclude the need for hospitalization [V]",
        detail="Show crisis resources (US: 988) now and alert on-call staff; immediate mental-health evaluation.",
    ),
    Rule(
        code="cssrs_moderate",
        label="C-SSRS moderate risk",
        question="cssrs_risk",
        when=frozenset({"moderate"}),
        severity="review",
        modality="both",
        source="Columbia C-SSRS triage [V]",
        detail="Behavioural-health consult; consider safety precautions.",
    ),
    Rule(
        code="cssrs_low",
        label="C-SSRS low risk",
        question="cssrs_risk",
        when=frozenset({"low"}),
        severity="info",
        modality="both",
        source="Columbia C-SSRS triage [V]",
        detail="Behavioural-health referral and follow-up.",
    ),
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
