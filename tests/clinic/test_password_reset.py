import re

import pytest
from django.urls import reverse

from clinic.models import User
from tests.support import PASSWORD

# Passwords are the subject: the production hashers (Argon2), not the tests' fast one.
pytestmark = pytest.mark.real_password_hashers


def test_password_reset_email_arrives_over_smtp_and_its_link_sets_a_new_password(
    client, smtp_server, patient
):
    response = client.post(reverse("password_reset"), {"email": "PAT.ONE@example.org"})
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == patient.email
    body = message.get_payload(decode=True).decode()
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and b"Choose a new password" in form_page.content
    new_password = "a-fresh-harbor-password-7"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=patient.pk).check_password(new_password)
    # The link works once.
    assert b"no longer works" in client.get(link, follow=True).content


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, smtp_server, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"}, follow=True)
    assert b"Check your email" in response.content
    assert smtp_server.messages == []


def test_old_password_still_works_until_reset(client, patient):
    assert client.login(username=patient.email, password=PASSWORD)
