"""Getting in: front desk invites, the patient sets a password through a signed, single-use, expiring link."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from intake.models import Intake, Invitation, Patient


def _link_path(message) -> str:
    body = (
        message.get_payload(0).get_payload(decode=True).decode()
        if message.is_multipart()
        else message.get_payload(decode=True).decode()
    )
    link = re.search(r"https?://[^/\s]+(/invite/\S+/)", body)
    assert link, body
    return link.group(1)


def _invite(client, front_desk, django_capture_on_commit_callbacks, email="new.patient@example.org"):
    client.force_login(front_desk)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("scheduling:invite_patient"),
            {
                "legal_first_name": "Nora",
                "legal_last_name": "New",
                "email": email,
                "date_of_birth": "1990-02-03",
            },
        )
    client.logout()
    return response


def test_front_desk_invites_and_the_patient_sets_a_password_and_lands_in_the_intake(
    client, front_desk, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    response = _invite(client, front_desk, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == "new.patient@example.org"
    assert message.is_multipart()  # text and HTML
    link = _link_path(message)

    page = client.get(link)
    assert page.status_code == 200 and b"Welcome, Nora" in page.content
    response = client.post(link, {"password1": "harbor-lights-2026", "password2": "harbor-lights-2026"})
    assert response.status_code == 302 and response["Location"] == reverse("intake:start")
    patient = Patient.objects.get(email="new.patient@example.org")
    assert patient.user is not None and patient.user.role is Role.PATIENT
    assert patient.email_verified_at is not None
    assert client.session["_auth_user_id"] == str(patient.user.pk)
    # The first step, from what the clinic entered; the draft is made only when the patient saves it.
    follow = client.get(response["Location"])
    assert follow.status_code == 200 and b"Contact details" in follow.content
    assert b'value="Nora"' in follow.content and b'value="1990-02-03"' in follow.content
    assert not Intake.objects.filter(patient=patient).exists()

    client.logout()
    reused = client.get(link)
    assert reused.status_code == 410 and b"used already" in reused.content
    reused_post = client.post(link, {"password1": "another-pass-2026", "password2": "another-pass-2026"})
    assert reused_post.status_code == 410
    assert Patient.objects.get(pk=patient.pk).user.check_password("harbor-lights-2026")


def test_an_expired_invitation_is_refused_with_a_message(
    client, front_desk, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    _invite(client, front_desk, django_capture_on_commit_callbacks)
    link = _link_path(smtp_server.wait_for(1)[0])
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.post(link, {"password1": "harbor-lights-2026", "password2": "harbor-lights-2026"})
    assert response.status_code == 410 and b"expired" in response.content
    assert Patient.objects.get(email="new.patient@example.org").user is None


@pytest.mark.parametrize("token", ["nonsense", "eyJuIjoiMDAwIn0:1abc:forged"])
def test_a_forged_invitation_is_404_and_creates_nothing(client, db, token):
    response = client.post(
        reverse("intake:accept_invitation", args=[token]), {"password1": "x", "password2": "x"}
    )
    assert response.status_code == 404 and b"not valid" in response.content


def test_a_weak_password_is_explained_and_creates_no_account(
    client, front_desk, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    _invite(client, front_desk, django_capture_on_commit_callbacks)
    link = _link_path(smtp_server.wait_for(1)[0])
    response = client.post(link, {"password1": "123", "password2": "123"})
    assert response.status_code == 400
    assert b"too short" in response.content
    assert Patient.objects.get(email="new.patient@example.org").user is None
    assert Invitation.objects.get().accepted_at is None


def test_inviting_an_address_that_has_an_account_is_refused(
    client, front_desk, patient, db, django_capture_on_commit_callbacks
):
    response = _invite(client, front_desk, django_capture_on_commit_callbacks, email=patient.email.upper())
    assert response.status_code == 400 and b"already has an account" in response.content
    assert not Invitation.objects.exists()


def test_only_front_desk_and_admins_can_invite(client, patient, clinician):
    for user in (patient, clinician):
        client.force_login(user)
        assert client.get(reverse("scheduling:invite_patient")).status_code == 404


def test_self_registration_is_closed_by_default(client, db):
    assert client.get(reverse("intake:register")).status_code == 404
    assert client.post(reverse("intake:register"), {"email": "x@example.org"}).status_code == 404
    assert not Patient.objects.exists()


def test_self_registration_when_allowed_sends_an_invitation_and_does_not_reveal_patients(
    client, settings, smtp_server, eager_celery, patient, django_capture_on_commit_callbacks
):
    settings.INTAKE_SELF_REGISTRATION = True
    form = {"legal_first_name": "Ola", "legal_last_name": "Self", "date_of_birth": "1991-01-01"}
    with django_capture_on_commit_callbacks(execute=True):
        new = client.post(reverse("intake:register"), {**form, "email": "ola@example.org"})
        known = client.post(reverse("intake:register"), {**form, "email": patient.email})
    assert new.status_code == known.status_code == 200
    assert b"Check your email" in new.content and b"Check your email" in known.content
    messages = smtp_server.wait_for(2)
    subjects = sorted(message["Subject"] for message in messages)
    assert any("invitation" in subject for subject in subjects)
    assert any("already have an account" in subject for subject in subjects)
    assert Patient.objects.count() == 2


def test_self_registration_refuses_minors(client, settings, db):
    settings.INTAKE_SELF_REGISTRATION = True
    response = client.post(
        reverse("intake:register"),
        {
            "legal_first_name": "Kid",
            "legal_last_name": "Young",
            "email": "kid@example.org",
            "date_of_birth": "2015-05-05",
        },
    )
    assert response.status_code == 400 and b"aged 18 or over" in response.content
    assert not Patient.objects.exists()


@pytest.mark.slow
def test_the_invitation_email_travels_through_a_real_worker_and_smtp(
    client, front_desk, mailing_worker, smtp_server, live_server
):
    client.force_login(front_desk)
    response = client.post(
        reverse("scheduling:invite_patient"),
        {"legal_first_name": "Wen", "legal_last_name": "Worker", "email": "wen@example.org"},
    )
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1, timeout=60)
    body = message.get_payload(0).get_payload(decode=True).decode()
    assert live_server.url + "/invite/" in body


def test_the_public_page_links_registration_only_when_the_clinic_allows_it(client, settings, db):
    assert b"/register/" not in client.get("/").content
    settings.INTAKE_SELF_REGISTRATION = True
    assert b"/register/" in client.get("/").content
