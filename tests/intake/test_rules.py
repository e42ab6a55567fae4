"""Contraindication rules, TRD, BMI and outcome helpers (clinical-reference §2.5, §4). Plain functions: no database."""

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.rules import (
    DEFAULT_RULES,
    MEDICAL_HISTORY_CONDITIONS,
    MEDICATION_CLASSES,
    AntidepressantTrial,
    Finding,
    IntakeFacts,
    Rule,
    bmi,
    evaluate,
    is_remission_phq9,
    is_response,
    treatment_resistant_depression,
)

ADULT = {"age_years": 40}


def findings(**facts) -> dict[str, Finding]:
    return {finding.code: finding for finding in evaluate(IntakeFacts(**{**ADULT, **facts}))}


def test_a_healthy_adult_has_no_findings():
    history = {condition.code: "no" for condition in MEDICAL_HISTORY_CONDITIONS}
    facts = IntakeFacts(
        medical_history=history, age_years=35, allergy_ketamine="no", pregnant="no", breastfeeding="no",
        child_pugh="A", cssrs_risk="none",
    )  # fmt: skip
    assert evaluate(facts) == []


@pytest.mark.parametrize(
    "condition",
    ["aneurysm", "arteriovenous_malformation", "intracerebral_hemorrhage", "raised_intracranial_pressure"],
)
def test_hard_stop_conditions(condition):
    finding = findings(medical_history={condition: "yes"})[condition]
    assert (finding.severity, finding.modality) == ("hard_stop", "both")
    assert finding.source


@pytest.mark.parametrize("condition", ["aneurysm", "intracerebral_hemorrhage"])
def test_unsure_on_a_hard_stop_condition_is_a_review_that_says_so(condition):
    finding = findings(medical_history={condition: "unsure"})[condition]
    assert finding.severity == "review"
    assert "unsure" in finding.detail


def test_unsure_on_a_review_condition_stays_a_review():
    assert findings(medical_history={"psychosis": "unsure"})["psychosis"].severity == "review"


def test_no_answers_raise_nothing():
    assert findings(medical_history={"aneurysm": "no", "psychosis": "no"}) == {}


@pytest.mark.parametrize(
    ("facts", "code", "severity"),
    [
        ({"allergy_ketamine": "yes"}, "ketamine_hypersensitivity", "hard_stop"),
        ({"allergy_ketamine": "unsure"}, "ketamine_hypersensitivity", "review"),
        ({"pregnant": "yes"}, "pregnancy", "hard_stop"),
        ({"pregnant": "unsure"}, "pregnancy", "review"),
        ({"breastfeeding": "yes"}, "breastfeeding", "review"),
        ({"child_pugh": "B"}, "hepatic_impairment_moderate", "review"),
        ({"child_pugh": "C"}, "hepatic_impairment_severe", "review"),
        ({"cssrs_risk": "moderate"}, "cssrs_moderate", "review"),
        ({"cssrs_risk": "low"}, "cssrs_low", "info"),
        ({"medical_history": {"hypertension_uncontrolled": "yes"}}, "hypertension_uncontrolled", "review"),
        ({"medical_history": {"bipolar_mania": "yes"}}, "bipolar_mania", "review"),
        ({"medical_history": {"substance_use": "yes"}}, "substance_use", "review"),
        ({"medical_history": {"bladder_problems": "yes"}}, "bladder_problems", "review"),
    ],
)
def test_rule_rows(facts, code, severity):
    assert findings(**facts)[code].severity == severity


def test_child_pugh_a_or_unknown_raises_nothing():
    assert findings(child_pugh="A") == {}
    assert findings(child_pugh=None) == {}


@pytest.mark.parametrize(("age", "expected"), [(17, "hard_stop"), (18, None), (64, None)])
def test_age_under_18_is_a_hard_stop(age, expected):
    finding = findings(age_years=age).get("under_18")
    assert (finding.severity if finding else None) == expected


def test_a_missing_age_is_flagged_not_passed():
    finding = {f.code: f for f in evaluate(IntakeFacts())}["under_18"]
    assert finding.severity == "review"


def test_cssrs_high_blocks_and_escalates():
    finding = findings(cssrs_risk="high")["cssrs_high"]
    assert (finding.severity, finding.escalate) == ("hard_stop", True)
    assert "988" in finding.detail
    assert not any(f.escalate for f in findings(cssrs_risk="moderate").values())


@pytest.mark.parametrize(
    ("medication", "modality"),
    [
        ("opioid", "both"),
        ("cns_depressant", "both"),
        ("stimulant", "both"),
        ("maoi", "both"),
        ("lamotrigine", "iv"),
        ("theophylline", "iv"),
        ("thyroid_hormone", "iv"),
    ],
)
def test_medication_classes_are_review_flags(medication, modality):
    finding = findings(medications=frozenset({medication}))[medication]
    assert (finding.severity, finding.modality) == ("review", modality)


@pytest.mark.parametrize("medication", ["nasal_steroid_decongestant", "strong_cyp3a4_2b6_modifier"])
def test_spravato_timing_and_kinetics_notes_are_info(medication):
    finding = findings(medications=frozenset({medication}))[medication]
    assert (finding.severity, finding.modality) == ("info", "spravato")


@pytest.mark.parametrize(
    ("dose", "high_dose"),
    [(None, "info"), (2.0, None), (8, None), (8.5, "info"), (Decimal("20"), "info")],
)
def test_benzodiazepine_dose_above_8_mg_is_noted(dose, high_dose):
    result = findings(medications=frozenset({"benzodiazepine"}), benzodiazepine_diazepam_mg_per_day=dose)
    assert result["benzodiazepine"].severity == "review"
    finding = result.get("benzodiazepine_high_dose")
    assert (finding.severity if finding else None) == high_dose


def test_benzodiazepine_threshold_is_configurable():
    facts = IntakeFacts(
        age_years=40, medications=frozenset({"benzodiazepine"}), benzodiazepine_diazepam_mg_per_day=6
    )
    assert "benzodiazepine_high_dose" not in {f.code for f in evaluate(facts)}
    assert "benzodiazepine_high_dose" in {f.code for f in evaluate(facts, benzodiazepine_blunting_mg=5)}


def test_glaucoma_and_hyperthyroidism_concern_iv_ketamine_only():
    result = findings(medical_history={"glaucoma_or_eye_injury": "yes", "hyperthyroidism": "yes"})
    assert {result["glaucoma_or_eye_injury"].modality, result["hyperthyroidism"].modality} == {"iv"}


def test_findings_come_most_serious_first():
    result = evaluate(
        IntakeFacts(
            age_years=30,
            medical_history={"psychosis": "yes", "aneurysm": "yes"},
            medications=frozenset({"nasal_steroid_decongestant"}),
            cssrs_risk="high",
        )
    )
    assert [f.severity for f in result] == ["hard_stop", "hard_stop", "review", "info"]
    assert [f.code for f in result][:2] == ["aneurysm", "cssrs_high"]  # table order within a severity


def test_the_rule_table_is_complete_and_cited():
    codes = [rule.code for rule in DEFAULT_RULES]
    assert len(codes) == len(set(codes))
    for rule in DEFAULT_RULES:
        assert rule.source and rule.detail and rule.label
        assert rule.severity in {"hard_stop", "review", "info"}
        assert rule.modality in {"iv", "spravato", "both"}
    questions = {rule.question for rule in DEFAULT_RULES}
    without_rule = {"hypertension", "seizures", "breathing_problems"}  # captured; the reference gives no rule
    for condition in MEDICAL_HISTORY_CONDITIONS:
        assert (f"history.{condition.code}" in questions) != (condition.code in without_rule), condition.code
    for medication in MEDICATION_CLASSES:
        assert f"medication.{medication.code}" in questions, medication.code


def test_form_labels_are_plain_words():
    for item in (*MEDICAL_HISTORY_CONDITIONS, *MEDICATION_CLASSES):
        assert item.label[0].isupper()
    assert len({c.code for c in MEDICAL_HISTORY_CONDITIONS}) == len(MEDICAL_HISTORY_CONDITIONS)


def test_a_custom_rule_table_is_used():
    stricter = (
        Rule(
            code="lamotrigine_hold",
            label="Hold lamotrigine",
            question="medication.lamotrigine",
            severity="hard_stop",
            modality="iv",
            source="clinic policy",
            detail="This clinic holds lamotrigine before infusions.",
        ),
    )
    result = evaluate(IntakeFacts(age_years=40, medications=frozenset({"lamotrigine"})), rules=stricter)
    assert [(f.code, f.severity) for f in result] == [("lamotrigine_hold", "hard_stop")]
    with pytest.raises(ValueError):
        evaluate(IntakeFacts(age_years=40), rules=stricter * 2)  # duplicate codes
    with pytest.raises(ValueError):
        evaluate(IntakeFacts(age_years=40), rules=(dataclasses.replace(stricter[0], severity="urgent"),))


@pytest.mark.parametrize(
    "facts",
    [
        {"medical_history": {"broken_leg": "yes"}},
        {"medical_history": {"aneurysm": "maybe"}},
        {"medical_history": {"aneurysm": True}},
        {"medications": frozenset({"aspirin"})},
        {"age_years": -1},
        {"age_years": True},
        {"age_years": 40.5},
        {"pregnant": "y"},
        {"child_pugh": "D"},
        {"cssrs_risk": "HIGH"},
        {"medications": frozenset({"benzodiazepine"}), "benzodiazepine_diazepam_mg_per_day": -2},
    ],
)
def test_bad_facts_are_refused(facts):
    with pytest.raises(ValueError):
        evaluate(IntakeFacts(**{**ADULT, **facts}))


@given(
    st.dictionaries(
        st.sampled_from([c.code for c in MEDICAL_HISTORY_CONDITIONS]),
        st.sampled_from(["yes", "no", "unsure"]),
    ),
    st.frozensets(st.sampled_from([m.code for m in MEDICATION_CLASSES])),
    st.one_of(st.none(), st.integers(0, 100)),
)
def test_every_yes_or_unsure_with_a_rule_gives_one_finding(history, medications, age):
    result = evaluate(IntakeFacts(medical_history=history, medications=medications, age_years=age))
    by_code = {f.code: f for f in result}
    assert len(by_code) == len(result)
    ruled = {rule.question.removeprefix("history."): rule.code for rule in DEFAULT_RULES}
    for condition, answer in history.items():
        if condition in ruled:
            assert (ruled[condition] in by_code) == (answer != "no")
    assert all(by_code[code] for code in medications)
    assert [f.severity for f in result] == sorted(
        (f.severity for f in result), key=["hard_stop", "review", "info"].index
    )


# --- TRD (EU-PEARL) ----------------------------------------------------------------------------------------------


def trial(drug="sertraline", weeks=8.0, adherent=True, improvement=10.0, **extra):
    return AntidepressantTrial(
        drug=drug, weeks=weeks, adherent=adherent, improvement_pct=improvement, **extra
    )


def test_two_failed_different_antidepressants_is_trd():
    result = treatment_resistant_depression([trial("sertraline"), trial("venlafaxine")])
    assert result.is_trd is True
    assert [t.drug for t in result.failed_trials] == ["sertraline", "venlafaxine"]
    assert result.reasons


def test_one_failed_trial_is_not_trd():
    assert treatment_resistant_depression([trial()]).is_trd is False


@pytest.mark.parametrize(
    ("second", "is_trd"),
    [
        (trial("venlafaxine", weeks=4), True),  # the end of week 4 is adequate
        (trial("venlafaxine", weeks=3.9), False),  # stopped before the end of week 4: not a failure
        (trial("venlafaxine", improvement=24.9), True),
        (trial("venlafaxine", improvement=25), False),  # 25 % is not "< 25 %"
        (trial("venlafaxine", improvement=-10), True),  # got worse
        (trial("venlafaxine", adherent=False), False),
        (trial("venlafaxine", improvement=None), False),
        (trial("venlafaxine", adequate_dose=False), False),
        (trial("venlafaxine", current_episode=False), False),
        (trial("Sertraline "), False),  # the same antidepressant again counts once
    ],
)
def test_trd_adequacy_and_failure_edges(second, is_trd):
    result = treatment_resistant_depression([trial("sertraline"), second])
    assert result.is_trd is is_trd
    assert len(result.reasons) == 3


def test_trd_thresholds_are_configurable():
    trials = [
        trial("a", weeks=6, improvement=40),
        trial("b", weeks=6, improvement=40),
        trial("c", weeks=6, improvement=40),
    ]
    assert treatment_resistant_depression(trials).is_trd is False
    assert treatment_resistant_depression(trials, max_improvement_pct=50, min_failed=3).is_trd is True
    assert treatment_resistant_depression(trials, max_improvement_pct=50, min_weeks=8).is_trd is False


def test_bipolar_depression_is_excluded_from_trd():
    result = treatment_resistant_depression([trial("a"), trial("b")], bipolar_depression=True)
    assert result.is_trd is False
    assert "Bipolar" in result.reasons[-1]


def test_trd_refuses_nonsense():
    with pytest.raises(ValueError):
        treatment_resistant_depression([trial(weeks=-1)])
    with pytest.raises(ValueError):
        treatment_resistant_depression([], min_failed=0)


# --- BMI and outcome helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("height", "weight", "expected"),
    [
        (180, 81, Decimal("25.0")),
        (200, 101, Decimal("25.3")),  # 25.25 rounds half up, not to even
        (165.5, 60.2, Decimal("22.0")),
        (Decimal("172"), Decimal("95.4"), Decimal("32.2")),
    ],
)
def test_bmi(height, weight, expected):
    assert bmi(height, weight) == expected


@pytest.mark.parametrize(
    ("height", "weight"),
    [
        (0, 70),
        (-170, 70),
        (170, 0),
        (170, -5),
        (True, 70),
        ("170", 70),
        (float("nan"), 70),
        (170, float("inf")),
        (17, 70),
        (170, 900),
    ],
)
def test_bmi_refuses_impossible_values(height, weight):
    with pytest.raises(ValueError):
        bmi(height, weight)


@pytest.mark.parametrize(
    ("baseline", "current", "threshold", "expected"),
    [
        (20, 10, 0.5, True),  # exactly 50 %
        (20, 11, 0.5, False),
        (2.2, 1.1, 0.5, True),  # a float rounding error must not decide
        (30, 12, 0.5, True),
        (30, 20, 0.3, True),
        (10, 12, 0.5, False),  # worse
    ],
)
def test_is_response(baseline, current, threshold, expected):
    assert is_response(baseline, current, threshold) is expected


@pytest.mark.parametrize(
    ("baseline", "current", "threshold"),
    [(0, 0, 0.5), (-1, 0, 0.5), (10, 5, 0), (10, 5, 1.5), (True, 0, 0.5)],
)
def test_is_response_refuses_nonsense(baseline, current, threshold):
    with pytest.raises(ValueError):
        is_response(baseline, current, threshold)


@pytest.mark.parametrize(("score", "remission"), [(0, True), (4, True), (5, False), (27, False)])
def test_phq9_remission_is_under_5(score, remission):
    assert is_remission_phq9(score) is remission


@pytest.mark.parametrize("score", [-1, 28, 4.0, True])
def test_phq9_remission_refuses_non_scores(score):
    with pytest.raises(ValueError):
        is_remission_phq9(score)
