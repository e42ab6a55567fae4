"""Measurement-based care: the pure response and remission maths, the SVG chart, the trends page and clinician
ratings (MADRS, Y-BOCS)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from xml.etree import ElementTree

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse

from review import trends
from review.decisions import DecisionError, record_clinician_rating
from review.models import ClinicianRating
from review.templatetags.trend_charts import trend_chart_svg
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_review_patient as make_patient
from tests.factories import rescreen

PHQ9 = trends.Scale(
    "phq9", "PHQ-9", 27, ((5, "mild"), (10, "moderate"), (15, "moderately severe"), (20, "severe"))
)
MADRS = trends.Scale(
    "madrs", "MADRS", 60, ((7, "mild"), (20, "moderate"), (35, "severe")), clinician_rated=True
)
PHQ9_RULE = trends.OutcomeDefinition(response_drop=Fraction(1, 2), remission_below=5)


def obs(day: int, total: int, before: int | None) -> trends.Observation:
    return trends.Observation(
        when=datetime(2027, 3, day, 9, tzinfo=UTC), total=total, treatments_before=before
    )


# --- The maths ----------------------------------------------------------------------------------------------------


def test_percent_drop_is_exact():
    assert trends.percent_drop(20, 10) == Fraction(1, 2)
    assert trends.percent_drop(18, 12) == Fraction(1, 3)
    assert trends.percent_drop(10, 14) == Fraction(-2, 5)  # worse
    assert trends.percent_drop(0, 0) is None  # no room to improve
    for bad in ((-1, 3), (3, True), (2.5, 1)):
        with pytest.raises(ValueError):
            trends.percent_drop(*bad)


def test_response_is_a_drop_of_at_least_half_from_baseline_and_remission_is_below_five():
    trend = trends.build_trend(
        PHQ9,
        [obs(1, 22, 0), obs(2, 20, 0), obs(4, 11, 1), obs(6, 10, 2), obs(9, 5, 3), obs(12, 4, 4)],
        PHQ9_RULE,
    )
    baseline, *_ = [point for point in trend.points if point.is_baseline]
    assert baseline.observation.total == 20  # the last score before the first treatment, not the intake
    by_total = {point.observation.total: point for point in trend.points}
    assert by_total[22].response is None and by_total[22].drop is None  # before the baseline
    assert by_total[11].response is False  # 45 %
    assert by_total[10].response is True  # exactly 50 %: a response, with no rounding error
    assert by_total[10].drop_percent == "−50 %"
    assert by_total[5].remission is False  # remission is below 5, not 5
    assert by_total[4].remission is True and by_total[4].response is True
    assert trend.first_response.observation.total == 10
    assert trend.first_remission.observation.total == 4
    assert trend.response_threshold == 10
    assert trends.status_words(by_total[4]) == "Response, Remission"
    assert trends.status_words(baseline) == "Baseline"


def test_baseline_is_the_first_score_when_treatment_counts_are_unknown_or_all_later():
    assert trends.baseline_position([obs(1, 9, None), obs(2, 5, None)]) == 0
    assert trends.baseline_position([obs(1, 9, 2), obs(2, 5, 3)]) == 0
    assert trends.baseline_position([]) is None


def test_madrs_remission_is_twelve_or_less_and_the_definitions_are_configurable():
    madrs = trends.OutcomeDefinition(remission_at_most=12)
    trend = trends.build_trend(MADRS, [obs(1, 34, 0), obs(5, 12, 2), obs(8, 13, 3)], madrs)
    assert [point.remission for point in trend.points] == [None, True, False]  # none before treatment
    strict = trends.OutcomeDefinition(response_drop=0.6, remission_at_most=10)
    assert strict.response_drop == Fraction(3, 5)
    assert trends.build_trend(MADRS, [obs(1, 30, 0), obs(5, 13, 1)], strict).points[1].response is False
    assert "12 or less" in madrs.remission_text and "50 %" in madrs.response_text
    with pytest.raises(ValueError):
        trends.OutcomeDefinition(response_drop=0)
    with pytest.raises(ValueError):
        trends.OutcomeDefinition(remission_below=5, remission_at_most=4)
    with pytest.raises(ValueError, match="0 to 27"):
        trends.build_trend(PHQ9, [obs(1, 28, 0)], PHQ9_RULE)


def test_a_baseline_of_zero_has_no_response():
    trend = trends.build_trend(PHQ9, [obs(1, 0, 0), obs(3, 0, 1)], PHQ9_RULE)
    assert trend.points[1].response is None and trend.points[1].remission is True
    assert trend.response_threshold is None


# --- The chart ----------------------------------------------------------------------------------------------------


def test_the_chart_is_valid_accessible_svg_with_shapes_and_words_not_only_colour():
    trend = trends.build_trend(PHQ9, [obs(1, 20, 0), obs(4, 11, 1), obs(6, 10, 2), obs(12, 4, 3)], PHQ9_RULE)
    svg = trend_chart_svg(trend, chart_id="chart-phq9")
    root = ElementTree.fromstring(svg)  # noqa: S314 - our own markup: is it well-formed XML?
    ns = "{http://www.w3.org/2000/svg}"
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "chart-phq9-title chart-phq9-desc"
    assert root.find(f"{ns}title").text == "PHQ-9 over time"
    description = root.find(f"{ns}desc").text
    assert "4 PHQ-9 scores" in description and "Baseline 20" in description
    assert (
        "First response on Sat, Mar 6, 2027" in description
        and "First remission on Fri, Mar 12, 2027" in description
    )
    words = " ".join(text.text or "" for text in root.iter(f"{ns}text"))
    assert "remission ≤ 4" in words and "response ≤ 10" in words
    assert all(word in words for word in ("Baseline", "Score", "Response", "Remission", "T0", "T3"))
    assert len(list(root.iter(f"{ns}polygon"))) == 2  # a diamond for the remission, and one in the legend
    assert len(list(root.iter(f"{ns}rect"))) == 2  # a square for the response, and one in the legend
    hover = [title.text for title in root.iter(f"{ns}title")]
    assert "Fri, Mar 12, 2027: 4 (Response, Remission)" in hover
    assert "<script" not in svg and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_the_chart_escapes_text_and_handles_one_point():
    scale = trends.Scale("x", "A <b>&</b> scale", 10)
    trend = trends.build_trend(scale, [obs(1, 3, None)], trends.OutcomeDefinition())
    svg = trend_chart_svg(trend, chart_id='x"><script>')
    ElementTree.fromstring(svg)  # noqa: S314 - our own markup
    assert "<script>" not in svg and "<b>" not in svg


# --- The page -----------------------------------------------------------------------------------------------------


@pytest.fixture
def course(clinician, on_call, location):
    """An intake-day PHQ-9, a re-screen before each of three sessions, and two MADRS ratings."""
    from tests.factories import submit_full_intake, treatment_type

    patient = make_patient(first="Trend", location=location)
    submit_full_intake(patient, now=NOW - timedelta(days=20))  # PHQ-9 17
    from scheduling.models import Appointment, Clinician, Resource

    chair = Resource.objects.create(location=location, kind="chair", name="Chair 1")
    sessions = []
    for day, items in [
        (10, (3, 3, 2, 2, 2, 2, 1, 1, 0)),
        (8, (2, 2, 1, 1, 1, 1, 1, 0, 0)),
        (6, (1, 1, 1, 1, 0, 0, 0, 0, 0)),
    ]:
        start = NOW - timedelta(days=day)
        rescreen(patient, now=start - timedelta(minutes=30), items=items)
        sessions.append(
            Appointment.objects.create(
                patient=patient, location=location, treatment_type=treatment_type("iv-ketamine"), resource=chair,
                clinician=Clinician.objects.get(user=clinician), start_at=start, end_at=start + timedelta(hours=2),
                status="discharged",
            )
        )  # fmt: skip
    record_clinician_rating(
        patient=patient,
        rater=clinician,
        scale="madrs",
        total=32,
        rated_on=(NOW - timedelta(days=11)).date(),
        now=NOW,
    )
    record_clinician_rating(
        patient=patient, rater=clinician, scale="madrs", total=12, rated_on=(NOW - timedelta(days=6)).date(),
        appointment_id=sessions[2].pk, now=NOW,
    )  # fmt: skip
    return patient


def test_the_trends_page_flags_response_and_remission_beside_an_accessible_table(
    client, clinician, course, django_assert_max_num_queries, frozen_clock
):
    client.force_login(clinician)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("review:trends", args=[course.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") == 5  # PHQ-9, GAD-7, PCL-5, OCI-R, MADRS
    assert 'role="img"' in html and "<table" in html
    assert "3 treatment sessions started" in html
    # PHQ-9: intake 17, then 16 (baseline: before session 1), 9 (-44 %), 4 (-75 %): response and remission.
    assert "Baseline <strong>16</strong>" in html
    assert "−44 %" in html and "−75 %" in html
    assert "In response" in html and "In remission" in html
    assert (
        "Remission: a total below 5." in html and "Response: at least 50 % below the baseline score." in html
    )
    # MADRS: 32 before session 1, 12 at session 3 (linked) -> remission by the programme's definition.
    assert "MADRS" in html and "(clinician-rated)" in html and "Rated by Casey Doc" in html
    assert "Remission: a total of 12 or less." in html
    assert "EST" in html


def test_the_definitions_are_settings(client, clinician, course, settings, frozen_clock):
    settings.REVIEW_PHQ9_REMISSION_BELOW = 3
    settings.REVIEW_RESPONSE_DROP = "0.8"
    client.force_login(clinician)
    html = client.get(reverse("review:trends", args=[course.pk])).content.decode()
    assert "Remission: a total below 3." in html and "at least 80 % below" in html


# --- Clinician ratings ----------------------------------------------------------------------------------------------


def test_ratings_are_range_checked_by_the_service_and_the_database(clinician, front_desk):
    patient = make_patient()
    today = NOW.date()
    with pytest.raises(DecisionError, match="0 to 60"):
        record_clinician_rating(
            patient=patient, rater=clinician, scale="madrs", total=61, rated_on=today, now=NOW
        )
    with pytest.raises(DecisionError, match="0 to 40"):
        record_clinician_rating(
            patient=patient, rater=clinician, scale="ybocs", total=41, rated_on=today, now=NOW
        )
    with pytest.raises(DecisionError, match="future"):
        record_clinician_rating(
            patient=patient,
            rater=clinician,
            scale="ybocs",
            total=20,
            rated_on=today + timedelta(days=2),
            now=NOW,
        )
    with pytest.raises(DecisionError, match="Only a clinician"):
        record_clinician_rating(
            patient=patient, rater=front_desk, scale="ybocs", total=20, rated_on=today, now=NOW
        )
    with pytest.raises(DecisionError, match="session"):
        record_clinician_rating(
            patient=patient,
            rater=clinician,
            scale="ybocs",
            total=20,
            rated_on=today,
            now=NOW,
            appointment_id=999999,
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ClinicianRating.objects.create(
            patient=patient, scale="ybocs", total=41, rated_on=today, rater=clinician, recorded_at=NOW
        )
    rating = record_clinician_rating(
        patient=patient, rater=clinician, scale="ybocs", total=40, rated_on=today, now=NOW
    )
    with pytest.raises(DatabaseError, match="permanent record"), transaction.atomic():
        ClinicianRating.objects.filter(pk=rating.pk).update(total=39)


def test_entering_and_correcting_a_rating_on_the_page(client, clinician, frozen_clock):
    patient = make_patient(first="Rated")
    client.force_login(clinician)
    url = reverse("review:add_rating", args=[patient.pk])
    assert client.get(url).status_code == 200

    refused = client.post(url, {"scale": "ybocs", "total": "44", "rated_on": "2027-03-02"})
    assert refused.status_code == 422
    assert "A Y-BOCS total is a whole number from 0 to 40." in refused.content.decode()
    future = client.post(url, {"scale": "madrs", "total": "20", "rated_on": "2027-04-01"})
    assert "cannot be in the future" in future.content.decode()
    ancient = client.post(url, {"scale": "madrs", "total": "20", "rated_on": "1927-03-02"})
    assert ancient.status_code == 422 and "Please check the year of the rating." in ancient.content.decode()
    missing = client.post(url, {"scale": "", "total": "", "rated_on": ""})
    assert all(
        text in missing.content.decode()
        for text in ("Choose the scale you rated.", "Enter the total score.", "Enter the date of the rating.")
    )
    assert not ClinicianRating.objects.exists()

    done = client.post(url, {"scale": "madrs", "total": "28", "rated_on": "2027-03-02", "note": "Pre-dose."})
    assert done.status_code == 302 and done["Location"] == reverse("review:trends", args=[patient.pk])
    first = ClinicianRating.objects.get()
    assert (first.scale, first.total, first.rated_on, first.rater) == (
        "madrs",
        28,
        date(2027, 3, 2),
        clinician,
    )

    fixed = client.post(
        url + f"?corrects={first.pk}",
        {"scale": "madrs", "total": "22", "rated_on": "2027-03-02", "corrects": first.pk},
    )
    assert fixed.status_code == 302
    replacement = ClinicianRating.objects.get(corrects=first)
    assert replacement.total == 22
    page = client.get(reverse("review:trends", args=[patient.pk])).content.decode()
    assert "22 of 60" in page and "28 of 60" not in page  # the trend reads the correction; both are kept
    assert ClinicianRating.objects.count() == 2
    assert (
        client.get(url + f"?corrects={first.pk}").status_code == 404
    )  # corrected already: correct the newer one


def test_a_long_course_costs_the_same_queries_and_every_score_is_in_its_table(
    client, clinician, course, django_assert_max_num_queries, frozen_clock
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(clinician)
    url = reverse("review:trends", args=[course.pk])
    with CaptureQueriesContext(connection) as short:
        assert client.get(url).status_code == 200
    # Forty more re-screens (each a PHQ-9) and ten more MADRS ratings, all after the third session.
    for n in range(40):
        rescreen(
            course, now=NOW - timedelta(days=5) + timedelta(hours=2 * n), items=(1, 1, 0, 0, 0, 0, 0, 0, 0)
        )
    for n in range(10):
        record_clinician_rating(
            patient=course, rater=clinician, scale="madrs", total=10 + n, rated_on=(NOW - timedelta(days=4)).date(),
            now=NOW,
        )  # fmt: skip
    with django_assert_max_num_queries(len(short.captured_queries)):
        response = client.get(url)
    html = response.content.decode()
    assert "44 PHQ-9 scores from" in html  # intake, three re-screens before sessions, and the forty
    assert "12 MADRS scores from" in html
    assert html.count("After 3 sessions (T3)") >= 50
    assert "Fri, Feb 26, 2027, 10:00 AM EST" in html  # the first of the forty, in the clinic's zone
    latest = ClinicianRating.objects.filter(patient=course).latest("pk")
    assert (
        f'href="{reverse("review:add_rating", args=[course.pk])}?corrects={latest.pk}">Correct'
        '<span class="visually-hidden"> the MADRS rating of Sat, Feb 27, 2027</span>'
    ) in html
