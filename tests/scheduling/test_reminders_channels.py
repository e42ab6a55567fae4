"""How each answer of a mail server or of the SMS provider ends a reminder's attempt: sent, tried again later,
failed for good, or failed as "may have been delivered" (never sent again without a person deciding to).

The sends run in the test process against real servers on localhost: aiosmtpd for email, and for text messages a
small HTTP server standing in for Twilio's API, reached through Twilio's own client. The last test runs a real
worker process to see it close its SMTP connection when it shuts down.
"""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings as django_settings

from scheduling.sms import TwilioSmsBackend, sms_timeout
from tests.factories import NOW, local, make_patient
from tests.scheduling.test_reminders_smtp import ScriptedSmtp, outcomes, serve
from tests.scheduling.test_reminders_worker import WEDNESDAY, mail_env, settle, sweep
from tests.support import free_port, start_worker, stop_worker

MAYBE_TEXTED = (
    "The text-message service stopped answering after receiving the message; it may have been delivered. "
    "Check with the patient before resending."
)


def claimed(appointment, kind: str = "confirmation", channel: str = "email"):
    """The reminder as the sweep leaves it for its sender: `sending`."""
    from scheduling.models import Reminder

    reminder = Reminder.objects.get(appointment=appointment, kind=kind, channel=channel)
    Reminder.objects.filter(pk=reminder.pk).update(status="sending", claimed_at=NOW)
    return reminder


def deliver(reminder) -> dict[str, int]:
    from scheduling.reminders import deliver_reminders

    result = deliver_reminders(reminder_ids=[reminder.pk], now=NOW)
    reminder.refresh_from_db()
    return result


@pytest.fixture
def mail_server(settings):
    """A scripted SMTP server, with Django's SMTP backend pointed at it for this test."""
    from scheduling.reminders import close_mail_connection

    box = ScriptedSmtp()
    controller = serve(box)
    box.controller = controller
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = box.host
    settings.EMAIL_PORT = box.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 2
    try:
        yield box
    finally:
        close_mail_connection()
        box.release.set()
        controller.stop()


# --- Email ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "answer", "status", "outcome", "says"),
    [
        ("RCPT", "550 5.1.1 No such user here", "failed", "gave_up", "will not be tried again"),
        ("MAIL", "553 5.7.1 Sender address rejected", "failed", "gave_up", "will not be tried again"),
        ("RCPT", "450 4.2.1 Mailbox busy", "pending", "failed", "It will be tried again"),
        ("MAIL", "451 4.3.0 Local error in processing", "pending", "failed", "It will be tried again"),
    ],
)
def test_a_refusal_before_the_message_is_final_for_5xx_and_temporary_for_4xx(
    clinic, book, mail_server, command, answer, status, outcome, says
):
    mail_server.replies[command].append(answer)
    first = claimed(book(make_patient(), local(WEDNESDAY, 10)))
    deliver(first)
    assert (first.status, first.attempts) == (status, 1)
    assert answer in first.last_error and says in first.last_error
    assert outcomes(first) == [outcome] and mail_server.count() == 0

    # The refused transaction was reset (RSET) and the same connection carries the next reminder.
    second = claimed(book(make_patient(), local(WEDNESDAY, 11), chair=1, clinician=1))
    assert deliver(second) == {"sent": 1}
    assert mail_server.resets == 1 and mail_server.count() == 1
    assert mail_server.messages[0]["Message-ID"] == f"<reminder-{second.pk}-0@clinic.invalid>"


@pytest.mark.django_db
def test_a_connection_the_server_closed_while_idle_is_replaced_and_the_reminder_goes_once(
    clinic, book, mail_server
):
    first = claimed(book(make_patient(), local(WEDNESDAY, 10)))
    assert deliver(first) == {"sent": 1}
    mail_server.hang_up(mail_server.controller)

    second = claimed(book(make_patient(), local(WEDNESDAY, 11), chair=1, clinician=1))
    assert deliver(second) == {"sent": 1}
    assert (second.status, second.attempts) == ("sent", 1)  # no failed attempt: nothing had been sent
    assert outcomes(second) == ["sent"]
    assert mail_server.count() == 2 and mail_server.peers[0] != mail_server.peers[1]


@pytest.mark.django_db
def test_a_421_closing_answer_on_a_kept_connection_is_retried_at_once_on_a_new_one(clinic, book, mail_server):
    first = claimed(book(make_patient(), local(WEDNESDAY, 10)))
    assert deliver(first) == {"sent": 1}
    mail_server.replies["MAIL"].append("421 4.7.0 Too many messages on this connection, closing")

    second = claimed(book(make_patient(), local(WEDNESDAY, 11), chair=1, clinician=1))
    assert deliver(second) == {"sent": 1}
    assert (second.status, second.attempts, outcomes(second)) == ("sent", 1, ["sent"])
    assert mail_server.count() == 2 and mail_server.peers[0] != mail_server.peers[1]


@pytest.mark.django_db
def test_no_mail_server_to_connect_to_is_a_failed_attempt_tried_again_later(clinic, book, settings):
    from scheduling.reminders import close_mail_connection, retry_backoff

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    reminder = claimed(book(make_patient(), local(WEDNESDAY, 10)))
    try:
        assert deliver(reminder) == {"failed": 1}
    finally:
        close_mail_connection()
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    assert reminder.last_error.startswith("Could not reach the mail server (ConnectionRefusedError")
    assert reminder.due_at == NOW + retry_backoff(1)


# --- Text messages through Twilio's client ---------------------------------------------------------------------


class FakeTwilioApi:
    """An HTTP server on localhost in Twilio's place. `answers` are given in order, then 201 (created):
    ("status", code, json) answers with that status, ("stall",) reads the request and answers nothing until the
    test lets go. `requests` counts the requests that arrived whole."""

    def __init__(self) -> None:
        self.answers: list[tuple] = []
        self.requests: list[dict] = []
        self.release = threading.Event()
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's hook name)
                from urllib.parse import parse_qs

                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                with api.lock:
                    api.requests.append({k: v[0] for k, v in form.items()})
                    answer = api.answers.pop(0) if api.answers else ("status", 201, None)
                if answer[0] == "stall":
                    api.release.wait(60)
                    return
                status, body = answer[1], answer[2]
                if body is None:
                    body = {"sid": f"SM{len(api.requests):032d}", "status": "queued", "to": form["To"][0]}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


class LocalTwilioBackend(TwilioSmsBackend):
    """Twilio's real client and HTTP stack, sending to the FakeTwilioApi (settings.TEST_TWILIO_API) instead."""

    def __init__(self) -> None:
        from twilio.http.http_client import TwilioHttpClient

        class ToLocalApi(TwilioHttpClient):
            def request(self, method, url, *args, **kwargs):
                url = url.replace("https://api.twilio.com", django_settings.TEST_TWILIO_API)
                return super().request(method, url, *args, **kwargs)

        super().__init__(http_client=ToLocalApi(timeout=sms_timeout()))


@pytest.fixture
def twilio(settings):
    api = FakeTwilioApi()
    api.thread.start()
    settings.SMS_BACKEND = f"{__name__}.LocalTwilioBackend"
    settings.TEST_TWILIO_API = api.url
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "test-token"
    settings.TWILIO_FROM_NUMBER = "+16175550000"
    settings.SMS_TIMEOUT = 1
    try:
        yield api
    finally:
        api.release.set()
        api.server.shutdown()
        api.server.server_close()


def texting_patient():
    patient = make_patient()
    patient.reminder_channel = "sms"
    patient.phone = "+16175550199"
    patient.sms_consent_at = NOW
    patient.save()
    return patient


@pytest.mark.django_db
def test_a_text_whose_answer_never_comes_may_have_been_sent_and_is_never_sent_again_by_itself(
    clinic, book, twilio
):
    from scheduling.reminders import sweep_due_reminders

    twilio.answers.append(("stall",))
    reminder = claimed(book(texting_patient(), local(WEDNESDAY, 10)), channel="sms")
    assert deliver(reminder) == {"uncertain": 1}
    assert (reminder.status, reminder.attempts, reminder.last_error) == ("failed", 1, MAYBE_TEXTED)
    assert outcomes(reminder) == ["gave_up"]
    assert twilio.count() == 1 and twilio.requests[0]["To"] == "+16175550199"
    assert reminder.pk not in sweep_due_reminders(now=NOW + timedelta(days=1))
    assert twilio.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("answer", "result", "status", "says"),
    [
        (("status", 201, None), "sent", "sent", ""),
        (("status", 429, {"code": 20429, "message": "Too Many Requests", "status": 429}), "failed", "pending",
         "It will be tried again"),
        (("status", 400, {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400}), "refused",
         "failed", "check the patient's mobile number"),
        (("status", 500, {"code": 20500, "message": "Internal Server Error", "status": 500}), "uncertain",
         "failed", "it may have been delivered"),
        (("status", 502, None), "uncertain", "failed", "it may have been delivered"),
    ],
)  # fmt: skip
def test_each_answer_of_the_sms_provider_ends_the_attempt_as_it_means(
    clinic, book, twilio, answer, result, status, says
):
    if answer[1] == 502:
        answer = ("status", 502, {"message": "Bad Gateway"})  # a proxy's answer, not Twilio's own
    twilio.answers.append(answer)
    reminder = claimed(book(texting_patient(), local(WEDNESDAY, 10)), channel="sms")
    assert deliver(reminder) == {result: 1}
    assert (reminder.status, reminder.attempts) == (status, 1)
    assert says in reminder.last_error
    assert twilio.count() == 1
    if status == "sent":
        assert reminder.provider_id == f"SM{1:032d}"


@pytest.mark.django_db
def test_no_sms_provider_to_connect_to_is_a_failed_attempt_tried_again_later(clinic, book, twilio, settings):
    settings.TEST_TWILIO_API = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    reminder = claimed(book(texting_patient(), local(WEDNESDAY, 10)), channel="sms")
    assert deliver(reminder) == {"failed": 1}
    assert (reminder.status, reminder.attempts) == ("pending", 1)
    assert "could not reach Twilio" in reminder.last_error and twilio.count() == 0


# --- Batches and the worker's connection -------------------------------------------------------------------------


@pytest.mark.parametrize("claimed_count", [0, 1, 6, 12, 100, 500, 1001])
def test_a_sweep_hands_every_claimed_reminder_to_exactly_one_send_task(claimed_count):
    from scheduling.reminders import SEND_BATCH, send_batches

    ids = list(range(1000, 1000 + claimed_count))
    batches = send_batches(ids)
    assert [pk for batch in batches for pk in batch] == ids
    assert all(0 < len(batch) <= SEND_BATCH for batch in batches)
    # A small sweep is spread over several tasks (no task takes more than an eighth of it), so that each worker
    # gets a share and a lost task message holds back few reminders.
    assert all(len(batch) <= max(1, math.ceil(claimed_count / 8)) for batch in batches)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_smtp_connection_between_reminders_and_closes_it_when_it_shuts_down(
    clinic, book, tmp_path
):
    from clinic.celery import app
    from scheduling.models import Reminder

    box = ScriptedSmtp()
    controller = serve(box)
    app.control.purge()
    worker = start_worker(tmp_path, name="goodbye", extra_env=mail_env(box))
    try:
        for i in range(3):
            book(make_patient(), local(WEDNESDAY, 8 + i), chair=i, clinician=i)
        assert len(sweep(NOW)) == 3
        box.wait_for(3)
        settle()
        assert box.count() == 3 and len(set(box.peers)) == 1
        assert box.quits == []
        assert set(Reminder.objects.values_list("status", flat=True).filter(due_at__lte=NOW)) == {"sent"}
    finally:
        stop_worker(worker)
    try:
        deadline = time.monotonic() + 5
        while not box.quits and time.monotonic() < deadline:
            time.sleep(0.05)
        assert box.quits == [box.peers[0]], worker.log()[-2000:]
    finally:
        controller.stop()
