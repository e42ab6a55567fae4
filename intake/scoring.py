"""Scores for the self-report screeners, exactly as their owners publish them (clinical-reference §1).

Pure functions over plain data: no Django, no database, no clock. Each ``score_*`` function takes the ratings in
item order and checks them strictly (a bool is not a rating; 4 is not a PHQ-9 answer). ``score_instrument`` takes
answers keyed by item key, checks them against the instrument's data file (missing answers, unknown keys,
branching) and then calls the same functions. Every score is a frozen dataclass whose ``as_dict()`` is JSON-safe,
ready for a JSONField. Cut-offs the reference marks [S] or leaves to clinic policy are keyword arguments with the
published value as default, and each score records the cut-off it used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from django.utils.translation import gettext_noop

from intake.instruments import InstrumentDefinition, UnknownInstrumentError, load_instrument, same_value

Phq9Band = Literal["minimal", "mild", "moderate", "moderately_severe", "severe"]
Gad7Band = Literal["minimal", "mild", "moderate", "severe"]
OcirBand = Literal["mild", "moderate", "severe"]
CssrsRisk = Literal["none", "low", "moderate", "high"]
# The risk levels in words, wherever they are shown (the clinician's pages, the patient's download); marked for
# translation here, translated where a page shows them.
CSSRS_RISK_LABELS: dict[str, str] = {
    "high": gettext_noop("High risk"),
    "moderate": gettext_noop("Moderate risk"),
    "low": gettext_noop("Low risk"),
    "none": gettext_noop("No risk identified"),
}
Difficulty = Literal["not_difficult", "somewhat", "very", "extremely"]


def _bands(code: str) -> tuple[tuple[int, Any], ...]:
    """Upper bound and code of each band, lowest first: read from the instrument's data file (scoring.bands),
    the one place the published bands are written."""
    return tuple((band.max, band.code) for band in load_instrument(code).bands)


# Kroenke 2001; Spitzer 2006 [V].
PHQ9_BANDS: tuple[tuple[int, Phq9Band], ...] = _bands("phq9")
GAD7_BANDS: tuple[tuple[int, Gad7Band], ...] = _bands("gad7")
GAD7_EVALUATION_CUTOFF = 10  # ">= 10: further evaluation" (Spitzer 2006) [V]

DIFFICULTY_ANSWERS: tuple[Difficulty, ...] = ("not_difficult", "somewhat", "very", "extremely")
# "Very" or "Extremely" difficult suggests functional impairment (descriptive only) [V].
IMPAIRED_DIFFICULTY = frozenset({"very", "extremely"})

# DSM-5 clusters by item number (PCL-5 scoring, National Center for PTSD) [V].
PCL5_CLUSTERS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "cluster_b": (1, 2, 3, 4, 5),
        "cluster_c": (6, 7),
        "cluster_d": (8, 9, 10, 11, 12, 13, 14),
        "cluster_e": (15, 16, 17, 18, 19, 20),
    }
)
PCL5_ENDORSED_FROM = 2  # "Moderately" or higher counts as a symptom endorsed [V]
# DSM-5 rule: at least 1 B, 1 C, 2 D and 2 E symptoms endorsed [V].
PCL5_PROVISIONAL_MINIMUM: Mapping[str, int] = MappingProxyType(
    {"cluster_b": 1, "cluster_c": 1, "cluster_d": 2, "cluster_e": 2}
)
PCL5_PROBABLE_CUTOFF = 33  # the VA gives 31-33 as population-dependent; clinic default 33

# OCI-R subscales by item number (Foa 2002): item i belongs to subscale (i - 1) % 6 in this order. Some public
# screeners publish "Washing 1, 7, 13", which is wrong: 1, 7 and 13 are the hoarding items.
OCIR_SUBSCALES: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {
        "hoarding": (1, 7, 13),
        "checking": (2, 8, 14),
        "ordering": (3, 9, 15),
        "neutralizing": (4, 10, 16),
        "washing": (5, 11, 17),
        "obsessing": (6, 12, 18),
    }
)
OCIR_OCD_CUTOFF = 21  # total >= 21 suggests OCD (Foa 2002) [V]
OCIR_OCI_OCD_CUTOFF = 12  # 15 non-hoarding items >= 12 (Wootton 2015) [S]
# Where "moderate" and "severe" begin: 0-15 mild, 16-27 moderate, 28-72 severe (Abramovitch 2020) [S], from the data file.
OCIR_SEVERITY_CUTPOINTS: tuple[int, int] = tuple(band.min for band in load_instrument("ocir").bands[1:])  # type: ignore[assignment]

CSSRS_KEYS = ("q1", "q2", "q3", "q4", "q5", "q6")
CSSRS_RECENCY_KEY = "q6_past_3_months"
_CSSRS_AFTER_Q2 = ("q3", "q4", "q5")


class ScoringError(ValueError):
    """An answer set that cannot be scored. ``field`` names the item; the message is for a person to read."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message

    def __reduce__(self) -> tuple[type[ScoringError], tuple[str, str]]:
        return (type(self), (self.field, self.message))  # survives pickling (e.g. a Celery result)


class _Score:
    instrument: ClassVar[str]

    @property
    def code(self) -> str:
        """The instrument code the answers were given on (what ``score_instrument`` was called with)."""
        return self.instrument

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)  # type: ignore[call-overload]  # every subclass is a dataclass
        return {
            "instrument": self.code,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in data.items()},
        }


@dataclass(frozen=True)
class Phq9Score(_Score):
    instrument: ClassVar[str] = "phq9"
    total: int
    band: Phq9Band
    item9_flag: bool
    major_depressive_syndrome: bool
    other_depressive_syndrome: bool
    difficulty: Difficulty | None
    functional_impairment: bool | None


@dataclass(frozen=True)
class Gad7Score(_Score):
    instrument: ClassVar[str] = "gad7"
    total: int
    band: Gad7Band
    anxiety_eval_flag: bool
    difficulty: Difficulty | None
    functional_impairment: bool | None


@dataclass(frozen=True)
class Pcl5Score(_Score):
    instrument: ClassVar[str] = "pcl5"
    total: int
    cluster_b: int
    cluster_c: int
    cluster_d: int
    cluster_e: int
    provisional_ptsd: bool
    probable_ptsd: bool
    probable_cutoff: int
    band: None = None  # the PCL-5 has no empirically established severity bands [V]


@dataclass(frozen=True)
class OcirScore(_Score):
    instrument: ClassVar[str] = "ocir"
    total: int
    band: OcirBand
    hoarding: int
    checking: int
    ordering: int
    neutralizing: int
    washing: int
    obsessing: int
    oci_ocd: int
    ocd_flag: bool
    oci_ocd_flag: bool
    ocd_cutoff: int
    oci_ocd_cutoff: int


@dataclass(frozen=True)
class CssrsScore(_Score):
    instrument: ClassVar[str] = "cssrs"
    risk: CssrsRisk
    positive: tuple[str, ...]  # keys answered yes, in form order
    since_last_visit: bool
    total: None = None  # the C-SSRS has no total score; risk comes from which items are "yes" [V]
    band: None = None

    @property
    def code(self) -> str:
        return "cssrs_since_last_visit" if self.since_last_visit else "cssrs"


Score = Phq9Score | Gad7Score | Pcl5Score | OcirScore | CssrsScore


def score_phq9(items: Sequence[int], functional: str | None = None) -> Phq9Score:
    """PHQ-9 from its nine ratings (0-3) and, optionally, the difficulty answer (not part of the total)."""
    ratings = _ratings(items, count=9, highest=3, title="PHQ-9")
    total = sum(ratings)
    difficulty = _difficulty(functional)
    # PHQ instruction manual: a symptom counts when rated "More than half the days" or more, and one of them must
    # be item 1 (anhedonia) or item 2 (depressed mood). The [V] rule counts item 9 like the others (>= 2); the
    # manual nuance that item 9 counts "if present at all" is unverified [U] and deliberately not applied.
    symptoms = sum(1 for rating in ratings if rating >= 2)
    core = ratings[0] >= 2 or ratings[1] >= 2
    return Phq9Score(
        total=total,
        band=_band(total, PHQ9_BANDS),
        item9_flag=ratings[8] >= 1,  # any thought of death or self-harm, whatever the total [V]
        major_depressive_syndrome=core and symptoms >= 5,
        # "Other depressive syndrome" (2-4 symptoms including a core one) is [U]: the reference could not verify it.
        other_depressive_syndrome=core and 2 <= symptoms <= 4,
        difficulty=difficulty,
        functional_impairment=None if difficulty is None else difficulty in IMPAIRED_DIFFICULTY,
    )


def score_gad7(items: Sequence[int], functional: str | None = None) -> Gad7Score:
    """GAD-7 from its seven ratings (0-3) and, optionally, the difficulty answer (not part of the total)."""
    ratings = _ratings(items, count=7, highest=3, title="GAD-7")
    total = sum(ratings)
    difficulty = _difficulty(functional)
    return Gad7Score(
        total=total,
        band=_band(total, GAD7_BANDS),
        anxiety_eval_flag=total >= GAD7_EVALUATION_CUTOFF,
        difficulty=difficulty,
        functional_impairment=None if difficulty is None else difficulty in IMPAIRED_DIFFICULTY,
    )


def score_pcl5(items: Sequence[int], *, probable_cutoff: int = PCL5_PROBABLE_CUTOFF) -> Pcl5Score:
    """PCL-5 from its twenty ratings (0-4): total, DSM-5 cluster sums, the provisional rule and the cut-off."""
    _cutoff(probable_cutoff, "probable_cutoff", lowest=1, highest=80)
    ratings = _ratings(items, count=20, highest=4, title="PCL-5")
    sums: dict[str, Any] = {
        name: sum(ratings[n - 1] for n in numbers) for name, numbers in PCL5_CLUSTERS.items()
    }
    endorsed = {
        name: sum(1 for n in numbers if ratings[n - 1] >= PCL5_ENDORSED_FROM)
        for name, numbers in PCL5_CLUSTERS.items()
    }
    total = sum(ratings)
    return Pcl5Score(
        total=total,
        **sums,
        provisional_ptsd=all(endorsed[name] >= minimum for name, minimum in PCL5_PROVISIONAL_MINIMUM.items()),
        probable_ptsd=total >= probable_cutoff,
        probable_cutoff=probable_cutoff,
    )


def score_ocir(
    items: Sequence[int],
    *,
    ocd_cutoff: int = OCIR_OCD_CUTOFF,
    oci_ocd_cutoff: int = OCIR_OCI_OCD_CUTOFF,
    severity_cutpoints: tuple[int, int] = OCIR_SEVERITY_CUTPOINTS,
) -> OcirScore:
    """OCI-R from its eighteen ratings (0-4): total, the six subscales, OCI-OCD (15 non-hoarding items), flags."""
    _cutoff(ocd_cutoff, "ocd_cutoff", lowest=1, highest=72)
    _cutoff(oci_ocd_cutoff, "oci_ocd_cutoff", lowest=1, highest=60)
    moderate_from, severe_from = severity_cutpoints
    _cutoff(moderate_from, "severity_cutpoints", lowest=1, highest=72)
    _cutoff(severe_from, "severity_cutpoints", lowest=moderate_from + 1, highest=72)
    ratings = _ratings(items, count=18, highest=4, title="OCI-R")
    subscales = {name: sum(ratings[n - 1] for n in numbers) for name, numbers in OCIR_SUBSCALES.items()}
    total = sum(ratings)
    oci_ocd = total - subscales["hoarding"]
    band: OcirBand = "mild" if total < moderate_from else "moderate" if total < severe_from else "severe"
    return OcirScore(
        total=total,
        band=band,
        **subscales,
        oci_ocd=oci_ocd,
        ocd_flag=total >= ocd_cutoff,
        oci_ocd_flag=oci_ocd >= oci_ocd_cutoff,
        ocd_cutoff=ocd_cutoff,
        oci_ocd_cutoff=oci_ocd_cutoff,
    )


def score_cssrs(answers: Mapping[str, bool | None], *, since_last_visit: bool = False) -> CssrsScore:
    """C-SSRS screener risk from yes/no answers keyed ``q1``..``q6`` (+ ``q6_past_3_months`` on the recent form).

    Branching (Columbia): Q1, Q2 and Q6 are always asked; Q3-Q5 only after a yes to Q2, and must be blank after a
    no; on the recent form a yes to Q6 is followed by "Was this within the past three months?".
    """
    if not isinstance(answers, Mapping):
        raise ScoringError("answers", "C-SSRS answers must be a mapping of question key to yes/no.")
    allowed = CSSRS_KEYS if since_last_visit else (*CSSRS_KEYS, CSSRS_RECENCY_KEY)
    for key in answers:
        if key not in allowed:
            form = "since-last-visit screener" if since_last_visit else "screener"
            raise ScoringError(str(key), f"{key!r} is not a question on the C-SSRS {form}.")
    for key, value in answers.items():
        if value is not None and not isinstance(value, bool):
            raise ScoringError(key, f"{_cssrs_label(key)} must be answered yes or no, not {value!r}.")

    def asked(key: str) -> bool:
        return answers.get(key) is not None

    for key in ("q1", "q2", "q6"):
        if not asked(key):
            raise ScoringError(key, f"{_cssrs_label(key)} is missing an answer; it is always asked.")
    for key in _CSSRS_AFTER_Q2:
        if answers["q2"] and not asked(key):
            raise ScoringError(
                key, f"{_cssrs_label(key)} is missing an answer; it is asked after a yes to question 2."
            )
        if not answers["q2"] and asked(key):
            raise ScoringError(
                key, f"{_cssrs_label(key)} must be left blank because question 2 was answered no."
            )
    if not since_last_visit:
        if answers["q6"] and not asked(CSSRS_RECENCY_KEY):
            raise ScoringError(
                CSSRS_RECENCY_KEY,
                "Question 6 was answered yes, so 'Was this within the past three months?' is needed.",
            )
        if not answers["q6"] and asked(CSSRS_RECENCY_KEY):
            raise ScoringError(
                CSSRS_RECENCY_KEY,
                "'Was this within the past three months?' must be left blank when question 6 is no.",
            )

    yes = {key for key, value in answers.items() if value is True}
    # Behaviour reported on the since-last-visit form happened since the last contact, which in a ketamine course
    # is days to weeks ago: recent by construction, so there is no recency question to downgrade it.
    recent_behaviour = "q6" in yes and (since_last_visit or CSSRS_RECENCY_KEY in yes)
    # Columbia triage: "the most worrisome answers are a recent (past month) yes to items 4 or 5 and/or any recent
    # (3 months) behavior" -> high (red); Q3 or older behaviour -> moderate (orange); Q1/Q2 only -> low (yellow).
    risk: CssrsRisk
    if yes & {"q4", "q5"} or recent_behaviour:
        risk = "high"
    elif "q3" in yes or "q6" in yes:
        risk = "moderate"
    elif yes & {"q1", "q2"}:
        risk = "low"
    else:
        risk = "none"
    return CssrsScore(
        risk=risk, positive=tuple(key for key in allowed if key in yes), since_last_visit=since_last_visit
    )


def validate_answers(definition: InstrumentDefinition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``answers`` against the data file; return every item key -> answer (None where skipped or blank).

    Raises ScoringError for an unknown key, a missing required answer, an answer where the branching skips the
    question, a wrong type (a bool for a rating, a number for a yes/no) or a value that is not an option.
    """
    if not isinstance(answers, Mapping):
        raise ScoringError(
            "answers", f"{definition.short_title} answers must be a mapping of item key to answer."
        )
    keys = {item.key for item in definition.items}
    for key in answers:
        if key not in keys:
            raise ScoringError(str(key), f"{key!r} is not a question on the {definition.short_title}.")
    cleaned: dict[str, Any] = {}
    for item in definition.items:
        value = answers.get(item.key)
        if item.shown_if is not None and not same_value(
            cleaned.get(item.shown_if.item), item.shown_if.equals
        ):
            if value is not None:
                parent = definition.item(item.shown_if.item)
                given = cleaned.get(parent.key)
                answered = (
                    "not answered" if given is None else f"answered {parent.option_label(given).lower()!r}"
                )
                raise ScoringError(
                    item.key,
                    f"{item.label} must be left blank because {parent.label.lower()} was {answered}.",
                )
            cleaned[item.key] = None
            continue
        if value is None:
            if item.required:
                raise ScoringError(item.key, f"{item.label} is missing an answer.")
            cleaned[item.key] = None
            continue
        if not any(same_value(value, allowed) for allowed in item.values):
            raise ScoringError(item.key, f"{item.label} must be {_choices(item.values)}; got {value!r}.")
        cleaned[item.key] = value
    return cleaned


def score_instrument(
    code: str, answers: Mapping[str, Any], *, version: str | None = None, **cutoffs: Any
) -> Score:
    """Score answers keyed by item key (``item1``.., ``functional``; C-SSRS ``q1``.., ``q6_past_3_months``).

    ``cutoffs`` pass through to the instrument's function: ``probable_cutoff`` (PCL-5); ``ocd_cutoff``,
    ``oci_ocd_cutoff``, ``severity_cutpoints`` (OCI-R). A cut-off the instrument does not take is a TypeError.
    """
    try:
        definition = load_instrument(code, version)
    except UnknownInstrumentError as exc:
        raise ScoringError("instrument", str(exc)) from exc
    cleaned = validate_answers(definition, answers)
    if code in ("cssrs", "cssrs_since_last_visit"):
        return score_cssrs(cleaned, since_last_visit=code == "cssrs_since_last_visit", **cutoffs)
    ratings = [cleaned[item.key] for item in definition.scored_items]
    if code == "phq9":
        return score_phq9(ratings, cleaned.get("functional"), **cutoffs)
    if code == "gad7":
        return score_gad7(ratings, cleaned.get("functional"), **cutoffs)
    if code == "pcl5":
        return score_pcl5(ratings, **cutoffs)
    if code == "ocir":
        return score_ocir(ratings, **cutoffs)
    raise ScoringError("instrument", f"No scoring rule for {code!r}.")  # a data file without a rule


def _ratings(items: Sequence[int], *, count: int, highest: int, title: str) -> tuple[int, ...]:
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ScoringError("items", f"The {title} needs a list of {count} ratings.")
    if len(items) != count:
        raise ScoringError("items", f"The {title} has {count} items; got {len(items)} answers.")
    for number, rating in enumerate(items, start=1):
        if isinstance(rating, bool) or not isinstance(rating, int):
            raise ScoringError(
                f"item{number}", f"Item {number} must be a whole number from 0 to {highest}, not {rating!r}."
            )
        if not 0 <= rating <= highest:
            raise ScoringError(f"item{number}", f"Item {number} must be from 0 to {highest}; got {rating}.")
    return tuple(items)


def _difficulty(value: str | None) -> Difficulty | None:
    if value is None:
        return None
    if value not in DIFFICULTY_ANSWERS:
        raise ScoringError(
            "functional",
            f"The difficulty question must be one of {', '.join(DIFFICULTY_ANSWERS)}; got {value!r}.",
        )
    return value  # type: ignore[return-value]  # checked just above


def _band(total: int, bands: tuple[tuple[int, Any], ...]) -> Any:
    for upper, name in bands:
        if total <= upper:
            return name
    raise AssertionError(f"total {total} beyond the last band")  # unreachable: ratings are range-checked


def _cutoff(value: int, name: str, *, lowest: int, highest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise ScoringError(name, f"{name} must be a whole number from {lowest} to {highest}; got {value!r}.")


def _cssrs_label(key: str) -> str:
    return (
        "The past-three-months follow-up" if key == CSSRS_RECENCY_KEY else f"Question {key.removeprefix('q')}"
    )


def _choices(values: tuple[Any, ...]) -> str:
    if all(type(value) is bool for value in values):
        return "yes or no"
    if all(type(value) is int for value in values):
        return f"a whole number from {min(values)} to {max(values)}"
    return "one of " + ", ".join(repr(value) for value in values)
