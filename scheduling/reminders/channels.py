"""How a reminder leaves: email over one kept SMTP connection per worker process, text messages through the SMS
backend (``scheduling.sms``). Each send ends sent, or raises what the outbox must know about it:

- ``DeliveryFailed``: certainly not delivered (no connection, a 4xx answer, a break before the end of the
  message): tried again with backoff;
- ``DeliveryRefused``: refused for good (a 5xx answer, a bad number): failed at once;
- ``DeliveryUncertain``: the whole message left and its answer did not come back: it may have been delivered, so
  it is never retried without a person deciding to.

The SMTP conversation is driven step by step (MAIL, RCPT, DATA, then the message and its final line) to tell these
apart; Django's one-call ``send()`` cannot.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import threading
import time as clock
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpEmailBackend
from django.core.mail.message import sanitize_address

from scheduling.models import Reminder
from scheduling.reminders.content import reminder_email, reminder_sms_text
from scheduling.sms import SmsError, SmsOutcomeUnknown, SmsRejected, get_sms_backend


class DeliveryProblem(Exception):
    """Why a send did not end in a plain "sent". ``what`` is written for front desk; ``detail`` is technical."""

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(f"{what} ({detail})" if detail else what)
        self.what = what
        self.detail = detail


class DeliveryFailed(DeliveryProblem):
    """Not delivered, and certainly not (no connection, a 4xx answer, a break before the end of the message):
    tried again with backoff, up to REMINDER_MAX_ATTEMPTS."""


class DeliveryRefused(DeliveryProblem):
    """Not delivered: the provider refused it for good (a 5xx answer, a bad number). Failed at once, no retries."""


class DeliveryUncertain(DeliveryProblem):
    """The whole message reached the provider, but its answer did not reach us: it may have been delivered.

    Never retried automatically (that is how a patient gets the same reminder twice): the reminder is failed with
    a reason that says so, and front desk decides whether to send it again."""


UNCERTAIN = {
    Reminder.Channel.EMAIL: "The mail server stopped answering after receiving the message; it may have been "
    "delivered. Check with the patient before resending.",
    Reminder.Channel.SMS: "The text-message service stopped answering after receiving the message; it may have "
    "been delivered. Check with the patient before resending.",
}
CONTACT = {Reminder.Channel.EMAIL: "email address", Reminder.Channel.SMS: "mobile number"}


# --- Email: one SMTP connection per worker process, and a send that knows what it does not know ----------------


# A kept connection idle longer than this is replaced rather than trusted (servers drop idle ones after a timeout
# of their own, at least five minutes by RFC 5321 4.5.3.2; a dropped one is also noticed and replaced, see below).
SMTP_IDLE_SECONDS = 60


class _MailConnection(threading.local):
    """This worker process's email connection, opened at its first reminder and reused for the next ones, instead
    of a new SMTP connection (connect, EHLO, maybe TLS and login, QUIT) for every message. One per thread; replaced
    when the email settings change, after a failure that leaves it in doubt, and after SMTP_IDLE_SECONDS idle."""

    def __init__(self) -> None:
        self.backend = None
        self.key: tuple = ()
        self.pid = 0
        self.used_at = 0.0

    def get(self):
        key = (
            settings.EMAIL_BACKEND, settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_HOST_USER,
            settings.EMAIL_HOST_PASSWORD, settings.EMAIL_USE_TLS, settings.EMAIL_USE_SSL, settings.EMAIL_TIMEOUT,
        )  # fmt: skip
        if self.pid != os.getpid():
            self.backend = None  # a forked child: a socket it inherited is its parent's, not its own to close
        elif self.backend is not None and key != self.key:
            self.close()
        elif self.backend is not None and clock.monotonic() - self.used_at > SMTP_IDLE_SECONDS:
            self.drop()  # no QUIT: on a connection dropped silently (a firewall's timeout) it would wait in vain
        if self.backend is None:
            self.backend, self.key, self.pid = get_connection(fail_silently=False), key, os.getpid()
        self.used_at = clock.monotonic()
        return self.backend

    def close(self) -> None:
        """Goodbye to the server (QUIT): when the worker process shuts down, or the email settings changed."""
        backend, self.backend = self.backend, None
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.close()

    def drop(self) -> None:
        """Forget a connection in doubt without a word to the server: after a timeout, a late reply to the last
        message could otherwise be read as the answer to the next one."""
        backend, self.backend = self.backend, None
        smtp = getattr(backend, "connection", None)
        if smtp is not None:
            with contextlib.suppress(Exception):
                smtp.close()


_mail = _MailConnection()


def close_mail_connection() -> None:
    _mail.close()


def send_email(reminder: Reminder, *, now: datetime, series_siblings: Sequence[Reminder] = ()) -> str:
    message = reminder_email(reminder, now=now, series_siblings=series_siblings)
    backend = _mail.get()
    if isinstance(backend, SmtpEmailBackend):
        _send_over_smtp(message)
    else:
        # The console, file and in-memory backends of development and tests: no network, nothing to be unsure of.
        message.connection = backend
        message.send(fail_silently=False)
    return message.extra_headers["Message-ID"]


class _ConnectionBroke(Exception):
    """The connection failed before the end of the message was sent: the server cannot have accepted it."""


def _send_over_smtp(message: EmailMultiAlternatives) -> None:
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    data = message.message().as_bytes(linesep="\r\n")
    for last_try in (False, True):
        backend = _mail.get()
        try:
            fresh = backend.open()
        except OSError as exc:  # refused, unreachable, TLS or login failed (smtplib's errors are OSErrors)
            _mail.drop()
            raise DeliveryFailed(f"Could not reach the mail server ({_technical(exc)}).") from exc
        try:
            _smtp_transaction(backend.connection, sender, recipients, data)
            return
        except _ConnectionBroke as exc:
            _mail.drop()
            if fresh or last_try:
                raise DeliveryFailed(
                    f"The connection to the mail server broke before the message was complete ({exc})."
                ) from exc
            # A kept connection that the server had closed (idle, or a limit of its own): nothing of this message
            # was accepted, so once more on a new connection.
        except DeliveryUncertain:
            _mail.drop()
            raise


def _smtp_transaction(smtp: smtplib.SMTP, sender: str, recipients: list[str], data: bytes) -> None:
    """MAIL, RCPT, DATA and the message, in the steps that tell a certain failure from an unknown outcome."""
    # A line that starts with a dot gets a second one (RFC 5321 4.5.2); the message ends with a line of one dot.
    body = re.sub(rb"(?m)^\.", b"..", data)
    body += b".\r\n" if body.endswith(b"\r\n") else b"\r\n.\r\n"
    try:
        smtp.ehlo_or_helo_if_needed()
        options = [f"SIZE={len(data)}"] if smtp.has_extn("size") else []
        _expect(smtp.mail(sender, options), 250)
        for recipient in recipients:
            _expect(smtp.rcpt(recipient), 250, 251)
        smtp.putcmd("data")
        _expect(smtp.getreply(), 354)
        # One write, with the end-of-data line last: if the write fails, its last bytes did not all leave (sendall
        # stops at the first error), and without its end-of-data line the server cannot accept the message.
        smtp.send(body)
    except (DeliveryFailed, DeliveryRefused):
        # Refused before it had the message: reset the transaction, and the connection serves the next one.
        try:
            smtp.rset()
        except OSError:
            _mail.drop()
        raise
    except OSError as exc:  # a broken connection, a timeout, a refused HELO: smtplib's errors are OSErrors
        raise _ConnectionBroke(_technical(exc)) from exc
    # The whole message has left, end-of-data line included: the server may accept it at any moment, and a timeout
    # or a dropped connection while we wait for its answer cannot tell us whether it did.
    try:
        code, reply = smtp.getreply()
    except Exception as exc:  # noqa: BLE001 (whatever it was, the message may have been accepted)
        raise DeliveryUncertain(UNCERTAIN[Reminder.Channel.EMAIL], _technical(exc)) from exc
    if 200 <= code < 300:
        return
    if 400 <= code < 500:
        raise DeliveryFailed(f"The mail server did not take the message for now ({_answer(code, reply)}).")
    if 500 <= code < 600:
        raise DeliveryRefused(f"The mail server refused the message ({_answer(code, reply)}).")
    raise DeliveryUncertain(UNCERTAIN[Reminder.Channel.EMAIL], f"unexpected reply {_answer(code, reply)}")


def _expect(reply: tuple[int, bytes], *expected: int) -> None:
    code, text = reply
    if code in expected:
        return
    if code == 421 or not 400 <= code < 600:
        # The server is closing the connection (421), or not speaking SMTP as expected.
        raise _ConnectionBroke(_answer(code, text))
    if code < 500:
        raise DeliveryFailed(f"The mail server asked to try again later ({_answer(code, text)}).")
    raise DeliveryRefused(f"The mail server refused the message ({_answer(code, text)}).")


def _answer(code: int, text: bytes) -> str:
    return f"{code} {' '.join(text.decode('utf-8', 'replace').split())}"[:200]


def _technical(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


# --- Text messages --------------------------------------------------------------------------------------------


def send_sms(reminder: Reminder) -> str:
    try:
        result = get_sms_backend().send(
            to=reminder.appointment.patient.phone,
            body=reminder_sms_text(reminder),
            idempotency_key=f"reminder-{reminder.pk}",
        )
    except SmsOutcomeUnknown as exc:
        raise DeliveryUncertain(UNCERTAIN[Reminder.Channel.SMS], str(exc)) from exc
    except SmsRejected as exc:
        raise DeliveryRefused(f"The text-message service refused the message ({exc}).") from exc
    except SmsError as exc:
        raise DeliveryFailed(f"The text-message service could not take the message ({exc}).") from exc
    return result.provider_id
