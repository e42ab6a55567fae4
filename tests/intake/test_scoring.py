"""Scoring of the screeners: every band boundary, every flag edge, strict input checks, and property tests that
compare random answer sets with a re-computation written here from the published rules (not the module's own
helpers). Plain functions: no database."""

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.scoring import (
    CssrsScore,
    OcirScore,
    Phq9Score,
    ScoringError,
    score_cssrs,
    score_gad7,
    score_instrument,
    score_ocir,
    score_pcl5,
    score_phq9,
)


def with_total(total: int, count: int, highest: int) -> list[int]:
    """Ratings summing to ``total``, filled from item 1."""
    ratings = []
    for _ in range(count):
        rating = min(highest, total)
        ratings.append(rating)
        total -= rating
    assert total == 0
    return ratings


def keyed(ratings: list[Any]) -> dict[str, Any]:
    return {f"item{number}": rating for number, rating in enumerate(ratings, start=1)}


# --- PHQ-9 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "minimal"),
        (4, "minimal"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_boundaries(total, band):
    score = score_phq9(with_total(total, 9, 3))
    assert (score.total, score.band) == (total, band)


@pytest.mark.parametrize(("item9", "flag"), [(0, False), (1, True), (2, True), (3, True)])
def test_phq9_item9_flag_whatever_the_total(item9, flag):
    score = score_phq9([0] * 8 + [item9])
    assert score.item9_flag is flag
    assert score.band == "minimal"


def test_phq9_major_depressive_syndrome_needs_five_symptoms_including_a_core_one():
    assert score_phq9([2, 0, 2, 2, 2, 2, 0, 0, 0]).major_depressive_syndrome is True  # item 1 core
    assert score_phq9([0, 3, 2, 2, 2, 2, 0, 0, 0]).major_depressive_syndrome is True  # item 2 core
    assert score_phq9([1, 1, 2, 2, 2, 2, 2, 2, 2]).major_depressive_syndrome is False  # 7 symptoms, no core
    four = score_phq9([2, 2, 2, 2, 1, 1, 1, 1, 1])
    assert (four.major_depressive_syndrome, four.other_depressive_syndrome) == (False, True)


def test_phq9_item9_counts_only_at_two_or_more_under_the_verified_rule():
    # Items 1-4 at 2 and item 9 at 1: the [V] rule sees 4 symptoms (the unverified manual nuance would see 5).
    assert score_phq9([2, 2, 2, 2, 0, 0, 0, 0, 1]).major_depressive_syndrome is False
    assert score_phq9([2, 2, 2, 2, 0, 0, 0, 0, 2]).major_depressive_syndrome is True


@pytest.mark.parametrize(
    ("ratings", "other"),
    [
        ([2, 0, 0, 0, 0, 0, 0, 0, 0], False),  # one symptom
        ([2, 2, 0, 0, 0, 0, 0, 0, 0], True),  # two, core
        ([0, 0, 2, 2, 2, 0, 0, 0, 0], False),  # three, no core
        ([3, 0, 2, 2, 0, 0, 0, 0, 0], True),  # three, core
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], False),  # five: major, not other
    ],
)
def test_phq9_other_depressive_syndrome(ratings, other):
    assert score_phq9(ratings).other_depressive_syndrome is other


@pytest.mark.parametrize(
    ("difficulty", "impaired"),
    [(None, None), ("not_difficult", False), ("somewhat", False), ("very", True), ("extremely", True)],
)
def test_phq9_difficulty_is_reported_but_not_added(difficulty, impaired):
    score = score_phq9([1] * 9, difficulty)
    assert score.total == 9
    assert score.difficulty == difficulty
    assert score.functional_impairment is impaired


def test_phq9_rejects_an_unknown_difficulty_answer():
    with pytest.raises(ScoringError) as caught:
        score_phq9([0] * 9, "Very difficult")
    assert caught.value.field == "functional"


# --- GAD-7 -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band", "evaluate"),
    [
        (0, "minimal", False),
        (4, "minimal", False),
        (5, "mild", False),
        (9, "mild", False),
        (10, "moderate", True),
        (14, "moderate", True),
        (15, "severe", True),
        (21, "severe", True),
    ],
)
def test_gad7_band_boundaries_and_evaluation_flag(total, band, evaluate):
    score = score_gad7(with_total(total, 7, 3))
    assert (score.total, score.band, score.anxiety_eval_flag) == (total, band, evaluate)


def test_gad7_difficulty():
    assert score_gad7([0] * 7, "extremely").functional_impairment is True
    assert score_gad7([0] * 7).functional_impairment is None


# --- PCL-5 -------------------------------------------------------------------------------------------------------


def test_pcl5_clusters_follow_dsm5_items():
    ratings = [1] * 5 + [2] * 2 + [3] * 7 + [4] * 6
    score = score_pcl5(ratings)
    assert (score.cluster_b, score.cluster_c, score.cluster_d, score.cluster_e) == (5, 4, 21, 24)
    assert score.total == 54
    assert score.band is None


@pytest.mark.parametrize(("total", "probable"), [(0, False), (32, False), (33, True), (80, True)])
def test_pcl5_default_cutoff_33(total, probable):
    assert score_pcl5(with_total(total, 20, 4)).probable_ptsd is probable


def test_pcl5_cutoff_is_configurable_and_recorded():
    ratings = with_total(31, 20, 4)
    assert score_pcl5(ratings).probable_ptsd is False
    score = score_pcl5(ratings, probable_cutoff=31)
    assert (score.probable_ptsd, score.probable_cutoff) == (True, 31)


@pytest.mark.parametrize("cutoff", [0, 81, True, 33.0, "33"])
def test_pcl5_rejects_a_nonsense_cutoff(cutoff):
    with pytest.raises(ScoringError):
        score_pcl5([0] * 20, probable_cutoff=cutoff)


def minimal_provisional() -> list[int]:
    """Exactly what the DSM-5 rule needs: 1 B, 1 C, 2 D and 2 E items at 'Moderately'."""
    ratings = [0] * 20
    for number in (1, 6, 8, 9, 15, 16):
        ratings[number - 1] = 2
    return ratings


def test_pcl5_provisional_rule_at_its_minimum():
    score = score_pcl5(minimal_provisional())
    assert score.provisional_ptsd is True
    assert (score.total, score.probable_ptsd) == (12, False)  # the two methods can disagree


@pytest.mark.parametrize("dropped", [1, 6, 9, 16])
def test_pcl5_provisional_rule_fails_one_short_in_any_cluster(dropped):
    ratings = minimal_provisional()
    ratings[dropped - 1] = 1  # "A little bit" does not count as endorsed
    assert score_pcl5(ratings).provisional_ptsd is False


def test_pcl5_high_total_without_the_cluster_pattern():
    ratings = [4] * 5 + [1, 1] + [4] * 13  # no C item endorsed
    score = score_pcl5(ratings)
    assert (score.probable_ptsd, score.provisional_ptsd) == (True, False)


# --- OCI-R -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "band", "ocd_flag"),
    [
        (0, "mild", False),
        (15, "mild", False),
        (16, "moderate", False),
        (20, "moderate", False),
        (21, "moderate", True),
        (27, "moderate", True),
        (28, "severe", True),
        (72, "severe", True),
    ],
)
def test_ocir_band_boundaries_and_ocd_flag(total, band, ocd_flag):
    score = score_ocir(with_total(total, 18, 4))
    assert (score.total, score.band, score.ocd_flag) == (total, band, ocd_flag)


SUBSCALE_OF_ITEM = ["hoarding", "checking", "ordering", "neutralizing", "washing", "obsessing"] * 3


@pytest.mark.parametrize("number", range(1, 19))
def test_ocir_each_item_feeds_exactly_its_subscale(number):
    ratings = [0] * 18
    ratings[number - 1] = 4
    score = score_ocir(ratings).as_dict()
    names = ["hoarding", "checking", "ordering", "neutralizing", "washing", "obsessing"]
    assert {name: score[name] for name in names} == {
        name: 4 if name == SUBSCALE_OF_ITEM[number - 1] else 0 for name in names
    }


def test_ocir_items_1_7_13_are_hoarding_not_washing():
    ratings = [0] * 18
    for number in (1, 7, 13):
        ratings[number - 1] = 4
    score = score_ocir(ratings)
    assert (score.hoarding, score.washing, score.oci_ocd) == (12, 0, 0)


@pytest.mark.parametrize(("oci_ocd", "flag"), [(11, False), (12, True)])
def test_ocir_oci_ocd_excludes_hoarding_and_flags_at_12(oci_ocd, flag):
    non_hoarding = with_total(oci_ocd, 15, 4)
    ratings = [4 if number in (1, 7, 13) else non_hoarding.pop(0) for number in range(1, 19)]
    score = score_ocir(ratings)
    assert (score.total, score.oci_ocd, score.oci_ocd_flag) == (oci_ocd + 12, oci_ocd, flag)


def test_ocir_cutoffs_are_configurable_and_recorded():
    ratings = with_total(20, 18, 4)
    score = score_ocir(ratings, ocd_cutoff=20, oci_ocd_cutoff=30, severity_cutpoints=(10, 20))
    assert (score.ocd_flag, score.oci_ocd_flag, score.band) == (True, False, "severe")
    assert (score.ocd_cutoff, score.oci_ocd_cutoff) == (20, 30)
    with pytest.raises(ScoringError):
        score_ocir(ratings, severity_cutpoints=(20, 20))


# --- C-SSRS ------------------------------------------------------------------------------------------------------

NO_IDEATION = {"q1": False, "q2": False, "q6": False}


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        (NO_IDEATION, "none"),
        ({**NO_IDEATION, "q1": True}, "low"),
        ({"q1": False, "q2": True, "q3": False, "q4": False, "q5": False, "q6": False}, "low"),
        ({"q1": True, "q2": True, "q3": True, "q4": False, "q5": False, "q6": False}, "moderate"),
        ({"q1": True, "q2": True, "q3": False, "q4": True, "q5": False, "q6": False}, "high"),
        ({"q1": True, "q2": True, "q3": False, "q4": False, "q5": True, "q6": False}, "high"),
        ({**NO_IDEATION, "q6": True, "q6_past_3_months": False}, "moderate"),
        ({**NO_IDEATION, "q6": True, "q6_past_3_months": True}, "high"),
        (
            {
                "q1": True,
                "q2": True,
                "q3": True,
                "q4": False,
                "q5": False,
                "q6": True,
                "q6_past_3_months": True,
            },
            "high",
        ),
        (
            {"q1": True, "q2": False, "q3": None, "q6": False},
            "low",
        ),  # skipped questions may be present as None
    ],
)
def test_cssrs_every_risk_path(answers, risk):
    score = score_cssrs(answers)
    assert score.risk == risk
    assert score.total is None and score.band is None


def test_cssrs_records_the_yes_answers_in_form_order():
    answers = {
        "q6_past_3_months": True,
        "q6": True,
        "q2": True,
        "q1": True,
        "q3": True,
        "q4": False,
        "q5": False,
    }
    assert score_cssrs(answers).positive == ("q1", "q2", "q3", "q6", "q6_past_3_months")


@pytest.mark.parametrize(
    ("answers", "risk"),
    [
        (NO_IDEATION, "none"),
        ({**NO_IDEATION, "q2": True, "q3": True, "q4": False, "q5": False}, "moderate"),
        ({**NO_IDEATION, "q6": True}, "high"),  # behaviour since the last visit is recent by construction
    ],
)
def test_cssrs_since_last_visit(answers, risk):
    score = score_cssrs(answers, since_last_visit=True)
    assert score.risk == risk
    assert score.as_dict()["instrument"] == "cssrs_since_last_visit"


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"q2": False, "q6": False}, "q1"),
        ({"q1": False, "q6": False}, "q2"),
        ({"q1": False, "q2": False}, "q6"),
        ({**NO_IDEATION, "q3": False}, "q3"),  # Q3-Q5 must be blank after a no to Q2
        ({**NO_IDEATION, "q5": True}, "q5"),
        ({"q1": True, "q2": True, "q3": True, "q4": True, "q6": False}, "q5"),  # required after a yes to Q2
        ({**NO_IDEATION, "q6": True}, "q6_past_3_months"),
        ({**NO_IDEATION, "q6_past_3_months": False}, "q6_past_3_months"),
        ({**NO_IDEATION, "q1": 1}, "q1"),  # 1 is not yes
        ({**NO_IDEATION, "q1": "yes"}, "q1"),
        ({**NO_IDEATION, "q7": True}, "q7"),
    ],
)
def test_cssrs_branching_and_types_are_enforced(answers, field):
    with pytest.raises(ScoringError) as caught:
        score_cssrs(answers)
    assert caught.value.field == field
    assert caught.value.message


def test_cssrs_since_last_visit_has_no_recency_question():
    with pytest.raises(ScoringError) as caught:
        score_cssrs({**NO_IDEATION, "q6": True, "q6_past_3_months": True}, since_last_visit=True)
    assert caught.value.field == "q6_past_3_months"


def test_cssrs_needs_a_mapping():
    with pytest.raises(ScoringError):
        score_cssrs([True, False])  # type: ignore[arg-type]


# --- strict input checks -----------------------------------------------------------------------------------------

SCORERS = [(score_phq9, 9, 3), (score_gad7, 7, 3), (score_pcl5, 20, 4), (score_ocir, 18, 4)]


@pytest.mark.parametrize(("scorer", "count", "highest"), SCORERS)
def test_wrong_length_is_refused(scorer, count, highest):
    for ratings in ([0] * (count - 1), [0] * (count + 1), []):
        with pytest.raises(ScoringError) as caught:
            scorer(ratings)
        assert caught.value.field == "items"


@pytest.mark.parametrize(("scorer", "count", "highest"), SCORERS)
@pytest.mark.parametrize("bad", [True, False, 1.0, "1", None, -1, "highest+1"])
def test_bad_ratings_are_refused_naming_the_item(scorer, count, highest, bad):
    value = highest + 1 if bad == "highest+1" else bad
    ratings = [0] * count
    ratings[2] = value
    with pytest.raises(ScoringError) as caught:
        scorer(ratings)
    assert caught.value.field == "item3"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("ratings", ["012345678", b"000000000", {"item1": 0}, 9])
def test_non_sequences_are_refused(ratings):
    with pytest.raises(ScoringError):
        score_phq9(ratings)  # type: ignore[arg-type]


# --- the dispatcher ----------------------------------------------------------------------------------------------


def test_dispatcher_scores_like_the_functions():
    ratings = [3, 2, 1, 0, 3, 2, 1, 0, 1]
    assert score_instrument("phq9", {**keyed(ratings), "functional": "very"}) == score_phq9(ratings, "very")
    assert score_instrument("gad7", keyed([1] * 7)) == score_gad7([1] * 7)
    assert score_instrument("pcl5", keyed([2] * 20), probable_cutoff=41) == score_pcl5(
        [2] * 20, probable_cutoff=41
    )
    assert score_instrument("ocir", keyed([1] * 18), ocd_cutoff=18) == score_ocir([1] * 18, ocd_cutoff=18)
    answers = {"q1": True, "q2": False, "q6": True, "q6_past_3_months": False}
    assert score_instrument("cssrs", answers) == score_cssrs(answers)
    assert score_instrument("cssrs_since_last_visit", {"q1": True, "q2": False, "q6": True}).risk == "high"
    assert score_instrument("phq9", keyed(ratings), version="1") == score_phq9(ratings)


@pytest.mark.parametrize(
    ("code", "answers", "field", "words"),
    [
        ("phq9", keyed([0] * 8), "item9", "missing"),
        ("phq9", {**keyed([0] * 8), "item9": None}, "item9", "missing"),
        ("phq9", keyed([0] * 8 + [4]), "item9", "0 to 3"),
        ("phq9", keyed([0] * 8 + ["2"]), "item9", "0 to 3"),
        ("phq9", keyed([0] * 8 + [True]), "item9", "0 to 3"),
        ("phq9", keyed([0] * 8 + [2.0]), "item9", "0 to 3"),
        ("phq9", {**keyed([0] * 9), "item10": 0}, "item10", "not a question"),
        ("phq9", {**keyed([0] * 9), "functional": "Very difficult"}, "functional", "one of"),
        ("gad7", keyed([0] * 7 + [0]), "item8", "not a question"),
        ("pcl5", keyed([0] * 19 + [5]), "item20", "0 to 4"),
        ("ocir", keyed([-1] + [0] * 17), "item1", "0 to 4"),
        ("cssrs", {"q1": False, "q2": False, "q3": False, "q6": False}, "q3", "left blank"),
        ("cssrs", {"q1": False, "q2": True, "q6": False}, "q3", "missing"),
        ("cssrs", {"q1": 0, "q2": False, "q6": False}, "q1", "yes or no"),
        (
            "cssrs",
            {"q1": False, "q2": False, "q6": False, "q6_past_3_months": True},
            "q6_past_3_months",
            "blank",
        ),
        ("cssrs", {"q1": False, "q2": False, "q6": True}, "q6_past_3_months", "missing"),
        (
            "cssrs_since_last_visit",
            {"q1": False, "q2": False, "q6": True, "q6_past_3_months": True},
            "q6_past_3_months",
            "not a question",
        ),
        ("madrs", {}, "instrument", "Unknown instrument"),
    ],
)
def test_dispatcher_errors_name_the_field_in_words(code, answers, field, words):
    with pytest.raises(ScoringError) as caught:
        score_instrument(code, answers)
    assert caught.value.field == field
    assert words in caught.value.message
    assert str(caught.value) == caught.value.message


def test_dispatcher_refuses_a_cutoff_the_instrument_does_not_take():
    with pytest.raises(TypeError):
        score_instrument("phq9", keyed([0] * 9), probable_cutoff=33)


def test_dispatcher_needs_a_mapping():
    with pytest.raises(ScoringError):
        score_instrument("phq9", [0] * 9)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "score",
    [
        score_phq9([1] * 9, "somewhat"),
        score_gad7([2] * 7),
        score_pcl5([3] * 20),
        score_ocir([2] * 18),
        score_cssrs({"q1": True, "q2": False, "q6": True, "q6_past_3_months": True}),
    ],
)
def test_scores_are_frozen_and_json_safe(score):
    data = score.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["instrument"] in {"phq9", "gad7", "pcl5", "ocir", "cssrs"}
    with pytest.raises(AttributeError):
        score.total = 99  # frozen


# --- property tests against an independent re-computation ---------------------------------------------------------


def ratings(count: int, highest: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, highest), min_size=count, max_size=count)


@given(ratings(9, 3), st.sampled_from([None, "not_difficult", "somewhat", "very", "extremely"]))
def test_phq9_matches_the_published_rules(items, difficulty):
    total = 0
    for rating in items:
        total += rating
    cut_points = [(20, "severe"), (15, "moderately_severe"), (10, "moderate"), (5, "mild"), (0, "minimal")]
    band = next(name for lowest, name in cut_points if total >= lowest)
    at_least_half_the_days = [rating > 1 for rating in items]
    core = at_least_half_the_days[0] or at_least_half_the_days[1]
    count = at_least_half_the_days.count(True)
    expected = Phq9Score(
        total=total,
        band=band,
        item9_flag=items[-1] != 0,
        major_depressive_syndrome=core and count > 4,
        other_depressive_syndrome=core and count in (2, 3, 4),
        difficulty=difficulty,
        functional_impairment=None if difficulty is None else difficulty.startswith(("very", "extremely")),
    )
    assert score_phq9(items, difficulty) == expected
    assert score_instrument("phq9", {**keyed(items), "functional": difficulty}) == expected


@given(ratings(7, 3))
def test_gad7_matches_the_published_rules(items):
    total = sum(items)
    band = ["minimal", "mild", "moderate", "severe"][min(total // 5, 3)]
    score = score_gad7(items)
    assert (score.total, score.band, score.anxiety_eval_flag) == (total, band, total > 9)
    assert score_instrument("gad7", keyed(items)) == score


@given(ratings(20, 4), st.integers(1, 80))
def test_pcl5_matches_the_published_rules(items, cutoff):
    b, c, d, e = items[0:5], items[5:7], items[7:14], items[14:20]

    def endorsed(cluster):
        return len([rating for rating in cluster if rating in (2, 3, 4)])

    score = score_pcl5(items, probable_cutoff=cutoff)
    assert (score.cluster_b, score.cluster_c, score.cluster_d, score.cluster_e) == (
        sum(b),
        sum(c),
        sum(d),
        sum(e),
    )
    assert score.total == sum(b) + sum(c) + sum(d) + sum(e)
    assert score.provisional_ptsd == (
        endorsed(b) >= 1 and endorsed(c) >= 1 and endorsed(d) >= 2 and endorsed(e) >= 2
    )
    assert score.probable_ptsd == (sum(items) >= cutoff)
    assert score_instrument("pcl5", keyed(items), probable_cutoff=cutoff) == score


@given(ratings(18, 4))
def test_ocir_matches_the_published_rules(items):
    names = ["hoarding", "checking", "ordering", "neutralizing", "washing", "obsessing"]
    subscales = {name: sum(items[offset::6]) for offset, name in enumerate(names)}
    total = sum(items)
    band = "mild" if total <= 15 else "moderate" if total <= 27 else "severe"
    expected = OcirScore(
        total=total,
        band=band,
        **subscales,
        oci_ocd=total - (items[0] + items[6] + items[12]),
        ocd_flag=total >= 21,
        oci_ocd_flag=total - (items[0] + items[6] + items[12]) >= 12,
        ocd_cutoff=21,
        oci_ocd_cutoff=12,
    )
    assert score_ocir(items) == expected
    assert score_instrument("ocir", keyed(items)) == expected


@st.composite
def cssrs_forms(draw, since_last_visit: bool):
    """Answer sets that follow the screener's branching; skipped questions are absent or None."""
    answers = {"q1": draw(st.booleans()), "q2": draw(st.booleans()), "q6": draw(st.booleans())}
    for key in ("q3", "q4", "q5"):
        if answers["q2"]:
            answers[key] = draw(st.booleans())
        elif draw(st.booleans()):
            answers[key] = None
    if not since_last_visit and answers["q6"]:
        answers["q6_past_3_months"] = draw(st.booleans())
    return answers


# Columbia's colour-coded screener: each yes carries a colour and the worst colour wins.
COLOUR_RANK = {"none": 0, "low": 1, "moderate": 2, "high": 3}


def colour_of_yes(key: str, answers: dict, since_last_visit: bool) -> str:
    if key in ("q1", "q2"):
        return "low"  # yellow
    if key == "q3":
        return "moderate"  # orange
    if key in ("q4", "q5"):
        return "high"  # red
    if key == "q6":
        recent = since_last_visit or answers.get("q6_past_3_months") is True
        return "high" if recent else "moderate"
    return "none"  # the follow-up itself carries no colour; it recolours Q6


@given(st.data(), st.booleans())
def test_cssrs_matches_the_colour_coded_screener(data, since_last_visit):
    answers = data.draw(cssrs_forms(since_last_visit))
    colours = [
        colour_of_yes(key, answers, since_last_visit) for key, value in answers.items() if value is True
    ]
    expected = max(colours, key=COLOUR_RANK.__getitem__, default="none")
    score = score_cssrs(answers, since_last_visit=since_last_visit)
    assert score.risk == expected
    code = "cssrs_since_last_visit" if since_last_visit else "cssrs"
    assert score_instrument(code, answers) == score
    assert isinstance(score, CssrsScore)


@given(st.sampled_from(SCORERS), st.data())
def test_any_out_of_range_rating_is_refused(scorer_spec, data):
    scorer, count, highest = scorer_spec
    items = data.draw(ratings(count, highest))
    position = data.draw(st.integers(0, count - 1))
    items[position] = data.draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=highest + 1)))
    with pytest.raises(ScoringError) as caught:
        scorer(items)
    assert caught.value.field == f"item{position + 1}"
