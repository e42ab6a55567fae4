"""A clinic admin sets up a new location from nothing, in a real browser: a treatment, the location with its
opening hours, two chairs, a clinician invited by email with their working hours; then the location's first session
is booked. Every page passes axe-core.

The clock is set to Mon, Mar 1, 2027, 07:30 in New York (and ticks); the session is booked for Tue, Mar 2.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from tests.support import PASSWORD, assert_accessible, assert_navigation_on_one_line, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
START = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)


def test_clinic_admin_sets_up_a_location_to_its_first_booked_session(
    new_page, live_server, clinic_admin, eager_celery
):
    import time_machine
    from django.core import mail

    from clinic.roles import Role
    from intake.models import IntakeSubmission
    from scheduling.models import Appointment, Clinician, Location, OpeningHours, Resource, WorkingHours
    from tests.factories import clear_for_treatment, make_patient, make_user

    with time_machine.travel(START, tick=True):
        page = new_page(viewport=DESKTOP)
        sign_in(page, clinic_admin.email, PASSWORD)
        page.goto("/clinic-settings/")
        # The clinic admin's navigation, the longest of any role, stays on one line at 1366 px.
        page.set_viewport_size({"width": 1366, "height": 800})
        assert_navigation_on_one_line(page)
        page.set_viewport_size(DESKTOP)
        page.get_by_role("link", name="Places, people and treatments").first.click()
        page.get_by_role("heading", name="Places, people and treatments", level=1).wait_for()
        assert_accessible(page)

        # --- A treatment ----------------------------------------------------------------------------------------
        page.get_by_role("link", name="Add a treatment").click()
        page.get_by_role("heading", name="Add a treatment").wait_for()
        assert_accessible(page)
        page.get_by_label("Name").fill("IV ketamine, long infusion")
        page.get_by_label("Short code").fill("iv-infusion")
        page.get_by_label("Modality").select_option("iv")
        page.get_by_label("Needs").select_option("chair")
        page.get_by_label("Chair or room held (minutes)").fill("120")
        page.get_by_label("Clinician needed from (minutes after the start)").fill("10")
        page.get_by_label("Clinician held for dosing (minutes)").fill("50")
        page.get_by_label("Minimum monitoring before discharge (minutes)").fill("30")
        page.get_by_label("Preparation instructions (sent with reminders)").fill(
            "Nothing to eat for 4 hours."
        )
        page.get_by_role("button", name="Save treatment").click()
        page.get_by_text("Saved IV ketamine, long infusion.").wait_for()

        # --- The location and its hours -------------------------------------------------------------------------
        page.get_by_role("link", name="Add a location").click()
        page.get_by_role("heading", name="Add a location").wait_for()
        assert_accessible(page)
        page.get_by_label("Name", exact=True).fill("Riverside Clinic")
        page.get_by_label("Address").fill("12 River Road\nCambridge, MA 02139")
        page.get_by_label("Time zone").fill("Mars/Olympus")
        page.get_by_role("button", name="Save location").click()
        page.get_by_role("alert").filter(has_text="IANA time zone").first.wait_for()  # refused, nothing saved
        assert_accessible(page)
        assert not Location.objects.filter(name="Riverside Clinic").exists()
        page.get_by_label("Time zone").fill("America/New_York")
        page.get_by_role("button", name="Save location").click()
        page.get_by_role("heading", name="Riverside Clinic", level=1).wait_for()
        assert_accessible(page)
        location = Location.objects.get(name="Riverside Clinic")

        page.get_by_role("link", name="Change opening hours").click()
        assert_accessible(page)
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
            page.get_by_label(day).fill("08:00-18:00")
        page.get_by_role("button", name="Save hours").click()
        page.get_by_text("Opening hours saved.").wait_for()
        assert OpeningHours.objects.filter(location=location).count() == 5

        # --- Two chairs -----------------------------------------------------------------------------------------
        for name in ("Chair 1", "Chair 2"):
            page.get_by_role("link", name="Add a chair or room").click()
            page.get_by_role("heading", name=re.compile("^Add a chair or room")).wait_for()
            page.get_by_label("Name").fill(name)
            page.get_by_label("Infusion chair").check()
            page.get_by_label("IV ketamine, long infusion").check()
            page.get_by_role("button", name="Save chair or room").click()
            page.get_by_text(f"Saved {name}.").wait_for()
        assert_accessible(page)
        assert Resource.objects.filter(location=location, kind="chair").count() == 2

        # --- A clinician, invited by email, and their hours -------------------------------------------------------
        page.goto("/clinic-settings/setup/")
        page.get_by_role("link", name="Invite a staff member").click()
        assert_accessible(page)
        page.get_by_label("Full name").fill("Noor Haddad")
        page.get_by_label("Email").fill("noor.haddad@example.org")
        page.get_by_label("Clinician", exact=True).check()
        page.get_by_label("Credentials (clinicians, optional)").fill("NP")
        page.get_by_label("Riverside Clinic").check()
        page.get_by_role("button", name="Send invitation").click()
        page.get_by_role("heading", name="Working hours of Noor Haddad, NP").wait_for()
        assert_accessible(page)
        for day in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"):
            page.get_by_label(f"Riverside Clinic: {day}").fill("08:00-17:00")
        page.get_by_role("button", name="Save hours").click()
        page.get_by_text("Working hours saved.").wait_for()
        assert_accessible(page)
        clinician = Clinician.objects.get(user__email="noor.haddad@example.org")
        assert WorkingHours.objects.filter(clinician=clinician, location=location).count() == 5
        assert any("noor.haddad@example.org" in m.to for m in mail.outbox)

        # Her page, with time off listed (Fri, Mar 5, morning), her role and account, a front-desk person's
        # locations and a series course: each passes axe.
        page.get_by_label("From (day)").fill("2027-03-05")
        page.get_by_label("From (time)").fill("08:00")
        page.get_by_label("Until (day)").fill("2027-03-05")
        page.get_by_label("Until (time)").fill("12:00")
        page.get_by_label("Reason (optional)").fill("Training")
        page.get_by_role("button", name="Add time off").click()
        page.get_by_text("Time off saved.").wait_for()
        page.get_by_role("button", name=re.compile("^Remove time off from")).wait_for()
        assert_accessible(page)
        page.goto(f"/clinic-settings/setup/staff/{clinician.user_id}/")
        page.get_by_role("button", name="Deactivate account").wait_for()
        assert_accessible(page)
        desk = make_user(Role.FRONT_DESK, email="dana.desk@example.org", full_name="Dana Desk")
        page.goto(f"/clinic-settings/setup/staff/{desk.pk}/locations/")
        page.get_by_role("heading", name="Where Dana Desk works").wait_for()
        assert_accessible(page)
        page.goto("/clinic-settings/setup/")
        page.get_by_role("link", name=re.compile("^IV ketamine induction")).click()
        page.get_by_label("Sessions, one a line").wait_for()
        assert_accessible(page)

        # --- The first session at the new location ----------------------------------------------------------------
        patient = make_patient(first="Robin", last="Riverside", eligible=False, location=location)
        IntakeSubmission.objects.create(
            kind=IntakeSubmission.Kind.INTAKE, patient=patient, submitted_at=datetime(2027, 1, 1, 15, tzinfo=UTC),
            answers={}, findings=[],
        )  # fmt: skip
        clear_for_treatment(patient, modality="iv")
        page.goto(f"/front-desk/patients/{patient.pk}/book/")
        page.get_by_role("heading", name="Book a session").wait_for()
        page.get_by_role("combobox", name="Treatment").select_option(label="IV ketamine, long infusion")
        page.get_by_role("combobox", name="Location").select_option(label="Riverside Clinic")
        page.get_by_role("textbox", name="Day").fill("2027-03-02")
        page.get_by_role("button", name="Show free times").click()
        page.get_by_role("heading", name=re.compile(r"^2\. Choose a time on")).wait_for()
        assert_accessible(page)
        page.get_by_role("radio", name=re.compile(r"^9:00 AM to .*Chair 1.*Noor Haddad")).first.check()
        page.get_by_role("button", name="Book this time").click()
        page.wait_for_url(re.compile(r"/front-desk/appointments/\d+/$"))
        assert_accessible(page)
        session = Appointment.objects.get(patient=patient)
        assert (session.location, session.resource.name, session.clinician) == (
            location,
            "Chair 1",
            clinician,
        )
        assert session.start_at == datetime(2027, 3, 2, 14, 0, tzinfo=UTC)

        # --- The patient's account section: invited, then the invitation can be withdrawn ------------------------
        page.goto(f"/front-desk/patients/{patient.pk}/")
        page.get_by_role("button", name="Send an invitation").click()
        page.get_by_role("button", name="Withdraw the invitation").wait_for()
        assert_accessible(page)
