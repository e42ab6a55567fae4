"""The review pages' repeated markup, built as strings: the queue's rows and a patient's current suicide risk.

A queue page is 25 cards, each with a link, four labels and the risk line; in template language their ``{% url %}``,
``{% translate %}`` and ``{% include %}`` tags were most of the page's cost (bench/README.md has the figures). Each
URL is reversed once per process around a placeholder id, each word translated once per render, and every text
escaped (``html.escape``: what Django's escape does).
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from clinic.local_time import format_day
from clinic.navigation import around_id
from review.templatetags.trend_charts import trend_chart_svg

register = template.Library()


def _risk(risk, from_the: str, none_yet: str) -> str:
    """A ``presenters.RiskView`` as the pages show it: the badge in words and where it comes from."""
    if not risk:
        return none_yet
    source = from_the % {"source": escape(risk.source)}
    return (
        f'<span class="badge text-wrap text-start {escape(risk.badge)}" data-current-risk>{escape(risk.words)}</span> '
        f'<span class="small text-body-secondary">{source}</span>'
    )


def _risk_words() -> tuple[str, str]:
    # The translation of "from the %(source)s" is the clinic's own text, not escaped (as {% blocktranslate %}).
    return gettext("from the %(source)s"), escape(gettext("No C-SSRS answered yet"))


@register.simple_tag
def current_risk(risk) -> SafeString:
    """A patient's current suicide risk (``presenters.RiskView`` or None) with its source."""
    return mark_safe(_risk(risk, *_risk_words()))  # noqa: S308 - every interpolated text is escaped or our own


@register.simple_tag
def queue_rows(rows) -> SafeString:
    """The review queue's cards (``views.queue.QueueRow``), as list items."""
    before, after = around_id("review:patient")
    reason, phq9, risk_label = (
        escape(gettext("Reason for care")),
        escape(gettext("PHQ-9")),
        escape(gettext("Suicide risk, latest")),
    )
    risk_words = _risk_words()
    out = []
    for row in rows:
        about = " · ".join(escape(str(part)) for part in row.about)
        badges = ""
        if row.badges:
            items = "".join(
                f'<li class="list-inline-item mb-1"><span class="badge text-wrap text-start {escape(kind)}">'
                f"{escape(str(text))}</span></li>"
                for kind, text in row.badges
            )
            badges = f'<ul class="list-inline mb-2">{items}</ul>'
        out.append(
            '  <li class="card card-calm mb-3">\n'
            '    <div class="card-body">\n'
            f'      <h2 class="h5 mb-1"><a href="{before}{int(row.patient_id)}{after}">{escape(row.name)}</a></h2>\n'
            f'      <p class="small text-body-secondary mb-2">{about}</p>\n'
            f"      {badges}\n"
            '      <dl class="row small mb-0">\n'
            f'        <dt class="col-5 col-sm-3">{reason}</dt><dd class="col-7 col-sm-9">{escape(row.reasons)}</dd>\n'
            f'        <dt class="col-5 col-sm-3">{phq9}</dt><dd class="col-7 col-sm-9">{escape(row.phq9)}</dd>\n'
            f'        <dt class="col-5 col-sm-3">{risk_label}</dt><dd class="col-7 col-sm-9">'
            f"{_risk(row.risk, *risk_words)}</dd>\n"
            "      </dl>\n"
            "    </div>\n"
            "  </li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped or our own


def _trend_words() -> dict[str, str]:
    # The clinic's own texts: translated, not escaped (as {% translate %} and {% blocktranslate %} write them).
    return {
        "clinician_rated": gettext("(clinician-rated)"),
        "baseline": gettext("Baseline <strong>%(total)s</strong> on %(when)s."),
        "latest_drop": gettext("Latest <strong>%(total)s</strong> on %(when)s (%(drop)s from baseline)."),
        "latest": gettext("Latest <strong>%(total)s</strong> on %(when)s."),
        "baseline_is": gettext("Baseline: the last score before the first treatment session."),
        "scores": gettext("%(title)s scores"),
        "oldest_first": gettext("%(title)s scores, oldest first"),
        "when": gettext("When"),
        "total": gettext("Total"),
        "from_baseline": gettext("From baseline"),
        "correct": gettext("Correct"),
    }


def _badge(pair) -> str:
    kind, text = pair
    return f'<span class="badge text-wrap text-start {escape(kind)}">{escape(str(text))}</span>'


@register.simple_tag
def trend_sections(charts) -> SafeString:
    """Each scale's card on the trend page (``views.trends.TrendSection``): baseline and latest with the outcome
    badges, the chart, and the same scores as a table."""
    if not charts:
        return mark_safe("")
    words = _trend_words()
    out = []
    for chart in charts:
        trend, scale = chart.trend, chart.trend.scale
        code, title = escape(scale.code), escape(scale.title)
        rated = (
            f' <span class="h6 text-body-secondary">{words["clinician_rated"]}</span>'
            if scale.clinician_rated
            else ""
        )
        facts = ""
        if trend.baseline:
            observation = trend.baseline.observation
            when = escape(format_day(observation.when))
            facts += f'    <li class="list-inline-item">{words["baseline"] % {"total": observation.total, "when": when}}</li>\n'
        if trend.latest:
            observation, drop = trend.latest.observation, trend.latest.drop_percent
            values = {"total": observation.total, "when": escape(format_day(observation.when))}
            latest = (
                words["latest_drop"] % {**values, "drop": escape(drop)} if drop else words["latest"] % values
            )
            facts += f'    <li class="list-inline-item">{latest}</li>\n'
        facts += f'    <li class="list-inline-item">{_badge(chart.response)}</li>\n'
        if chart.remission:
            facts += f'    <li class="list-inline-item">{_badge(chart.remission)}</li>\n'
        out.append(
            f'<section class="card card-calm mb-4" aria-labelledby="trend-{code}-title"><div class="card-body">\n'
            f'  <h2 id="trend-{code}-title" class="h4">{title}{rated}</h2>\n'
            f'  <ul class="list-inline mb-2">\n{facts}  </ul>\n'
            f'  <p class="small text-body-secondary">{escape(chart.definitions)} {words["baseline_is"]}</p>\n'
            '  <div class="row g-3">\n'
            f'    <div class="col-12 col-xl-7">{trend_chart_svg(trend, chart_id=f"chart-{scale.code}")}</div>\n'
            '    <div class="col-12 col-xl-5">\n'
            f'      <div class="table-responsive" tabindex="0" role="region" aria-label="{words["scores"] % {"title": title}}">\n'
            '      <table class="table table-sm small align-top">\n'
            f"        <caption>{words['oldest_first'] % {'title': title}}</caption>\n"
            f'        <thead><tr><th scope="col">{words["when"]}</th><th scope="col">{words["total"]}</th>'
            f'<th scope="col">{words["from_baseline"]}</th></tr></thead>\n'
            "        <tbody>\n"
            f"{''.join(_trend_row(row, words['correct']) for row in chart.rows)}"
            "        </tbody>\n"
            "      </table>\n"
            "      </div>\n"
            "    </div>\n"
            "  </div>\n"
            "</div></section>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped or our own


def _trend_row(row, correct: str) -> str:
    fix = (
        f'<br><a class="fw-normal" href="{escape(row.correct_href)}">{correct}'
        f'<span class="visually-hidden"> {escape(row.correct_what)}</span></a>'
        if row.correct_href
        else ""
    )
    band = f'<br><span class="text-body-secondary">{escape(row.band)}</span>' if row.band else ""
    status = f"<br><strong>{escape(row.status)}</strong>" if row.status else ""
    return (
        "          <tr>\n"
        f'            <th scope="row">{escape(row.when)}<br>\n'
        f'              <span class="fw-normal">{escape(row.sessions)}</span><br>\n'
        f'              <span class="fw-normal text-body-secondary">{escape(row.source)}</span>{fix}</th>\n'
        f"            <td>{escape(row.total)}{band}</td>\n"
        f"            <td>{escape(row.drop)}{status}</td>\n"
        "          </tr>\n"
    )
