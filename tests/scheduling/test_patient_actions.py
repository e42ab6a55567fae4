"""A patient's own appointments: confirm, cancel (late inside the notice window, front desk told), ask to move,
the check-in prompt from 24 hours before, and booking online when the clinic allows it."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from scheduling.models import Allocation, Appointment, WaitlistEntry
from tests.factories import A_WEDNESDAY, NOW, clear_for_treatment, give_cleared_intake, local


@pytest.fixture
def pats_appointment(patient, clinic, book):
    record = patient.patient
    give_cleared_intake(record)
    clear_for_treatment(record)
    return book(record, local(A_WEDNESDAY, 9))


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient)
    return client


def _act(client, appointment, action, **data):
    return client.post(reverse("my_appointments:action", args=[appointment.pk, action]), data)


@time_machine.travel(NOW, tick=False)
def test_a_patient_confirms_their_appointment(signed_in, pats_appointment):
    response = _act(signed_in, pats_appointment, "confirm")
    assert response.status_code == 302
    assert Appointment.objects.get(pk=pats_appointment.pk).status == "confirmed"


@time_machine.travel(NOW, tick=False)
def test_cancelling_early_frees_the_chair_and_is_not_late(
    signed_in, pats_appointment, front_desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _act(signed_in, pats_appointment, "cancel", reason="unwell")
    appointment = Appointment.objects.get(pk=pats_appointment.pk)
    assert appointment.status == "cancelled" and not appointment.late_cancellation
    assert "by the patient" in appointment.cancellation_reason
    assert not Allocation.objects.filter(appointment=appointment, active=True).exists()
    assert mail.outbox == []


def test_a_late_cancellation_is_marked_and_front_desk_is_told(
    signed_in, pats_appointment, front_desk, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(pats_appointment.start_at - timedelta(hours=5), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _act(signed_in, pats_appointment, "cancel", reason="transport")
    assert Appointment.objects.get(pk=pats_appointment.pk).late_cancellation is True
    (message,) = mail.outbox
    assert message.to == [front_desk.email] and message.subject == "Late cancellation"
    assert "Pat" not in message.body and "One" not in message.body  # no name in the email


@time_machine.travel(NOW, tick=False)
def test_cancelling_without_a_reason_changes_nothing(signed_in, pats_appointment):
    _act(signed_in, pats_appointment, "cancel", reason="")
    assert Appointment.objects.get(pk=pats_appointment.pk).status == "booked"


@time_machine.travel(NOW, tick=False)
def test_asking_to_move_puts_the_patient_on_the_waitlist_and_tells_front_desk(
    signed_in, pats_appointment, front_desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _act(signed_in, pats_appointment, "reschedule")
    entry = WaitlistEntry.objects.get(current_appointment=pats_appointment)
    assert entry.patient == pats_appointment.patient
    assert len(mail.outbox) == 1


@time_machine.travel(NOW, tick=False)
def test_another_patients_appointment_is_404_and_untouched(client, second_patient, pats_appointment):
    client.force_login(second_patient)
    for action in ("confirm", "cancel", "reschedule"):
        assert _act(client, pats_appointment, action, reason="unwell").status_code == 404
    assert Appointment.objects.get(pk=pats_appointment.pk).status == "booked"


def test_the_portal_offers_the_check_in_only_from_24_hours_before(signed_in, pats_appointment):
    with time_machine.travel(pats_appointment.start_at - timedelta(hours=30), tick=False):
        assert b"Your check-in for this session is open" not in signed_in.get(reverse("portal:home")).content
    with time_machine.travel(pats_appointment.start_at - timedelta(hours=20), tick=False):
        page = signed_in.get(reverse("portal:home")).content
        assert b"Your check-in for this session is open" in page and b"late cancellation" in page


def test_booking_online_is_closed_unless_the_clinic_allows_it(signed_in, pats_appointment):
    assert signed_in.get(reverse("my_appointments:book")).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_a_cleared_patient_books_their_own_session_from_the_free_times(
    signed_in, pats_appointment, settings, clinic
):
    settings.SCHEDULING_PATIENT_SELF_BOOKING = True
    patient = pats_appointment.patient
    patient.location = clinic.location
    patient.save(update_fields=["location"])
    page = signed_in.get(reverse("my_appointments:book"), {"treatment_type": clinic.iv.pk})
    assert page.status_code == 200 and b'name="start"' in page.content
    start = page.context["slots"][3].start
    response = signed_in.post(
        reverse("my_appointments:book"), {"treatment_type": clinic.iv.pk, "start": start.isoformat()}
    )
    assert response.status_code == 302
    assert Appointment.objects.filter(patient=patient, start_at=start, status="booked").exists()
    again = signed_in.post(
        reverse("my_appointments:book"), {"treatment_type": clinic.iv.pk, "start": start.isoformat()}
    )
    assert again.status_code in (400, 409)
    assert Appointment.objects.filter(patient=patient, start_at=start).count() == 1
    bad = signed_in.post(
        reverse("my_appointments:book"), {"treatment_type": clinic.iv.pk, "start": "yesterday"}
    )
    assert bad.status_code == 400
