"""Break the glass: with staff restricted to their locations, a clinician may open a patient of another location in
an emergency, with a stated reason. The access is given at once, recorded, audited, emailed to the clinic admins,
and lasts BREAK_GLASS_HOURS; nothing else opens with it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from clinic.models import AuditEvent, RecordView
from intake.models import UrgentAlert
from review.selectors import review_queue
from scheduling.models import BreakGlassAccess
from scheduling.tasks import tell_admins_of_break_glass
from tests.factories import REVIEW_NOW as NOW
from tests.factories import make_intake, rescreen
from tests.factories import make_review_patient as make_patient

REASON = "Came to this clinic in crisis; their own clinic is closed tonight."


@pytest.fixture
def restricted(settings):
    settings.REVIEW_RESTRICT_TO_CLINICIAN_LOCATIONS = True
    settings.BREAK_GLASS_HOURS = 12


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)
    return time_machine


@pytest.fixture
def elsewhere(front_desk):
    """A patient of another location (with a clinic of its own), an intake, an open urgent alert and a session there."""
    from scheduling import services
    from tests.factories import A_WEDNESDAY, build_clinic, local, treatment_type
    from tests.factories import make_patient as bookable_patient

    place, chairs, _room, clinicians = build_clinic()
    person = bookable_patient(first="Remy", last="Faraway", location=place)
    session = services.book_appointment(
        patient=person, treatment_type=treatment_type("iv-ketamine"), location=place,
        start=local(A_WEDNESDAY, 9) + timedelta(days=7), resource=chairs[0], clinician=clinicians[0],
        booked_by=front_desk, now=NOW - timedelta(days=1),
    )  # fmt: skip
    make_intake(person, at=NOW - timedelta(days=1))  # waiting in their own location's queue
    rescreen(person, now=NOW - timedelta(hours=1), high=True)
    return person, session, UrgentAlert.objects.get(patient=person)


def _pages(person, session, alert) -> list[str]:
    return [
        reverse("review:patient", args=[person.pk]),
        reverse("review:trends", args=[person.pk]),
        reverse("review:alert", args=[alert.pk]),
        reverse("scheduling:appointment_detail", args=[session.pk]),
        reverse("scheduling:session_day", args=[session.pk]),
        reverse("scheduling:session_summary", args=[session.pk]),
        reverse("scheduling:appointment_ics", args=[session.pk]),
    ]


def _break(client, patient_number, reason=REASON):
    return client.post(reverse("review:break_glass"), {"patient_number": patient_number, "reason": reason})


@pytest.fixture
def signed_in(client, clinician, on_call):
    client.force_login(clinician)
    return client


def test_the_page_is_reachable_from_the_queue_and_from_a_404_labelled_and_for_clinicians_only(
    client, signed_in, restricted, clock, elsewhere, front_desk, clinic_admin
):
    queue = signed_in.get(reverse("review:queue")).content.decode()
    assert reverse("review:break_glass") in queue
    refused = signed_in.get(reverse("review:patient", args=[elsewhere[0].pk]))
    assert refused.status_code == 404 and reverse("review:break_glass") in refused.content.decode()
    page = signed_in.get(reverse("review:break_glass")).content.decode()
    assert '<label class="form-label fw-semibold" for="id_patient_number">Patient number' in page
    assert '<label class="form-label fw-semibold" for="id_reason">Why you need' in page
    assert 'name="viewport"' in page and 'inputmode="numeric"' in page
    for other in (front_desk, clinic_admin):
        client.force_login(other)
        assert client.get(reverse("review:break_glass")).status_code == 404
        assert _break(client, elsewhere[0].pk).status_code == 404
    assert not BreakGlassAccess.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "urgent", " " * 5 + "too short" + " " * 5])
def test_without_a_reason_nothing_is_opened_or_written(
    signed_in, restricted, clock, elsewhere, django_capture_on_commit_callbacks, reason
):
    person = elsewhere[0]
    with django_capture_on_commit_callbacks() as callbacks:
        response = _break(signed_in, person.pk, reason)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="error-summary"' in html and 'id="id_reason_error"' in html  # at the top and next to the field
    assert 'aria-invalid="true"' in html
    assert not BreakGlassAccess.objects.exists() and not callbacks
    assert not RecordView.objects.filter(patient_id=person.pk).exists()
    assert all(signed_in.get(url).status_code == 404 for url in _pages(*elsewhere))


def test_an_unknown_patient_number_is_said_so_and_writes_nothing(
    signed_in, restricted, clock, elsewhere, django_capture_on_commit_callbacks
):
    before = AuditEvent.objects.count()
    for number in ("999999999", "99999999999999999999999"):
        with django_capture_on_commit_callbacks() as callbacks:
            response = _break(signed_in, number)
        assert response.status_code == 422
        html = response.content.decode()
        assert "No patient has that number" in html and 'id="id_patient_number_error"' in html
        assert not callbacks
    assert _break(signed_in, "twelve").status_code == 422
    assert not BreakGlassAccess.objects.exists() and not RecordView.objects.exists()
    assert AuditEvent.objects.count() == before


def test_with_a_reason_the_clinician_opens_the_patient_recorded_audited_and_the_admins_are_told(
    signed_in, restricted, clock, elsewhere, clinician, clinic_admin, make_user, smtp_server,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from clinic.roles import Role

    second_admin = make_user(Role.CLINIC_ADMIN, email="second.admin@example.org")
    person, session, alert = elsewhere
    pages = _pages(*elsewhere)
    assert all(signed_in.get(url).status_code == 404 for url in pages)

    with django_capture_on_commit_callbacks() as callbacks:
        response = _break(signed_in, person.pk)
    assert response.status_code == 302 and response["Location"] == reverse("review:patient", args=[person.pk])
    access = BreakGlassAccess.objects.get()
    assert (access.user, access.patient, access.reason) == (clinician, person, REASON)
    assert (access.created_at, access.expires_at) == (NOW, NOW + timedelta(hours=12))
    assert RecordView.objects.filter(
        user=clinician, patient_id=person.pk, what__contains="emergency"
    ).exists()
    assert AuditEvent.objects.filter(
        table_name="scheduling_breakglassaccess", action="INSERT", patient_id=person.pk, actor_id=clinician.pk
    ).exists()
    for url in pages:
        assert signed_in.get(url).status_code == 200, url
    page = signed_in.get(reverse("review:patient", args=[person.pk])).content.decode()
    assert f"Patient number {person.pk}" in page

    # The email goes out through a worker once the access is committed; run the task here, twice (a redelivery).
    assert len(callbacks) == 1
    tell_admins_of_break_glass.run(access.pk)
    tell_admins_of_break_glass.run(access.pk)
    [email] = smtp_server.wait_for(1)
    assert sorted(email["To"].split(", ")) == sorted([clinic_admin.email, second_admin.email])
    body = email.get_payload(decode=True).decode()
    assert "Casey Doc" in body and person.initials in body and "/admin/scheduling/breakglassaccess/" in body
    assert "crisis" not in body and person.legal_last_name not in body  # the reason stays behind sign-in
    access.refresh_from_db()
    assert access.admins_told_at is not None

    # Lists and counts stay the clinician's own locations: the emergency opens one record, not a second queue.
    assert person not in {entry.patient for entry in review_queue(clinician)}


def test_the_emergency_access_expires(signed_in, restricted, clock, elsewhere, clinician):
    person = elsewhere[0]
    assert _break(signed_in, person.pk).status_code == 302
    clock.move_to(NOW + timedelta(hours=11, minutes=59), tick=False)
    signed_in.logout()  # staff sessions end after idle time: hours later, they sign in again
    signed_in.force_login(clinician)
    assert signed_in.get(reverse("review:patient", args=[person.pk])).status_code == 200
    clock.move_to(NOW + timedelta(hours=12, minutes=1), tick=False)
    signed_in.logout()
    signed_in.force_login(clinician)
    assert all(signed_in.get(url).status_code == 404 for url in _pages(*elsewhere))


def test_the_access_is_the_clinicians_own(client, signed_in, restricted, clock, elsewhere, second_clinician):
    person = elsewhere[0]
    assert _break(signed_in, person.pk).status_code == 302
    client.force_login(second_clinician)
    assert all(client.get(url).status_code == 404 for url in _pages(*elsewhere))


def test_a_patient_already_visible_needs_no_emergency_access(
    signed_in, restricted, clock, location, django_capture_on_commit_callbacks
):
    here = make_patient(location=location)
    unassigned = make_patient()
    for person in (here, unassigned):
        with django_capture_on_commit_callbacks() as callbacks:
            response = _break(signed_in, person.pk)
        assert response.status_code == 302 and not callbacks
    assert not BreakGlassAccess.objects.exists()


def test_the_database_refuses_an_access_without_a_reason_or_one_that_never_ends(clinician):
    from django.db import IntegrityError, transaction

    person = make_patient()
    for reason, expires_at in (("too short", NOW + timedelta(hours=1)), (REASON, NOW)):
        with pytest.raises(IntegrityError), transaction.atomic():
            BreakGlassAccess.objects.create(
                user=clinician, patient=person, reason=reason, created_at=NOW, expires_at=expires_at
            )


def test_the_clinic_admin_reads_every_access_in_clinic_settings(
    client, signed_in, restricted, clock, elsewhere, clinic_admin
):
    assert _break(signed_in, elsewhere[0].pk).status_code == 302
    access = BreakGlassAccess.objects.get()
    client.force_login(clinic_admin)
    listing = client.get(reverse("admin:scheduling_breakglassaccess_changelist"))
    assert listing.status_code == 200 and "Casey Doc" in listing.content.decode()
    detail = client.get(reverse("admin:scheduling_breakglassaccess_change", args=[access.pk]))
    assert detail.status_code == 200 and REASON in detail.content.decode()
    assert client.get(reverse("admin:scheduling_breakglassaccess_add")).status_code == 403
