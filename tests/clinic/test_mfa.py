"""Staff cannot reach any page without the second step; patients may turn it on; codes and recovery codes work."""

import re
import time

import pytest
import time_machine
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.mfa import OPEN_URL_NAMES, reset_second_factor
from clinic.roles import Role
from tests.conftest import PASSWORD, totp_code


def _password_only(user) -> Client:
    """A browser that has typed the password through the sign-in form, and nothing more."""
    browser = Client()
    response = browser.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return browser


def _set_up(browser: Client, user) -> None:
    """Open the setup page (which creates the authenticator's key) and confirm it with the app's code."""
    assert browser.get(reverse("mfa_setup")).status_code == 200
    assert b"Two-step sign-in is on" in browser.post(reverse("mfa_setup"), {"code": totp_code(user)}).content


def _every_url() -> list[tuple[str, str]]:
    """Every URL the app serves, with sample values for its parameters (names, paths)."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                path = re.sub(r"<int:\w+>", "1", route)
                path = re.sub(r"<(?:slug|str):\w+>", "x", path)
                path = re.sub(r"<(?:path):\w+>", "x/y", path)
                if "<" in path or "(?P" in path or path.startswith("^"):
                    continue  # regex patterns (the admin's) are covered by the admin index
                found.append((pattern.name or "", "/" + path))

    walk(get_resolver().url_patterns)
    return found


@pytest.mark.parametrize("role", [Role.FRONT_DESK, Role.CLINICIAN, Role.CLINIC_ADMIN])
def test_staff_cannot_reach_any_page_without_the_second_step(make_user, role):
    user = make_user(role)
    browser = _password_only(user)
    checked = 0
    for name, path in _every_url():
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
            reverse("mfa_setup"), {"code": totp_code(clinician), "next": reverse("review:queue")}
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
        reverse("mfa_setup"), {"code": totp_code(clinician), "next": "https://evil.example/"}
    )
    assert b"https://evil.example/" not in response.content


def test_a_patient_may_turn_it_on_and_is_then_asked_for_it(patient):
    browser = _password_only(patient)
    assert browser.get(reverse("intake:portal")).status_code == 200  # not required for patients
    _set_up(browser, patient)
    again = _password_only(patient)
    assert again.get(reverse("intake:portal"))["Location"].startswith(reverse("mfa_verify"))


def test_resetting_a_lost_phone_removes_devices_and_ends_sessions(clinician):
    browser = _password_only(clinician)
    _set_up(browser, clinician)
    assert browser.get(reverse("review:queue")).status_code == 200
    reset_second_factor(user=clinician)
    assert (
        not TOTPDevice.objects.filter(user=clinician).exists()
        and not StaticDevice.objects.filter(user=clinician).exists()
    )
    assert browser.get(reverse("review:queue"))["Location"].startswith(reverse("login"))
