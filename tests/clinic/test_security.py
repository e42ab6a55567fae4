"""Sign-in lockout, rate limits, staff session limits, sign-out everywhere, password length, headers, no PHI in logs."""

import logging
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.roles import Role
from tests.support import PASSWORD


def _sign_in(client, email, password, ip="10.9.8.7"):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.real_password_hashers
def test_repeated_wrong_passwords_lock_the_account_from_that_address(client, clinician, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, clinician.email, "wrong-password").status_code == 200
    assert (
        _sign_in(client, clinician.email, "wrong-password").status_code == 429
    )  # the failure that reaches the limit
    locked = _sign_in(client, clinician.email, PASSWORD)
    assert locked.status_code == 429
    assert b"Sign-in is paused" in locked.content
    assert "_auth_user_id" not in client.session
    # The same person from another address, and another account from this address, are not locked.
    assert _sign_in(Client(), clinician.email, PASSWORD, ip="10.9.8.8").status_code == 302
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        assert _sign_in(Client(), clinician.email, PASSWORD).status_code == 302


@pytest.mark.real_password_hashers
def test_a_lockout_counts_the_email_whatever_its_case(client, clinician, settings):
    for index in range(settings.AXES_FAILURE_LIMIT):
        email = clinician.email.upper() if index % 2 else clinician.email
        _sign_in(client, email, "wrong-password")
    assert _sign_in(client, clinician.email, PASSWORD).status_code == 429


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/register/", {"email": "x@example.org"}),
        ("/accounts/password_reset/", {"email": "x@example.org"}),
        ("/accounts/login/", {"username": "x@example.org", "password": "nope"}),
        ("/invite/not-a-token/", {}),
    ],
)
def test_public_pages_are_rate_limited_per_address(client, db, settings, url, data):
    settings.PUBLIC_RATE_LIMIT = 3
    settings.INTAKE_SELF_REGISTRATION = True
    statuses = [client.post(url, data, REMOTE_ADDR="10.0.0.1").status_code for _ in range(4)]
    assert 429 not in statuses[:3] and statuses[3] == 429
    assert b"Please wait a little" in client.post(url, data, REMOTE_ADDR="10.0.0.1").content
    assert client.post(url, data, REMOTE_ADDR="10.0.0.2").status_code != 429


def test_a_staff_session_ends_after_idle_minutes_but_a_patients_does_not(front_desk, patient, settings):
    desk, pat = Client(), Client()
    desk.force_login(front_desk)
    pat.force_login(patient)
    assert desk.get(reverse("scheduling:today")).status_code == 200
    with time_machine.travel(time.time() + settings.STAFF_SESSION_IDLE_MINUTES * 60 + 5):
        response = desk.get(reverse("scheduling:today"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert pat.get(reverse("portal:home")).status_code == 200
    assert "_auth_user_id" not in desk.session


def test_a_staff_session_that_stays_active_still_ends_at_the_absolute_limit(front_desk, settings):
    desk = Client()
    desk.force_login(front_desk)
    start = time.time()
    desk.get(reverse("scheduling:today"))
    step = (settings.STAFF_SESSION_IDLE_MINUTES - 1) * 60
    elapsed = 0
    while elapsed < settings.STAFF_SESSION_MAX_HOURS * 3600 - step:
        elapsed += step
        with time_machine.travel(start + elapsed):
            assert desk.get(reverse("scheduling:today")).status_code == 200
    with time_machine.travel(start + settings.STAFF_SESSION_MAX_HOURS * 3600 + 1):
        assert desk.get(reverse("scheduling:today")).status_code == 302


def test_staff_pages_carry_the_idle_warning_and_keep_alive_resets_it(client, front_desk):
    client.force_login(front_desk)
    page = client.get(reverse("scheduling:today"))
    assert b'data-idle-seconds="900"' in page.content and b'id="idle-warning"' in page.content
    assert client.get(reverse("keep_alive")).status_code == 204


def test_sign_out_everywhere_ends_every_session_of_that_person(patient):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        assert device.login(username=patient.email, password=PASSWORD)
        assert device.get(reverse("portal:home")).status_code == 200
    assert phone.post(reverse("sign_out_everywhere")).status_code == 302
    for device in (phone, laptop):
        assert device.get(reverse("portal:home")).status_code == 302


@pytest.mark.real_password_hashers
def test_passwords_are_stored_as_argon2_hashes(patient):
    assert patient.password.startswith("argon2$")


def test_other_tests_hash_passwords_with_the_fast_hasher(patient):
    """tests/conftest.py: Argon2 only where passwords are the subject."""
    assert patient.password.startswith("md5$")


@pytest.mark.real_password_hashers
def test_staff_passwords_need_12_characters_and_patients_10(make_user, patient):
    staff = make_user(Role.CLINICIAN)
    with pytest.raises(ValidationError, match="at least 12"):
        validate_password("eleven-char", staff)
    validate_password("a-good-staff-pass", staff)
    validate_password("ten-chars!", patient)
    with pytest.raises(ValidationError, match="at least 10"):
        validate_password("nine-char", patient)


def test_production_responses_carry_the_security_headers(client, patient, settings):
    response = client.get(reverse("login"), secure=True)
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "'nonce-" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"'.encode() in response.content
    signed_in = client.post(reverse("login"), {"username": patient.email, "password": PASSWORD}, secure=True)
    cookie = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_pages_have_no_inline_style_or_script(client, patient):
    client.force_login(patient)
    for url in (reverse("portal:home"), reverse("login"), "/"):
        html = client.get(url).content.decode()
        assert ' style="' not in html
        assert "<script>" not in html and "<script >" not in html


def test_a_logged_request_carries_no_patient_name(
    client, front_desk, caplog, django_capture_on_commit_callbacks
):
    client.force_login(front_desk)
    with caplog.at_level(logging.DEBUG):
        client.post(
            reverse("scheduling:invite_patient"),
            {"legal_first_name": "Zebedee", "legal_last_name": "Quillfeather", "email": "bad"},
        )
        client.post(
            reverse("scheduling:invite_patient"),
            {"legal_first_name": "Zebedee", "legal_last_name": "Quillfeather", "email": "zq@example.org"},
        )
        client.get("/patient/intake/999999/contact/")
    assert caplog.records, "expected the 400 and 404 to be logged"
    assert (
        "Zebedee" not in caplog.text
        and "Quillfeather" not in caplog.text
        and "zq@example.org" not in caplog.text
    )
