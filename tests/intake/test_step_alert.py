"""A high-risk C-SSRS answer counts the moment its step is saved: crisis resources at once and one urgent alert,
even if the intake is never submitted; saving the step again or submitting later never raises a second one."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from intake import services
from intake.models import Intake, IntakeSubmission, UrgentAlert
from scheduling.models import Clinician
from tests.factories import all_steps, cssrs_data, post_step

HIGH = cssrs_data(q1="yes", q2="yes", q3="yes", q4="yes", q5="no")


@pytest.fixture
def on_call_clinician(make_user):
    user = make_user(Role.CLINICIAN, email="on.call@example.org", full_name="Casey On-Call")
    Clinician.objects.create(user=user, credentials="MD", is_on_call=True)
    return user


def _fill_before_cssrs(client, intake: Intake) -> None:
    for key, data in all_steps():
        if key == "cssrs":
            return
        assert post_step(client, intake, key, data).status_code == 302, key


def _crisis_block(page: str) -> None:
    """The one crisis block, urgent, with tap-to-call and tap-to-text links."""
    assert page.count("data-crisis-block") == 1
    assert page.count("Please reach out for support now") == 1
    assert 'href="tel:988"' in page and 'href="sms:988"' in page and 'href="tel:911"' in page


def test_a_high_risk_step_shows_crisis_resources_and_raises_one_alert_before_submission(
    patient_client, intake, on_call_clinician, eager_celery, django_capture_on_commit_callbacks
):
    _fill_before_cssrs(patient_client, intake)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_step(patient_client, intake, "cssrs", HIGH)
    assert response.status_code == 302
    _crisis_block(patient_client.get(response["Location"]).content.decode())

    alert = UrgentAlert.objects.get()
    assert alert.intake_id == intake.pk and alert.submission is None and alert.acknowledged_at is None
    assert alert.patient_id == intake.patient_id
    assert any("before the intake was submitted" in reason for reason in alert.reasons)
    assert not IntakeSubmission.objects.exists()
    assert Intake.objects.get(pk=intake.pk).status == Intake.Status.IN_PROGRESS
    [message] = mail.outbox
    assert message.to == [on_call_clinician.email]
    assert intake.patient.initials in message.subject
    alert.refresh_from_db()
    assert alert.notified_at is not None

    # Saving the step again (same answers, or back from another step) raises nothing new and tells nobody again.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert post_step(patient_client, intake, "cssrs", HIGH).status_code == 302
        assert post_step(patient_client, intake, "cssrs", HIGH, action="save_exit").status_code == 302
    assert callbacks == [] and UrgentAlert.objects.count() == 1 and len(mail.outbox) == 1

    # Leaving for the portal: the crisis resources stay while the alert is open.
    _crisis_block(patient_client.get(reverse("portal:home")).content.decode())


def test_submitting_after_a_high_risk_step_joins_its_alert(
    patient_client, intake, on_call_clinician, eager_celery, django_capture_on_commit_callbacks
):
    _fill_before_cssrs(patient_client, intake)
    with django_capture_on_commit_callbacks(execute=True):
        post_step(patient_client, intake, "cssrs", HIGH)
    raised = UrgentAlert.objects.get()
    post_step(patient_client, intake, "consent", dict(all_steps())["consent"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = patient_client.post(reverse("intake:review", args=[intake.pk]), follow=True)
    assert response.status_code == 200
    _crisis_block(response.content.decode())
    submission = IntakeSubmission.objects.get()
    assert submission.is_urgent and submission.cssrs_risk == "high"
    alert = UrgentAlert.objects.get()  # still exactly one
    assert alert.pk == raised.pk and alert.submission == submission and alert.intake_id == intake.pk
    assert alert.created_at == raised.created_at
    assert sum("C-SSRS" in reason for reason in alert.reasons) == 1
    assert callbacks == [] and len(mail.outbox) == 1


def test_a_step_changed_to_no_risk_before_submission_keeps_its_alert_and_adds_none(
    patient_client, intake, django_capture_on_commit_callbacks
):
    _fill_before_cssrs(patient_client, intake)
    post_step(patient_client, intake, "cssrs", HIGH)
    post_step(patient_client, intake, "cssrs", cssrs_data())
    post_step(patient_client, intake, "consent", dict(all_steps())["consent"])
    patient_client.post(reverse("intake:review", args=[intake.pk]))
    submission = IntakeSubmission.objects.get()
    assert not submission.is_urgent
    alert = (
        UrgentAlert.objects.get()
    )  # what the patient said first is not unsaid: a clinician still acts on it
    assert alert.submission is None and alert.intake_id == intake.pk


@pytest.mark.parametrize(
    "answers",
    [
        cssrs_data(),
        cssrs_data(q1="yes"),  # low
        cssrs_data(q1="yes", q2="yes", q3="yes", q4="no", q5="no"),  # moderate
    ],
)
def test_a_step_below_high_risk_raises_no_alert(patient_client, intake, answers):
    _fill_before_cssrs(patient_client, intake)
    response = post_step(patient_client, intake, "cssrs", answers)
    assert response.status_code == 302
    page = patient_client.get(response["Location"]).content.decode()
    assert "data-crisis-block" not in page and "Please reach out for support now" not in page
    assert not UrgentAlert.objects.exists()
    assert "data-crisis-block" not in patient_client.get(reverse("portal:home")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_tabs_saving_the_high_risk_step_at_once_raise_one_alert(patient):
    patient_record = patient.patient
    intake = services.current_intake(patient=patient_record, now=timezone.now())
    answers = {
        "q1": True,
        "q2": True,
        "q3": True,
        "q4": True,
        "q5": False,
        "q6": False,
        "q6_past_3_months": None,
    }
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def save() -> None:
        try:
            barrier.wait()
            services.save_intake_step(
                intake=Intake.objects.get(pk=intake.pk), step_key="cssrs", answers=answers, now=timezone.now()
            )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert UrgentAlert.objects.filter(intake=intake).count() == 1


def test_the_database_refuses_a_second_alert_for_one_intake(intake):
    from django.db import IntegrityError, transaction

    now = timezone.now()
    UrgentAlert.objects.create(patient=intake.patient, intake=intake, reasons=["x"], created_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        UrgentAlert.objects.create(patient=intake.patient, intake=intake, reasons=["y"], created_at=now)
    with pytest.raises(IntegrityError), transaction.atomic():
        UrgentAlert.objects.create(patient=intake.patient, reasons=["no source"], created_at=now)
