"""Consent to text messages, both ways: a reply to one of the clinic's texts (Twilio's inbound webhook, signed with
the account's auth token and checked with Twilio's own validator), and the patient's choice in the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse
from twilio.request_validator import RequestValidator

from intake.models import Patient, SmsConsentEvent
from scheduling.reminders.outbox import channels_for
from tests.factories import NOW, local, make_patient
from tests.scheduling.test_reminders_channels import claimed, deliver
from tests.scheduling.test_reminders_worker import WEDNESDAY

TOKEN = "test-auth-token"
PHONE = "+16175550199"
URL = "/sms/replies/"


@pytest.fixture
def webhook(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.SITE_URL = "https://clinic.example.org"


def texting(phone: str = PHONE, channel: str = "sms") -> Patient:
    patient = make_patient()
    patient.reminder_channel, patient.phone, patient.sms_consent_at = channel, phone, NOW
    patient.save()
    return patient


def reply(client, body: str, *, sender: str = PHONE, signature: str | None = None, token: str = TOKEN):
    params = {"From": sender, "To": "+16175550000", "Body": body, "MessageSid": "SM" + "1" * 32}
    if signature is None:
        signature = RequestValidator(token).compute_signature("https://clinic.example.org" + URL, params)
    return client.post(URL, params, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["STOP", " stop ", "Unsubscribe", "QUIT"])
def test_stop_ends_texts_at_once_and_is_recorded(client, webhook, body):
    patient = texting(channel="both")
    response = reply(client, body)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/xml")
    assert b"<Message>" not in response.content  # Twilio confirms a STOP itself
    patient.refresh_from_db()
    assert patient.sms_consent_at is None and patient.reminder_channel == "email"
    assert channels_for(patient) == ["email"]
    (event,) = SmsConsentEvent.objects.filter(patient=patient)
    assert (event.change, event.source, event.phone, event.reply) == (
        "withdrawn",
        "sms_reply",
        PHONE,
        body.strip(),
    )
    # A second STOP changes nothing and records nothing more.
    reply(client, "STOP")
    assert SmsConsentEvent.objects.filter(patient=patient).count() == 1


@pytest.mark.django_db
def test_a_text_planned_before_the_stop_is_not_sent(client, clinic, book, webhook):
    patient = texting()
    reminder = claimed(book(patient, local(WEDNESDAY, 10)), channel="sms")
    reply(client, "STOP")
    assert deliver(reminder) == {"skipped": 1}
    assert reminder.status == "cancelled" and "stopped text messages" in reminder.last_error


@pytest.mark.django_db
def test_start_gives_texts_back(client, webhook):
    patient = texting(channel="sms")
    reply(client, "STOP")
    reply(client, "START")
    patient.refresh_from_db()
    assert patient.sms_consent_at is not None and patient.reminder_channel == "both"
    assert list(
        SmsConsentEvent.objects.filter(patient=patient).order_by("pk").values_list("change", flat=True)
    ) == [
        "withdrawn",
        "given",
    ]


@pytest.mark.django_db
def test_help_answers_with_the_number_of_the_patients_clinic(client, webhook, clinic):
    clinic.location.phone = "+16175550100"
    clinic.location.save()
    patient = texting()
    patient.location = clinic.location
    patient.save()
    response = reply(client, "help")
    text = response.content.decode()
    assert response.status_code == 200 and "<Message>" in text
    assert "call +16175550100" in text and "Reply STOP" in text
    assert not SmsConsentEvent.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "signature", ["", "forged", RequestValidator("another-token").compute_signature("x", {})]
)
def test_an_unsigned_or_forged_reply_is_refused_and_changes_nothing(client, webhook, signature):
    patient = texting()
    response = reply(client, "STOP", signature=signature)
    assert response.status_code == 403
    patient.refresh_from_db()
    assert patient.sms_consent_at == NOW and not SmsConsentEvent.objects.exists()


@pytest.mark.django_db
def test_a_reply_signed_with_another_accounts_token_is_refused(client, webhook):
    patient = texting()
    assert reply(client, "STOP", token="someone-elses-token").status_code == 403
    patient.refresh_from_db()
    assert patient.sms_consent_at == NOW


@pytest.mark.django_db
def test_without_an_auth_token_the_webhook_is_not_there(client, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    texting()
    assert client.post(URL, {"From": PHONE, "Body": "STOP"}).status_code == 404
    assert not SmsConsentEvent.objects.exists()


@pytest.mark.django_db
def test_a_stop_from_an_unknown_number_or_any_other_text_changes_nothing(client, webhook):
    patient = texting()
    assert reply(client, "STOP", sender="+16175550142").status_code == 200
    assert reply(client, "Running 5 min late").status_code == 200
    patient.refresh_from_db()
    assert patient.sms_consent_at == NOW and not SmsConsentEvent.objects.exists()


# --- The portal ---------------------------------------------------------------------------------------------------


def test_the_portal_shows_and_changes_the_choice(client, patient):
    client.force_login(patient)
    patient_client = client
    record = patient.patient
    record.phone, record.reminder_channel, record.sms_consent_at = PHONE, "both", NOW
    record.save()
    url = reverse("portal:reminders")
    page = patient_client.get(url)
    assert page.status_code == 200 and "You agreed to text messages" in page.content.decode()
    assert "at (617) 555-0199." in page.content.decode()  # the number as the patient reads it, not +1617...

    refused = patient_client.post(url, {"reminder_channel": "sms"})
    assert refused.status_code == 400 and "To get text reminders, tick this box" in refused.content.decode()
    record.refresh_from_db()
    assert record.reminder_channel == "both" and not SmsConsentEvent.objects.exists()

    done = patient_client.post(url, {"reminder_channel": "email"})
    assert done.status_code == 302
    record.refresh_from_db()
    assert record.reminder_channel == "email" and record.sms_consent_at is None
    assert SmsConsentEvent.objects.get().change == "withdrawn"

    patient_client.post(url, {"reminder_channel": "sms", "sms_consent": "on"})
    record.refresh_from_db()
    assert record.reminder_channel == "sms" and record.sms_consent_at is not None
    assert SmsConsentEvent.objects.filter(source="portal").count() == 2


def test_texts_cannot_be_chosen_without_a_number(client, patient):
    client.force_login(patient)
    patient_client = client
    record = patient.patient
    record.phone = ""
    record.save()
    refused = patient_client.post(
        reverse("portal:reminders"), {"reminder_channel": "sms", "sms_consent": "on"}
    )
    assert refused.status_code == 400 and "no mobile number" in refused.content.decode()
    record.refresh_from_db()
    assert record.reminder_channel == "email"


def test_other_people_cannot_reach_the_page(client, front_desk):
    client.force_login(front_desk)
    assert client.get(reverse("portal:reminders")).status_code == 404
