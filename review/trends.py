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
from html import escape


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
        return f"Response: at least {_percent(self.response_drop)} below the baseline score."

    @property
    def remission_text(self) -> str:
        if self.remission_below is not None:
            return f"Remission: a total below {self.remission_below}."
        if self.remission_at_most is not None:
            return f"Remission: a total of {self.remission_at_most} or less."
        return "No remission definition for this scale."


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
        return "" if self.drop is None else _signed_percent(self.drop)


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

_INK = "#1f2a2e"
_MUTED = "#55626a"
_GRID = "#c9c2b4"
_LINE = "#2f6f6a"
_RESPONSE = "#8a4b00"
_REMISSION = "#1d6b3a"
# A paper-coloured outline behind labels, so a label crossing a line or another label stays readable.
_HALO = ' stroke="#f7f4ee" stroke-width="3" paint-order="stroke"'


def trend_chart_svg(trend: Trend, *, chart_id: str, width: int = 480, height: int = 300) -> str:
    """An inline SVG line chart of one trend: scores evenly spaced in time order and labelled with the treatment
    count, severity cut-points, the response and remission thresholds, and a marker per score whose shape (not
    only its colour) says baseline, response or remission. A text legend is drawn in; the data table beside the
    chart is the accessible equivalent and the SVG says so in its description."""
    ident = escape(chart_id, quote=True)
    scale = trend.scale
    left, right, top, bottom = 44, 20, 16, 86
    plot_w, plot_h = width - left - right, height - top - bottom
    points = trend.points

    def y(value: float) -> float:
        return top + plot_h - (float(value) / scale.maximum) * plot_h

    inset = 22  # keeps the first and last labels inside the chart

    def x(index: int) -> float:
        if len(points) == 1:
            return left + plot_w / 2
        return left + inset + index * (plot_w - 2 * inset) / (len(points) - 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" focusable="false" class="trend-chart w-100 h-auto" '
        f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="13">',
        f'<title id="{ident}-title">{escape(scale.title)} over time</title>',
        f'<desc id="{ident}-desc">{escape(chart_description(trend))}</desc>',
    ]
    # Axis and severity cut-points.
    ticks = sorted({0, scale.maximum, *(value for value, _ in scale.cutpoints)})
    for value in ticks:
        dashed = "" if value in (0, scale.maximum) else ' stroke-dasharray="2 3"'
        parts.append(
            f'<line x1="{left}" y1="{y(value):.1f}" x2="{left + plot_w}" y2="{y(value):.1f}" stroke="{_GRID}" '
            f'stroke-width="1"{dashed}/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y(value) + 4:.1f}" text-anchor="end" fill="{_MUTED}">{value}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="{_MUTED}" stroke-width="1"/>'
    )
    # Thresholds, each named in text beside its line.
    # Remission is labelled at the left and response at the right; when the two lines are close, the remission
    # label goes under its line so the words never overlap.
    remission = trend.definition.remission_threshold
    response = trend.response_threshold
    if remission is not None:
        below = response is not None and abs(y(remission) - y(response)) < 14 and y(remission) >= y(response)
        parts.append(
            _threshold(
                left,
                plot_w,
                y(remission),
                _REMISSION,
                "",
                f"remission ≤ {remission}",
                at_left=True,
                below=below,
            )
        )
    if response is not None:
        label = f"response ≤ {_number(response)} (baseline − {_percent(trend.definition.response_drop)})"
        parts.append(_threshold(left, plot_w, y(response), _RESPONSE, "6 4", label))
    # The series.
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(p.observation.total):.1f}" for i, p in enumerate(points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="{_LINE}" stroke-width="2.5"/>')
    label_every = max(1, -(-len(points) // 10))  # at most about ten labels along the axis
    for index, point in enumerate(points):
        cx, cy = x(index), y(point.observation.total)
        parts.append(_marker(point, cx, cy))
        if len(points) <= 16:
            parts.append(
                f'<text x="{cx:.1f}" y="{cy - 10:.1f}" text-anchor="middle" fill="{_INK}" '
                f'font-weight="600"{_HALO}>{point.observation.total}</text>'
            )
        if index % label_every == 0 or index == len(points) - 1:
            when = point.observation.when
            count = point.observation.treatments_before
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" fill="{_INK}">'
                f"{'T' + str(count) if count is not None else '·'}</text>"
                f'<text x="{cx:.1f}" y="{top + plot_h + 30}" text-anchor="middle" fill="{_MUTED}">'
                f"{when.day} {when:%b}</text>"
            )
    # Legend: shape and word for each kind of point.
    legend_y = height - 22
    entries = [
        ("baseline", "Baseline"),
        ("score", "Score"),
        ("response", "Response"),
        ("remission", "Remission"),
    ]
    step = plot_w / len(entries)
    for i, (kind, word) in enumerate(entries):
        lx = left + i * step + 8
        parts.append(_shape(kind, lx, legend_y - 4))
        parts.append(f'<text x="{lx + 12:.1f}" y="{legend_y:.1f}" fill="{_INK}">{word}</text>')
    parts.append(
        f'<text x="{left}" y="{height - 4}" fill="{_MUTED}" font-size="11">T = treatment sessions before the '
        "score</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def chart_description(trend: Trend) -> str:
    points = trend.points
    if not points:
        return f"No {trend.scale.title} scores yet."
    first, last = points[0].observation, points[-1].observation
    text = (
        f"{len(points)} {trend.scale.title} score{'s' if len(points) != 1 else ''} from {_day(first.when)} "
        f"({first.total}) to {_day(last.when)} ({last.total}), out of {trend.scale.maximum}."
    )
    if trend.baseline is not None:
        text += f" Baseline {trend.baseline.observation.total} on {_day(trend.baseline.observation.when)}."
    if trend.first_response is not None:
        text += f" First response on {_day(trend.first_response.observation.when)}."
    if trend.first_remission is not None:
        text += f" First remission on {_day(trend.first_remission.observation.when)}."
    return text + " Every score is in the table next to the chart."


def _marker(point: TrendPoint, cx: float, cy: float) -> str:
    kind = (
        "baseline"
        if point.is_baseline
        else "remission"
        if point.remission
        else "response"
        if point.response
        else "score"
    )
    title = f"{_day(point.observation.when)}: {point.observation.total}"
    if words := status_words(point):
        title += f" ({words})"
    return f"<g>{_shape(kind, cx, cy)}<title>{escape(title)}</title></g>"


def _shape(kind: str, cx: float, cy: float) -> str:
    if kind == "baseline":
        return (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5.5" fill="#fff" stroke="{_LINE}" stroke-width="2.5"/>'
        )
    if kind == "response":
        return f'<rect x="{cx - 5:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{_RESPONSE}"/>'
    if kind == "remission":
        return (
            f'<polygon points="{cx:.1f},{cy - 7:.1f} {cx + 7:.1f},{cy:.1f} {cx:.1f},{cy + 7:.1f} '
            f'{cx - 7:.1f},{cy:.1f}" fill="{_REMISSION}"/>'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{_LINE}"/>'


def _threshold(
    left: float,
    plot_w: float,
    ty: float,
    colour: str,
    dash: str,
    label: str,
    *,
    at_left: bool = False,
    below: bool = False,
) -> str:
    dashes = f' stroke-dasharray="{dash}"' if dash else ""
    tx, anchor = (left + 4, "start") if at_left else (left + plot_w - 2, "end")
    return (
        f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w}" y2="{ty:.1f}" stroke="{colour}" stroke-width="1.5"'
        f"{dashes}/>"
        f'<text x="{tx}" y="{ty + 13 if below else ty - 4:.1f}" text-anchor="{anchor}" fill="{colour}" '
        f'font-size="11"{_HALO}>{escape(label)}</text>'
    )


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"


def _number(value: Fraction) -> str:
    return str(int(value)) if value.denominator == 1 else f"{float(value):.1f}"


def _percent(value: Fraction) -> str:
    return f"{_number(value * 100)} %"


def _signed_percent(value: Fraction) -> str:
    """A drop as a change: a 40 % drop reads "−40 %", a rise "+25 %"."""
    change = -value * 100
    whole = math.floor(
        abs(change) + Fraction(1, 2)
    )  # shown to the whole percent, half up; flags use exact values
    sign = "−" if change < 0 else "+" if change > 0 else "±"
    return f"{sign}{whole} %"
