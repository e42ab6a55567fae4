"""Who may change whose role, superuser status and two-step sign-in in the user admin; every change is recorded
and emailed; admin pages of a patient's data are logged like the staff pages; nothing with patient data is cached."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.models import AccountEvent, AuditEvent, RecordView, User
from clinic.roles import Role


def _change_form(user, **changes) -> dict:
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "mobile_phone": user.mobile_phone,
        "is_active": "on",
        "role": user.role.value if user.role else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _change_url(user) -> str:
    return reverse("admin:clinic_user_change", args=[user.pk])


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        email="root@example.org", password="a-long-root-password-1", full_name="Root"
    )


def test_a_clinic_admin_cannot_make_themselves_superuser_or_clinician(client, clinic_admin):
    client.force_login(clinic_admin)
    response = client.post(
        _change_url(clinic_admin),
        _change_form(clinic_admin, role="clinician", is_superuser="on", make_superuser="on"),
    )
    assert response.status_code in (200, 302)
    clinic_admin = User.objects.get(pk=clinic_admin.pk)
    assert clinic_admin.role is Role.CLINIC_ADMIN and not clinic_admin.is_superuser
    assert not AccountEvent.objects.filter(account=clinic_admin).exists()


def test_a_clinic_admin_cannot_grant_superuser_to_anyone(client, clinic_admin, front_desk):
    client.force_login(clinic_admin)
    client.post(_change_url(front_desk), _change_form(front_desk, is_superuser="on", make_superuser="on"))
    assert not User.objects.get(pk=front_desk.pk).is_superuser


def test_a_clinic_admin_cannot_edit_a_superusers_account(client, clinic_admin, superuser):
    client.force_login(clinic_admin)
    assert client.get(_change_url(superuser)).status_code in (403, 302, 200)
    response = client.post(
        _change_url(superuser), _change_form(superuser, email="mine@example.org", role="patient")
    )
    assert response.status_code == 403
    assert User.objects.get(pk=superuser.pk).email == "root@example.org"


def test_a_role_change_by_another_admin_is_recorded_emailed_and_ends_the_sessions(
    client, clinic_admin, make_user, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    person = make_user(Role.FRONT_DESK, email="fran@example.org")
    other_admin = make_user(Role.CLINIC_ADMIN, email="other.admin@example.org")
    their_browser = type(client)()
    their_browser.force_login(person)
    assert their_browser.get(reverse("scheduling:today")).status_code == 200

    client.force_login(clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_change_url(person), _change_form(person, role="clinician"))
    assert response.status_code == 302
    person = User.objects.get(pk=person.pk)
    assert person.role is Role.CLINICIAN
    event = AccountEvent.objects.get(account=person)
    assert (
        event.change == "role_changed"
        and event.actor == clinic_admin
        and "Front desk -> Clinician" in event.detail
    )
    assert AuditEvent.objects.filter(table_name="clinic_user_groups", actor_id=clinic_admin.pk).exists()
    recipients = {message["To"] for message in smtp_server.wait_for(2)}
    assert "fran@example.org" in recipients
    assert any(other_admin.email in to for to in recipients)
    assert their_browser.get(reverse("scheduling:today"))["Location"].startswith(reverse("login"))


def test_a_superuser_may_grant_superuser_to_someone_else_and_it_is_recorded(
    client, superuser, clinic_admin, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_change_url(clinic_admin), _change_form(clinic_admin, make_superuser="on"))
    assert response.status_code == 302
    assert User.objects.get(pk=clinic_admin.pk).is_superuser
    assert AccountEvent.objects.filter(
        account=clinic_admin, change="superuser_changed", actor=superuser
    ).exists()


def test_nobody_resets_their_own_two_step_sign_in(client, clinic_admin):
    client.force_login(clinic_admin)  # the test login confirms an authenticator for staff
    response = client.post(
        reverse("admin:clinic_user_changelist"),
        {"action": "reset_two_step", "_selected_action": [clinic_admin.pk]},
        follow=True,
    )
    assert b"ask another clinic admin" in response.content
    assert TOTPDevice.objects.filter(user=clinic_admin, confirmed=True).exists()
    assert not AccountEvent.objects.exists()


def test_another_admin_resets_a_lost_phone_recorded_and_emailed(
    client, clinic_admin, clinician, smtp_server, eager_celery, django_capture_on_commit_callbacks
):
    TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)
    client.force_login(clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:clinic_user_changelist"),
            {"action": "reset_two_step", "_selected_action": [clinician.pk]},
        )
    assert not TOTPDevice.objects.filter(user=clinician).exists()
    assert AccountEvent.objects.filter(
        account=clinician, change="second_factor_reset", actor=clinic_admin
    ).exists()
    assert clinician.email in {message["To"] for message in smtp_server.wait_for(1)}


# --- The admin's patient pages are logged ---------------------------------------------------------------------


def test_opening_a_patient_in_the_django_admin_writes_a_view_log_row(client, clinic_admin, patient):
    from django.contrib.auth.models import Permission

    clinic_admin.groups.first().permissions.add(Permission.objects.get(codename="change_patient"))
    client.force_login(clinic_admin)
    assert client.get(reverse("admin:intake_patient_change", args=[patient.patient.pk])).status_code == 200
    view = RecordView.objects.get(patient_id=patient.patient.pk)
    assert view.user == clinic_admin and view.what.startswith("admin")


# --- Patient data is never kept by the browser ------------------------------------------------------------------


def test_pages_and_downloads_with_patient_data_are_not_stored(client, patient):
    client.force_login(patient)
    for url in (
        reverse("portal:home"),
        reverse("intake:my_data"),
        "/patient/my-data.pdf",
        "/patient/my-data.json",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_static_files_keep_their_cache_lifetime(client):
    from django.templatetags.static import static

    response = client.get(static("bootstrap/css/bootstrap.min.css"))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_a_new_staff_account_gets_its_role_from_the_add_form(client, clinic_admin):
    client.force_login(clinic_admin)
    response = client.post(
        reverse("admin:clinic_user_add"),
        {
            "email": "new.desk@example.org",
            "full_name": "New Desk",
            "role": "front_desk",
            "password1": "a-long-new-password-7",
            "password2": "a-long-new-password-7",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    created = User.objects.get(email="new.desk@example.org")
    assert created.role is Role.FRONT_DESK and not created.is_staff
    assert AccountEvent.objects.get(account=created).actor == clinic_admin
