"""Score trends across sessions, and clinician-rated scores (MADRS, Y-BOCS)."""

from __future__ import annotations

import functools
import hashlib
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, time
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import get_language, gettext, ngettext
from django.views.decorators.http import require_http_methods

from clinic import policies
from clinic.access import SignedInRequest, role_required
from clinic.local_time import format_day, format_in_zone
from clinic.parsing import object_id
from clinic.roles import Role
from intake.instruments import UnknownInstrumentError, load_instrument
from review import trends
from review.decisions import DecisionError, record_clinician_rating
from review.forms import RatingForm
from review.models import ClinicianRating
from review.presenters import humanise
from review.selectors import (
    patient_for_clinician,
    patient_zone,
    review_navigation,
    treatment_starts,
    trend_inputs,
)
from review.views.common import log_view, zone_context

# --- Trends and clinician ratings ---------------------------------------------------------------------------------


def outcome_definition(code: str) -> trends.OutcomeDefinition:
    """The response and remission definitions in force, from settings (clinical reference 4.3)."""
    drop = Fraction(str(getattr(settings, "REVIEW_RESPONSE_DROP", "0.5")))
    if code == "phq9":
        return trends.OutcomeDefinition(
            response_drop=drop, remission_below=getattr(settings, "REVIEW_PHQ9_REMISSION_BELOW", 5)
        )
    if code == "madrs":
        return trends.OutcomeDefinition(
            response_drop=drop, remission_at_most=getattr(settings, "REVIEW_MADRS_REMISSION_AT_MOST", 12)
        )
    return trends.OutcomeDefinition(response_drop=drop)


def _maximum(code: str) -> int:
    total_range = load_instrument(code).total_range
    assert total_range is not None, f"{code} has no total range"
    return total_range[1]


def _banded(code: str) -> trends.Scale:
    """A self-report scale with its severity bands as cut-points, from the instrument's data file."""
    definition = load_instrument(code)
    cutpoints = tuple((band.min, band.label.lower()) for band in definition.bands[1:])
    return trends.Scale(code, definition.short_title, _maximum(code), cutpoints)


def trend_scales(request: HttpRequest | None = None) -> dict[str, trends.Scale]:
    policy = policies.in_force(request)  # one cache read for both cut-offs, and the page's context shares it
    return dict(_scales(policy["INTAKE_PCL5_PROBABLE_CUTOFF"], policy["INTAKE_OCIR_OCD_CUTOFF"]))


@functools.lru_cache(maxsize=16)
def _scales(pcl5_cutoff: int, ocir_cutoff: int) -> dict[str, trends.Scale]:
    """The scales for the cut-offs in force, made once per process and pair of cut-offs (from the instruments'
    data files, which change only with the code)."""
    ocir = _banded("ocir")
    return {
        "phq9": _banded("phq9"),
        "gad7": _banded("gad7"),
        "pcl5": trends.Scale("pcl5", "PCL-5", _maximum("pcl5"), ((pcl5_cutoff, "probable PTSD"),)),
        "ocir": trends.Scale(
            "ocir", "OCI-R", ocir.maximum, tuple(sorted((*ocir.cutpoints, (ocir_cutoff, "OCD cut-off"))))
        ),
        "madrs": trends.Scale(
            "madrs", "MADRS", 60, ((7, "mild"), (20, "moderate"), (35, "severe")), clinician_rated=True
        ),
        "ybocs": trends.Scale(
            "ybocs",
            "Y-BOCS",
            40,
            ((8, "mild"), (16, "moderate"), (24, "severe"), (32, "extreme")),
            clinician_rated=True,
        ),
    }


RATING_BANDS = {
    # Snaith bands for the MADRS; Goodman 1989 convention for the Y-BOCS (clinical reference 1.5, 1.8) [V].
    "madrs": ((0, "Normal"), (7, "Mild"), (20, "Moderate"), (35, "Severe")),
    "ybocs": ((0, "Subclinical"), (8, "Mild"), (16, "Moderate"), (24, "Severe"), (32, "Extreme")),
}


def rating_band(scale: str, total: int) -> str:
    return [label for lower, label in RATING_BANDS[scale] if total >= lower][-1]


@role_required(Role.CLINICIAN)
def patient_trends(request: SignedInRequest, pk: int) -> HttpResponse:
    """PHQ-9, GAD-7, PCL-5, OCI-R and the clinician-rated MADRS and Y-BOCS over time, marked by treatment count,
    with response and remission flagged. Each chart is inline SVG with the same data in a table beside it."""
    person = patient_for_clinician(request.user, pk)
    log_view(request, person, "review: score trends")
    zone = patient_zone(person)
    inputs = trend_inputs(person.pk)
    review_navigation(request).counted(inputs.navigation_counts)
    scales = trend_scales(request)
    definitions = {code: outcome_definition(code) for code in scales}
    place = zone_context(person)
    scored = {response.instrument for response in inputs.responses if response.total is not None}
    scored.update(rating.scale for rating in inputs.ratings)
    # The page's content is kept (the "fragments" cache, in this process) under a digest of everything it is made
    # from: the patient's name and id, every row read for the page, the scales' cut-offs and the outcome definitions
    # in force, the zone and its note, and the language. Anything new (a score, a rating, a session, a correction,
    # a renamed patient or rater) makes another key, so a kept copy is never shown stale; it holds no one's session,
    # CSRF token or nonce (base.html adds those around it). Nothing in it depends on the clock.
    content_key = hashlib.sha256(
        repr(
            (
                get_language(),
                person.pk,
                person.full_name,
                str(zone),
                place,
                inputs.sessions,
                inputs.responses,
                inputs.ratings,
                scales,
                definitions,
            )  # fmt: skip
        ).encode()
    ).hexdigest()
    return render(
        request,
        "review/trends.html",
        {
            "patient": person,
            "content_key": content_key,
            # Built only when the kept content is missing.
            "charts": SimpleLazyObject(lambda: _trend_charts(person, zone, inputs, scales, definitions)),
            "session_count": len(inputs.sessions),
            "missing": [scale.title for code, scale in scales.items() if code not in scored],
            **place,
        },
    )


def _trend_charts(
    person: Any,
    zone: Any,
    inputs: Any,
    scales: dict[str, trends.Scale],
    definitions: dict[str, trends.OutcomeDefinition],
) -> list[TrendSection]:
    """Each scale's section with its points, from the page's reads."""
    sessions = inputs.sessions
    starts = [start for start, _ in sessions]
    session_index = {appointment_id: index for index, (_, appointment_id) in enumerate(sessions)}
    observations: dict[str, list[tuple[trends.Observation, Any]]] = {}
    for response in inputs.responses:
        if response.total is None:
            continue
        band = ""
        if response.band:
            try:
                band = load_instrument(response.instrument).band_label(response.band)
            except (UnknownInstrumentError, KeyError):
                band = humanise(response.band)
        observations.setdefault(response.instrument, []).append(
            (
                trends.Observation(
                    when=response.answered_at.astimezone(zone),
                    total=response.total,
                    treatments_before=bisect_left(starts, response.answered_at),
                    source="Intake" if response.submission_kind == "intake" else "Re-screen",
                    band=band,
                ),
                None,
            )
        )
    for rating in inputs.ratings:
        if rating.appointment_id in session_index:
            before = session_index[rating.appointment_id]
        else:
            before = bisect_left(starts, datetime.combine(rating.rated_on, time.min, tzinfo=zone))
        observations.setdefault(rating.scale, []).append(
            (
                trends.Observation(
                    when=datetime.combine(rating.rated_on, time(12), tzinfo=zone),
                    total=rating.total,
                    treatments_before=before,
                    source=gettext("Rated by %(rater)s") % {"rater": rating.rater},
                    band=rating_band(rating.scale, rating.total),
                ),
                rating,
            )
        )
    charts = []
    correct_url = reverse("review:add_rating", args=[person.pk])
    for code, scale in scales.items():
        if code not in observations:
            continue
        pairs = sorted(observations[code], key=lambda pair: pair[0].when)
        trend = trends.build_trend(scale, [obs for obs, _ in pairs], definitions[code])
        rating_for = {id(obs): rating for obs, rating in pairs}
        rows = [
            _trend_row(point, scale, rating_for.get(id(point.observation)), correct_url)
            for point in trend.points
        ]
        charts.append(_trend_section(trend, rows))
    return charts


@dataclass
class TrendRow:
    when: str
    sessions: str
    source: str
    total: str
    band: str
    drop: str
    status: str
    correct_href: str = ""
    correct_what: str = ""


def _trend_row(point: trends.TrendPoint, scale: trends.Scale, rating: Any, correct_url: str) -> TrendRow:
    """One line of a trend's table."""
    obs = point.observation
    when = obs.when  # already in the patient's zone
    before = obs.treatments_before
    if before is None:
        sessions = gettext("Sessions before it unknown")
    elif before == 0:
        sessions = gettext("Before the first session (T0)")
    else:
        sessions = ngettext(
            "After %(count)s session (T%(count)s)", "After %(count)s sessions (T%(count)s)", before
        ) % {"count": before}
    row = TrendRow(
        when=format_day(when) if scale.clinician_rated else format_in_zone(when, when.tzinfo),
        sessions=sessions,
        source=obs.source,
        total=gettext("%(total)s of %(maximum)s") % {"total": obs.total, "maximum": scale.maximum},
        band=obs.band,
        drop=point.drop_percent or "—",
        status=trends.status_words(point),
    )
    if rating is not None:
        row.correct_href = f"{correct_url}?corrects={rating.pk}"
        row.correct_what = gettext("the %(scale)s rating of %(day)s") % {
            "scale": scale.title,
            "day": format_day(when),
        }
    return row


@dataclass
class TrendSection:
    trend: trends.Trend
    rows: list[TrendRow]
    response: tuple[str, str]  # badge class, words
    remission: tuple[str, str] | None
    definitions: str


def _trend_section(trend: trends.Trend, rows: list[TrendRow]) -> TrendSection:
    """A scale's card: baseline and latest with the outcome badges, the chart, and the same scores as a table."""
    latest = trend.latest
    if latest and latest.response:
        response = ("badge-risk-none", gettext("In response"))
    elif trend.first_response:
        response = ("badge-risk-low", gettext("Responded earlier, not now"))
    else:
        response = ("badge-risk-low", gettext("No response yet"))
    remission = None
    if trend.definition.remission_threshold is not None:
        in_remission = latest is not None and latest.remission and not latest.is_baseline
        remission = (
            ("badge-risk-none", gettext("In remission"))
            if in_remission
            else ("badge-risk-low", gettext("Not in remission"))
        )
    return TrendSection(
        trend=trend,
        rows=rows,
        response=response,
        remission=remission,
        definitions=f"{trend.definition.response_text} {trend.definition.remission_text}",
    )


@role_required(Role.CLINICIAN)
@require_http_methods(["GET", "POST"])
def add_rating(request: SignedInRequest, pk: int) -> HttpResponse:
    """Enter a clinician-rated total (MADRS or Y-BOCS) with its date; the signed-in clinician is the rater. With
    ``?corrects=<id>`` the new rating replaces a mistyped one (both are kept)."""
    person = patient_for_clinician(request.user, pk)
    log_view(request, person, "review: clinician rating")
    zone = patient_zone(person)
    corrects = None
    corrects_id = request.POST.get("corrects") or request.GET.get("corrects")
    if corrects_id:
        corrects = (
            ClinicianRating.objects.filter(patient=person, pk=object_id(corrects_id) or 0)
            .filter(corrected_by__isnull=True)
            .first()
        )
        if corrects is None:
            raise Http404("No such rating.")
    sessions = treatment_starts(person.pk)
    choices = [
        (appointment_id, gettext("Session %(number)s: %(start)s") % {"number": index, "start": format_in_zone(start, zone)})
        for index, (start, appointment_id) in enumerate(sessions, start=1)
    ][::-1]  # fmt: skip
    today = timezone.localdate(timezone.now(), zone)
    initial: dict[str, Any] = {"rated_on": today}
    if corrects is not None:
        initial = {
            "scale": corrects.scale,
            "total": corrects.total,
            "rated_on": corrects.rated_on,
            "appointment": corrects.appointment_id,
        }
    form = RatingForm(request.POST or None, initial=initial, appointments=choices)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rating = record_clinician_rating(
                patient=person,
                rater=request.user,
                scale=data["scale"],
                total=data["total"],
                rated_on=data["rated_on"],
                appointment_id=data.get("appointment"),
                note=data.get("note") or "",
                corrects=corrects,
                now=timezone.now(),
            )
        except DecisionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                gettext("%(rating)s total %(total)s recorded for %(rated_on)s.")
                % {
                    "rating": rating.get_scale_display(),
                    "total": rating.total,
                    "rated_on": format_day(rating.rated_on),
                },
            )
            return redirect("review:trends", pk=person.pk)
    return render(
        request,
        "review/rating_form.html",
        {"patient": person, "form": form, "corrects": corrects, **zone_context(person)},
        status=422 if request.method == "POST" and form.errors else 200,
    )
