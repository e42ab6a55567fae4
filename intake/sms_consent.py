"""Consent to text messages, both ways: the patient gives or withdraws it on a page (intake, portal), or by replying
to a message (STOP, START). Every change is recorded (``SmsConsentEvent``); the patient row holds the current state
that reminder planning and sending read (``Patient.sms_consent_at``, ``Patient.reminder_channel``)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from intake.models import Patient, SmsConsentEvent

# The keywords carriers and Twilio treat as opting out and back in (CTIA; Twilio's default opt-out keywords).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES", "OPTIN"})
HELP_WORDS = frozenset({"HELP", "INFO"})

# With texts stopped, a patient who chose texts only is reminded by email; with texts back, by both.
_WITHOUT_TEXTS = {"sms": "email", "both": "email"}


def keyword(body: str) -> str:
    """The reply's keyword, as carriers read it: the whole message, trimmed, in capitals ("stop " is STOP)."""
    return body.strip().upper()


@transaction.atomic
def record_reply(*, phone: str, body: str, provider_message_id: str, now: datetime) -> list[Patient]:
    """Apply a STOP or START reply from ``phone`` to every patient with that number (a shared family phone is one
    subscriber to the carrier). Returns the patients changed; any other reply changes nothing."""
    word = keyword(body)
    if word not in STOP_WORDS | START_WORDS:
        return []
    stopping = word in STOP_WORDS
    changed = []
    for patient in Patient.objects.select_for_update().filter(phone=phone).order_by("pk"):
        if stopping and patient.sms_consent_at is None and patient.reminder_channel == "email":
            continue  # nothing to stop: no event for a repeated STOP
        if not stopping and patient.sms_consent_at is not None:
            continue
        _change(
            patient,
            give=not stopping,
            source=SmsConsentEvent.Source.SMS_REPLY,
            reply=body.strip()[:160],
            provider_message_id=provider_message_id[:64],
            now=now,
        )
        changed.append(patient)
    return changed


@transaction.atomic
def choose_reminders(*, patient: Patient, channel: str, sms_consent: bool, now: datetime) -> Patient:
    """The patient's own choice in the portal: email, texts, or both; texts only with consent."""
    if channel not in Patient.ReminderChannel.values:
        raise ValueError(f"unknown reminder channel {channel!r}")
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    wants_texts = channel in ("sms", "both")
    if wants_texts and not sms_consent:
        raise ValueError("texts need consent")
    if wants_texts and not patient.phone:
        raise ValueError("texts need a phone number")
    if wants_texts and patient.sms_consent_at is None:
        _change(patient, give=True, source=SmsConsentEvent.Source.PORTAL, now=now)
    elif not wants_texts and patient.sms_consent_at is not None:
        _change(patient, give=False, source=SmsConsentEvent.Source.PORTAL, now=now)
    patient.reminder_channel = channel
    patient.save(update_fields=["reminder_channel"])
    return patient


def record_intake_choice(*, patient: Patient, gave: bool, now: datetime) -> None:
    """The intake's contact step changed the consent (called inside the step's transaction)."""
    SmsConsentEvent.objects.create(
        patient=patient,
        change=SmsConsentEvent.Change.GIVEN if gave else SmsConsentEvent.Change.WITHDRAWN,
        source=SmsConsentEvent.Source.INTAKE,
        phone=patient.phone,
        at=now,
    )


def _change(
    patient: Patient,
    *,
    give: bool,
    source: str,
    now: datetime,
    reply: str = "",
    provider_message_id: str = "",
) -> None:
    if give:
        patient.sms_consent_at = now
        if source == SmsConsentEvent.Source.SMS_REPLY and patient.reminder_channel == "email":
            patient.reminder_channel = "both"
    else:
        patient.sms_consent_at = None
        patient.reminder_channel = _WITHOUT_TEXTS.get(patient.reminder_channel, patient.reminder_channel)
    patient.save(update_fields=["sms_consent_at", "reminder_channel"])
    SmsConsentEvent.objects.create(
        patient=patient,
        change=SmsConsentEvent.Change.GIVEN if give else SmsConsentEvent.Change.WITHDRAWN,
        source=source,
        phone=patient.phone,
        reply=reply,
        provider_message_id=provider_message_id,
        at=now,
    )
