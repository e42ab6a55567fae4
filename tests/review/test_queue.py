"""The review queue: who is in it, in what order, the filters, the navigation counts, and a fixed query budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from review.decisions import record_decision
from review.selectors import QueueFilters, queue_count, review_queue
from tests.factories import HARD_STOP, REVIEW_FLAG, make_intake, rescreen
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_review_patient as make_patient


def names(queryset):
    return [submission.patient.legal_first_name for submission in queryset]


@pytest.fixture
def waiting(clinician, on_call):
    """Five patients in a known state: see each line."""
    oldest = make_patient(first="Oldest")
    make_intake(oldest, at=NOW - timedelta(days=5))
    hard = make_patient(first="Hardstop")
    make_intake(hard, at=NOW - timedelta(days=2), findings=[HARD_STOP], reasons=["ptsd"])
    urgent = make_patient(first="Urgent")
    make_intake(urgent, at=NOW - timedelta(hours=3), findings=[REVIEW_FLAG], reasons=["depression", "ocd"])
    rescreen(urgent, now=NOW - timedelta(hours=1), high=True)  # an open alert from a re-screen
    decided = make_patient(first="Decided")
    make_intake(decided, at=NOW - timedelta(days=6))
    record_decision(
        patient=decided, decided_by=clinician, outcome="eligible", modality="iv", now=NOW - timedelta(days=4)
    )
    resubmitted = make_patient(first="Resubmitted")
    make_intake(resubmitted, at=NOW - timedelta(days=9))
    record_decision(
        patient=resubmitted,
        decided_by=clinician,
        outcome="eligible",
        modality="iv",
        now=NOW - timedelta(days=8),
    )
    make_intake(resubmitted, at=NOW - timedelta(days=1))  # a newer intake goes back into the queue
    no_intake = make_patient(first="Nointake")
    rescreen(no_intake, now=NOW - timedelta(minutes=30), high=True)  # an alert, but no intake to decide on
    return locals()


def test_open_alerts_first_then_hard_stops_then_the_longest_waiting(clinician, waiting):
    assert names(review_queue(clinician)) == ["Urgent", "Hardstop", "Oldest", "Resubmitted"]
    assert queue_count(clinician) == 4


def test_an_older_open_alert_comes_before_a_newer_one(clinician, waiting):
    later = make_patient(first="Later")
    make_intake(later, at=NOW - timedelta(days=20))
    rescreen(
        later, now=NOW - timedelta(minutes=10), items=(1, 1, 1, 1, 1, 1, 1, 1, 1)
    )  # item 9 raises an alert
    assert names(review_queue(clinician))[:2] == ["Urgent", "Later"]


def test_the_filters(clinician, waiting):
    assert names(review_queue(clinician, QueueFilters(reason="ptsd"))) == ["Hardstop"]
    assert names(review_queue(clinician, QueueFilters(reason="ocd"))) == ["Urgent"]
    assert names(review_queue(clinician, QueueFilters(modality="spravato"))) == [
        "Hardstop"
    ]  # "both" concerns it
    assert names(review_queue(clinician, QueueFilters(modality="iv"))) == ["Urgent", "Hardstop"]
    assert names(review_queue(clinician, QueueFilters(finding="aneurysm"))) == ["Hardstop"]
    assert names(review_queue(clinician, QueueFilters(finding="aneurysm", reason="ocd"))) == []


def test_the_queue_page_with_filters_and_counts_in_the_navigation(client, clinician, waiting, frozen_clock):
    client.force_login(clinician)
    page = client.get(reverse("review:queue"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.index(">Urgent Reviewee") < html.index(">Hardstop Reviewee") < html.index(">Oldest Reviewee")
    assert "4 intakes waiting" in html
    assert "Hard stop: Aneurysmal vascular disease" in html
    assert "Urgent alert open since" in html
    # Navigation: queue size and open alerts, in words as well as numbers.
    assert '4<span class="visually-hidden"> waiting</span>' in html
    assert "2 open</span>" in html
    # The banner heads the page until the alerts are acknowledged.
    assert "Urgent: 2 suicide-risk alerts waiting for a clinician" in html
    assert html.index("urgent-banner-title") < html.index("<h1>Review queue</h1>")
    assert "EST" in html  # times carry their zone

    filtered = client.get(reverse("review:queue"), {"reason": "ptsd", "finding": "aneurysm"})
    assert "1 intake waiting that matches these filters" in filtered.content.decode()
    assert "Oldest Reviewee" not in filtered.content.decode()
    nonsense = client.get(reverse("review:queue"), {"reason": "<script>", "page": "999"})
    assert (
        nonsense.status_code == 200
    )  # an unknown filter is ignored, a page past the end shows the last page


def test_the_queue_keeps_a_fixed_query_budget_with_ten_thousand_patients(
    client, clinician, on_call, django_assert_max_num_queries, stopped_clock
):
    from intake.models import IntakeSubmission, Patient, UrgentAlert

    client.force_login(clinician)
    few = [make_patient(first=f"Few{i}") for i in range(3)]
    for i, person in enumerate(few):
        make_intake(person, at=NOW - timedelta(days=i + 1))
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse("review:queue")).status_code == 200

    few_scores = IntakeSubmission.objects.filter(patient=few[0]).get().scores  # a PHQ-9 on every row
    patients = Patient.objects.bulk_create(
        Patient(legal_first_name="Bulk", legal_last_name=f"Patient{i:05d}", email=f"bulk{i}@example.org")
        for i in range(10_000)
    )
    submissions = IntakeSubmission.objects.bulk_create(
        IntakeSubmission(
            kind="intake", patient=person, submitted_at=NOW - timedelta(minutes=i), answers={"reasons": {"reasons": ["depression"]}},
            findings=[HARD_STOP] if i % 7 == 0 else [], has_hard_stop=i % 7 == 0, scores=few_scores,
            instrument_versions={"phq9": "1"}, cssrs_risk="low",
        )
        for i, person in enumerate(patients)
    )  # fmt: skip
    UrgentAlert.objects.bulk_create(
        UrgentAlert(patient=sub.patient, submission=sub, reasons=["C-SSRS: high risk"], created_at=NOW)
        for sub in submissions[:40]
    )
    assert Patient.objects.count() > 10_000
    with django_assert_max_num_queries(len(small.captured_queries)) as large:
        page = client.get(reverse("review:queue"), {"page": "3"})
    assert page.status_code == 200
    assert "10003 intakes waiting" in page.content.decode()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(reverse("review:queue"), {"finding": "aneurysm"}).status_code == 200
    assert len(large.captured_queries) <= 10, [query["sql"][:120] for query in large.captured_queries]


def test_the_filter_form_shows_the_filters_asked_for_each_time(client, clinician, waiting, frozen_clock):
    """The form's markup is kept per filters: each request shows its own choices selected, and a form with an
    error is never kept for the next one."""

    def selected(response):
        html = response.content.decode()
        return {
            name: html[html.index(f'name="{name}"') : html.index("</select>", html.index(f'name="{name}"'))]
            for name in ("reason", "finding")
        }

    client.force_login(clinician)
    queue = reverse("review:queue")
    ptsd = selected(client.get(queue, {"reason": "ptsd"}))
    assert '<option value="ptsd" selected>' in ptsd["reason"]
    depression = selected(client.get(queue, {"reason": "depression"}))["reason"]
    assert '<option value="depression" selected>' in depression
    assert '"ptsd" selected' not in depression
    plain = client.get(queue)
    assert '<option value="" selected>' in selected(plain)["reason"]
    assert '"ptsd" selected' not in selected(plain)["reason"]
    assert "Clear filters" not in plain.content.decode()
    assert (
        '<option value="aneurysm" selected>'
        in selected(client.get(queue, {"finding": "aneurysm"}))["finding"]
    )
    again = client.get(queue, {"reason": "ptsd"})
    assert '<option value="ptsd" selected>' in selected(again)["reason"]
    assert "Clear filters" in again.content.decode()
