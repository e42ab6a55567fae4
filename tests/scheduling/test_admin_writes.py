"""The admin writes through the services: calendar changes (time off, closures, weekly hours), REMS enrollments and
a failed reminder's resend. A refusal at save time is said on the page with nothing saved; the tasks the services
enqueue by name are the ones Celery knows."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from clinic.models import User
from scheduling import access, services
from scheduling.models import ClinicianTimeOff, OpeningHours, Reminder, RemsEnrollment
from scheduling.reminders.outbox import SEND_TASK
from scheduling.services.waitlist import SEND_OFFER_TASK
from tests.factories import A_WEDNESDAY, NOW, local, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        email="root@example.org", password="a-long-root-password-1", full_name="Root"
    )


# --- The calendar services -------------------------------------------------------------------------------------


def test_time_off_over_a_booked_session_is_refused_by_the_service_with_nothing_written(clinic, book):
    book(make_patient(first="Noor", last="Haddad"), local(A_WEDNESDAY, 10))
    doctor = clinic.clinicians[0]
    time_off = ClinicianTimeOff(
        clinician=doctor, starts_at=local(A_WEDNESDAY, 8), ends_at=local(A_WEDNESDAY, 18)
    )
    with pytest.raises(services.SchedulingError, match=f"{doctor} has 1 session booked then: .*Noor Haddad"):
        services.save_time_off(time_off=time_off)
    assert not ClinicianTimeOff.objects.exists()

    time_off = ClinicianTimeOff(
        clinician=doctor, starts_at=local(A_WEDNESDAY, 12), ends_at=local(A_WEDNESDAY, 18)
    )
    services.save_time_off(time_off=time_off)
    assert ClinicianTimeOff.objects.get().pk == time_off.pk


def test_new_opening_hours_are_judged_as_saved_and_rolled_back_when_refused(clinic, book):
    book(make_patient(first="Lena", last="Park"), local(A_WEDNESDAY, 15))

    def wednesday() -> OpeningHours:
        return OpeningHours.objects.get(location=clinic.location, weekday=A_WEDNESDAY.weekday())

    shorter = wednesday()
    shorter.closes = time(12)
    with pytest.raises(services.SchedulingError, match="closed for 1 session booked: .*Lena Park"):
        services.set_opening_hours(location=clinic.location, save=[shorter], delete=[], now=NOW)
    assert wednesday().closes == time(18)

    with pytest.raises(services.SchedulingError, match="closed for 1 session booked"):
        services.set_opening_hours(location=clinic.location, save=[], delete=[wednesday()], now=NOW)
    assert wednesday().closes == time(18)

    still_open = wednesday()
    still_open.closes = time(17)
    services.set_opening_hours(location=clinic.location, save=[still_open], delete=[], now=NOW)
    assert wednesday().closes == time(17)


def test_a_refusal_at_save_time_is_a_message_and_nothing_is_saved(
    client, clinic_admin, clinic, book, monkeypatch
):
    """A booking lands between the form's check and the save: the service, asking again, refuses."""
    book(make_patient(), local(A_WEDNESDAY, 10))
    monkeypatch.setattr(services, "time_off_refusal", lambda **kwargs: None)  # the form's look saw nothing
    client.force_login(clinic_admin)
    url = reverse("admin:scheduling_cliniciantimeoff_add")
    starts, ends = local(A_WEDNESDAY, 8), local(A_WEDNESDAY, 18)
    data = {"clinician": clinic.clinicians[0].pk, "reason": "Sick"}
    for name, moment in (("starts_at", starts), ("ends_at", ends)):
        moment = timezone.localtime(moment)
        data |= {f"{name}_0": moment.date().isoformat(), f"{name}_1": moment.strftime("%H:%M:%S")}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert "Not saved: " in response.content.decode()
    assert "1 session booked then" in response.content.decode()
    assert not ClinicianTimeOff.objects.exists()


# --- REMS enrollment ----------------------------------------------------------------------------------------------


def test_the_rems_admin_records_corrects_and_takes_back_through_the_services(client, superuser, clinic):
    patient = make_patient()
    client.force_login(superuser)
    response = client.post(
        reverse("admin:scheduling_remsenrollment_add"),
        {"patient": patient.pk, "enrolled_on": A_WEDNESDAY.isoformat(), "rems_patient_id": "  R-1 "},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    enrollment = RemsEnrollment.objects.get(patient=patient)
    assert (enrollment.rems_patient_id, enrollment.recorded_by) == ("R-1", superuser)  # the service's strip

    change = reverse("admin:scheduling_remsenrollment_change", args=[enrollment.pk])
    other = make_patient()
    later = A_WEDNESDAY + timedelta(days=1)
    response = client.post(
        change, {"patient": other.pk, "enrolled_on": later.isoformat(), "rems_patient_id": "R-2"}
    )
    assert response.status_code == 302
    enrollment.refresh_from_db()
    assert (enrollment.patient, enrollment.enrolled_on, enrollment.rems_patient_id) == (patient, later, "R-2")

    response = client.post(
        reverse("admin:scheduling_remsenrollment_delete", args=[enrollment.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not RemsEnrollment.objects.exists()


# --- Reminders -----------------------------------------------------------------------------------------------------


def test_the_reminder_admin_is_read_only_and_sends_a_failed_reminder_again(client, superuser, clinic, book):
    appointment = book(make_patient(), local(A_WEDNESDAY, 10))
    failed, other = list(Reminder.objects.filter(appointment=appointment).order_by("pk")[:2])
    Reminder.objects.filter(pk=failed.pk).update(status=Reminder.Status.FAILED, attempts=5, last_error="550")
    model_admin = admin.site._registry[Reminder]
    request = type("Request", (), {"user": superuser})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, failed)
    assert not model_admin.has_delete_permission(request, failed)

    client.force_login(superuser)
    with time_machine.travel(NOW, tick=False):
        response = client.post(
            reverse("admin:scheduling_reminder_changelist"),
            {"action": "send_again", "_selected_action": [failed.pk, other.pk]},
            follow=True,
        )
    page = response.content.decode()
    assert "1 reminder(s) will be sent again" in page
    assert f"reminder {other.pk}: Only a reminder that failed can be sent again." in page
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 0, "")


# --- Tasks enqueued by name --------------------------------------------------------------------------------------


def test_every_task_a_service_enqueues_by_name_is_registered_under_it():
    from clinic.celery import app

    assert {SEND_TASK, SEND_OFFER_TASK, access.TELL_ADMINS_TASK, services.TELL_CLINIC_OF_DOSE_TASK} <= set(
        app.tasks
    )
