"""Sign-in throttling: the client address (X-Forwarded-For only through trusted proxies), the sliding window in
Redis, every sign-in form held to it (the admin's too), and lockouts that stay with the address that failed."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.urls import resolve, reverse

from clinic.audit import client_ip
from clinic.throttle import counted_address, hit
from tests.clinic.test_deploy_and_errors import PRODUCTION_ENV, manage
from tests.support import PASSWORD, every_url

PROXY = "10.0.0.254"
# Production runs behind a TLS proxy: this header alone must not make X-Forwarded-For trusted.
BEHIND_TLS_PROXY = ("HTTP_X_FORWARDED_PROTO", "https")


def _address(remote_addr: str, forwarded: str | None = None) -> str | None:
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote_addr, **extra))


def test_with_no_trusted_proxy_the_forwarded_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SECURE_PROXY_SSL_HEADER = BEHIND_TLS_PROXY
    assert _address("198.51.100.7", "203.0.113.9") == "198.51.100.7"
    assert _address("198.51.100.7", "203.0.113.9, 192.0.2.1") == "198.51.100.7"


def test_each_trusted_proxy_accounts_for_one_entry_from_the_end(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The client wrote the first two entries; the proxy appended the address it saw.
    assert _address(PROXY, "1.2.3.4, 5.6.7.8, 203.0.113.9") == "203.0.113.9"
    settings.TRUSTED_PROXY_COUNT = 2  # a CDN, then nginx
    assert _address(PROXY, "1.2.3.4, 203.0.113.9, 192.0.2.50") == "203.0.113.9"


@pytest.mark.parametrize("forwarded", [None, "", "203.0.113.9", "not-an-address, junk"])
def test_a_chain_shorter_than_the_proxies_or_not_an_address_falls_back_to_the_peer(settings, forwarded):
    settings.TRUSTED_PROXY_COUNT = 2 if forwarded == "203.0.113.9" else 1
    assert _address(PROXY, forwarded) == PROXY


def test_ipv6_is_counted_per_64_and_mapped_ipv4_as_ipv4():
    assert (
        counted_address("2001:db8:1:2:aaaa::1")
        == counted_address("2001:db8:1:2:bbbb::9")
        == "2001:db8:1:2::/64"
    )
    assert counted_address("2001:db8:1:3::1") != counted_address("2001:db8:1:2::1")
    assert counted_address("::ffff:198.51.100.7") == "198.51.100.7"
    assert counted_address(None) == "unknown"


def _sign_in_attempt(client: Client, **meta):
    """A failed sign-in for an address nobody has, so only the rate limit (not the lockout) can refuse it."""
    data = {"username": f"nobody-{uuid.uuid4().hex[:8]}@example.org", "password": "wrong"}
    return client.post(reverse("login"), data, **meta)


def test_a_spoofed_forwarded_header_does_not_change_the_counted_address(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SECURE_PROXY_SSL_HEADER = BEHIND_TLS_PROXY
    settings.PUBLIC_RATE_LIMIT = 3
    statuses = [
        _sign_in_attempt(
            client, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_behind_one_proxy_the_address_it_saw_is_counted(client, db, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.PUBLIC_RATE_LIMIT = 3
    # One client behind the proxy, changing the entries it writes itself: still one address.
    statuses = [
        _sign_in_attempt(
            client, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"10.1.1.{n}, 203.0.113.9"
        ).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    # Another client behind the same proxy has its own budget.
    assert _sign_in_attempt(client, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.10").status_code == 200


def test_the_window_slides_instead_of_resetting_on_the_hour(client, db, settings):
    settings.PUBLIC_RATE_LIMIT = 4
    settings.PUBLIC_RATE_LIMIT_WINDOW_SECONDS = 600
    start = datetime(2026, 12, 1, 14, 55, tzinfo=UTC)  # five minutes before the clock hour turns
    with time_machine.travel(start, tick=False) as clock:
        assert [_sign_in_attempt(client).status_code for _ in range(2)] == [200, 200]
        clock.move_to(start + timedelta(minutes=4))
        assert [_sign_in_attempt(client).status_code for _ in range(3)] == [200, 200, 429]
        refused = _sign_in_attempt(client)
        assert refused["Retry-After"] == "360"  # the first two leave the window at 15:05
        # The hour has turned, but the last 10 minutes still hold four requests.
        clock.move_to(start + timedelta(minutes=6))
        assert _sign_in_attempt(client).status_code == 429
        # Ten minutes after the first two, exactly those two come back.
        clock.move_to(start + timedelta(minutes=10, seconds=1))
        assert [_sign_in_attempt(client).status_code for _ in range(3)] == [200, 200, 429]
        clock.move_to(start + timedelta(minutes=14, seconds=1))
        assert [_sign_in_attempt(client).status_code for _ in range(3)] == [200, 200, 429]


def test_refused_requests_are_not_counted(db, settings):
    settings.PUBLIC_RATE_LIMIT = 2
    now = 1_800_000_000.0
    assert [hit(scope="t", address="192.0.2.1", now=now + n).allowed for n in range(3)] == [True, True, False]
    for n in range(100):
        assert not hit(scope="t", address="192.0.2.1", now=now + 10 + n).allowed
    window = settings.PUBLIC_RATE_LIMIT_WINDOW_SECONDS
    assert hit(scope="t", address="192.0.2.1", now=now + window + 0.5).allowed


def _url_for(view_name: str) -> str:
    args = {
        "password_reset_confirm": ["MQ", "set-password"],
        "intake:accept_invitation": ["not-a-token"],
        "reminder_links:link": ["not-a-token"],
    }.get(view_name, [])
    return reverse(view_name, args=args)


@pytest.mark.parametrize("view_name", sorted(django_settings.RATE_LIMITED_VIEWS))
def test_every_listed_form_answers_429_after_the_limit(client, patient, settings, view_name):
    settings.PUBLIC_RATE_LIMIT = 2
    settings.INTAKE_SELF_REGISTRATION = True
    if (
        view_name not in {"login", "admin:login", "password_reset", "intake:register"}
        and "link" not in view_name
    ):
        client.force_login(patient)
    url = _url_for(view_name)
    assert resolve(url).view_name == view_name
    statuses = [client.post(url, {"username": "x@example.org"}).status_code for _ in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429, statuses
    assert b"Please wait a little" in client.post(url).content


def test_the_admin_sign_in_shares_the_sign_in_budget(client, db, settings):
    settings.PUBLIC_RATE_LIMIT = 4
    admin_login = reverse("admin:login")
    assert [_sign_in_attempt(client).status_code for _ in range(2)] == [200, 200]
    data = {"username": "someone@example.org", "password": "wrong"}
    assert [client.post(admin_login, data).status_code for _ in range(3)] == [200, 200, 429]
    assert _sign_in_attempt(client).status_code == 429


def _checks_a_secret(html: bytes) -> bool:
    """A field that checks something the person knows (not one that sets a new password, like the admin's add
    user form)."""
    return b'autocomplete="current-password"' in html or b'autocomplete="one-time-code"' in html


@pytest.mark.walk
def test_every_page_that_checks_a_password_or_code_is_rate_limited(client, patient, clinic_admin):
    """A safety net for new forms: anonymous, patient and clinic admin, every URL; any page that asks for a
    password or a two-step code must be listed. Token pages show their form only with a valid token, so they are
    listed by hand (and checked above)."""
    limited = django_settings.RATE_LIMITED_VIEWS
    found = set()
    for user in (None, patient, clinic_admin):
        # A sample id that names nothing may raise in a third-party admin view (django-otp's TOTP config page):
        # that page asks for no secret either way, so it is passed over rather than failing this walk.
        browser = Client(raise_request_exception=False)
        if user is not None:
            browser.force_login(user)
        for _name, path in every_url():
            if path.startswith("/static/"):
                continue
            response = browser.get(path, follow=True)
            if response.status_code == 200 and _checks_a_secret(response.content):
                view_name = resolve(response.request["PATH_INFO"]).view_name
                found.add(view_name)
                assert view_name in limited, f"{view_name} asks for a secret and is not rate-limited"
    assert {"login", "admin:login", "password_change"} <= found


# --- Lockout: per account *and* address ---------------------------------------------------------------------------


def _attempt(url: str, email: str, password: str, **meta):
    return Client().post(url, {"username": email, "password": password}, **meta)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_a_lockout_at_address_a_does_not_lock_the_account_at_address_b(clinic_admin, settings, url_name):
    settings.TRUSTED_PROXY_COUNT = 1
    url = reverse(url_name)
    at_a = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "203.0.113.66"}
    at_b = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.20"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(url, clinic_admin.email, "wrong-password", **at_a)
    locked = _attempt(url, clinic_admin.email, PASSWORD, **at_a)
    assert locked.status_code == 429 and b"Sign-in is paused" in locked.content
    # The other sign-in form is locked for that pair too: one lockout, whichever form was used.
    other = reverse("admin:login" if url_name == "login" else "login")
    assert _attempt(other, clinic_admin.email, PASSWORD, **at_a).status_code == 429
    # The clinician at address B signs in as usual.
    assert _attempt(url, clinic_admin.email, PASSWORD, **at_b).status_code == 302


def test_a_spoofed_forwarded_header_does_not_escape_the_lockout(clinician, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.SECURE_PROXY_SSL_HEADER = BEHIND_TLS_PROXY
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(
            reverse("login"),
            clinician.email,
            "wrong",
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    spoofed = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "192.0.2.200"}
    assert _attempt(reverse("login"), clinician.email, PASSWORD, **spoofed).status_code == 429
    assert (
        _attempt(reverse("login"), clinician.email, PASSWORD, REMOTE_ADDR="198.51.100.8").status_code == 302
    )


def test_the_deploy_check_warns_behind_a_proxy_with_no_trusted_proxy():
    result = manage("check", "--deploy", env={**PRODUCTION_ENV, "TRUSTED_PROXY_COUNT": "0"})
    assert "clinic.W001" in result.stderr + result.stdout
