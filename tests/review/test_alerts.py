"""Urgent alerts: acknowledged with a note (never without), escalated once after the configured time, and the
on-call email delivered through a real Celery worker and a real SMTP server within a minute."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from intake.models import UrgentAlert
from review.alerts import AlertError, acknowledge_alert, notify_on_call
from review.tasks import sweep_urgent_alerts
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_review_patient as make_patient
from tests.factories import rescreen
from tests.support import start_worker, stop_worker


def body_of(message) -> str:
    return (
        message.get_payload(decode=True).decode()
        if not message.is_multipart()
        else message.get_payload(0).get_payload()
    )


def assert_no_clinical_detail(message, patient) -> None:
    text = (message["Subject"] + body_of(message)).lower()
    for word in (
        "c-ssrs",
        "phq",
        "suicid",
        "item 9",
        "risk",
        patient.legal_first_name.lower(),
        patient.legal_last_name.lower(),
    ):
        assert word not in text, word
    assert patient.initials in message["Subject"]
    assert "/review/alerts/" in body_of(message)


# --- Acknowledging ----------------------------------------------------------------------------------------------


def test_a_clinician_acknowledges_with_a_note_and_the_banner_goes(client, clinician, on_call, frozen_clock):
    patient = make_patient(first="Robin")
    rescreen(patient, now=NOW - timedelta(minutes=20), high=True)
    alert = UrgentAlert.objects.get()
    client.force_login(clinician)

    home = client.get(reverse("review:queue")).content.decode()
    assert "Urgent: 1 suicide-risk alert waiting for a clinician" in home
    assert reverse("review:alert", args=[alert.pk]) in home

    page = client.get(reverse("review:alert", args=[alert.pk]))
    assert page.status_code == 200
    assert b"C-SSRS: high risk" in page.content and b"tel:+16175550100" in page.content

    done = client.post(
        reverse("review:alert", args=[alert.pk]),
        {
            "note": "Called Robin at 10:05: safe at home with partner, safety plan reviewed, seen tomorrow 9:00."
        },
        follow=True,
    )
    assert done.redirect_chain[-1][0] == reverse("review:patient", args=[patient.pk])
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinician
    assert alert.acknowledged_at is not None
    assert alert.acknowledgement_note.startswith("Called Robin at 10:05")
    assert "suicide-risk alert waiting" not in done.content.decode()
    listing = client.get(reverse("review:alerts")).content.decode()
    assert "Open (0)" in listing and "safety plan reviewed" in listing and "Casey Doc" in listing


def test_acknowledging_without_a_note_is_refused(client, clinician, on_call, frozen_clock):
    patient = make_patient()
    rescreen(patient, now=NOW - timedelta(minutes=5), high=True)
    alert = UrgentAlert.objects.get()
    client.force_login(clinician)

    refused = client.post(reverse("review:alert", args=[alert.pk]), {"note": "   "})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "Write what was done before acknowledging the alert." in html
    assert 'id="error-summary"' in html and 'aria-invalid="true"' in html and 'id="id_note_error"' in html
    alert.refresh_from_db()
    assert alert.acknowledged_at is None

    with pytest.raises(AlertError, match="Write what was done"):
        acknowledge_alert(alert_id=alert.pk, acknowledged_by=clinician, note="\n ", now=NOW)
    # The database refuses an acknowledgement without a note, whatever the application does.
    with pytest.raises(IntegrityError), transaction.atomic():
        UrgentAlert.objects.filter(pk=alert.pk).update(acknowledged_at=NOW, acknowledged_by=clinician)


def test_only_the_first_acknowledgement_counts(clinician, second_clinician, on_call, front_desk):
    rescreen(make_patient(), now=NOW, high=True)
    alert = UrgentAlert.objects.get()
    with pytest.raises(AlertError, match="Only a clinician"):
        acknowledge_alert(alert_id=alert.pk, acknowledged_by=front_desk, note="Saw it", now=NOW)
    acknowledge_alert(
        alert_id=alert.pk, acknowledged_by=clinician, note="Called, safe.", now=NOW + timedelta(minutes=3)
    )
    with pytest.raises(AlertError, match="acknowledged this alert already"):
        acknowledge_alert(
            alert_id=alert.pk, acknowledged_by=second_clinician, note="Me too", now=NOW + timedelta(minutes=4)
        )
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledgement_note) == (clinician, "Called, safe.")


# --- Notification and escalation (in process, with the clock moved by time-machine) -----------------------------


def test_the_on_call_email_carries_initials_and_a_sign_in_link_only(
    clinician, on_call, smtp_server, make_user
):
    from clinic.roles import Role
    from scheduling.models import Clinician

    off_duty = make_user(Role.CLINICIAN, email="off.duty@example.org")
    Clinician.objects.create(user=off_duty, is_on_call=False)
    patient = make_patient(first="Quinn", last="Harper")
    rescreen(patient, now=NOW, items=(1, 1, 1, 1, 1, 1, 1, 1, 2))  # PHQ-9 item 9 alone raises an alert
    alert = UrgentAlert.objects.get()
    assert notify_on_call(alert_id=alert.pk, now=NOW) is True
    [message] = smtp_server.wait_for(1)
    assert message["To"] == clinician.email  # on call only
    assert_no_clinical_detail(message, patient)
    assert notify_on_call(alert_id=alert.pk, now=NOW) is False  # once
    alert.refresh_from_db()
    assert alert.notified_at == NOW


def test_with_nobody_on_call_every_clinician_is_told(clinician, second_clinician, smtp_server):
    rescreen(make_patient(), now=NOW, high=True)
    notify_on_call(alert_id=UrgentAlert.objects.get().pk, now=NOW)
    [message] = smtp_server.wait_for(1)
    assert sorted(message["To"].split(", ")) == sorted([clinician.email, second_clinician.email])


def test_an_unacknowledged_alert_escalates_to_the_clinic_admins_once_after_the_configured_time(
    clinician, on_call, clinic_admin, smtp_server, settings
):
    settings.REVIEW_ALERT_ESCALATION_MINUTES = 15
    patient = make_patient(first="Sky", last="Ward")
    acknowledged = make_patient(first="Done")
    with time_machine.travel(NOW, tick=False):
        rescreen(patient, now=timezone.now(), high=True)
        rescreen(acknowledged, now=timezone.now(), high=True)
        for alert in UrgentAlert.objects.all():  # what the worker does on commit
            notify_on_call(alert_id=alert.pk)
    smtp_server.wait_for(2)
    acknowledge_alert(
        alert_id=UrgentAlert.objects.get(patient=acknowledged).pk, acknowledged_by=clinician,
        note="Seen in clinic, safe.", now=NOW + timedelta(minutes=5),
    )  # fmt: skip

    with time_machine.travel(NOW + timedelta(minutes=14, seconds=59), tick=False):
        assert sweep_urgent_alerts() == {"notified": 0, "escalated": 0}
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        assert sweep_urgent_alerts() == {"notified": 0, "escalated": 1}
    messages = smtp_server.wait_for(3)
    escalation = messages[-1]
    assert escalation["To"] == clinic_admin.email
    assert "Escalation" in escalation["Subject"] and "15 minutes" in body_of(escalation)
    assert_no_clinical_detail(escalation, patient)
    alert = UrgentAlert.objects.get(patient=patient)
    assert alert.escalated_at == NOW + timedelta(minutes=15)

    with time_machine.travel(NOW + timedelta(minutes=45), tick=False):
        assert sweep_urgent_alerts() == {"notified": 0, "escalated": 0}  # once only
    time.sleep(0.3)
    assert len(smtp_server.messages) == 3


def test_the_escalation_time_is_a_setting(clinician, on_call, clinic_admin, smtp_server, settings):
    settings.REVIEW_ALERT_ESCALATION_MINUTES = 5
    with time_machine.travel(NOW, tick=False):
        rescreen(make_patient(), now=timezone.now(), high=True)
        notify_on_call(alert_id=UrgentAlert.objects.get().pk)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        assert sweep_urgent_alerts()["escalated"] == 1


def test_the_sweep_sends_a_notification_whose_task_was_lost(clinician, on_call, smtp_server):
    rescreen(make_patient(), now=NOW, high=True)  # its on-commit task never ran (no worker, Redis down...)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        assert sweep_urgent_alerts()["notified"] == 0  # still within the task's grace time
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        assert sweep_urgent_alerts()["notified"] == 1
    [message] = smtp_server.wait_for(1)
    assert message["To"] == clinician.email


def test_the_sweep_runs_every_minute_from_celery_beat():
    from clinic.celery import app

    entry = app.conf.beat_schedule["review-sweep-urgent-alerts"]
    assert entry["task"] == "review.tasks.sweep_urgent_alerts"
    assert entry["schedule"] == 60.0


# --- The real pipeline: Redis, a Celery worker process, an SMTP server on localhost --------------------------------


@pytest.fixture
def mail_worker(transactional_db, tmp_path, smtp_server):
    """A real worker whose email goes to the test's SMTP server (the worker reads its settings from the env)."""
    from clinic.celery import app

    app.control.purge()
    worker = start_worker(
        tmp_path,
        name="review-mail",
        extra_env={
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": smtp_server.host,
            "EMAIL_PORT": str(smtp_server.port),
        },
    )
    try:
        yield worker
    finally:
        stop_worker(worker)


@pytest.mark.slow
def test_a_high_risk_rescreen_emails_the_on_call_clinician_within_a_minute(
    mail_worker, smtp_server, make_user
):
    from clinic.roles import Role
    from scheduling.models import Clinician

    doctor = make_user(Role.CLINICIAN, email="on.call@example.org", full_name="Maya Okafor")
    Clinician.objects.create(user=doctor, is_on_call=True)
    patient = make_patient(first="Jamie", last="Rivers")

    started = time.monotonic()
    with transaction.atomic():
        rescreen(patient, now=timezone.now(), high=True)
    [message] = smtp_server.wait_for(1, timeout=60)
    elapsed = time.monotonic() - started

    assert elapsed < 60
    assert message["To"] == doctor.email
    assert_no_clinical_detail(message, patient)
    alert = UrgentAlert.objects.get(patient=patient)
    deadline = time.monotonic() + 10
    while alert.notified_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
        alert.refresh_from_db()
    assert alert.notified_at is not None
    assert "review.tasks.notify_urgent_alert" in mail_worker.log()


def test_an_on_call_clinician_with_a_mobile_number_is_also_texted_without_clinical_detail(
    clinician, on_call, smtp_server, settings, tmp_path, make_user
):
    import json

    settings.SMS_BACKEND = "scheduling.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms.jsonl")
    clinician.mobile_phone = "+16175550188"
    clinician.save(update_fields=["mobile_phone"])
    patient = make_patient(first="Quinn", last="Harper")
    rescreen(patient, now=NOW, high=True)
    alert = UrgentAlert.objects.get()
    notify_on_call(alert_id=alert.pk, now=NOW)
    smtp_server.wait_for(1)
    (text,) = [json.loads(line) for line in (tmp_path / "sms.jsonl").read_text().splitlines()]
    assert text["to"] == "+16175550188" and text["key"] == f"alert-{alert.pk}-{clinician.pk}"
    assert "QH" in text["body"] and "/review/alerts/" in text["body"]
    for word in ("Quinn", "Harper", "suicid", "C-SSRS", "PHQ"):
        assert word not in text["body"]
    assert len(text["body"]) <= 160
