"""Staff on the set-up pages: a person's role changed and their account deactivated or reactivated, refused while
a clinician has sessions booked, for oneself, and for the last clinic admin."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from clinic.models import AccountEvent
from clinic.roles import Role
from scheduling import services
from scheduling.models import Clinician, FrontDeskAssignment
from tests.factories import A_WEDNESDAY, NOW, local, make_patient, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin_client(client, clinic_admin):
    client.force_login(clinic_admin)
    return client


def refresh(user):
    user.refresh_from_db()
    return user


def test_front_desk_and_clinicians_do_not_find_the_staff_pages(client, front_desk, clinician, clinic_admin):
    for user in (front_desk, clinician):
        client.force_login(user)
        assert client.get(reverse("setup:staff_member", args=[clinic_admin.pk])).status_code == 404
        assert (
            client.post(reverse("setup:staff_active", args=[clinic_admin.pk]), {"is_active": "0"}).status_code
            == 404
        )
    assert refresh(clinic_admin).is_active


def test_a_patient_is_not_a_staff_member(admin_client):
    patient = make_user(Role.PATIENT)
    assert admin_client.get(reverse("setup:staff_member", args=[patient.pk])).status_code == 404


def test_front_desk_becomes_a_clinician_and_is_told(
    admin_client,
    clinic,
    front_desk,
    clinic_admin,
    smtp_server,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    FrontDeskAssignment.objects.create(user=front_desk, location=clinic.location)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("setup:staff_member", args=[front_desk.pk]), {"role": "clinician"}
        )
    clinician = Clinician.objects.get(user=front_desk)
    assert response.status_code == 302
    assert response["Location"] == reverse("setup:clinician", args=[clinician.pk])
    assert refresh(front_desk).role is Role.CLINICIAN
    assert not FrontDeskAssignment.objects.filter(user=front_desk).exists()
    event = AccountEvent.objects.get(account=front_desk, change=AccountEvent.Change.ROLE_CHANGED)
    assert event.actor == clinic_admin
    assert front_desk.email in {message["To"] for message in smtp_server.wait_for(1)}


def test_a_clinician_with_booked_sessions_keeps_role_and_account(admin_client, clinic, book, frozen):
    doctor = clinic.clinicians[0].user
    book(make_patient(first="Pat", last="Inway"), local(A_WEDNESDAY, 10))
    role = admin_client.post(reverse("setup:staff_member", args=[doctor.pk]), {"role": "front_desk"})
    assert role.status_code == 400
    assert "Pat Inway" in role.content.decode()
    off = admin_client.post(reverse("setup:staff_active", args=[doctor.pk]), {"is_active": "0"})
    assert off.status_code == 400
    assert "cannot be deactivated" in off.content.decode()
    assert "Pat Inway" in off.content.decode()
    doctor = refresh(doctor)
    assert doctor.is_active and doctor.role is Role.CLINICIAN
    assert list(clinic.clinicians[0].locations.all()) == [clinic.location]
    assert not AccountEvent.objects.filter(account=doctor).exists()


def test_a_deactivated_clinician_is_not_offered_and_can_be_reactivated(
    client, admin_client, clinic, book, frozen
):
    doctor = clinic.clinicians[0].user
    their_browser = type(client)()
    their_browser.force_login(doctor)
    response = admin_client.post(reverse("setup:staff_active", args=[doctor.pk]), {"is_active": "0"})
    assert response.status_code == 302
    assert not refresh(doctor).is_active
    assert AccountEvent.objects.filter(account=doctor, change=AccountEvent.Change.DEACTIVATED).exists()
    assert their_browser.get(reverse("scheduling:today"))["Location"].startswith(reverse("login"))
    with pytest.raises(services.BookingRefused, match="does not work at"):
        book(make_patient(), local(A_WEDNESDAY, 10))
    # Left to the system, the booking picks an active clinician.
    appointment = book(make_patient(), local(A_WEDNESDAY, 10), clinician=None)
    assert appointment.clinician.user.is_active

    response = admin_client.post(reverse("setup:staff_active", args=[doctor.pk]), {"is_active": "1"})
    assert response.status_code == 302
    assert refresh(doctor).is_active
    assert book(make_patient(), local(A_WEDNESDAY, 14)).clinician.user == doctor


def test_an_admin_cannot_deactivate_or_demote_themselves(admin_client, clinic_admin):
    make_user(Role.CLINIC_ADMIN, email="second@example.org")
    off = admin_client.post(reverse("setup:staff_active", args=[clinic_admin.pk]), {"is_active": "0"})
    assert off.status_code == 400
    assert "your own account" in off.content.decode()
    role = admin_client.post(reverse("setup:staff_member", args=[clinic_admin.pk]), {"role": "front_desk"})
    assert role.status_code == 400
    clinic_admin = refresh(clinic_admin)
    assert clinic_admin.is_active and clinic_admin.role is Role.CLINIC_ADMIN


def test_the_last_clinic_admin_stays(clinic_admin, frozen):
    superuser = make_user(Role.FRONT_DESK, email="root@example.org")
    superuser.is_superuser = True
    superuser.save(update_fields=["is_superuser"])
    with pytest.raises(services.SchedulingError, match="last clinic admin"):
        services.set_staff_active(changed_by=superuser, user=clinic_admin, is_active=False, now=NOW)
    with pytest.raises(services.SchedulingError, match="last clinic admin"):
        services.change_staff_role(changed_by=superuser, user=clinic_admin, role=Role.FRONT_DESK, now=NOW)
    assert refresh(clinic_admin).is_active and clinic_admin.role is Role.CLINIC_ADMIN
    # With a second active admin, the first may go.
    make_user(Role.CLINIC_ADMIN, email="second@example.org")
    assert services.set_staff_active(changed_by=superuser, user=clinic_admin, is_active=False, now=NOW)
    assert not refresh(clinic_admin).is_active


def test_garbage_role_or_account_change_writes_nothing(admin_client, front_desk):
    response = admin_client.post(reverse("setup:staff_member", args=[front_desk.pk]), {"role": "patient"})
    assert response.status_code == 400
    admin_client.post(reverse("setup:staff_active", args=[front_desk.pk]), {"is_active": "maybe"})
    assert refresh(front_desk).is_active
    assert refresh(front_desk).role is Role.FRONT_DESK
    assert not AccountEvent.objects.filter(account=front_desk).exists()


def test_a_clinic_admin_cannot_change_a_superusers_account(admin_client, clinic_admin):
    root = make_user(Role.CLINIC_ADMIN, email="root@example.org")
    root.is_superuser = True
    root.save(update_fields=["is_superuser"])
    assert (
        admin_client.post(reverse("setup:staff_active", args=[root.pk]), {"is_active": "0"}).status_code
        == 400
    )
    assert (
        admin_client.post(reverse("setup:staff_member", args=[root.pk]), {"role": "front_desk"}).status_code
        == 400
    )
    root = refresh(root)
    assert root.is_active and root.role is Role.CLINIC_ADMIN
