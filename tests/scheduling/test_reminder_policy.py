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
