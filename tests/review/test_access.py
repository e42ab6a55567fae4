"""Who may reach the review pages: clinicians only (a 404 for everyone else, so nothing is confirmed), and only
the patients of their locations when the clinic restricts clinicians to their locations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from intake.models import Patient, UrgentAlert
from review.models import ClinicianRating
from review.selectors import first_queue_page, open_alerts, patient_for_clinician, review_queue
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_intake, rescreen
from tests.factories import make_review_patient as make_patient


@pytest.fixture
def records(patient, clinician, on_call, location):
    """The `patient` persona's own record, with an intake, an alert and a clinician rating."""
    person = patient.patient  # the persona's patient record
    person.location = location
    person.save(update_fields=["location"])
    submission = make_intake(person, at=NOW - timedelta(days=1))
    rescreen(person, now=NOW - timedelta(hours=1), high=True)
    rating = ClinicianRating.objects.create(
        patient=person, scale="madrs", total=30, rated_on=NOW.date(), rater=clinician, recorded_at=NOW
    )
    return person, submission, UrgentAlert.objects.get(patient=person), rating


def review_urls(person, submission, alert, rating) -> list[str]:
    return [
        reverse("review:queue"),
        reverse("review:alerts"),
        reverse("review:alert", args=[alert.pk]),
        reverse("review:patient", args=[person.pk]),
        reverse("review:submission", args=[person.pk, submission.pk]),
        reverse("review:decide", args=[person.pk]),
        reverse("review:trends", args=[person.pk]),
        reverse("review:add_rating", args=[person.pk]),
        reverse("review:add_rating", args=[person.pk]) + f"?corrects={rating.pk}",
    ]


def test_every_review_url_is_a_404_for_patients_even_for_their_own_record(
    client, patient, second_patient, records
):
    urls = review_urls(*records)
    from intake.models import EligibilityDecision

    for user in (patient, second_patient):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 404, url
            assert (
                client.post(
                    url, {"note": "x", "outcome": "eligible", "modality": "iv", "sign": "on"}
                ).status_code
                == 404
            ), url
    assert UrgentAlert.objects.get().acknowledged_at is None
    assert not EligibilityDecision.objects.exists()


def test_front_desk_gets_404_and_clinic_admins_only_see_the_alert_list(
    client, front_desk, clinic_admin, records
):
    person = records[0]
    urls = review_urls(*records)
    client.force_login(front_desk)
    for url in urls:
        assert client.get(url).status_code == 404, url
    client.force_login(clinic_admin)
    for url in urls:
        expected = 200 if url == reverse("review:alerts") else 404
        assert client.get(url).status_code == expected, url
    listing = client.get(reverse("review:alerts")).content.decode()
    assert person.initials in listing
    assert person.legal_last_name not in listing and "C-SSRS" not in listing  # initials only for admins


def test_anonymous_visitors_are_sent_to_sign_in(client, records):
    for url in review_urls(*records):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_unknown_ids_are_404_for_clinicians_too(client, clinician, records):
    client.force_login(clinician)
    for url in ("/review/patients/999999/", "/review/alerts/999999/", "/review/patients/999999/trends/"):
        assert client.get(url).status_code == 404
    person = records[0]
    assert client.get(reverse("review:add_rating", args=[person.pk]) + "?corrects=abc").status_code == 404


def test_clinicians_see_only_their_locations_patients_when_restricted(
    client, clinician, on_call, location, other_location, settings, frozen_clock
):
    here = make_patient(first="Here", location=location)
    there = make_patient(first="There", location=other_location)
    unassigned = make_patient(first="Unassigned")
    for person in (here, there, unassigned):
        make_intake(person, at=NOW - timedelta(days=1))
        rescreen(person, now=NOW - timedelta(hours=1), high=True)
    there_alert = UrgentAlert.objects.get(patient=there)
    client.force_login(clinician)

    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    assert {s.patient.legal_first_name for s in review_queue(clinician)} == {"Here", "Unassigned"}
    assert {a.patient.legal_first_name for a in open_alerts(clinician).alerts} == {"Here", "Unassigned"}
    for url in (
        reverse("review:patient", args=[there.pk]),
        reverse("review:trends", args=[there.pk]),
        reverse("review:decide", args=[there.pk]),
        reverse("review:alert", args=[there_alert.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("review:patient", args=[here.pk])).status_code == 200
    # Nobody's alert falls between two clinics: patients with no location yet are visible to all.
    assert client.get(reverse("review:patient", args=[unassigned.pk])).status_code == 200
    page = client.get(reverse("review:queue")).content.decode()
    assert "There Reviewee" not in page and "Urgent: 2 suicide-risk alerts" in page
    # The navigation counts their locations only, on the pages whose own statement can carry the whole clinic's.
    for url in (reverse("review:queue"), reverse("review:trends", args=[here.pk])):
        html = client.get(url).content.decode()
        assert '2<span class="visually-hidden"> waiting</span>' in html and "2 open</span>" in html, url

    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = False
    assert client.get(reverse("review:patient", args=[there.pk])).status_code == 200
    assert len(open_alerts(clinician).alerts) == 3
    for url in (reverse("review:queue"), reverse("review:trends", args=[here.pk])):
        html = client.get(url).content.decode()
        assert '3<span class="visually-hidden"> waiting</span>' in html and "3 open</span>" in html, url


def test_with_restriction_the_on_call_clinicians_of_the_patients_location_are_told_first(
    clinician, on_call, other_location, make_user, smtp_server, settings
):
    from clinic.roles import Role
    from review.alerts import notify_on_call
    from scheduling.models import Clinician

    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    west = make_user(Role.CLINICIAN, email="west@example.org")
    Clinician.objects.create(user=west, is_on_call=True).locations.add(other_location)
    rescreen(make_patient(location=other_location), now=NOW, high=True)
    notify_on_call(alert_id=UrgentAlert.objects.get().pk, now=NOW)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "west@example.org"


def test_the_gate_reads_the_patient_and_location_the_orm_would(clinician, records, second_patient):
    person = records[0]
    for pk in (person.pk, second_patient.patient.pk):  # with a location, and without one
        read = patient_for_clinician(clinician, pk)
        expected = Patient.objects.select_related("location").get(pk=pk)
        assert [getattr(read, f.attname) for f in Patient._meta.concrete_fields] == [
            getattr(expected, f.attname) for f in Patient._meta.concrete_fields
        ]
        assert read.location == expected.location
        if expected.location is not None:
            assert (read.location.name, read.location.time_zone) == (
                expected.location.name,
                expected.location.time_zone,
            )


def test_a_restricted_clinician_never_gets_the_prepared_first_page(clinician, records, settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    assert first_queue_page(clinician) is None  # the ORM path, with the location rule
