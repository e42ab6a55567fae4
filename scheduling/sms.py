"""Text messages through a small backend interface. The console/file backend is the default; Twilio is chosen by
setting SMS_BACKEND. Every send carries an idempotency key (the reminder id), and returns the provider's id."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

# One GSM-7 segment is 160 characters; anything longer is split and billed per 153-character part.
SINGLE_SEGMENT = 160


class SmsError(Exception):
    """The provider refused or could not be reached; the reminder will be retried."""


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
    """Twilio's Messages API (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER)."""

    def __init__(self) -> None:
        from twilio.rest import Client

        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
        self.sender = settings.TWILIO_FROM_NUMBER

    def send(self, *, to: str, body: str, idempotency_key: str) -> SmsResult:
        from twilio.base.exceptions import TwilioException

        # Twilio's API takes no idempotency key: the reminder outbox's claim (one sender per reminder row) is what
        # keeps a retry from sending twice. The key is still logged with the provider id.
        try:
            message = self.client.messages.create(to=to, from_=self.sender, body=body)
        except TwilioException as exc:
            raise SmsError(str(exc)) from exc
        return SmsResult(provider_id=message.sid)


def get_sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()
