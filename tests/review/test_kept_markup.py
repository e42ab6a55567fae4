"""The review queue's rows and the trend page's content are kept in process memory under a digest of everything
they are made from: each change a clinician must see shows on the next request, each language and each clinician
gets its own page, and a kept copy is used only when nothing it was made from changed."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from review.decisions import record_clinician_rating, record_decision
from review.views import queue as queue_views
from review.views import trends as trend_views
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_intake, rescreen, submit_full_intake
from tests.factories import make_review_patient as make_patient


@pytest.fixture
def builds(monkeypatch):
    """How many queue rows and trend pages were built (not taken from the kept copies)."""
    counted = {"rows": 0, "trends": 0}
    row, charts = queue_views._queue_row, trend_views._trend_charts

    def counting_row(*args, **kwargs):
        counted["rows"] += 1
        return row(*args, **kwargs)

    def counting_charts(*args, **kwargs):
        counted["trends"] += 1
        return charts(*args, **kwargs)

    monkeypatch.setattr(queue_views, "_queue_row", counting_row)
    monkeypatch.setattr(trend_views, "_trend_charts", counting_charts)
    return counted


def rows_of(html: str) -> str:
    return html[html.index('<ol class="list-unstyled"') : html.index("</ol>")]


def queue_html(client, **headers) -> str:
    response = client.get(reverse("review:queue"), **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_shows_each_change_at_once_and_reuses_rows_only_when_nothing_changed(
    client, clinician, on_call, location, builds, stopped_clock
):
    waiting = make_patient(first="Waiting", location=location)
    make_intake(waiting, at=NOW - timedelta(days=3))
    client.force_login(clinician)
    first = queue_html(client)
    assert ">Waiting " in first and builds["rows"] == 1
    assert rows_of(queue_html(client)) == rows_of(first)
    assert builds["rows"] == 1  # the same rows: the kept markup, twice

    # A new submission is in the queue on the next request.
    newcomer = make_patient(first="Newcomer", location=location)
    make_intake(newcomer, at=NOW - timedelta(days=1))
    html = queue_html(client)
    assert ">Newcomer " in html and ">Waiting " in html and "2 intakes waiting." in html
    assert builds["rows"] == 3

    # An urgent alert (a high-risk re-screen) moves the patient first, with the alert and the new risk.
    rescreen(newcomer, now=NOW, high=True)
    html = queue_html(client)
    assert html.index(">Newcomer ") < html.index(">Waiting ")
    newcomer_card = html[html.index(">Newcomer ") : html.index(">Waiting ")]
    assert "Urgent alert open since" in newcomer_card and "urgent alert (open)" in newcomer_card

    # A decision takes the intake out of the queue at once.
    record_decision(patient=waiting, decided_by=clinician, outcome="eligible", modality="iv", now=NOW)
    html = queue_html(client)
    assert ">Waiting " not in html and ">Newcomer " in html and "1 intake waiting." in html


def test_the_queue_rows_follow_the_clock_language_and_clinician(
    client, clinician, second_clinician, on_call, location, builds
):
    patient = make_patient(first="Clocked", location=location)
    make_intake(patient, at=NOW - timedelta(minutes=20))
    with time_machine.travel(NOW, tick=False):
        client.force_login(clinician)
        html = queue_html(client)
        assert "waiting 20\xa0minutes" in html and builds["rows"] == 1
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        html = queue_html(client)
        assert "waiting 30\xa0minutes" in html and builds["rows"] == 2  # the wait moved: made again
        spanish = queue_html(client, HTTP_ACCEPT_LANGUAGE="es")
        assert "30\xa0minutos" in spanish and builds["rows"] == 3  # its own markup
        assert "waiting 30\xa0minutes" in queue_html(client)  # and English is still English
        assert builds["rows"] == 3

        client.force_login(second_clinician)
        theirs = queue_html(client)
        assert ">Clocked " in theirs and 'user-chip">Jordan' in theirs
        assert "Casey" not in theirs  # the first clinician's name never reaches the second's page
        assert builds["rows"] == 3  # the same rows for them: nothing in the kept markup is anyone's own


def trends_html(client, patient, **headers) -> str:
    response = client.get(reverse("review:trends", args=[patient.pk]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_trend_page_shows_each_new_score_rating_and_correction_at_once(
    client, clinician, second_clinician, on_call, location, builds, stopped_clock
):
    patient = make_patient(first="Trending", location=location)
    submit_full_intake(patient, now=NOW - timedelta(days=20))
    client.force_login(clinician)
    html = trends_html(client, patient)
    assert "<svg" in html and "Intake" in html
    assert trends_html(client, patient).count("<table") == html.count("<table")
    assert builds["trends"] == 1  # the second request took the kept content

    rescreen(patient, now=NOW - timedelta(days=2))  # a re-screen adds a PHQ-9 point
    html = trends_html(client, patient)
    assert builds["trends"] == 2 and "Re-screen" in html

    rating = record_clinician_rating(
        patient=patient, rater=clinician, scale="madrs", total=31, rated_on=NOW.date(), appointment_id=None,
        note="", corrects=None, now=NOW,
    )  # fmt: skip
    html = trends_html(client, patient)
    assert builds["trends"] == 3 and "Rated by Casey Doc" in html and "31 of 60" in html

    record_clinician_rating(
        patient=patient, rater=clinician, scale="madrs", total=13, rated_on=NOW.date(), appointment_id=None,
        note="", corrects=rating, now=NOW,
    )  # fmt: skip
    html = trends_html(client, patient)
    assert "13 of 60" in html and "31 of 60" not in html  # the corrected rating is gone at once

    spanish = trends_html(client, patient, HTTP_ACCEPT_LANGUAGE="es")
    assert builds["trends"] == 5 and 'lang="es"' in spanish  # another language: its own content

    client.force_login(second_clinician)
    theirs = trends_html(client, patient)
    assert "13 of 60" in theirs and 'user-chip">Jordan' in theirs
    assert builds["trends"] == 5  # the same content for them; their name is in the page around it


def test_the_trend_page_follows_the_definitions_in_force(
    client, clinician, on_call, location, settings, builds
):
    patient = make_patient(first="Defined", location=location)
    submit_full_intake(patient, now=NOW - timedelta(days=20))
    client.force_login(clinician)
    assert "Response: at least 50" in trends_html(client, patient)
    settings.REVIEW_RESPONSE_DROP = "0.4"
    assert "Response: at least 40" in trends_html(client, patient)
    assert builds["trends"] == 2
