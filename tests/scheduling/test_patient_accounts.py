"""A patient's invitation (send again, withdraw) and the flag that two records are one person, from the patient's
front-desk page."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent
from intake import invitations
from intake.models import Invitation, Patient, PossibleDuplicate
from tests.factories import make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(client, front_desk):
    client.force_login(front_desk)
    return client


@pytest.fixture
def invited(front_desk):
    invitation = invitations.invite_patient(
        created_by=front_desk, legal_first_name="Ines", legal_last_name="Invited", email="ines@example.org",
        now=timezone.now(),
    )  # fmt: skip
    return invitation


def test_a_new_invitation_replaces_the_old_link(
    desk, invited, eager_celery, django_capture_on_commit_callbacks
):
    old_token = invitations.invitation_token(invited)
    with django_capture_on_commit_callbacks(execute=True):
        response = desk.post(reverse("scheduling:resend_invitation", args=[invited.patient_id]))
    assert response.status_code == 302
    assert Invitation.objects.filter(patient=invited.patient).count() == 2
    assert "withdrawn" in invitations.check_invitation(token=old_token, now=timezone.now()).problem
    newest = invitations.open_invitation(invited.patient, now=timezone.now())
    assert newest is not None and newest.pk != invited.pk
    assert [m.to for m in mail.outbox] == [["ines@example.org"]]


def test_withdrawing_stops_the_link_and_is_said_on_the_page(desk, invited, front_desk):
    token = invitations.invitation_token(invited)
    response = desk.post(reverse("scheduling:revoke_invitation", args=[invited.patient_id]), follow=True)
    assert "no longer works" in response.content.decode()
    invited.refresh_from_db()
    assert invited.revoked_by == front_desk and invited.revoked_at is not None
    assert invitations.check_invitation(token=token, now=timezone.now()).problem
    again = desk.post(reverse("scheduling:revoke_invitation", args=[invited.patient_id]), follow=True)
    assert "no invitation that still works" in again.content.decode()


def test_a_patient_with_an_account_gets_no_new_invitation(desk, patient):
    record = Patient.objects.get(user=patient)
    response = desk.post(reverse("scheduling:resend_invitation", args=[record.pk]), follow=True)
    assert "already has an account" in response.content.decode()
    assert not Invitation.objects.filter(patient=record).exists()


def test_two_records_flagged_as_one_person_show_it_on_both(desk, front_desk):
    first, second = make_patient(first="Dana", last="Twice"), make_patient(first="Dana", last="Twyce")
    response = desk.post(
        reverse("scheduling:flag_duplicate", args=[second.pk]),
        {"other_number": str(first.pk), "note": "Same DOB"},
    )
    assert response.status_code == 302
    flag = PossibleDuplicate.objects.get()
    assert (flag.patient_id, flag.other_id, flag.flagged_by) == (first.pk, second.pk, front_desk)
    for record, other in ((first, second), (second, first)):
        page = desk.get(reverse("scheduling:patient_detail", args=[record.pk])).content.decode()
        assert "Possibly the same person as" in page and f"patient number {other.pk}" in page
    assert AuditEvent.objects.filter(table_name="intake_possibleduplicate", action="INSERT").exists()

    again = desk.post(
        reverse("scheduling:flag_duplicate", args=[first.pk]), {"other_number": str(second.pk)}, follow=True
    )
    assert "already flagged" in again.content.decode()
    assert PossibleDuplicate.objects.count() == 1

    desk.post(reverse("scheduling:clear_duplicate", args=[first.pk, flag.pk]))
    assert not PossibleDuplicate.objects.exists()


def test_a_flag_to_itself_or_an_unknown_number_writes_nothing(desk):
    record = make_patient()
    for number in (str(record.pk), "999999999", "abc"):
        response = desk.post(
            reverse("scheduling:flag_duplicate", args=[record.pk]), {"other_number": number}, follow=True
        )
        assert response.status_code == 200
    assert not PossibleDuplicate.objects.exists()


def test_a_clinician_cannot_flag_or_withdraw(client, clinician, invited):
    client.force_login(clinician)
    other = make_patient()
    assert client.post(reverse("scheduling:revoke_invitation", args=[invited.patient_id])).status_code == 404
    assert (
        client.post(
            reverse("scheduling:flag_duplicate", args=[other.pk]), {"other_number": str(invited.patient_id)}
        ).status_code
        == 404
    )
    invited.refresh_from_db()
    assert invited.revoked_at is None and not PossibleDuplicate.objects.exists()
