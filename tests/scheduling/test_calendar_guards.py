"""Time off and closures against booked sessions (migration 0008 and the admin's calendar forms).

Time off over a clinician's booked sessions, or a closure on a day with sessions, is refused with the sessions
listed; the database refuses it too, and refuses a hold in time off or on a closed day, whichever was saved first
and even when both are saved at the same moment (real threads, each with its own connection).
"""

from __future__ import annotations

import threading
import time as clock
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connections, transaction
from django.forms import inlineformset_factory
from django.urls import reverse

from scheduling import services
from scheduling.forms import ClinicianTimeOffForm
from scheduling.models import Appointment, Clinician, ClinicianTimeOff, Closure
from tests.factories import A_WEDNESDAY, NOW, NY, Clinic, build_clinic, local, make_patient

A_THURSDAY = A_WEDNESDAY + timedelta(days=1)


def freeze_now(moment=NOW):
    """The forms judge "upcoming" by the real clock: hold it at the tests' NOW (or ``moment``)."""
    return time_machine.travel(moment, tick=False)


def _admin_datetime(prefix: str, moment) -> dict:
    """The admin's split date/time widget, in the project's time zone (New York, as the test clinic)."""
    moment = moment.astimezone(NY)
    return {f"{prefix}_0": moment.date().isoformat(), f"{prefix}_1": moment.strftime("%H:%M:%S")}


def _constraint(error: IntegrityError) -> str:
    return error.__cause__.diag.constraint_name  # type: ignore[union-attr]  # psycopg2's error, under Django's


# --- The admin says which sessions are in the way -------------------------------------------------------------


@pytest.mark.django_db
def test_time_off_over_booked_sessions_is_refused_with_the_sessions_listed(
    client, clinic_admin, clinic, book
):
    booked = book(make_patient(first="Noor", last="Haddad"), local(A_WEDNESDAY, 10))
    client.force_login(clinic_admin)
    url = reverse("admin:scheduling_cliniciantimeoff_add")
    doctor = clinic.clinicians[0]

    response = client.post(
        url,
        {
            "clinician": doctor.pk,
            **_admin_datetime("starts_at", local(A_WEDNESDAY, 8)),
            **_admin_datetime("ends_at", local(A_WEDNESDAY, 18)),
            "reason": "Sick",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{doctor} has 1 session booked then" in page
    assert "Wed, Mar 3, 2027, 10:00 AM EST Noor Haddad (Chair 1)" in page
    assert "Hand them to a colleague (front desk: Clinician cover), reschedule or cancel them first" in page
    assert not ClinicianTimeOff.objects.exists()
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.BOOKED

    # The next day is clear: saved.
    response = client.post(
        url,
        {
            "clinician": doctor.pk,
            **_admin_datetime("starts_at", local(A_THURSDAY, 8)),
            **_admin_datetime("ends_at", local(A_THURSDAY, 18)),
            "reason": "Training",
        },
    )
    assert response.status_code == 302
    assert ClinicianTimeOff.objects.get().reason == "Training"


@pytest.mark.django_db
def test_time_off_that_ends_before_it_starts_is_a_clear_error(client, clinic_admin, clinic):
    client.force_login(clinic_admin)
    response = client.post(
        reverse("admin:scheduling_cliniciantimeoff_add"),
        {
            "clinician": clinic.clinicians[0].pk,
            **_admin_datetime("starts_at", local(A_WEDNESDAY, 12)),
            **_admin_datetime("ends_at", local(A_WEDNESDAY, 9)),
        },
    )
    assert response.status_code == 200
    assert "Time off must end after it starts." in response.content.decode()
    assert not ClinicianTimeOff.objects.exists()


@pytest.mark.django_db
def test_time_off_on_the_clinicians_own_page_is_checked_too(clinic, book):
    """The clinician's admin page edits time off inline, without a clinician field: the same form, the same check."""
    book(make_patient(), local(A_WEDNESDAY, 10))
    doctor = clinic.clinicians[0]
    TimeOffFormSet = inlineformset_factory(
        Clinician, ClinicianTimeOff, form=ClinicianTimeOffForm, fields=["starts_at", "ends_at", "reason"]
    )
    data = {
        "time_off-TOTAL_FORMS": "1",
        "time_off-INITIAL_FORMS": "0",
        "time_off-0-starts_at": local(A_WEDNESDAY, 9).isoformat(),
        "time_off-0-ends_at": local(A_WEDNESDAY, 11).isoformat(),
    }
    formset = TimeOffFormSet(data, instance=doctor, prefix="time_off")
    assert not formset.is_valid()
    assert "1 session booked then" in str(formset.non_form_errors() or formset.forms[0].non_field_errors())

    data["time_off-0-starts_at"] = local(A_WEDNESDAY, 11).isoformat()  # after the dosing window
    data["time_off-0-ends_at"] = local(A_WEDNESDAY, 12).isoformat()
    formset = TimeOffFormSet(data, instance=doctor, prefix="time_off")
    assert formset.is_valid(), formset.errors
    formset.save()
    assert ClinicianTimeOff.objects.filter(clinician=doctor).count() == 1


@pytest.mark.django_db
def test_a_closure_on_a_day_with_sessions_is_refused_with_them_listed(client, clinic_admin, clinic, book):
    book(make_patient(first="Iris", last="Okafor"), local(A_WEDNESDAY, 15), chair=2)
    client.force_login(clinic_admin)
    url = reverse("admin:scheduling_closure_add")

    response = client.post(
        url, {"location": clinic.location.pk, "date": A_WEDNESDAY.isoformat(), "reason": "x"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{clinic.location.name} has 1 session booked then" in page
    assert "Wed, Mar 3, 2027, 3:00 PM EST Iris Okafor (Chair 3)" in page
    assert not Closure.objects.exists()

    response = client.post(
        url, {"location": clinic.location.pk, "date": A_THURSDAY.isoformat(), "reason": "Audit"}
    )
    assert response.status_code == 302
    assert Closure.objects.get().date == A_THURSDAY


@pytest.mark.django_db
def test_a_cancelled_session_is_not_in_the_way(client, clinic_admin, clinic, book, front_desk):
    """Time off and a closure over a cancelled session: the admin's forms list nothing and save, and the database
    takes them (the same requests over the session still booked are refused, above)."""
    appointment = book(make_patient(), local(A_WEDNESDAY, 10))
    services.cancel_appointment(
        appointment=appointment, reason="Patient unwell", cancelled_by=front_desk, now=NOW
    )
    doctor = clinic.clinicians[0]
    client.force_login(clinic_admin)
    with freeze_now():
        time_off = client.post(
            reverse("admin:scheduling_cliniciantimeoff_add"),
            {
                "clinician": doctor.pk,
                **_admin_datetime("starts_at", local(A_WEDNESDAY, 8)),
                **_admin_datetime("ends_at", local(A_WEDNESDAY, 18)),
                "reason": "Sick",
            },
        )
        closure = client.post(
            reverse("admin:scheduling_closure_add"),
            {"location": clinic.location.pk, "date": A_WEDNESDAY.isoformat(), "reason": "Audit"},
        )
    assert time_off.status_code == 302, time_off.content.decode()
    assert closure.status_code == 302, closure.content.decode()
    saved = ClinicianTimeOff.objects.get()
    assert (saved.clinician, saved.starts_at, saved.ends_at) == (
        doctor,
        local(A_WEDNESDAY, 8),
        local(A_WEDNESDAY, 18),
    )
    assert Closure.objects.get().date == A_WEDNESDAY
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.CANCELLED


# --- The database refuses what the forms would -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_database_refuses_time_off_or_a_closure_over_booked_sessions(clinic, book):
    book(make_patient(), local(A_WEDNESDAY, 10), clinician=1)  # clinician held 10:15-11:00
    with pytest.raises(IntegrityError, match="has sessions booked") as refused, transaction.atomic():
        ClinicianTimeOff.objects.create(
            clinician=clinic.clinicians[1],
            starts_at=local(A_WEDNESDAY, 10, 45),
            ends_at=local(A_WEDNESDAY, 13),
        )
    assert _constraint(refused.value) == services.TIME_OFF_OVER_HOLDS
    with pytest.raises(IntegrityError, match="has sessions booked") as refused, transaction.atomic():
        Closure.objects.create(location=clinic.location, date=A_WEDNESDAY)
    assert _constraint(refused.value) == services.CLOSURE_OVER_HOLDS
    assert not ClinicianTimeOff.objects.exists()
    assert not Closure.objects.exists()
    # Touching is not overlapping: time off from the end of the dosing window is fine.
    ClinicianTimeOff.objects.create(
        clinician=clinic.clinicians[1], starts_at=local(A_WEDNESDAY, 11), ends_at=local(A_WEDNESDAY, 13)
    )


# --- At the same moment: real threads, each with its own connection --------------------------------------------


def _in_thread(target) -> tuple[threading.Thread, dict]:
    """Run ``target`` in a thread with its own database connection; its result or exception lands in the dict."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _book(clinic, front_desk, *, patient, start, chair=0):
    return services.book_appointment(
        patient=patient,
        treatment_type=clinic.iv,
        location=clinic.location,
        start=start,
        resource=clinic.chairs[chair],
        clinician=clinic.clinicians[0],
        booked_by=front_desk,
        now=NOW,
    )


def _held_open(write) -> tuple[threading.Thread, dict, object]:
    """Run ``write`` in a transaction of its own thread and keep that transaction open until ``commit()``."""
    written, committed = threading.Event(), threading.Event()

    def run():
        with transaction.atomic():
            result = write()
            written.set()
            committed.wait(10)
        return result

    thread, outcome = _in_thread(run)
    assert written.wait(10), outcome
    return thread, outcome, committed.set


# What each calendar change writes, and what a booking refused by it hears (message, form field).
CALENDAR_CHANGES = {
    "time off": (
        lambda clinic: ClinicianTimeOff.objects.create(
            clinician=clinic.clinicians[0], starts_at=local(A_WEDNESDAY, 8), ends_at=local(A_WEDNESDAY, 18)
        ),
        "is on time off then",
        "clinician",
    ),
    "closure": (
        lambda clinic: Closure.objects.create(location=clinic.location, date=A_WEDNESDAY, reason="Flood"),
        "is closed that day",
        "start",
    ),
}


@pytest.mark.parametrize("change", CALENDAR_CHANGES)
@pytest.mark.django_db(transaction=True)
def test_a_booking_meeting_a_calendar_change_in_flight_waits_and_is_refused(front_desk, change):
    write, message, field = CALENDAR_CHANGES[change]
    clinic = Clinic(*build_clinic(chairs=2, clinicians=1))
    patient = make_patient()
    admin_thread, admin_outcome, commit = _held_open(lambda: write(clinic))
    desk_thread, desk_outcome = _in_thread(
        lambda: _book(clinic, front_desk, patient=patient, start=local(A_WEDNESDAY, 10))
    )
    clock.sleep(0.5)
    assert desk_thread.is_alive(), "the booking should wait for the calendar change in flight"
    commit()
    admin_thread.join(10)
    desk_thread.join(10)

    assert "error" not in admin_outcome
    error = desk_outcome.get("error")
    assert isinstance(error, services.BookingRefused), desk_outcome
    assert message in error.message
    assert error.field == field
    assert not Appointment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_time_off_or_a_closure_meeting_a_booking_in_flight_waits_and_is_refused(front_desk):
    clinic = Clinic(*build_clinic(chairs=2, clinicians=1))
    patient = make_patient()
    desk_thread, desk_outcome, commit = _held_open(
        lambda: _book(clinic, front_desk, patient=patient, start=local(A_WEDNESDAY, 10))
    )
    changes = [_in_thread(lambda write=write: write(clinic)) for write, _, _ in CALENDAR_CHANGES.values()]
    clock.sleep(0.5)
    assert all(thread.is_alive() for thread, _ in changes), "calendar changes should wait for the booking"
    commit()
    desk_thread.join(10)
    for thread, _ in changes:
        thread.join(10)

    assert isinstance(desk_outcome.get("result"), Appointment), desk_outcome
    refusals = [outcome.get("error") for _, outcome in changes]
    assert all(isinstance(error, IntegrityError) for error in refusals), refusals
    assert [_constraint(e) for e in refusals] == [services.TIME_OFF_OVER_HOLDS, services.CLOSURE_OVER_HOLDS]
    assert Appointment.objects.filter(status=Appointment.Status.BOOKED).count() == 1
    assert not ClinicianTimeOff.objects.exists()
    assert not Closure.objects.exists()


# --- Weekly hours that would leave booked sessions outside them -------------------------------------------------


def _admin_formset(inline_class, parent_model, parent, user, rows, *, change=None, delete=()):
    """The admin's own inline formset for ``parent`` (as its change page builds it), bound to the existing
    ``rows`` with ``change`` (row index -> field values) applied and the ``delete`` indexes ticked."""
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().post("/")
    request.user = user
    FormSet = inline_class(parent_model, admin.site).get_formset(request, parent)
    prefix = FormSet.get_default_prefix()
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(len(rows))}
    for i, row in enumerate(rows):
        values = {"id": row.pk, **{f: getattr(row, f) for f in ("weekday", "opens", "closes", "starts", "ends")
                                   if hasattr(row, f)}}  # fmt: skip
        if hasattr(row, "location_id") and parent_model is Clinician:
            values["location"] = row.location_id
        values.update((change or {}).get(i, {}))
        for name, value in values.items():
            data[f"{prefix}-{i}-{name}"] = value.strftime("%H:%M") if hasattr(value, "strftime") else value
        if i in delete:
            data[f"{prefix}-{i}-DELETE"] = "on"
    return FormSet(data, instance=parent, prefix=prefix)


def _errors(formset) -> str:
    return " ".join(str(e) for e in formset.non_form_errors())


@pytest.mark.django_db
def test_opening_hours_that_would_shut_out_booked_sessions_are_refused(clinic, book, clinic_admin):
    from datetime import time

    from scheduling.admin import OpeningHoursInline
    from scheduling.models import Location, OpeningHours

    book(make_patient(first="Lena", last="Park"), local(A_WEDNESDAY, 15), chair=1)
    rows = list(OpeningHours.objects.filter(location=clinic.location).order_by("weekday"))
    wednesday = next(i for i, row in enumerate(rows) if row.weekday == A_WEDNESDAY.weekday())

    def formset(**kwargs):
        return _admin_formset(OpeningHoursInline, Location, clinic.location, clinic_admin, rows, **kwargs)

    with freeze_now():
        shorter = formset(change={wednesday: {"closes": time(12)}})
        assert not shorter.is_valid()
        assert f"These hours would leave {clinic.location.name} closed for 1 session booked" in _errors(
            shorter
        )
        assert "Wed, Mar 3, 2027, 3:00 PM EST Lena Park (Chair 2)" in _errors(shorter)

        gone = formset(delete={wednesday})
        assert not gone.is_valid()
        assert "closed for 1 session booked" in _errors(gone)

        still_open = formset(change={wednesday: {"opens": time(9), "closes": time(17)}})
        assert still_open.is_valid(), _errors(still_open)
        still_open.save()
    assert OpeningHours.objects.get(pk=rows[wednesday].pk).closes == time(17)


@pytest.mark.django_db
def test_working_hours_that_would_leave_a_booked_session_without_its_clinician_are_refused(
    clinic, book, clinic_admin
):
    from datetime import time

    from scheduling.admin import WorkingHoursInline
    from scheduling.models import WorkingHours

    doctor = clinic.clinicians[0]
    book(make_patient(first="Omar", last="Said"), local(A_WEDNESDAY, 10))  # doctor held 10:15-11:00
    rows = list(WorkingHours.objects.filter(clinician=doctor).order_by("weekday"))
    wednesday = next(i for i, row in enumerate(rows) if row.weekday == A_WEDNESDAY.weekday())

    def formset(**kwargs):
        return _admin_formset(WorkingHoursInline, Clinician, doctor, clinic_admin, rows, **kwargs)

    with freeze_now():
        later = formset(change={wednesday: {"starts": time(10, 30)}})
        assert not later.is_valid()
        assert f"These hours would leave {doctor} off duty for 1 session booked" in _errors(later)
        assert "Omar Said" in _errors(later)

        # Still covering the dosing window (the chair's two hours need not be inside the clinician's hours).
        covering = formset(change={wednesday: {"starts": time(10, 15), "ends": time(11)}})
        assert covering.is_valid(), _errors(covering)
        covering.save()
    assert WorkingHours.objects.get(pk=rows[wednesday].pk).starts == time(10, 15)


@pytest.mark.django_db
def test_hours_for_sessions_already_past_are_not_in_the_way(clinic, book, clinic_admin):
    from datetime import time

    from scheduling.admin import OpeningHoursInline
    from scheduling.models import Location, OpeningHours

    book(make_patient(), local(A_WEDNESDAY, 15))
    rows = list(OpeningHours.objects.filter(location=clinic.location).order_by("weekday"))
    wednesday = next(i for i, row in enumerate(rows) if row.weekday == A_WEDNESDAY.weekday())
    with freeze_now(local(A_THURSDAY, 9)):
        formset = _admin_formset(
            OpeningHoursInline, Location, clinic.location, clinic_admin, rows,
            change={wednesday: {"closes": time(12)}},
        )  # fmt: skip
        assert formset.is_valid(), _errors(formset)


@pytest.mark.django_db
def test_set_up_mistakes_get_plain_messages(clinic, clinic_admin):
    from datetime import time

    from django.contrib import admin
    from django.forms.models import model_to_dict
    from django.test import RequestFactory

    from scheduling.admin import OpeningHoursInline
    from scheduling.models import Location, OpeningHours, TreatmentType

    rows = list(OpeningHours.objects.filter(location=clinic.location).order_by("weekday"))
    backwards = _admin_formset(
        OpeningHoursInline, Location, clinic.location, clinic_admin, rows,
        change={0: {"opens": time(18), "closes": time(8)}},
    )  # fmt: skip
    assert not backwards.is_valid()
    assert "Closing time must be after opening time." in str(backwards.errors)

    request = RequestFactory().post("/")
    request.user = clinic_admin
    iv = clinic.iv
    TypeForm = admin.site._registry[TreatmentType].get_form(request, iv)
    data = {**model_to_dict(iv), "clinician_minutes": iv.chair_minutes + 1}
    form = TypeForm(data, instance=iv)
    assert not form.is_valid()
    assert "must fit inside the chair or room minutes" in str(form.errors)
    assert TreatmentType.objects.get(pk=iv.pk).clinician_minutes == clinic.iv.clinician_minutes


@pytest.mark.django_db
def test_calendar_dates_far_from_today_are_refused_plainly(client, clinic_admin, clinic):
    client.force_login(clinic_admin)
    response = client.post(
        reverse("admin:scheduling_closure_add"), {"location": clinic.location.pk, "date": "9999-12-31"}
    )
    assert response.status_code == 200
    assert "Choose a day within 10 years of today." in response.content.decode()
    assert not Closure.objects.exists()


@pytest.mark.django_db
def test_reversed_time_off_is_the_constraints_refusal_not_a_range_error(clinic):
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        ClinicianTimeOff.objects.create(
            clinician=clinic.clinicians[0], starts_at=local(A_WEDNESDAY, 12), ends_at=local(A_WEDNESDAY, 9)
        )
    assert _constraint(refused.value) == "time_off_ends_after_starts"


@pytest.mark.django_db
def test_a_location_time_zone_must_be_known_to_python_and_to_the_database():
    from django.core.exceptions import ValidationError

    from scheduling.models import Location

    Location(name="Harbor North", time_zone="America/Chicago").full_clean()  # both know it
    with pytest.raises(ValidationError, match="is not an IANA time zone"):
        Location(name="Olympus", time_zone="Mars/Olympus_Mons").full_clean()
