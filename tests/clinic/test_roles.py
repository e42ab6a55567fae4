import pytest
from django.urls import reverse

from clinic.roles import ROLE_HOME_URLS, Role
from tests.support import PASSWORD, pending_totp_code

ROLE_FIXTURES = {
    Role.PATIENT: "patient",
    Role.FRONT_DESK: "front_desk",
    Role.CLINICIAN: "clinician",
    Role.CLINIC_ADMIN: "clinic_admin",
}


@pytest.mark.parametrize("role", list(Role))
def test_signing_in_lands_each_role_on_its_own_home(client, request, role):
    user = request.getfixturevalue(ROLE_FIXTURES[role])
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD}, follow=True)
    assert response.status_code == 200
    if role.is_staff_role:
        # Staff first set up the second step; then they land on their home.
        assert response.redirect_chain[-1][0].startswith(reverse("mfa_setup"))
        response = client.post(response.redirect_chain[-1][0], {"code": pending_totp_code(client)})
        assert b"Two-step sign-in is on" in response.content
        response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse(ROLE_HOME_URLS[role])
    assert response.wsgi_request.user == user


def test_email_is_matched_whatever_its_case(client, clinician):
    response = client.post(reverse("login"), {"username": "DOC@Example.ORG", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clinician.pk)


def test_wrong_password_is_refused_with_a_message_and_no_session(client, clinician):
    response = client.post(reverse("login"), {"username": clinician.email, "password": "not-it"})
    assert response.status_code == 200
    assert b"did not match" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    ("role", "forbidden"),
    [
        (Role.PATIENT, ["review:queue", "scheduling:today"]),
        (Role.FRONT_DESK, ["review:queue", "portal:home"]),
        (Role.CLINICIAN, ["portal:home", "scheduling:today"]),
    ],
)
def test_other_roles_pages_are_404(client, request, role, forbidden):
    client.force_login(request.getfixturevalue(ROLE_FIXTURES[role]))
    for name in forbidden:
        assert client.get(reverse(name)).status_code == 404, name


def test_patients_and_front_desk_cannot_use_the_django_admin(client, patient, front_desk):
    for user in (patient, front_desk):
        client.force_login(user)
        response = client.get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_visitor_sees_the_public_page_and_is_sent_to_sign_in_for_role_pages(client, db):
    assert client.get("/").status_code == 200
    response = client.get(reverse("scheduling:today"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_without_a_role_is_told_so(client, db):
    from clinic.models import User

    user = User.objects.create_user(email="norole@example.org", password=PASSWORD)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 403
    assert b"has not given your account a role" in response.content


def test_assign_role_replaces_the_previous_role(make_user):
    user = make_user(Role.FRONT_DESK)
    from clinic.roles import assign_role

    assign_role(user=user, role=Role.CLINIC_ADMIN)
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == ["Clinic admin"]
    assert user.is_staff
    assert user.role is Role.CLINIC_ADMIN


def test_role_groups_carry_their_permissions(front_desk, clinician, patient):
    assert front_desk.has_perm("intake.add_patient")
    assert not patient.has_perm("intake.view_patient")
    assert clinician.has_perm("intake.view_patient")
    assert not clinician.has_perm("clinic.change_user")


def test_sign_out_ends_the_session(client, patient):
    client.force_login(patient)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("portal:home")).status_code == 302
