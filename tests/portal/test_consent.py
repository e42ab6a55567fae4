"""Consent documents end to end: the clinic admin publishes a version in clinic settings, the booking and check-in
gates hold the patient's sessions until they sign it in the portal (a material change) or not at all (a minor
one), a withdrawal stops bookings and tells the clinic, and one patient never reaches another's records."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent
from clinic.roles import Role
from intake.models import ConsentRecord, ConsentVersion
from scheduling import services
from scheduling.models import Appointment
from tests import factories
from tests.factories import (
    A_WEDNESDAY,
    NOW,
    Clinic,
    build_clinic,
    clear_for_treatment,
    give_cleared_intake,
    local,
)

NEW_TEXT = "You agree to the infusion.\n\nA second paragraph, with a <b>tag</b> that must stay text."


@pytest.fixture
def clinic(db):
    return Clinic(*build_clinic())


@pytest.fixture
def record(patient, clinic):
    """Pat One, cleared for IV ketamine and Spravato, with the general consent signed in the intake."""
    record = patient.patient
    record.location = clinic.location
    record.save(update_fields=["location"])
    give_cleared_intake(record)
    ConsentRecord.objects.create(
        patient=record, kind="general", version="2026-11", text_sha256="0" * 64, typed_name="Pat One",
        agreed_at=timezone.now() - timedelta(days=30),
    )  # fmt: skip
    return record


def _book(clinic, record, front_desk, day_offset: int = 0, kind=None):
    return services.book_appointment(
        patient=record, treatment_type=kind or clinic.iv, location=clinic.location,
        start=local(A_WEDNESDAY + timedelta(days=day_offset), 9),
        resource=clinic.room if kind == clinic.consultation else clinic.chairs[0],
        clinician=clinic.clinicians[0], booked_by=front_desk, now=NOW,
    )  # fmt: skip


def _publish(client, kind: str, version: str, change: str) -> None:
    """The clinic admin's pages: save a draft, see its preview, publish it."""
    response = client.post(
        reverse("intake:consent_edit", args=[kind]),
        {"version": version, "title": "IV consent", "body": NEW_TEXT},
    )
    assert response.status_code == 302
    preview = client.get(reverse("intake:consent_edit", args=[kind]))
    assert b"A second paragraph, with a &lt;b&gt;tag&lt;/b&gt;" in preview.content
    response = client.post(reverse("intake:consent_publish", args=[kind]), {"change": change})
    assert response.status_code == 302


def test_a_material_version_holds_booking_and_check_in_until_the_patient_signs_it(
    client, patient, clinic_admin, front_desk, clinic, record
):
    booked = _book(clinic, record, front_desk)  # booked before the change
    client.force_login(clinic_admin)
    _publish(client, "iv", "2027-01", "material")
    assert ConsentVersion.objects.get(kind="iv", version="2027-01").change == "material"

    with pytest.raises(services.BookingRefused) as refused:
        _book(clinic, record, front_desk, day_offset=2)
    assert (
        "has not yet signed version 2027-01 of the Off-label IV ketamine treatment consent"
        in refused.value.message
    )
    assert "sign it in their portal" in refused.value.message
    with pytest.raises(services.InvalidTransition, match="has not yet signed version 2027-01"):
        services.check_in(
            appointment=booked, checked_in_by=front_desk, now=booked.start_at - timedelta(hours=1)
        )
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.BOOKED
    # Front desk sees why on the patient's page, with the session it holds up.
    client.force_login(front_desk)
    page = client.get(reverse("scheduling:patient_detail", args=[record.pk]))
    assert (
        b"Consent needed" in page.content
        and reverse("scheduling:appointment_detail", args=[booked.pk]).encode()
    )

    client.force_login(patient)
    home = client.get(reverse("portal:home"))
    assert b"To do: consent to sign" in home.content
    assert reverse("portal:consent_sign", args=["iv"]).encode() in home.content
    sign_page = client.get(reverse("portal:consent_sign", args=["iv"]))
    assert b"You agree to the infusion." in sign_page.content
    version = ConsentVersion.objects.get(kind="iv", version="2027-01")
    wrong = client.post(
        reverse("portal:consent_sign", args=["iv"]),
        {"typed_name": "Someone Else", "agree": "on", "version_id": version.pk},
    )
    assert wrong.status_code == 400 and not ConsentRecord.objects.filter(kind="iv").exists()
    signed = client.post(
        reverse("portal:consent_sign", args=["iv"]),
        {"typed_name": "Pat One", "agree": "on", "version_id": version.pk},
    )
    assert signed.status_code == 302
    assert ConsentRecord.objects.get(patient=record, kind="iv").version == "2027-01"
    assert (
        reverse("portal:consent_sign", args=["iv"]).encode() not in client.get(reverse("portal:home")).content
    )
    # The Spravato consent (Pat is cleared for both) is still asked for; its first version holds nothing up.
    mine = client.get(reverse("portal:consents")).content
    assert reverse("portal:consent_sign", args=["spravato"]).encode() in mine
    assert reverse("portal:consent_sign", args=["iv"]).encode() not in mine

    assert _book(clinic, record, front_desk, day_offset=2).status == Appointment.Status.BOOKED
    services.check_in(appointment=booked, checked_in_by=front_desk, now=booked.start_at - timedelta(hours=1))
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.CHECKED_IN


def test_a_minor_version_needs_no_new_signature(client, patient, clinic_admin, front_desk, clinic, record):
    client.force_login(clinic_admin)
    _publish(client, "general", "2026-11a", "minor")
    assert _book(clinic, record, front_desk).status == Appointment.Status.BOOKED
    client.force_login(patient)
    assert (
        reverse("portal:consent_sign", args=["general"]).encode()
        not in client.get(reverse("portal:home")).content
    )


def test_a_material_general_version_holds_every_modality(clinic_admin, front_desk, clinic, record, client):
    client.force_login(clinic_admin)
    _publish(client, "general", "2027-02", "material")
    with pytest.raises(services.BookingRefused, match="version 2027-02 of the General consent"):
        _book(clinic, record, front_desk, kind=clinic.consultation)


def test_publishing_is_refused_without_a_draft_or_a_kind_of_change(client, clinic_admin, db):
    client.force_login(clinic_admin)
    assert (
        client.post(reverse("intake:consent_publish", args=["iv"]), {"change": "material"}).status_code == 400
    )
    client.post(
        reverse("intake:consent_edit", args=["iv"]), {"version": "2027-01", "title": "T", "body": "B"}
    )
    response = client.post(reverse("intake:consent_publish", args=["iv"]), {})
    assert response.status_code == 400 and b"material or minor" in response.content
    taken = client.post(
        reverse("intake:consent_edit", args=["iv"]), {"version": "2026-12", "title": "T", "body": "B"}
    )
    assert taken.status_code == 400 and b"exists already" in taken.content
    assert ConsentVersion.objects.get(kind="iv", published_at__isnull=True).version == "2027-01"
    assert client.get(reverse("intake:consent_edit", args=["nonsense"])).status_code == 404


def test_only_the_clinic_admin_edits_consent_documents(client, front_desk, patient, db):
    for user in (front_desk, patient):
        client.force_login(user)
        client.post(reverse("intake:consent_edit", args=["iv"]), {"version": "x", "title": "T", "body": "B"})
        assert client.get(reverse("intake:consent_documents")).status_code in (302, 403, 404)
    assert not ConsentVersion.objects.filter(version="x").exists()


def test_publishing_is_in_the_audit_trail_with_before_and_after(client, clinic_admin, db):
    client.force_login(clinic_admin)
    _publish(client, "spravato", "2027-03", "material")
    version = ConsentVersion.objects.get(kind="spravato", version="2027-03")
    published = AuditEvent.objects.get(
        table_name="intake_consentversion", row_pk=str(version.pk), action="UPDATE"
    )
    assert published.actor_id == clinic_admin.pk
    assert published.old_data["published_at"] is None and published.new_data["change"] == "material"
    with pytest.raises(Exception, match="cannot be changed"):
        ConsentVersion.objects.filter(pk=version.pk).update(body="rewritten")


def test_a_withdrawal_stops_bookings_lists_the_booked_sessions_and_tells_the_clinic(
    client, patient, clinic_admin, front_desk, clinic, record, mailoutbox, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    booked = _book(clinic, record, front_desk)
    client.force_login(patient)
    response = client.post(reverse("portal:consent_withdraw", args=["general"]), {"typed_name": "Pat One"})
    assert response.status_code == 400 and not ConsentRecord.objects.filter(action="withdrawn").exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:consent_withdraw", args=["general"]),
            {"typed_name": "Pat One", "agree": "on", "version_id": "0"},
        )
    assert response.status_code == 302
    withdrawal = ConsentRecord.objects.get(patient=record, action="withdrawn")
    assert (withdrawal.kind, withdrawal.typed_name, withdrawal.version) == ("general", "Pat One", "2026-11")

    [email] = mailoutbox
    assert set(email.to) == {clinic_admin.email, front_desk.email}
    assert "PO" in email.subject and "General consent" in email.subject
    assert "IV ketamine infusion at " + clinic.location.name in email.body and "Pat One" not in email.body

    with pytest.raises(services.BookingRefused, match="withdrew the General consent"):
        _book(clinic, record, front_desk, day_offset=2)
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.BOOKED  # not silently cancelled
    client.force_login(front_desk)
    page = client.get(reverse("scheduling:patient_detail", args=[record.pk]))
    assert b"withdrew the General consent" in page.content


def test_a_patient_cannot_see_another_patients_consent(client, patient, second_patient, record):
    clear_for_treatment(record)
    own = ConsentRecord.objects.get(patient=record)
    client.force_login(patient)
    assert client.get(reverse("portal:consent_record", args=[own.pk])).status_code == 200
    client.force_login(second_patient)
    assert client.get(reverse("portal:consent_record", args=[own.pk])).status_code == 404
    # Sam Two has no intake and no clearance: the treatment consents are not theirs to sign or withdraw.
    assert client.get(reverse("portal:consent_sign", args=["iv"])).status_code == 404
    assert client.post(reverse("portal:consent_withdraw", args=["general"]), {}).status_code in (302, 404)
    assert not ConsentRecord.objects.filter(patient=second_patient.patient).exists()


@pytest.mark.parametrize("restricted", [False, True])
def test_a_withdrawal_tells_the_front_desk_of_the_patients_locations_only(
    clinic_admin, front_desk, clinic, record, mailoutbox, settings, restricted
):
    from scheduling.models import FrontDeskAssignment, Location
    from scheduling.services.consent import tell_clinic_of_consent_withdrawal

    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = restricted
    elsewhere = Location.objects.create(name="Elsewhere", time_zone="America/Chicago")
    here = factories.make_user(Role.FRONT_DESK, email="here@example.org", full_name="Hana Here")
    there = factories.make_user(Role.FRONT_DESK, email="there@example.org", full_name="Theo There")
    FrontDeskAssignment.objects.create(user=here, location=clinic.location)
    FrontDeskAssignment.objects.create(user=there, location=elsewhere)
    withdrawal = ConsentRecord.objects.create(
        patient=record, kind="general", version="2026-11", text_sha256="0" * 64, typed_name="Pat One",
        agreed_at=timezone.now(), action=ConsentRecord.Action.WITHDRAWN,
    )  # fmt: skip

    assert tell_clinic_of_consent_withdrawal(record_id=withdrawal.pk, now=NOW)

    [email] = mailoutbox
    unassigned = set() if restricted else {front_desk.email}  # assigned nowhere: works at every location
    assert set(email.to) == {clinic_admin.email, here.email} | unassigned
