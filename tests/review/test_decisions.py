"""Eligibility decisions: signed, kept, superseded; hard-stop overrides; the booking gate reads them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse

from intake.eligibility import Eligibility, booking_eligibility
from intake.models import EligibilityDecision, Intake, UrgentAlert
from review.decisions import DecisionError, record_decision
from review.selectors import open_information_request, review_queue
from tests.factories import HARD_STOP, IV_HARD_STOP, make_intake, rescreen
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_review_patient as make_patient


def decide(patient, clinician, outcome="eligible", *, now=NOW, **fields):
    fields.setdefault("modality", "both" if outcome == "eligible" else "none")
    return record_decision(patient=patient, decided_by=clinician, outcome=outcome, now=now, **fields)


# --- Signed, kept, superseded -------------------------------------------------------------------------------------


def test_a_new_decision_supersedes_the_one_in_force_and_both_are_kept(clinician, second_clinician):
    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=2))
    first = decide(patient, clinician, modality="iv", now=NOW)
    second = decide(
        patient,
        second_clinician,
        "not_eligible",
        reason="Active psychosis on assessment.",
        now=NOW + timedelta(hours=1),
    )

    assert second.supersedes == first
    assert first.superseded_by == second
    assert list(EligibilityDecision.objects.filter(patient=patient).order_by("decided_at")) == [first, second]
    first.refresh_from_db()
    assert (first.outcome, first.modality, first.decided_by) == ("eligible", "iv", clinician)
    assert (second.decided_by, second.decided_at) == (second_clinician, NOW + timedelta(hours=1))


def test_the_database_refuses_to_change_delete_or_fork_a_decision(clinician):
    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=1))
    first = decide(patient, clinician, modality="iv")
    latest = decide(patient, clinician, modality="both", now=NOW + timedelta(minutes=5))

    with pytest.raises(DatabaseError, match="permanent record"), transaction.atomic():
        EligibilityDecision.objects.filter(pk=first.pk).update(modality="spravato")
    with pytest.raises(DatabaseError, match="permanent record"), transaction.atomic():
        EligibilityDecision.objects.filter(pk=latest.pk).delete()
    # A second decision claiming to supersede the same one would fork the history.
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityDecision.objects.create(
            patient=patient, outcome="eligible", modality="iv", decided_by=clinician,
            decided_at=NOW + timedelta(minutes=9), supersedes=first,
        )  # fmt: skip
    # ... and so would a second "first" decision.
    with pytest.raises(IntegrityError), transaction.atomic():
        EligibilityDecision.objects.create(
            patient=patient, outcome="eligible", modality="iv", decided_by=clinician, decided_at=NOW
        )
    # A decision cannot supersede another patient's.
    other = make_patient()
    with pytest.raises(DatabaseError, match="same patient"), transaction.atomic():
        EligibilityDecision.objects.create(
            patient=other, outcome="eligible", modality="iv", decided_by=clinician,
            decided_at=NOW + timedelta(hours=1), supersedes=first,
        )  # fmt: skip


def test_the_database_enforces_what_each_outcome_needs(clinician):
    patient = make_patient()
    base = {"patient": patient, "decided_by": clinician, "decided_at": NOW}
    refused = [
        {"outcome": "eligible", "modality": "none"},
        {"outcome": "not_eligible", "modality": "none", "reason": "   "},
        {"outcome": "more_info_needed", "modality": "none", "message_to_patient": ""},
        {"outcome": "not_eligible", "modality": "iv", "reason": "x"},
        {
            "outcome": "eligible",
            "modality": "iv",
            "overridden_findings": ["aneurysm"],
            "override_justification": " ",
        },
        {"outcome": "eligible", "modality": "iv", "reopened_steps": ["medical"]},
    ]
    for fields in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            EligibilityDecision.objects.create(**base, **fields)


def test_only_clinicians_decide(front_desk, clinic_admin):
    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=1))
    for user in (front_desk, clinic_admin):
        with pytest.raises(DecisionError, match="Only a clinician"):
            decide(patient, user)
    assert not EligibilityDecision.objects.exists()


def test_a_decision_needs_a_submitted_intake(clinician):
    with pytest.raises(DecisionError, match="not submitted an intake"):
        decide(make_patient(), clinician)


# --- Hard-stop overrides ------------------------------------------------------------------------------------------


def test_clearing_a_hard_stop_needs_a_written_justification(clinician):
    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=1), findings=[HARD_STOP])
    with pytest.raises(DecisionError, match="Aneurysmal vascular disease") as refused:
        decide(patient, clinician, modality="spravato", override_justification="   ")
    assert refused.value.field == "override_justification"
    assert not EligibilityDecision.objects.exists()

    decision = decide(
        patient,
        clinician,
        modality="spravato",
        override_justification="Imaging 2026 shows no aneurysm; cardiology agrees.",
    )
    assert decision.overridden_findings == ["aneurysm"]
    assert decision.override_justification.startswith("Imaging 2026")


def test_a_hard_stop_for_one_treatment_does_not_need_an_override_for_the_other(clinician):
    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=1), findings=[IV_HARD_STOP])
    spravato = decide(patient, clinician, modality="spravato")
    assert spravato.overridden_findings == [] and spravato.override_justification == ""
    with pytest.raises(DecisionError, match="A stop for IV only"):
        decide(patient, clinician, modality="iv", now=NOW + timedelta(minutes=1))
    with pytest.raises(DecisionError, match="A stop for IV only"):
        decide(patient, clinician, modality="both", now=NOW + timedelta(minutes=1))


def test_outcomes_need_their_own_words(clinician):
    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=1))
    with pytest.raises(DecisionError) as no_reason:
        decide(patient, clinician, "not_eligible", reason=" ")
    assert no_reason.value.field == "reason"
    with pytest.raises(DecisionError) as no_message:
        decide(patient, clinician, "more_info_needed")
    assert no_message.value.field == "message_to_patient"
    with pytest.raises(DecisionError) as no_treatment:
        decide(patient, clinician, "eligible", modality="none")
    assert no_treatment.value.field == "modality"
    with pytest.raises(DecisionError, match="no intake step"):
        decide(patient, clinician, "more_info_needed", message_to_patient="Please", reopened_steps=["nope"])


def test_a_decision_on_a_stale_page_is_refused(clinician, second_clinician):
    patient = make_patient()
    old = make_intake(patient, at=NOW - timedelta(days=3))
    new = make_intake(patient, at=NOW - timedelta(days=1))
    with pytest.raises(DecisionError, match="newer intake"):
        decide(patient, clinician, submission_id=old.pk, expected_current_id=None)
    colleague = decide(patient, second_clinician, submission_id=new.pk, expected_current_id=None)
    with pytest.raises(DecisionError, match="while this page was open"):
        decide(patient, clinician, "not_eligible", reason="x", submission_id=new.pk, expected_current_id=None)
    later = decide(
        patient, clinician, "not_eligible", reason="x", submission_id=new.pk, expected_current_id=colleague.pk,
        now=NOW + timedelta(minutes=1),
    )  # fmt: skip
    assert later.supersedes == colleague


# --- More information needed -------------------------------------------------------------------------------------


def test_asking_for_more_information_reopens_only_those_steps_and_tells_the_patient(
    clinician, django_capture_on_commit_callbacks, smtp_server
):
    from intake.models import IntakeSubmission

    patient = make_patient()
    submission_answers = {
        "reasons": {"reasons": ["depression"], "other_reason": ""},
        "medical": {"aneurysm": "unsure"},
        "body": {"units": "metric"},
    }
    IntakeSubmission.objects.create(
        kind="intake", patient=patient, submitted_at=NOW - timedelta(hours=2), answers=submission_answers
    )
    with django_capture_on_commit_callbacks() as callbacks:
        decision = decide(
            patient, clinician, "more_info_needed",
            message_to_patient="Please tell us more about the aneurysm question: has a doctor ever scanned you?",
            reopened_steps=["medical"],
        )  # fmt: skip
    assert open_information_request(patient) == decision
    draft = Intake.objects.get(patient=patient, status="in_progress")
    assert "medical" not in draft.answers
    assert draft.answers["reasons"] == submission_answers["reasons"]
    assert draft.answers["_reopened"] == {"decision_id": decision.pk, "steps": ["medical"]}
    assert not review_queue(clinician).filter(patient=patient).exists()

    # One email task is enqueued on commit; run it here (the worker round trip is tested with the alerts).
    from review.tasks import send_information_request_email

    assert len(callbacks) == 1
    send_information_request_email(decision.pk)
    [email] = smtp_server.wait_for(1)
    assert email["To"] == patient.email
    body = email.get_payload()
    assert "/patient/" in body and "aneurysm" not in body.lower()

    # The patient answers with a new intake: the request is answered and the patient is back in the queue.
    make_intake(patient, at=NOW + timedelta(hours=3))
    assert open_information_request(patient) is None
    assert review_queue(clinician).filter(patient=patient).exists()
    assert booking_eligibility(patient=patient, modality="iv", now=NOW + timedelta(hours=4)).allowed is False


# --- The booking gate ---------------------------------------------------------------------------------------------


def test_booking_eligibility_answers_from_the_decision_in_force(clinician):
    patient = make_patient()
    ask = lambda modality, when=NOW + timedelta(minutes=30): booking_eligibility(  # noqa: E731
        patient=patient, modality=modality, now=when
    )
    assert ask("consultation").allowed
    assert ask("iv") == Eligibility(False, "The patient has not submitted their intake yet.")

    intake = make_intake(patient, at=NOW - timedelta(days=1), findings=[IV_HARD_STOP])
    waiting = ask("iv")
    assert not waiting.allowed
    assert "not yet reviewed" in waiting.reason and "A stop for IV only" in waiting.reason
    assert "A stop for IV only" not in ask("spravato").reason

    decide(patient, clinician, modality="spravato", submission_id=intake.pk)
    assert ask("spravato").allowed
    assert "cleared the patient for Spravato" in ask("spravato").reason
    refused = ask("iv")
    assert not refused.allowed and "Spravato (esketamine) only, not IV ketamine" in refused.reason
    # Decisions are read as of `now`: before it was made, the patient was not yet cleared.
    assert not ask("spravato", NOW - timedelta(minutes=1)).allowed

    decide(patient, clinician, "not_eligible", reason="Uncontrolled psychosis.", now=NOW + timedelta(hours=1))
    later = ask("spravato", NOW + timedelta(hours=2))
    assert not later.allowed and "not eligible" in later.reason
    assert "psychosis" not in later.reason  # the clinician's reason stays on the review page

    decide(
        patient,
        clinician,
        "more_info_needed",
        message_to_patient="Call us please.",
        now=NOW + timedelta(hours=3),
    )
    assert "more information" in ask("spravato", NOW + timedelta(hours=4)).reason

    decide(patient, clinician, modality="spravato", now=NOW + timedelta(hours=5))
    make_intake(patient, at=NOW + timedelta(hours=6))  # a newer intake needs a new decision
    newer = ask("spravato", NOW + timedelta(hours=7))
    assert not newer.allowed and "new intake" in newer.reason


def test_an_open_urgent_alert_refuses_booking_until_acknowledged(clinician, on_call):
    from review.alerts import acknowledge_alert

    patient = make_patient()
    make_intake(patient, at=NOW - timedelta(days=2))
    decide(patient, clinician, modality="both", now=NOW - timedelta(days=1))
    assert booking_eligibility(patient=patient, modality="iv", now=NOW).allowed

    rescreen(patient, now=NOW, high=True)
    alert = UrgentAlert.objects.get(patient=patient)
    refused = booking_eligibility(patient=patient, modality="iv", now=NOW + timedelta(minutes=1))
    assert not refused.allowed
    assert "urgent screening alert" in refused.reason and "acknowledge" in refused.reason
    assert booking_eligibility(patient=patient, modality="consultation", now=NOW).allowed

    acknowledge_alert(
        alert_id=alert.pk,
        acknowledged_by=clinician,
        note="Called; safe, plan reviewed.",
        now=NOW + timedelta(minutes=5),
    )
    assert booking_eligibility(patient=patient, modality="iv", now=NOW + timedelta(minutes=6)).allowed


def test_a_decision_makes_the_patient_bookable_through_scheduling(clinician, front_desk):
    from scheduling import services
    from tests.factories import A_WEDNESDAY, build_clinic, local, treatment_type

    clinic_location, chairs, _room, clinicians = build_clinic()
    patient = make_patient(location=clinic_location)
    make_intake(patient, at=NOW - timedelta(days=30))
    now = NOW - timedelta(days=10)
    book = lambda: services.book_appointment(  # noqa: E731
        patient=patient, treatment_type=treatment_type("iv-ketamine"), location=clinic_location,
        start=local(A_WEDNESDAY, 9), resource=chairs[0], clinician=clinicians[0], booked_by=front_desk, now=now,
    )  # fmt: skip
    with pytest.raises(services.BookingRefused, match="not yet reviewed"):
        book()
    decide(patient, clinician, modality="iv", now=now - timedelta(days=1))
    assert book().pk


# --- The decision page ----------------------------------------------------------------------------------------------


def test_a_clinician_decides_on_the_page_and_a_colleague_sees_the_history(
    client, clinician, second_clinician, frozen_clock
):
    patient = make_patient()
    submission = make_intake(patient, at=NOW - timedelta(days=1), findings=[HARD_STOP])
    client.force_login(clinician)
    url = reverse("review:decide", args=[patient.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Aneurysmal vascular disease" in page.content and b"Casey Doc" in page.content

    post = {
        "outcome": "eligible",
        "modality": "iv",
        "submission_id": submission.pk,
        "current_decision_id": "",
        "sign": "on",
    }
    refused = client.post(url, post)
    assert refused.status_code == 422
    assert b"Write why treatment is safe" in refused.content
    assert b'id="error-summary"' in refused.content
    assert b'aria-invalid="true"' in refused.content
    assert not EligibilityDecision.objects.exists()

    unsigned = client.post(url, {**post, "override_justification": "MRA clear.", "sign": ""})
    assert unsigned.status_code == 422 and b"sign the decision" in unsigned.content

    done = client.post(
        url, {**post, "override_justification": "MRA 2026 clear; vascular surgeon agrees."}, follow=True
    )
    assert done.redirect_chain[-1][0] == reverse("review:patient", args=[patient.pk])
    assert b"Decision recorded and signed: Eligible for IV ketamine" in done.content
    decision = EligibilityDecision.objects.get()
    assert (decision.decided_by, decision.overridden_findings) == (clinician, ["aneurysm"])

    client.force_login(second_clinician)
    page = client.get(reverse("review:patient", args=[patient.pk]))
    assert b"Signed by Casey Doc" in page.content and b"MRA 2026 clear" in page.content
    # Their decision form carries the decision in force, so they replace it knowingly.
    second = client.post(
        url,
        {"outcome": "not_eligible", "reason": "Changed my mind after the ECG.", "submission_id": submission.pk,
         "current_decision_id": decision.pk, "sign": "on"},
    )  # fmt: skip
    assert second.status_code == 302
    history = client.get(reverse("review:patient", args=[patient.pk]))
    assert b"Earlier decisions (1)" in history.content and b"replaced by a later decision" in history.content
