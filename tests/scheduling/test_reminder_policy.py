"""A reminder offset changed on the clinic settings page plans the next booking's reminders, with no restart."""

from __future__ import annotations

from clinic.models import ClinicPolicy
from tests.factories import make_patient
from tests.scheduling.test_reminders import WEDNESDAY, live, local_dt
from tests.support import policy_form

URL = "/clinic-settings/"


def test_a_changed_reminder_offset_applies_to_the_next_booking_with_no_restart(
    client, clinic_admin, clinic, book
):
    before = book(make_patient(), local_dt(WEDNESDAY, 10))
    assert {kind for _, kind in live(before)} == {"confirmation", "72h", "24h", "2h"}

    client.force_login(clinic_admin)
    saved = client.post(URL, policy_form(REMINDER_OFFSETS="48h, 90m"))
    assert saved.status_code == 302
    assert ClinicPolicy.objects.get(key="REMINDER_OFFSETS").value == ["48h", "90m"]

    after = book(make_patient(), local_dt(WEDNESDAY, 12))
    assert {kind for _, kind in live(after)} == {"confirmation", "48h", "90m"}
    assert {kind for _, kind in live(before)} == {
        "confirmation",
        "72h",
        "24h",
        "2h",
    }  # booked before: unchanged


def _texting_patient(channel: str):
    from django.utils import timezone

    patient = make_patient()
    patient.reminder_channel, patient.phone, patient.sms_consent_at = channel, "+16175550142", timezone.now()
    patient.save()
    return patient


def test_text_reminders_turned_off_send_email_instead_from_the_next_booking(
    client, clinic_admin, clinic, book
):
    before = book(_texting_patient("sms"), local_dt(WEDNESDAY, 10))
    assert {channel for channel, _ in live(before)} == {"sms"}

    client.force_login(clinic_admin)
    assert client.post(URL, policy_form(REMINDER_SMS="")).status_code == 302
    assert ClinicPolicy.objects.get(key="REMINDER_SMS").value is False

    # The patient who chose text alone is not left without reminders; nobody gets a text.
    assert {channel for channel, _ in live(book(_texting_patient("sms"), local_dt(WEDNESDAY, 14)))} == {
        "email"
    }
    assert {channel for channel, _ in live(book(_texting_patient("both"), local_dt(WEDNESDAY, 12)))} == {
        "email"
    }
    assert {channel for channel, _ in live(before)} == {"sms"}  # booked before: unchanged
