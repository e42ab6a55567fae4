"""The trend chart: an inline SVG line chart of one scale's scores (review.trends computes the trend; this draws
it). Every text drawn is escaped."""

from __future__ import annotations

from fractions import Fraction
from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from clinic.local_time import format_day
from review.trends import Trend, TrendPoint, chart_description, number_text, percent_text, status_words

register = template.Library()


@register.simple_tag
def trend_chart(trend: Trend, chart_id: str) -> SafeString:
    return mark_safe(trend_chart_svg(trend, chart_id=chart_id))  # noqa: S308 - built below, every text escaped


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

    def y(value: float | Fraction) -> float:
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
        label = (
            f"response ≤ {number_text(response)} (baseline − {percent_text(trend.definition.response_drop)})"
        )
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
    title = f"{format_day(point.observation.when)}: {point.observation.total}"
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
