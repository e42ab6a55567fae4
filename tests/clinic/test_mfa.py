"""Staff cannot reach any page without the second step; patients may turn it on; codes and recovery codes work."""

import re
import time

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.accounts import reset_second_factor
from clinic.mfa import OPEN_URL_NAMES
from clinic.roles import Role
from tests.support import PASSWORD, every_url, pending_totp_code, totp_code


def _password_only(user) -> Client:
    """A browser that has typed the password through the sign-in form, and nothing more."""
    browser = Client()
    response = browser.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def _set_up(browser: Client, user) -> None:
    """Open the setup page (which offers the authenticator's key) and confirm it with the app's code."""
    assert browser.get(reverse("mfa_setup")).status_code == 200
    done = browser.post(reverse("mfa_setup"), {"code": pending_totp_code(browser)})
    assert b"Two-step sign-in is on" in done.content


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.CLINIC_ADMIN])
def test_staff_cannot_reach_any_page_without_the_second_step(make_user, role):
    user = make_user(role)
    browser = _password_only(user)
    checked = 0
    for name, path in every_url():
        if name in OPEN_URL_NAMES or path.startswith("/static/"):
            continue
        response = browser.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("mfa_setup")), path
        checked += 1
    assert checked > 10
    assert browser.get("/admin/").status_code == 302


def test_setting_up_the_authenticator_confirms_it_and_issues_recovery_codes(clinician):
    browser = _password_only(clinician)
    setup = browser.get(reverse("mfa_setup"))
    assert setup.status_code == 200 and b"<svg" in setup.content and b'id="mfa-key"' in setup.content
    wrong = browser.post(reverse("mfa_setup"), {"code": "000000"})
    assert wrong.status_code == 400 and b"did not match" in wrong.content
    assert not TOTPDevice.objects.filter(user=clinician, confirmed=True).exists()

    # django-otp throttles the attempt right after a wrong one; a person types the next code seconds later.
    with time_machine.travel(time.time() + 5):
        done = browser.post(
            reverse("mfa_setup"), {"code": pending_totp_code(browser), "next": reverse("review:queue")}
        )
    assert done.status_code == 200 and b"Two-step sign-in is on" in done.content
    codes = re.findall(rb"<code>([0-9a-f]{4}-[0-9a-f]{4})</code>", done.content)
    assert len(codes) == 10
    assert TOTPDevice.objects.filter(user=clinician, confirmed=True).count() == 1
    assert StaticToken.objects.filter(device__user=clinician).count() == 10
    assert browser.get(reverse("review:queue")).status_code == 200


def test_next_sign_in_asks_for_the_code_and_a_recovery_code_works_once(clinician):
    _set_up(_password_only(clinician), clinician)
    static = StaticDevice.objects.get(user=clinician)
    recovery = static.token_set.first().token

    second = _password_only(clinician)
    assert second.get(reverse("review:queue"))["Location"].startswith(reverse("mfa_verify"))
    assert second.post(reverse("mfa_verify"), {"code": "123456"}).status_code == 400
    with time_machine.travel(time.time() + 5):
        used = second.post(reverse("mfa_verify"), {"code": recovery, "next": reverse("review:queue")})
    assert used["Location"] == reverse("review:queue")
    assert second.get(reverse("review:queue")).status_code == 200

    third = _password_only(clinician)
    with time_machine.travel(time.time() + 10):
        assert third.post(reverse("mfa_verify"), {"code": recovery}).status_code == 400  # used once already
    with time_machine.travel(time.time() + 60):
        assert third.post(reverse("mfa_verify"), {"code": totp_code(clinician)}).status_code == 302


def test_an_unsafe_next_is_ignored(clinician):
    browser = _password_only(clinician)
    browser.get(reverse("mfa_setup"))
    response = browser.post(
        reverse("mfa_setup"), {"code": pending_totp_code(browser), "next": "https://evil.example/"}
    )
    assert b"https://evil.example/" not in response.content


def test_a_patient_may_turn_it_on_and_is_then_asked_for_it(patient):
    browser = _password_only(patient)
    assert browser.get(reverse("portal:home")).status_code == 200  # not required for patients
    _set_up(browser, patient)
    again = _password_only(patient)
    assert again.get(reverse("portal:home"))["Location"].startswith(reverse("mfa_verify"))


def test_resetting_a_lost_phone_removes_devices_and_ends_sessions(clinician):
    browser = _password_only(clinician)
    _set_up(browser, clinician)
    assert browser.get(reverse("review:queue")).status_code == 200
    reset_second_factor(actor=None, user=clinician)
    assert (
        not TOTPDevice.objects.filter(user=clinician).exists()
        and not StaticDevice.objects.filter(user=clinician).exists()
    )
    assert browser.get(reverse("review:queue"))["Location"].startswith(reverse("login"))


# --- A password alone never changes what guards the account ---------------------------------------------------


def _app_code_for(setup_page) -> str:
    """What an attacker's own authenticator app shows for the key the setup page offered."""
    from base64 import b32decode

    from django_otp.oath import totp

    shown = re.search(rb'id="mfa-key">([A-Z2-7]+)<', setup_page.content)
    assert shown, "the setup page shows no key"
    key = shown.group(1).decode()
    return f"{totp(b32decode(key)):06d}"


def test_with_only_the_password_the_setup_page_cannot_replace_the_authenticator(
    clinician, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    _set_up(_password_only(clinician), clinician)
    owner_device = TOTPDevice.objects.get(user=clinician, confirmed=True)
    owner_codes = set(StaticToken.objects.filter(device__user=clinician).values_list("token", flat=True))

    attacker = _password_only(clinician)
    page = attacker.get(reverse("mfa_setup"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("mfa_verify"))
    with time_machine.travel(time.time() + 5), django_capture_on_commit_callbacks(execute=True):
        forced = attacker.post(reverse("mfa_setup"), {"code": "123456", "password": PASSWORD})
    assert forced.status_code == 302 and forced["Location"].startswith(reverse("mfa_verify"))
    assert list(TOTPDevice.objects.filter(user=clinician, confirmed=True)) == [owner_device]
    assert (
        set(StaticToken.objects.filter(device__user=clinician).values_list("token", flat=True)) == owner_codes
    )
    assert attacker.get(reverse("review:queue"))["Location"].startswith(reverse("mfa_verify"))


def test_replacing_the_authenticator_needs_the_second_step_and_the_password_again_and_is_emailed(
    clinician, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _set_up(_password_only(clinician), clinician)
    (added,) = smtp_server.wait_for(1)
    assert added["To"] == clinician.email and "Two-step sign-in was turned on" in added.get_payload()

    other_device = _password_only(clinician)
    with time_machine.travel(time.time() + 31):
        assert other_device.post(reverse("mfa_verify"), {"code": totp_code(clinician)}).status_code == 302
    browser = _password_only(clinician)
    with time_machine.travel(time.time() + 61):
        assert browser.post(reverse("mfa_verify"), {"code": totp_code(clinician)}).status_code == 302
    page = browser.get(reverse("mfa_setup"))
    assert page.status_code == 200 and b"Replace your authenticator" in page.content
    old_device = TOTPDevice.objects.get(user=clinician, confirmed=True)

    wrong_password = browser.post(
        reverse("mfa_setup"), {"code": _app_code_for(page), "password": "guess-2026"}
    )
    assert wrong_password.status_code == 400 and b"password is not right" in wrong_password.content
    assert list(TOTPDevice.objects.filter(user=clinician, confirmed=True)) == [old_device]

    with django_capture_on_commit_callbacks(execute=True):
        done = browser.post(reverse("mfa_setup"), {"code": _app_code_for(page), "password": PASSWORD})
    assert done.status_code == 200 and b"Two-step sign-in is on" in done.content
    new_device = TOTPDevice.objects.get(user=clinician, confirmed=True)
    assert new_device.pk != old_device.pk
    assert browser.get(reverse("review:queue")).status_code == 200  # this session stays signed in
    assert other_device.get(reverse("review:queue"))["Location"].startswith(reverse("login"))
    replaced = smtp_server.wait_for(2)[-1]
    assert "authenticator app for your account was replaced" in replaced.get_payload()


def test_an_admin_reset_is_emailed_to_the_person(
    clinician, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    _set_up(_password_only(clinician), clinician)
    with django_capture_on_commit_callbacks(execute=True):
        reset_second_factor(actor=None, user=clinician)
    assert "reset the two-step sign-in" in smtp_server.wait_for(1)[-1].get_payload()


def test_opening_the_setup_page_writes_nothing(clinician):
    browser = _password_only(clinician)
    assert browser.get(reverse("mfa_setup")).status_code == 200
    assert browser.get(reverse("mfa_setup")).status_code == 200
    assert not TOTPDevice.objects.filter(user=clinician).exists()


# --- A session is bound to the role it began with --------------------------------------------------------------


def test_a_session_begun_before_a_staff_role_was_given_must_pass_the_second_step(make_user):
    from clinic.roles import assign_role

    person = make_user(Role.PATIENT)
    browser = _password_only(person)
    browser.get(reverse("home"))  # the session is marked "no second step needed"
    assign_role(user=person, role=Role.CLINICIAN)
    response = browser.get(reverse("review:queue"))
    assert response.status_code == 302
    assert not response["Location"].startswith(reverse("review:queue"))


def test_a_role_given_in_the_admin_ends_the_persons_sessions(make_user):
    from django.contrib.auth.models import Group

    person = make_user(Role.PATIENT)
    browser = _password_only(person)
    browser.get(reverse("home"))
    person.groups.add(Group.objects.get(name=Role.CLINICIAN.group_name))
    assert browser.get(reverse("review:queue"))["Location"].startswith(reverse("login"))


# --- Changing the password needs the second step ----------------------------------------------------------------


@pytest.mark.real_password_hashers
@pytest.mark.parametrize("has_authenticator", [True, False])
def test_the_password_cannot_be_changed_with_the_password_alone(clinician, has_authenticator):
    if has_authenticator:
        _set_up(_password_only(clinician), clinician)
    browser = _password_only(clinician)
    response = browser.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "taken-over-2026!", "new_password2": "taken-over-2026!"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_verify" if has_authenticator else "mfa_setup"))
    clinician.refresh_from_db()
    assert clinician.check_password(PASSWORD)


@pytest.mark.real_password_hashers
def test_a_patient_with_an_authenticator_changes_the_password_only_after_the_second_step(patient):
    _set_up(_password_only(patient), patient)
    browser = _password_only(patient)
    change = {
        "old_password": PASSWORD,
        "new_password1": "new-harbor-2026!",
        "new_password2": "new-harbor-2026!",
    }
    assert browser.post(reverse("password_change"), change)["Location"].startswith(reverse("mfa_verify"))
    with time_machine.travel(time.time() + 31):
        assert browser.post(reverse("mfa_verify"), {"code": totp_code(patient)}).status_code == 302
        assert browser.post(reverse("password_change"), change).status_code == 302
    patient.refresh_from_db()
    assert patient.check_password("new-harbor-2026!")
