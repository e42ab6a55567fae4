"""Text messages through a small backend interface. The console/file backend is the default; Twilio is chosen by
setting SMS_BACKEND. Every send carries an idempotency key (the reminder id), and returns the provider's id.

A backend tells three failures apart, because they call for different things: ``SmsError`` (certainly not sent:
try again later), ``SmsRejected`` (refused for good: do not retry) and ``SmsOutcomeUnknown`` (the request reached
the provider and no answer came back: it may have been sent, so it must not be sent again without a person
deciding to)."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, SSLError

# One GSM-7 segment is 160 characters; anything longer is split and billed per 153-character part.
SINGLE_SEGMENT = 160


class SmsError(Exception):
    """Certainly not sent (the provider could not be reached, or asked to try later): the reminder is retried."""


class SmsRejected(Exception):
    """The provider refused the message for good (an invalid or opted-out number, bad credentials): not retried."""


class SmsOutcomeUnknown(Exception):
    """The request went out but its answer did not come back (a timeout, a dropped connection, a gateway error):
    the message may have been sent."""


def sms_timeout() -> float:
    """Seconds to wait for the provider to connect, and then to answer."""
    return float(getattr(settings, "SMS_TIMEOUT", 10))


@dataclass(frozen=True)
class SmsResult:
    provider_id: str


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> SmsResult: ...


class FileSmsBackend:
    """Writes each message as a JSON line to SMS_FILE_PATH (and so to the console under `make run`). A key sent
    before is not written again: the same idempotency a real provider gives."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.path = Path(settings.SMS_FILE_PATH)

    def send(self, *, to: str, body: str, idempotency_key: str) -> SmsResult:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a+", encoding="utf-8") as handle:
            handle.seek(0)
            for line in handle:
                if json.loads(line).get("key") == idempotency_key:
                    return SmsResult(provider_id=f"file:{idempotency_key}")
            record = {"key": idempotency_key, "to": to, "body": body, "at": timezone.now().isoformat()}
            handle.write(json.dumps(record) + "\n")
        return SmsResult(provider_id=f"file:{idempotency_key}")


class TwilioSmsBackend:
    """Twilio's Messages API (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER), with a timeout (SMS_TIMEOUT;
    Twilio's client has none by default, and a hung request would hold the reminder's worker)."""

    def __init__(self, http_client=None) -> None:
        self.client = Client(
            settings.TWILIO_ACCOUNT_SID,
            settings.TWILIO_AUTH_TOKEN,
            http_client=http_client or TwilioHttpClient(timeout=sms_timeout()),
        )
        self.sender = settings.TWILIO_FROM_NUMBER

    def send(self, *, to: str, body: str, idempotency_key: str) -> SmsResult:
        # Twilio's API takes no idempotency key: the reminder outbox's claim (one sender per reminder row) is what
        # keeps a retry from sending twice, and a request whose answer was lost is never retried (outcome unknown).
        try:
            message = self.client.messages.create(to=to, from_=self.sender, body=body)
        except requests.ConnectionError as exc:  # ConnectTimeout included
            if _never_connected(exc):
                raise SmsError(f"could not reach Twilio: {type(exc).__name__}") from exc
            raise SmsOutcomeUnknown(f"the connection to Twilio broke: {type(exc).__name__}: {exc}") from exc
        except requests.RequestException as exc:  # a read timeout, a broken answer: the request had gone out
            raise SmsOutcomeUnknown(f"no answer from Twilio: {type(exc).__name__}: {exc}") from exc
        except TwilioException as exc:
            if isinstance(getattr(exc, "status", None), int):  # Twilio answered with an error status
                raise _answered(exc) from exc
            raise SmsError(str(exc)) from exc  # before any request (missing credentials, say)
        except Exception as exc:  # noqa: BLE001 (an answer we could not read, say: it may have been sent)
            raise SmsOutcomeUnknown(f"{type(exc).__name__}: {exc}") from exc
        return SmsResult(provider_id=message.sid)


def _answered(exc) -> Exception:
    """Twilio answered with an error: busy means try later, any other 4xx is final, a 5xx leaves it unknown."""
    status = exc.status
    # TwilioRestException carries `msg`; the RFC 9457 TwilioServiceException, `title` and `detail`.
    message = getattr(exc, "msg", "") or getattr(exc, "detail", "") or getattr(exc, "title", "")
    code = f", Twilio error {exc.code}" if getattr(exc, "code", None) else ""
    detail = f"HTTP {status}{code}: {message}"[:200]
    if status in (429, 503):  # too many requests, or the service turned the request away
        return SmsError(detail)
    if 400 <= status < 500:
        return SmsRejected(detail)
    return SmsOutcomeUnknown(detail)  # 500, 502, 504: the request may have been acted on before it failed


def _never_connected(exc) -> bool:
    """True when the request cannot have reached Twilio: no connection was made (refused, no route, no such host,
    a connect timeout, a certificate that did not verify)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    if isinstance(reason, SSLError):
        return bool(reason.args) and isinstance(reason.args[0], ssl.SSLCertVerificationError)
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
