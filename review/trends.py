"""Measurement-based care: score series per instrument, response and remission, and a server-rendered SVG chart.

Pure: plain data in, plain data and SVG markup out. No Django, no database, no clock; the caller reads the
definitions from settings and passes them in.

Definitions (clinical reference 4.3):
- response: (baseline - current) / baseline >= the response drop, 0.50 by default [V]. Exact arithmetic, so a
  drop from 20 to 10 is a response and never misses by a float rounding error.
- remission: PHQ-9 total below 5 [V]; MADRS 12 or less (esketamine phase-3 programme; some ketamine trials use 10
  or less, so the definition used is shown next to every flag) [V]. Other scales have no remission flag.
- baseline: the last score before the first treatment session (the re-screen just before it, or the intake).
  When no score predates treatment, or the treatment count is unknown, the first score.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from django.utils.translation import gettext, ngettext

from clinic.local_time import format_day


@dataclass(frozen=True)
class Observation:
    """One total on one scale: a self-report questionnaire or a clinician's rating."""

    when: datetime  # aware, already in the location's zone (orders the series and labels the chart)
    total: int
    treatments_before: int | None = None  # treatment sessions started before this score; None when unknown
    source: str = ""  # "Intake", "Re-screen", "Rated by Dr Okafor"
    band: str = ""  # the severity band, in words


@dataclass(frozen=True)
class OutcomeDefinition:
    response_drop: Fraction = Fraction(1, 2)
    remission_below: int | None = None  # remission when total < this (PHQ-9: 5)
    remission_at_most: int | None = None  # remission when total <= this (MADRS: 12)

    def __post_init__(self) -> None:
        drop = (
            Fraction(str(self.response_drop)) if isinstance(self.response_drop, float) else self.response_drop
        )
        if not 0 < drop <= 1:
            raise ValueError("The response drop is a fraction of the baseline, above 0 and at most 1.")
        object.__setattr__(self, "response_drop", Fraction(drop))
        if self.remission_below is not None and self.remission_at_most is not None:
            raise ValueError("Define remission as 'below' or 'at most', not both.")

    def is_remission(self, total: int) -> bool | None:
        if self.remission_below is not None:
            return total < self.remission_below
        if self.remission_at_most is not None:
            return total <= self.remission_at_most
        return None

    @property
    def remission_threshold(self) -> int | None:
        """The highest total that counts as remission."""
        if self.remission_below is not None:
            return self.remission_below - 1
        return self.remission_at_most

    @property
    def response_text(self) -> str:
        return gettext("Response: at least %(drop)s below the baseline score.") % {
            "drop": percent_text(self.response_drop)
        }

    @property
    def remission_text(self) -> str:
        if self.remission_below is not None:
            return gettext("Remission: a total below %(total)s.") % {"total": self.remission_below}
        if self.remission_at_most is not None:
            return gettext("Remission: a total of %(total)s or less.") % {"total": self.remission_at_most}
        return gettext("No remission definition for this scale.")


@dataclass(frozen=True)
class Scale:
    code: str
    title: str
    maximum: int
    # Lower bound of each severity band above the first, with its label: gridlines on the chart.
    cutpoints: tuple[tuple[int, str], ...] = ()
    clinician_rated: bool = False


@dataclass(frozen=True)
class TrendPoint:
    observation: Observation
    is_baseline: bool = False
    drop: Fraction | None = (
        None  # (baseline - total) / baseline; positive is better; None before the baseline
    )
    response: bool | None = (
        None  # None: not applicable (the baseline itself, earlier points, a baseline of 0)
    )
    remission: bool | None = None  # None: the scale has no remission definition

    @property
    def drop_percent(self) -> str:
        return "" if self.drop is None else signed_percent_text(self.drop)


@dataclass(frozen=True)
class Trend:
    scale: Scale
    definition: OutcomeDefinition
    points: tuple[TrendPoint, ...] = field(default_factory=tuple)

    @property
    def baseline(self) -> TrendPoint | None:
        return next((point for point in self.points if point.is_baseline), None)

    @property
    def latest(self) -> TrendPoint | None:
        return self.points[-1] if self.points else None

    @property
    def first_response(self) -> TrendPoint | None:
        return next((point for point in self.points if point.response), None)

    @property
    def first_remission(self) -> TrendPoint | None:
        baseline_seen = False
        for point in self.points:
            baseline_seen = baseline_seen or point.is_baseline
            if baseline_seen and not point.is_baseline and point.remission:
                return point
        return None

    @property
    def response_threshold(self) -> Fraction | None:
        """The highest total that is a response: baseline x (1 - drop)."""
        baseline = self.baseline
        if baseline is None or baseline.observation.total == 0:
            return None
        return baseline.observation.total * (1 - self.definition.response_drop)


def percent_drop(baseline: int, current: int) -> Fraction | None:
    """(baseline - current) / baseline, exactly; None for a baseline of 0, which leaves no room to improve."""
    for name, value in (("baseline", baseline), ("current", current)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole-number score of 0 or more; got {value!r}.")
    if baseline == 0:
        return None
    return Fraction(baseline - current, baseline)


def baseline_position(observations: Sequence[Observation]) -> int | None:
    """Index of the baseline in ``observations`` (already in time order): the last score before treatment 1."""
    if not observations:
        return None
    before_treatment = [i for i, obs in enumerate(observations) if obs.treatments_before == 0]
    return before_treatment[-1] if before_treatment else 0


def build_trend(scale: Scale, observations: Sequence[Observation], definition: OutcomeDefinition) -> Trend:
    """The series in time order, each point with its drop from baseline and its response and remission flags."""
    for obs in observations:
        if not 0 <= obs.total <= scale.maximum:
            raise ValueError(f"A {scale.title} total is 0 to {scale.maximum}; got {obs.total}.")
    ordered = sorted(observations, key=lambda obs: obs.when)
    base = baseline_position(ordered)
    points = []
    for index, obs in enumerate(ordered):
        if base is None or index <= base:  # before treatment: neither response nor remission applies
            points.append(TrendPoint(obs, is_baseline=index == base))
            continue
        remission = definition.is_remission(obs.total)
        drop = percent_drop(ordered[base].total, obs.total)
        response = None if drop is None else drop >= definition.response_drop
        points.append(TrendPoint(obs, drop=drop, response=response, remission=remission))
    return Trend(scale=scale, definition=definition, points=tuple(points))


def status_words(point: TrendPoint) -> str:
    """What a point means, in words (the chart's shapes and the table say the same)."""
    if point.is_baseline:
        words = ["Baseline"]
    else:
        words = []
        if point.response:
            words.append("Response")
    if point.remission and not point.is_baseline:
        words.append("Remission")
    return ", ".join(words)


# --- The chart ----------------------------------------------------------------------------------------------------


def chart_description(trend: Trend) -> str:
    points = trend.points
    if not points:
        return gettext("No %(scale)s scores yet.") % {"scale": trend.scale.title}
    first, last = points[0].observation, points[-1].observation
    text = ngettext(
        "%(count)s %(scale)s score from %(first_day)s (%(first_total)s) to %(last_day)s (%(last_total)s), out of "
        "%(maximum)s.",
        "%(count)s %(scale)s scores from %(first_day)s (%(first_total)s) to %(last_day)s (%(last_total)s), out of "
        "%(maximum)s.",
        len(points),
    ) % {
        "count": len(points),
        "scale": trend.scale.title,
        "first_day": format_day(first.when),
        "first_total": first.total,
        "last_day": format_day(last.when),
        "last_total": last.total,
        "maximum": trend.scale.maximum,
    }
    if trend.baseline is not None:
        text += " " + gettext("Baseline %(total)s on %(day)s.") % {
            "total": trend.baseline.observation.total,
            "day": format_day(trend.baseline.observation.when),
        }
    if trend.first_response is not None:
        text += " " + gettext("First response on %(day)s.") % {
            "day": format_day(trend.first_response.observation.when)
        }
    if trend.first_remission is not None:
        text += " " + gettext("First remission on %(day)s.") % {
            "day": format_day(trend.first_remission.observation.when)
        }
    return text + " " + gettext("Every score is in the table next to the chart.")


def number_text(value: Fraction) -> str:
    return str(int(value)) if value.denominator == 1 else f"{float(value):.1f}"


def percent_text(value: Fraction) -> str:
    return f"{number_text(value * 100)} %"


def signed_percent_text(value: Fraction) -> str:
    """A drop as a change: a 40 % drop reads "−40 %", a rise "+25 %"."""
    change = -value * 100
    whole = math.floor(
        abs(change) + Fraction(1, 2)
    )  # shown to the whole percent, half up; flags use exact values
    sign = "−" if change < 0 else "+" if change > 0 else "±"
    return f"{sign}{whole} %"
