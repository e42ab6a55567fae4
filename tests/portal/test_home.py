"""The patient's home page at each stage, through the real services: what it says is current, and no earlier
stage's message lingers (a cleared patient never reads that a review is to come; the check-in, once answered, is
no longer "open"; a not-cleared patient never sees the clinician's reason)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils.html import escape

from clinic.models import RecordView
from intake.models import Intake
from portal.stage import portal_stage
from review.decisions import record_decision
from scheduling import services
from scheduling.models import Appointment
from tests.factories import (
    A_WEDNESDAY,
    NOW,
    Clinic,
    build_clinic,
    clear_for_treatment,
    give_cleared_intake,
    local,
    make_intake,
    phq9_data,
)
from tests.portal.test_stage import STAGES

SUBMITTED_AT = datetime(2027, 2, 1, 15, 0, tzinfo=UTC)
DECIDED_AT = SUBMITTED_AT + timedelta(days=1)
INTERNAL_REASON = "BMI 44 and an unexplained syncope history: too risky"
REVIEW_PENDING = b"A clinician will review"
CHECKIN_OPEN = b"Your check-in for this session is open"


@pytest.fixture
def pat(client, patient):
    client.force_login(patient)
    return client


@pytest.fixture
def record(patient):
    return patient.patient


def _home(client):
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    return response.content


def _stage(content: bytes) -> str:
    """The stage the page shows, after checking that it shows one stage and no other stage's heading."""
    assert content.count(b'data-stage="') == 1
    stage = content.split(b'data-stage="', 1)[1].split(b'"', 1)[0].decode()
    shown = {str(facts_stage): portal_stage(facts).heading for facts, facts_stage, _ in STAGES}
    for other, heading in shown.items():
        if other != stage and heading != shown.get(stage):
            assert escape(heading).encode() not in content, (stage, heading)
    return stage


def _decide(record, clinician, outcome, **extra):
    return record_decision(patient=record, decided_by=clinician, outcome=outcome, now=DECIDED_AT, **extra)


@time_machine.travel(NOW, tick=False)
def test_an_invited_patient_is_asked_to_start_the_intake(pat):
    page = _home(pat)
    assert _stage(page) == "invited" and b"Start your intake" in page
    assert REVIEW_PENDING not in page


@time_machine.travel(NOW, tick=False)
def test_an_intake_in_progress_shows_its_progress(pat, record):
    Intake.objects.create(patient=record)
    page = _home(pat)
    assert _stage(page) == "intake_in_progress" and b"Continue your intake" in page


@time_machine.travel(NOW, tick=False)
def test_submitted_then_under_review_once_a_clinician_opens_it(pat, record, clinician):
    make_intake(record, at=SUBMITTED_AT)
    page = _home(pat)
    assert _stage(page) == "submitted" and REVIEW_PENDING in page
    # A look at the record before this intake was submitted is not a review of it.
    RecordView.objects.create(user=clinician, patient_id=record.pk, what="review: screening", path="/x",
                              occurred_at=SUBMITTED_AT - timedelta(days=3))  # fmt: skip
    assert _stage(_home(pat)) == "submitted"
    RecordView.objects.create(user=clinician, patient_id=record.pk, what="review: screening", path="/x",
                              occurred_at=SUBMITTED_AT + timedelta(hours=2))  # fmt: skip
    page = _home(pat)
    assert _stage(page) == "under_review" and REVIEW_PENDING not in page


@time_machine.travel(NOW, tick=False)
def test_more_information_needed_shows_the_message_and_not_the_reason(pat, record, clinician):
    make_intake(record, at=SUBMITTED_AT)
    _decide(
        record, clinician, "more_info_needed", message_to_patient="Which medicines do you take for sleep?"
    )
    page = _home(pat)
    assert _stage(page) == "more_info_needed"
    assert b"Which medicines do you take for sleep?" in page and b"Answer now" in page
    assert REVIEW_PENDING not in page


@time_machine.travel(NOW, tick=False)
def test_a_cleared_patient_reads_cleared_and_never_that_a_review_is_to_come(pat, record, clinician):
    make_intake(record, at=SUBMITTED_AT)
    _decide(record, clinician, "eligible", modality="iv")
    page = _home(pat)
    assert _stage(page) == "cleared" and b"cleared you for IV ketamine" in page
    assert REVIEW_PENDING not in page and b"front desk will call you" in page


@time_machine.travel(NOW, tick=False)
def test_a_not_cleared_patient_is_told_kindly_and_never_sees_the_reason(pat, record, clinician):
    make_intake(record, at=SUBMITTED_AT)
    _decide(record, clinician, "not_eligible", reason=INTERNAL_REASON)
    page = _home(pat)
    assert _stage(page) == "not_cleared" and b"will contact you" in page
    assert INTERNAL_REASON.encode() not in page and b"BMI" not in page
    assert REVIEW_PENDING not in page


@pytest.fixture
def booked(record, front_desk, db):
    clinic = Clinic(*build_clinic())
    record.location = clinic.location
    record.save(update_fields=["location"])
    give_cleared_intake(record)
    clear_for_treatment(record)
    return services.book_appointment(
        patient=record, treatment_type=clinic.iv, location=clinic.location, start=local(A_WEDNESDAY, 9),
        resource=clinic.chairs[0], clinician=clinic.clinicians[0], booked_by=front_desk, now=NOW,
    )  # fmt: skip


def _check_in(client):
    data = {f"phq9-{key}": value for key, value in phq9_data().items()}
    data.update({"cssrs_since_last_visit-q1": "no", "cssrs_since_last_visit-q2": "no",
                 "cssrs_since_last_visit-q6": "no"})  # fmt: skip
    assert client.post(reverse("intake:rescreen"), data).status_code == 302


def test_booked_then_check_in_due_then_done_with_no_stale_open_message(pat, booked):
    with time_machine.travel(booked.start_at - timedelta(hours=30), tick=False):
        page = _home(pat)
        assert _stage(page) == "booked" and CHECKIN_OPEN not in page and REVIEW_PENDING not in page
    with time_machine.travel(booked.start_at - timedelta(hours=20), tick=False):
        page = _home(pat)
        assert _stage(page) == "checkin_due" and CHECKIN_OPEN in page
        _check_in(pat)
        page = _home(pat)
        assert _stage(page) == "checkin_done" and b"Check-in done" in page
        assert CHECKIN_OPEN not in page and b"Your check-in is open" not in page


def test_a_check_in_answered_before_the_window_does_not_count(pat, booked):
    with time_machine.travel(booked.start_at - timedelta(hours=30), tick=False):
        _check_in(pat)
    with time_machine.travel(booked.start_at - timedelta(hours=20), tick=False):
        assert _stage(_home(pat)) == "checkin_due"


def test_after_the_session_the_patient_is_thanked_and_told_what_comes_next(pat, booked):
    Appointment.objects.filter(pk=booked.pk).update(status=Appointment.Status.DISCHARGED)
    with time_machine.travel(booked.end_at + timedelta(hours=2), tick=False):
        page = _home(pat)
    assert _stage(page) == "after_session" and b"Thank you for coming in" in page
    assert b"988" in page and CHECKIN_OPEN not in page


def test_the_clinic_phone_is_a_tap_to_call_link_where_the_patient_is_asked_to_call(pat, booked):
    booked.location.phone = "617-555-0100"
    booked.location.save(update_fields=["phone"])
    Appointment.objects.filter(pk=booked.pk).update(status=Appointment.Status.DISCHARGED)
    with time_machine.travel(booked.end_at + timedelta(hours=2), tick=False):
        page = _home(pat)
    assert _stage(page) == "after_session" and b"call the clinic" in page
    assert b'<a href="tel:+16175550100">(617) 555-0100</a>' in page


@time_machine.travel(NOW, tick=False)
def test_the_home_page_reads_a_fixed_number_of_queries(pat, booked, django_assert_max_num_queries):
    # The stage's facts, the upcoming sessions, the latest risk (for the crisis block), and the page's frame.
    with django_assert_max_num_queries(14):
        _home(pat)
