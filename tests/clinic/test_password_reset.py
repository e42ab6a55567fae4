"""Password reset: the request only enqueues a task (the same one, the same way, for every address), and the task
finds the account and sends the link. Timing cannot tell which addresses have accounts, because the request does
no work that depends on it."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinic.models import User
from clinic.tasks import send_password_reset
from tests.support import PASSWORD

# Passwords are the subject: the production hashers (Argon2), not the tests' fast one.
pytestmark = pytest.mark.real_password_hashers

UNKNOWN = "nobody@example.org"


def _reset_link(message) -> str:
    body = message.get_payload(decode=True).decode()
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", body)
    assert link, body
    return link.group(1)


def _choose_new_password(client: Client, link: str, user) -> None:
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200 and b"Choose a new password" in form_page.content
    new_password = "a-fresh-harbor-password-7"
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).check_password(new_password)
    # The link works once.
    assert b"no longer works" in client.get(link, follow=True).content


def test_the_request_sends_nothing_and_enqueues_the_same_task_for_known_and_unknown_addresses(
    client, smtp_server, patient, eager_celery, django_capture_on_commit_callbacks
):
    requests = {}
    for email in (patient.email, UNKNOWN):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks() as enqueued,
        ):
            response = client.post(reverse("password_reset"), {"email": email})
        assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
        requests[email] = ([query["sql"] for query in queries.captured_queries], enqueued)

    (known_sql, (known,)), (unknown_sql, (unknown,)) = requests.values()
    # Inside the request: no email, no look-up of the address, the same statements for both.
    assert smtp_server.messages == []
    assert not any("clinic_user" in sql for sql in known_sql + unknown_sql)
    assert known_sql == unknown_sql
    # The same task, enqueued on commit with the address as its only argument.
    assert known.func == unknown.func == send_password_reset.delay
    assert (known.args, known.keywords) == ((patient.email,), {})
    assert (unknown.args, unknown.keywords) == ((UNKNOWN,), {})

    # Run by a worker (here eagerly): the known address gets a working link, the unknown one nothing.
    unknown()
    known()
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == patient.email
    _choose_new_password(client, _reset_link(message), patient)


def test_password_reset_email_arrives_over_smtp_and_its_link_sets_a_new_password(
    client, smtp_server, patient, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "PAT.ONE@example.org"})
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1)
    assert message["To"] == patient.email
    assert message["Subject"] == "Choose a new password for Harbor Ketamine Clinic"
    _choose_new_password(client, _reset_link(message), patient)


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(
    client, smtp_server, db, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as enqueued:
        response = client.post(reverse("password_reset"), {"email": UNKNOWN}, follow=True)
    assert b"Check your email" in response.content
    assert len(enqueued) == 1
    assert smtp_server.messages == []


@pytest.mark.slow
def test_a_real_worker_sends_the_reset_link(client, patient, mailing_worker, smtp_server, live_server):
    response = client.post(reverse("password_reset"), {"email": patient.email})
    assert response.status_code == 302
    (message,) = smtp_server.wait_for(1, timeout=30)
    assert message["To"] == patient.email
    assert live_server.url in message.get_payload(decode=True).decode()
    _choose_new_password(client, _reset_link(message), patient)


def test_old_password_still_works_until_reset(client, patient):
    assert client.login(username=patient.email, password=PASSWORD)
