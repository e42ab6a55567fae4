"""The front-desk patient page leads with what decides a booking: clearance per treatment, open urgent alerts, the
REMS enrollment, and the forms the patient still has to do."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from intake.consent import selectors as consent_selectors
from intake.consent import services as consent_services
from intake.models import ConsentKind, Intake, IntakeSubmission, UrgentAlert
from scheduling.models import FrontDeskAssignment, RemsEnrollment
from tests.factories import A_WEDNESDAY, build_clinic, local, make_patient

pytestmark = pytest.mark.django_db

# The day before A_WEDNESDAY's 9:00 session: its pre-session check-in is open.
TUESDAY_NOON = datetime(2027, 3, 2, 17, 0, tzinfo=UTC)


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


def lead(desk, patient) -> str:
    with time_machine.travel(TUESDAY_NOON, tick=False):
        response = desk.get(reverse("scheduling:patient_detail", args=[patient.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('id="bookable-heading"') : html.index('id="upcoming-heading"')]


def test_a_cleared_patient_with_a_session_tomorrow_is_asked_for_their_check_in(desk, clinic, book):
    patient = make_patient(first="Cleo", last="Ready")
    RemsEnrollment.objects.create(patient=patient, enrolled_on=date(2027, 1, 5))
    book(patient, local(A_WEDNESDAY, 9), now=TUESDAY_NOON - timedelta(days=1))

    html = lead(desk, patient)

    assert html.count('data-clearance-line="cleared"') == 2  # IV ketamine and Spravato
    assert "A clinician cleared the patient for IV ketamine" in html
    assert 'data-open-alerts="0"' in html
    assert "REMS enrolled" in html
    assert "Pre-session check-in for Wed, Mar 3, 2027, 9:00 AM EST: not answered yet." in html

    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.RESCREEN,
        patient=patient,
        submitted_at=TUESDAY_NOON - timedelta(hours=1),
        answers={},
        findings=[],
        cssrs_risk="low",
    )
    assert "Pre-session check-in" not in lead(desk, patient)  # answered: no longer to do


def test_a_new_patient_is_pending_with_the_intake_to_finish_and_no_rems(desk, clinic):
    patient = make_patient(first="Nia", last="New", eligible=False)
    Intake.objects.create(patient=patient, started_at=datetime(2027, 2, 20, 15, tzinfo=UTC))

    html = lead(desk, patient)

    assert html.count('data-clearance-line="pending"') == 2
    assert "The patient has not submitted their intake yet." in html
    assert "Intake: started on" in html and "not submitted yet" in html
    assert "No REMS enrollment" in html


def test_an_open_alert_means_not_cleared_and_is_listed(desk, clinic):
    patient = make_patient(first="Ali", last="Alert")
    submission = IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.RESCREEN,
        patient=patient,
        submitted_at=datetime(2027, 2, 25, tzinfo=UTC),
        answers={},
        findings=[],
        cssrs_risk="high",
        is_urgent=True,
    )
    UrgentAlert.objects.create(
        patient=patient, submission=submission, created_at=datetime(2027, 2, 25, tzinfo=UTC)
    )

    html = lead(desk, patient)

    assert html.count('data-clearance-line="not_cleared"') == 2
    assert 'data-open-alerts="1"' in html
    assert "a clinician must acknowledge it" in html


def test_a_material_consent_version_asks_for_a_new_signature(desk, clinic, clinic_admin):
    patient = make_patient(first="Cory", last="Consent")
    now = timezone.now()
    general = consent_selectors.current_version(ConsentKind.GENERAL)
    assert general is not None
    consent_services.sign(
        patient=patient, kind=ConsentKind.GENERAL, version_id=general.pk, typed_name="Cory Consent", now=now,
        ip_address=None, user_agent="test",
    )  # fmt: skip
    assert "must sign the new version" not in lead(desk, patient)

    consent_services.save_draft(
        kind=ConsentKind.GENERAL, version="2099-01", title=general.title, body=general.body + "\n\nMore.",
        by=clinic_admin, now=now,
    )  # fmt: skip
    consent_services.publish_draft(kind=ConsentKind.GENERAL, change="material", by=clinic_admin, now=now)
    html = lead(desk, patient)
    assert "must sign the new version 2099-01 of the" in html


def test_another_locations_patient_is_a_404(client, front_desk, clinic, settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    elsewhere = build_clinic()[0]
    FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    stranger = make_patient(location=elsewhere)
    client.force_login(front_desk)
    assert client.get(reverse("scheduling:patient_detail", args=[stranger.pk])).status_code == 404


def test_the_patient_page_and_the_day_sheet_stay_within_a_query_budget(
    desk, clinic, book, django_assert_max_num_queries
):
    patient = make_patient(first="Bud", last="Get")
    for day in range(3):
        book(patient, local(A_WEDNESDAY, 9).replace(day=3 + 2 * day), now=TUESDAY_NOON - timedelta(days=1))
    with time_machine.travel(TUESDAY_NOON, tick=False):
        desk.get(reverse("scheduling:patient_detail", args=[patient.pk]))  # the session's first save
        # The gate, the view log, the sessions, the lead's six reads (the consents' standing shared with the
        # consent holds), the invitation, the same-person flags and the forms' choices: fixed, whatever the number
        # of sessions.
        with django_assert_max_num_queries(23):
            assert desk.get(reverse("scheduling:patient_detail", args=[patient.pk])).status_code == 200
        sheet = reverse("scheduling:day_sheet") + f"?location={clinic.location.pk}&date=2027-03-03"
        # The signed-in user, the locations and the day statement.
        with django_assert_max_num_queries(3):
            assert desk.get(sheet).status_code == 200
