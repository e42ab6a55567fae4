"""One CSRF token masking for every form of a page (clinic.context_processors.page_csrf_token)."""

import re

from django.middleware import csrf as django_csrf
from django.middleware.csrf import rotate_token
from django.test import Client, RequestFactory

from clinic.context_processors import page_csrf_token

# Django's own unmasking, to check which secret a token carries.
_unmask_cipher_token = django_csrf._unmask_cipher_token  # type: ignore[attr-defined]
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_both_account_forms_carry_the_pages_token_and_it_is_accepted(front_desk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(front_desk)
    page = client.get("/front-desk/").content.decode()
    tokens = TOKEN.findall(page)
    assert len(tokens) >= 2 and len(set(tokens)) == 1  # sign out, and sign out on all devices
    # The next page masks the secret anew: no two responses carry the same token.
    assert TOKEN.findall(client.get("/front-desk/").content.decode())[0] != tokens[0]
    signed_out = client.post("/accounts/logout/", {"csrfmiddlewaretoken": tokens[1]})
    assert signed_out.status_code == 302
    assert "_auth_user_id" not in client.session


def test_a_form_without_the_token_is_still_refused(front_desk):
    client = Client(enforce_csrf_checks=True)
    client.force_login(front_desk)
    client.get("/front-desk/")
    assert client.post("/accounts/logout/", {"csrfmiddlewaretoken": "x" * 64}).status_code == 403
    assert "_auth_user_id" in client.session


def test_the_page_token_follows_a_new_secret():
    request = RequestFactory().get("/")
    first = page_csrf_token(request)
    assert page_csrf_token(request) == first
    secret = request.META["CSRF_COOKIE"]
    assert _unmask_cipher_token(first) == secret
    rotate_token(request)  # as signing in does
    second = page_csrf_token(request)
    assert second != first and _unmask_cipher_token(second) == request.META["CSRF_COOKIE"] != secret
