"""The clinic admin's set-up pages (scheduling/setup): who may use them, bad input writing nothing, and every change
that would strand a booked session refused with the session listed. Changes are in the audit trail."""

from __future__ import annotations

from datetime import time

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from clinic.models import AuditEvent, User
from clinic.roles import Role
from scheduling import services
from scheduling.models import (
    Clinician,
    ClinicianTimeOff,
    Closure,
    FrontDeskAssignment,
    Location,
    OpeningHours,
    Resource,
    TreatmentType,
    WorkingHours,
)
from tests.factories import A_WEDNESDAY, NOW, local, make_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin_client(client, clinic_admin):
    client.force_login(clinic_admin)
    return client


@pytest.fixture
def booked(clinic, book, frozen):
    """Pat Inway's IV session on Wed, Mar 3, 2027 at 10:00 in New York, Chair 1 with the first clinician."""
    patient = make_patient(first="Pat", last="Inway", location=clinic.location)
    return book(patient, local(A_WEDNESDAY, 10))


def week(text: str, **days: str) -> dict[str, str]:
    return {f"day_{d}": days.get(f"day_{d}", text) for d in range(7)}


@pytest.mark.parametrize(
    ("method", "name", "args"),
    [
        ("get", "setup:home", []),
        ("post", "setup:location_new", []),
        ("post", "setup:treatment_new", []),
        ("post", "setup:staff_invite", []),
    ],
)
def test_front_desk_and_clinicians_do_not_find_the_set_up(client, front_desk, clinician, method, name, args):
    for user in (front_desk, clinician):
        client.force_login(user)
        response = getattr(client, method)(reverse(name, args=args), {"name": "Sneaky", "time_zone": "UTC"})
        assert response.status_code == 404
    assert not Location.objects.filter(name="Sneaky").exists()


def test_front_desk_gets_404_on_a_real_location_page(client, front_desk, clinic):
    client.force_login(front_desk)
    assert client.get(reverse("setup:location", args=[clinic.location.pk])).status_code == 404
    assert (
        client.post(reverse("setup:location_hours", args=[clinic.location.pk]), week("")).status_code == 404
    )
    assert OpeningHours.objects.filter(location=clinic.location).count() == 7


def test_admin_adds_a_location_and_a_bad_zone_writes_nothing(admin_client, clinic_admin):
    bad = admin_client.post(
        reverse("setup:location_new"), {"name": "Riverside", "time_zone": "Mars/Olympus", "is_active": "on"}
    )
    assert bad.status_code == 400
    assert "IANA time zone" in bad.content.decode()
    assert not Location.objects.filter(name="Riverside").exists()

    ok = admin_client.post(
        reverse("setup:location_new"),
        {"name": "Riverside", "time_zone": "America/Chicago", "address": "1 River Rd", "is_active": "on"},
    )
    location = Location.objects.get(name="Riverside")
    assert ok.status_code == 302 and ok["Location"] == reverse("setup:location", args=[location.pk])
    event = AuditEvent.objects.get(table_name="scheduling_location", row_pk=str(location.pk), action="INSERT")
    assert event.actor_id == clinic_admin.pk
    assert event.new_data["time_zone"] == "America/Chicago"


def test_opening_hours_are_saved_and_unreadable_hours_write_nothing(admin_client, clinic):
    url = reverse("setup:location_hours", args=[clinic.location.pk])
    bad = admin_client.post(url, week("09:00-17:00", day_2="5pm to 9pm"))
    assert bad.status_code == 400
    assert "two 24-hour times" in bad.content.decode()
    assert set(OpeningHours.objects.filter(location=clinic.location).values_list("opens", flat=True)) == {
        time(8)
    }

    ok = admin_client.post(url, week("08:00-12:00, 13:00-18:00", day_6=""))
    assert ok.status_code == 302
    hours = OpeningHours.objects.filter(location=clinic.location)
    assert hours.count() == 12  # two spans on six days, Sunday closed
    assert not hours.filter(weekday=6).exists()


def test_shortening_hours_over_a_booked_session_lists_it_and_changes_nothing(admin_client, clinic, booked):
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(
            reverse("setup:location_hours", args=[clinic.location.pk]),
            week("08:00-18:00", day_2="12:00-18:00"),
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not saved" in page and "Pat Inway" in page and "Wed, Mar 3, 2027" in page
    assert OpeningHours.objects.get(location=clinic.location, weekday=2).opens == time(8)


def test_a_day_closed_by_another_admin_meanwhile_is_a_form_error_not_a_500(admin_client, clinic, monkeypatch):
    """The other admin's closure is committed while this request waits for the location's lock."""
    from scheduling.services import calendar

    def lock_while_another_admin_closes(kind: str, pk: int) -> None:
        if not Closure.objects.filter(location=clinic.location).exists():
            Closure.objects.create(location=clinic.location, date=A_WEDNESDAY, reason="Snow")

    monkeypatch.setattr(calendar, "lock_calendar", lock_while_another_admin_closes)
    url = reverse("setup:closure_add", args=[clinic.location.pk])
    response = admin_client.post(url, {"date": A_WEDNESDAY.isoformat(), "reason": "Training"})
    assert response.status_code == 400 and "already closed that day" in response.content.decode()
    assert not Closure.objects.filter(reason="Training").exists()


def test_closing_a_booked_day_is_refused_and_a_free_day_closes(admin_client, clinic, booked):
    url = reverse("setup:closure_add", args=[clinic.location.pk])
    refused = admin_client.post(url, {"date": A_WEDNESDAY.isoformat(), "reason": "Training"})
    assert refused.status_code == 400 and "Pat Inway" in refused.content.decode()
    assert not Closure.objects.filter(location=clinic.location).exists()

    assert admin_client.post(url, {"date": "2027-03-04", "reason": "Training"}).status_code == 302
    closure = Closure.objects.get(location=clinic.location)
    assert (
        admin_client.post(reverse("setup:closure_remove", args=[clinic.location.pk, closure.pk])).status_code
        == 302
    )
    assert not Closure.objects.exists()


def test_a_chair_limited_to_spravato_refuses_iv_and_keeps_its_booked_iv_session(
    admin_client, clinic, booked, front_desk
):
    chair = clinic.chairs[0]
    url = reverse("setup:resource_edit", args=[clinic.location.pk, chair.pk])
    with time_machine.travel(NOW, tick=False):
        refused = admin_client.post(
            url,
            {"name": chair.name, "kind": "chair", "is_active": "on", "treatment_types": [clinic.spravato.pk]},
        )
    assert refused.status_code == 400 and "Pat Inway" in refused.content.decode()
    assert not chair.treatment_types.exists()

    # Another chair, limited to Spravato: IV is no longer offered on it, nor booked on it.
    other = clinic.chairs[1]
    ok = admin_client.post(
        reverse("setup:resource_edit", args=[clinic.location.pk, other.pk]),
        {"name": other.name, "kind": "chair", "is_active": "on", "treatment_types": [clinic.spravato.pk]},
    )
    assert ok.status_code == 302
    assert list(other.treatment_types.all()) == [clinic.spravato]
    with pytest.raises(services.BookingRefused, match="not set up for"):
        services.book_appointment(
            patient=make_patient(location=clinic.location), treatment_type=clinic.iv, location=clinic.location,
            start=local(A_WEDNESDAY, 13), resource=other, clinician=clinic.clinicians[1],
            booked_by=front_desk, now=NOW,
        )  # fmt: skip


def test_a_chair_cannot_take_a_treatment_of_another_kind(admin_client, clinic):
    response = admin_client.post(
        reverse("setup:resource_new", args=[clinic.location.pk]),
        {"name": "Chair 9", "kind": "chair", "is_active": "on", "treatment_types": [clinic.consultation.pk]},
    )
    assert response.status_code == 400
    assert not Resource.objects.filter(name="Chair 9").exists()


def test_taking_a_booked_chair_out_of_use_lists_the_session(admin_client, clinic, booked):
    chair = clinic.chairs[0]
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(
            reverse("setup:resource_edit", args=[clinic.location.pk, chair.pk]),
            {"name": chair.name, "kind": "chair", "treatment_types": [clinic.iv.pk]},
        )
    assert response.status_code == 400 and "Pat Inway" in response.content.decode()
    chair.refresh_from_db()
    assert chair.is_active


def test_time_off_over_a_booked_session_is_refused_with_it_listed(admin_client, clinic, booked):
    clinician = clinic.clinicians[0]
    url = reverse("setup:time_off_add", args=[clinician.pk])
    data = {"starts_on": "2027-03-03", "starts_at": "00:00", "ends_on": "2027-03-03", "ends_at": "23:59"}
    response = admin_client.post(url, data)
    assert response.status_code == 400 and "Pat Inway" in response.content.decode()
    assert not ClinicianTimeOff.objects.exists()

    assert (
        admin_client.post(url, {**data, "starts_on": "2027-03-04", "ends_on": "2027-03-05"}).status_code
        == 302
    )
    assert ClinicianTimeOff.objects.get(clinician=clinician).starts_at == local(A_WEDNESDAY, 0).replace(day=4)


def test_taking_a_location_from_a_clinician_with_sessions_there_is_refused(admin_client, clinic, booked):
    clinician = clinic.clinicians[0]
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(reverse("setup:clinician", args=[clinician.pk]), {"credentials": "MD"})
    assert response.status_code == 400  # "Works at" is required
    other = Location.objects.create(name="Elsewhere", time_zone="America/New_York")
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(
            reverse("setup:clinician", args=[clinician.pk]), {"credentials": "MD", "locations": [other.pk]}
        )
    assert response.status_code == 400 and "Pat Inway" in response.content.decode()
    assert list(clinician.locations.all()) == [clinic.location]


def test_invite_a_clinician_then_set_their_hours(
    admin_client, clinic, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("setup:staff_invite"),
            {"full_name": "Noor Haddad", "email": "Noor.Haddad@example.org", "role": "clinician",
             "credentials": "NP", "locations": [clinic.location.pk]},
        )  # fmt: skip
    user = User.objects.get(email="noor.haddad@example.org")
    clinician = Clinician.objects.get(user=user)
    assert response.status_code == 302 and response["Location"] == reverse(
        "setup:clinician_hours", args=[clinician.pk]
    )
    assert user.role is Role.CLINICIAN and list(clinician.locations.all()) == [clinic.location]
    assert [m.to for m in mail.outbox] == [["noor.haddad@example.org"]]
    assert "/accounts/reset/" in mail.outbox[0].body

    hours = {f"hours_{clinic.location.pk}_{d}": "09:00-17:00" for d in range(5)}
    assert admin_client.post(reverse("setup:clinician_hours", args=[clinician.pk]), hours).status_code == 302
    assert WorkingHours.objects.filter(clinician=clinician).count() == 5


def test_an_invitation_to_a_taken_address_or_without_a_location_writes_nothing(
    admin_client, clinic, front_desk
):
    taken = admin_client.post(
        reverse("setup:staff_invite"),
        {
            "full_name": "Again",
            "email": front_desk.email.upper(),
            "role": "front_desk",
            "locations": [clinic.location.pk],
        },
    )
    assert taken.status_code == 400 and "already has an account" in taken.content.decode()
    nowhere = admin_client.post(
        reverse("setup:staff_invite"),
        {"full_name": "Nowhere Person", "email": "new@example.org", "role": "front_desk"},
    )
    assert nowhere.status_code == 400
    assert not User.objects.filter(email="new@example.org").exists()
    assert not FrontDeskAssignment.objects.exists()


def test_an_address_taken_by_another_request_meanwhile_is_a_form_error_not_a_500(
    admin_client, clinic, front_desk, monkeypatch
):
    from clinic import accounts

    monkeypatch.setattr(
        accounts, "_email_taken", lambda email: False
    )  # the other account lands after the check
    response = admin_client.post(
        reverse("setup:staff_invite"),
        {
            "full_name": "Again",
            "email": front_desk.email,
            "role": "front_desk",
            "locations": [clinic.location.pk],
        },
    )
    assert response.status_code == 400 and "already has an account" in response.content.decode()
    assert User.objects.get(email=front_desk.email).full_name == "Fran Desk"
    assert not FrontDeskAssignment.objects.exists()


TREATMENT = {
    "label": "IV ketamine, long", "code": "iv-long", "modality": "iv", "resource_kind": "chair", "chair_minutes": "150",
    "clinician_offset_minutes": "15", "clinician_minutes": "45", "discharge_minutes": "0", "min_days_apart": "1",
    "min_monitoring_minutes": "30", "monitoring_from": "dose_end", "preparation": "Nothing to eat for 4 hours.",
    "is_active": "on",
}  # fmt: skip


def test_a_treatment_is_added_and_an_impossible_protocol_writes_nothing(admin_client, clinic_admin):
    bad = admin_client.post(reverse("setup:treatment_new"), {**TREATMENT, "clinician_minutes": "200"})
    assert bad.status_code == 400 and "must fit inside the chair" in bad.content.decode()
    spravato = admin_client.post(
        reverse("setup:treatment_new"),
        {**TREATMENT, "code": "spr", "modality": "spravato", "dose_mg": "56", "min_monitoring_minutes": "60"},
    )
    assert spravato.status_code == 400 and "at least 120 minutes" in spravato.content.decode()
    assert not TreatmentType.objects.filter(code__in=["iv-long", "spr"]).exists()

    assert admin_client.post(reverse("setup:treatment_new"), TREATMENT).status_code == 302
    treatment = TreatmentType.objects.get(code="iv-long")
    assert treatment.preparation == "Nothing to eat for 4 hours." and treatment.chair_minutes == 150
    assert AuditEvent.objects.filter(table_name="scheduling_treatmenttype", row_pk=str(treatment.pk)).exists()


def test_a_booked_treatment_cannot_change_its_kind_of_room(admin_client, clinic, booked):
    iv = clinic.iv
    data = {field: str(getattr(iv, field)) for field in TREATMENT if field != "is_active"}
    data.update(resource_kind="room", is_active="on", dose_mg="")
    with time_machine.travel(NOW, tick=False):
        response = admin_client.post(reverse("setup:treatment_edit", args=[iv.pk]), data)
    assert response.status_code == 400 and "Pat Inway" in response.content.decode()
    iv.refresh_from_db()
    assert iv.resource_kind == "chair"


def test_a_second_chair_of_the_same_name_is_refused_not_a_server_error(admin_client, clinic):
    response = admin_client.post(
        reverse("setup:resource_new", args=[clinic.location.pk]),
        {"name": "chair 1", "kind": "chair", "is_active": "on", "treatment_types": [clinic.iv.pk]},
    )
    assert (
        response.status_code == 400
        and "already has a chair or room with that name" in response.content.decode()
    )
    assert Resource.objects.filter(location=clinic.location, name__iexact="chair 1").count() == 1


def test_front_desk_locations_are_set_and_none_is_refused(admin_client, clinic, front_desk):
    other = Location.objects.create(name="Elsewhere", time_zone="America/New_York")
    url = reverse("setup:front_desk_locations", args=[front_desk.pk])
    assert admin_client.post(url, {}).status_code == 400
    assert admin_client.post(url, {"locations": [clinic.location.pk, other.pk]}).status_code == 302
    assert set(FrontDeskAssignment.objects.filter(user=front_desk).values_list("location_id", flat=True)) == {
        clinic.location.pk,
        other.pk,
    }
    assert admin_client.post(url, {"locations": [other.pk]}).status_code == 302
    assert list(
        FrontDeskAssignment.objects.filter(user=front_desk).values_list("location_id", flat=True)
    ) == [other.pk]


def test_a_locations_time_zone_does_not_change_under_booked_sessions(
    admin_client, clinic_admin, clinic, booked
):
    url = reverse("setup:location_edit", args=[clinic.location.pk])
    data = {"name": clinic.location.name, "time_zone": "America/Chicago", "address": "", "is_active": "on"}
    refused = admin_client.post(url, data)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "time zone" in page and "Pat Inway" in page
    clinic.location.refresh_from_db()
    assert clinic.location.time_zone == "America/New_York"

    services.cancel_appointment(appointment=booked, cancelled_by=clinic_admin, reason="moved")
    assert admin_client.post(url, data).status_code == 302
    clinic.location.refresh_from_db()
    assert clinic.location.time_zone == "America/Chicago"
