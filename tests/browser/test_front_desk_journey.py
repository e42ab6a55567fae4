"""Front desk's week, tried in a real browser as front desk would: sign in, find a patient who is cleared for IV
ketamine, book a 6-infusion series from its proposal, move one session, cancel another with a reason, and see the day
views say so in words. Then the day of the first session, from check-in to discharge: front desk checks the patient in
and fills the checklist; a clinician, on a phone in a second browser, records vitals, checks the planned dose, records
the dose given and the scores; the clock moves on (40 minutes to the reading at the blood-pressure peak, 30 after the
infusion), and the patient is discharged. Every page passes axe-core.

The clock is set to Mon, Mar 1, 2027, 07:30 in New York (and ticks), so the first session of the series is today.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from clinic.local_time import format_day
from tests.support import PASSWORD, PHONE, assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
START = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)  # Mon, Mar 1, 2027, 7:30 AM EST


def cleared_for_iv(location):
    """A patient with a submitted intake and a clinician's decision: eligible for IV ketamine."""
    from intake.models import IntakeSubmission
    from tests.factories import clear_for_treatment, make_patient

    patient = make_patient(first="Robin", last="Journeyman", eligible=False, location=location)
    IntakeSubmission.objects.create(
        kind=IntakeSubmission.Kind.INTAKE,
        patient=patient,
        submitted_at=datetime(2027, 1, 1, 15, tzinfo=UTC),
        answers={},
        findings=[],
    )
    clear_for_treatment(patient, modality="iv")
    return patient


def see(page, text: str) -> None:
    """Wait until ``text`` shows; on failure, say what the page showed instead."""
    try:
        page.get_by_text(text).first.wait_for(timeout=10_000)
    except Exception as exc:  # noqa: BLE001 (re-raised with the page's words)
        shown = page.locator("main").inner_text() if page.locator("main").count() else page.content()
        raise AssertionError(f"{text!r} not shown on {page.url}:\n{shown[:3000]}") from exc


def test_front_desk_books_a_series_changes_it_and_runs_a_session_day(new_page, live_server, front_desk):
    import time_machine

    from intake.eligibility import booking_eligibility
    from scheduling import services
    from scheduling.models import Allocation, Appointment, SessionRecord, TreatmentSeries, VitalSigns
    from tests.factories import build_clinic, make_patient, rescreen, treatment_type

    with time_machine.travel(START, tick=True) as traveller:
        treatment_type("iv-ketamine")
        treatment_type("spravato-56")
        location, chairs, _room, clinicians = build_clinic(chairs=1)
        patient = cleared_for_iv(location)
        # Someone else already has the only chair on Wed, Mar 3 at 09:00: the proposal must work round it.
        other = make_patient(first="Sam", last="Early", location=location)
        taken = services.book_appointment(
            patient=other, treatment_type=treatment_type("iv-ketamine"), location=location,
            start=datetime(2027, 3, 3, 14, 0, tzinfo=UTC), resource=chairs[0], clinician=clinicians[1],
            booked_by=front_desk, now=START,
        )  # fmt: skip
        assert booking_eligibility(patient=patient, modality="iv", now=START).allowed

        # --- Front desk, at the desk: sign in and find the patient --------------------------------------------
        desk = new_page(viewport=DESKTOP)
        sign_in(desk, front_desk.email, PASSWORD)
        desk.get_by_role("heading", name="Mon, Mar 1, 2027").wait_for()
        assert_accessible(desk)
        desk.get_by_role("navigation", name="Front desk").get_by_role("link", name="Find a patient").click()
        desk.get_by_role("heading", name="Find a patient").wait_for()
        assert_accessible(desk)
        desk.get_by_label("Name, email or phone").fill("journeyman")
        desk.get_by_role("button", name="Search").click()
        desk.get_by_role("heading", name="1 patient found").wait_for()
        assert_accessible(desk)
        desk.get_by_role("link", name="Journeyman, Robin").click()
        desk.get_by_role("heading", name="Robin Journeyman", level=1).wait_for()
        assert_accessible(desk)

        # --- Book a 6-infusion IV series: proposal first, then all or nothing --------------------------------
        desk.get_by_role("link", name="Book a treatment series").click()
        desk.get_by_role("heading", name="Book a treatment series").wait_for()
        assert_accessible(desk)
        desk.get_by_label("Course").select_option(label="IV ketamine induction: 6 infusions, three a week")
        desk.get_by_label("Treatment").select_option(label="IV ketamine infusion")
        desk.get_by_label("First week starting").fill("2027-03-01")
        days = desk.get_by_role("group", name="Days of the week")
        for day in ("Monday", "Wednesday", "Friday"):
            assert days.get_by_label(day).is_checked()
        assert (
            desk.get_by_label("Start time (clinic's local time)").input_value() == "09:00"
        )  # no seconds field
        desk.get_by_role("button", name="Propose the sessions").click()
        desk.get_by_role("heading", name="Proposed series").wait_for()
        assert_accessible(desk)
        proposal = desk.get_by_role("table", name="Each session of the proposed series")
        assert proposal.get_by_role("row").count() == 7  # a header and 6 sessions
        for when in ("Mon, Mar 1, 2027, 9:00 AM EST", "Wed, Mar 3, 2027, 9:00 AM EST", "Fri, Mar 5, 2027, 9:00 AM EST",
                     "Mon, Mar 8, 2027, 9:00 AM EST", "Wed, Mar 10, 2027, 9:00 AM EST", "Fri, Mar 12, 2027, 9:00 AM EST"):  # fmt: skip
            assert proposal.get_by_text(when).count() >= 1, when
        see(desk, "1 session could not have the requested time and was moved to the nearest free time")
        moved_row = proposal.get_by_role("row").filter(has_text="Moved:")
        assert moved_row.count() == 1 and "Wed, Mar 3, 2027, 9:00 AM EST" in moved_row.inner_text()
        assert Appointment.objects.count() == 1  # nothing is booked before the confirmation
        desk.get_by_role("button", name="Book all 6 sessions").click()
        see(desk, "Booked 6 sessions")
        desk.get_by_role("heading", name="Robin Journeyman", level=1).wait_for()
        assert_accessible(desk)
        booked = list(Appointment.objects.filter(patient=patient).order_by("start_at"))
        assert len(booked) == 6 and all(a.status == "booked" for a in booked)
        first, second, third = booked[0], booked[1], booked[2]
        assert second.start_at != taken.start_at
        second_when = services.format_local(second.start_at, location)

        # --- Move the second session (the one moved round Sam) to Thu, Mar 4, 10:00--------------------------------
        upcoming = desk.get_by_role("region", name="Upcoming")
        upcoming.get_by_role("link", name=second_when).click()
        desk.get_by_role("heading", name="IV ketamine infusion", level=1).wait_for()
        assert_accessible(desk)
        desk.get_by_role("link", name="Reschedule").click()
        desk.get_by_role("heading", name="Reschedule session").wait_for()
        assert_accessible(desk)
        desk.get_by_label("Day").fill("2027-03-04")
        desk.get_by_role("button", name="Show free times").click()
        desk.get_by_role("heading", name=re.compile(r"Free times on Thu, Mar 4, 2027")).wait_for()
        assert_accessible(desk)
        desk.get_by_role("radio", name=re.compile(r"^10:00 AM to 12:00 PM EST")).first.check()
        desk.get_by_role("button", name="Move to this time").click()
        see(desk, "Moved to Thu, Mar 4, 2027, 10:00 AM EST")

        # --- Cancel the third session (Fri, Mar 5) with a reason ----------------------------------------------
        desk.get_by_role("link", name="Robin Journeyman").first.click()
        desk.get_by_role("heading", name="Robin Journeyman", level=1).wait_for()
        desk.get_by_role("region", name="Upcoming").get_by_role(
            "link", name="Fri, Mar 5, 2027, 9:00 AM EST"
        ).click()
        desk.get_by_role("heading", name="IV ketamine infusion", level=1).wait_for()
        desk.get_by_role("link", name=re.compile(r"^Cancel")).click()
        desk.get_by_role("heading", name="Cancel session").wait_for()
        assert_accessible(desk)
        desk.get_by_label("Reason").select_option(label="Patient unwell")
        desk.get_by_label("Details (optional)").fill("Has a fever; will call to rebook.")
        desk.get_by_role("button", name="Cancel the session").click()
        see(desk, "Cancelled.")
        assert_accessible(desk)
        see(desk, "Patient unwell: Has a fever; will call to rebook.")

        # The patient's page says it in words: the moved one upcoming, the cancelled one under past and cancelled.
        desk.get_by_role("link", name="Robin Journeyman").first.click()
        desk.get_by_role("heading", name="Robin Journeyman", level=1).wait_for()
        upcoming = desk.get_by_role("region", name="Upcoming")
        assert upcoming.get_by_role("link", name="Thu, Mar 4, 2027, 10:00 AM EST").is_visible()
        assert upcoming.get_by_role("link", name=second_when).count() == 0
        assert upcoming.get_by_role("link", name="Fri, Mar 5, 2027, 9:00 AM EST").count() == 0
        past = desk.get_by_role("region", name="Past and cancelled")
        cancelled_row = past.get_by_role("listitem").filter(has_text="Fri, Mar 5, 2027, 9:00 AM EST")
        assert "Cancelled" in cancelled_row.inner_text()

        # --- The day views -------------------------------------------------------------------------------
        def day_view(day: date, *, check: bool = True):
            desk.goto(f"/front-desk/day/?location={location.pk}&date={day.isoformat()}")
            desk.get_by_role("heading", name=format_day(day), level=1).wait_for()
            if check:
                assert_accessible(desk)
            return desk.get_by_role("table", name=re.compile(r"^Sessions on"))

        grid = day_view(date(2027, 3, 4))
        moved_cell = grid.get_by_role("link").filter(has_text="Robin Journeyman")
        assert moved_cell.count() == 1
        assert re.search(
            r"10:00 AM–12:00 PM.*Robin Journeyman.*IV ketamine infusion.*Booked",
            moved_cell.inner_text(),
            re.S,
        )
        grid = day_view(date(2027, 3, 3), check=False)
        assert grid.get_by_role("link").filter(has_text="Robin Journeyman").count() == 0
        grid = day_view(date(2027, 3, 5))
        assert grid.get_by_role("link").filter(has_text="Robin Journeyman").count() == 0
        see(desk, "No sessions booked on this day.")

        # The week view (from the Fri, Mar 5 day view): this patient on Mon 1 and Thu 4 only.
        desk.get_by_role("link", name="Week of Fri, Mar 5, 2027").click()
        desk.get_by_role("heading", name="Week of Mon, Mar 1, 2027").wait_for()
        assert_accessible(desk)
        sessions = desk.get_by_role("link").filter(has_text="Robin Journeyman")
        assert sessions.count() == 2
        # The week is a grid of chairs by day: each block says its times and its status in words.
        blocks = sorted(sessions.nth(n).inner_text() for n in range(2))
        assert re.search(r"^10:00 AM–.*Booked", blocks[0], re.S), blocks
        assert re.search(r"^9:00 AM–.*Booked", blocks[1], re.S), blocks

        # --- The day of the first session (today, 09:00): front desk checks in -------------------------------
        rescreen(patient, now=datetime.now(UTC))  # the patient's pre-session re-screen, low risk, from home
        day_view(date(2027, 3, 1), check=False).get_by_role("link").filter(
            has_text="Robin Journeyman"
        ).click()
        desk.get_by_role("heading", name="IV ketamine infusion", level=1).wait_for()
        desk.get_by_role("link", name="Session day: checklist, vitals, dose").click()
        desk.get_by_role("heading", name="Session day: IV ketamine infusion").wait_for()
        assert_accessible(desk)
        desk.get_by_role("button", name="Check in").click()
        see(desk, "Marked checked in")
        assert_accessible(desk)
        desk.get_by_label("Escort or driver's name").fill("Jo Driver")
        desk.get_by_label("Escort or driver's phone").fill("+1 617 555 0123")
        desk.get_by_label("Escort or driver confirmed").check()
        desk.get_by_label("Fasting confirmed").check()
        desk.get_by_role("button", name="Save checklist").click()
        see(desk, "Checklist saved.")
        session_url = desk.url.split("#")[0]

        # --- A clinician, on a phone, takes over ----------------------------------------------------------
        doc = new_page(viewport=PHONE)
        sign_in(doc, clinicians[0].user.email, PASSWORD)
        # On a phone the day view is a list in time order, the status in words.
        doc.goto(f"/front-desk/day/?location={location.pk}&date=2027-03-04")
        listing = doc.get_by_role("region", name="Sessions in time order")
        assert re.search(
            r"10:00 AM–12:00 PM Chair \d · Robin Journeyman\s+IV ketamine infusion · .* · Booked",
            listing.inner_text(),
        ), listing.inner_text()
        assert_accessible(doc)
        doc.goto(session_url)
        doc.get_by_role("heading", name="Session day: IV ketamine infusion").wait_for()
        assert_accessible(doc)

        def wait_minutes(minutes: int) -> None:
            """The server's clock moves on, 10 minutes at a time (time-machine: the live server runs in this
            process); both browsers open the session page after each step, as a team at work would, so neither
            staff session goes idle."""
            for _ in range(minutes // 10):
                traveller.shift(timedelta(minutes=10))
                for page in (desk, doc):
                    page.goto(session_url)
                    page.get_by_role("heading", name="Session day: IV ketamine infusion").wait_for()

        def vitals(phase_label: str, bp: tuple[int, int], hr: int, spo2: int) -> None:
            assert doc.get_by_label("When").locator("option:checked").inner_text() == phase_label
            doc.get_by_label("Systolic BP (mmHg)").fill(str(bp[0]))
            doc.get_by_label("Diastolic BP (mmHg)").fill(str(bp[1]))
            doc.get_by_label("Heart rate (beats per minute)").fill(str(hr))
            doc.get_by_label("SpO2 (%)").fill(str(spo2))
            doc.get_by_role("button", name="Save vitals").click()
            see(doc, f"Vitals saved: BP {bp[0]}/{bp[1]} (within limits).")

        vitals("Before dosing", (128, 82), 72, 98)
        assert_accessible(doc)
        # The dose is checked before it is given: mg/kg from today's weight, the clinic's 0.5 mg/kg offered.
        assert doc.get_by_label("Dose (mg/kg)").input_value() == "0.5"
        doc.get_by_label("The patient's weight today (kg)").fill("70")
        doc.get_by_role("button", name="Record the planned dose").click()
        see(doc, "Planned dose recorded: 35 mg (0.5 mg/kg at 70 kg).")
        assert_accessible(doc)
        doc.get_by_role("button", name="Start the session (dosing)").click()
        see(doc, "Marked in session")
        # The dose form starts from the checked plan: only the lot number is typed.
        assert doc.get_by_label("Dose given (mg)").input_value() == "35.0"
        assert doc.get_by_label("Weight (kg), needed for IV").input_value() == "70.0"
        doc.get_by_label("Lot number").fill("KET-2027-031")
        started = doc.get_by_label("Started at (clinic's local time)")
        assert re.fullmatch(r"0[78]:\d\d", started.input_value())  # now, in the clinic's zone, filled in
        doc.get_by_role("button", name="Record the dose").click()
        see(doc, "Dose recorded: 35 mg (0.5 mg/kg), as planned.")
        assert_accessible(doc)
        doc.get_by_label("Dissociation (CADSS total, 0-92)").fill("14")
        doc.get_by_label("Sedation (MOAA/S, 0-5, 5 = awake)").fill("4")
        doc.get_by_role("button", name="Save scores").click()
        see(doc, "Scores saved.")
        see(doc, "Offered, not required: a reading every 15 minutes during the dose")
        wait_minutes(40)
        vitals("About 40 minutes after dosing", (132, 84), 80, 97)
        doc.get_by_role("button", name="Dosing finished: start recovery").click()
        see(doc, "Marked recovering")
        assert_accessible(doc)
        # Discharge waits 30 minutes after the infusion ends (the treatment type's protocol).
        see(doc, "Monitoring must last at least 30 minutes after the end of the infusion; 0 minutes so far.")
        wait_minutes(30)
        vitals("Before discharge", (124, 80), 70, 99)

        # --- Front desk discharges, once the escort is here -------------------------------------------------
        desk.goto(session_url)
        desk.get_by_role("heading", name="Session day: IV ketamine infusion").wait_for()
        desk.get_by_role("button", name="Discharge").click()
        see(desk, "Confirm the escort or driver is here before discharge.")
        assert_accessible(desk)
        desk.get_by_label("The escort or driver is here to take the patient home").check()
        desk.get_by_role("button", name="Discharge").click()
        see(desk, "Discharged.")
        see(desk, "This session is discharged.")
        assert_accessible(desk)

        # --- What the database holds ---------------------------------------------------------------------
        assert Appointment.objects.get(pk=taken.pk).status == "booked"  # the other patient is untouched
        appointments = {a.pk: a for a in Appointment.objects.filter(patient=patient)}
        assert len(appointments) == 6
        assert TreatmentSeries.objects.filter(patient=patient).count() == 1
        assert appointments[first.pk].status == "discharged"
        moved = appointments[second.pk]
        assert moved.status == "booked"
        assert moved.start_at == datetime(2027, 3, 4, 15, 0, tzinfo=UTC)  # Thu, Mar 4, 10:00 AM EST
        assert moved.series_id == first.series_id
        cancelled = appointments[third.pk]
        assert cancelled.status == "cancelled"
        assert cancelled.cancellation_reason == "Patient unwell: Has a fever; will call to rebook."
        assert cancelled.late_cancellation is False
        for other in booked[3:]:  # the rest of the series stays where it was
            assert appointments[other.pk].status == "booked"
            assert appointments[other.pk].start_at == other.start_at
        # The cancelled session holds nothing; every other session still holds its chair and clinician.
        active = Allocation.objects.filter(active=True)
        assert not active.filter(appointment_id=third.pk).exists()
        for pk in set(appointments) - {third.pk, first.pk}:
            assert active.filter(appointment_id=pk, resource__isnull=False).exists(), pk
            assert active.filter(appointment_id=pk, clinician__isnull=False).exists(), pk
        chair = active.get(appointment_id=second.pk, resource__isnull=False)
        assert chair.span.lower == moved.start_at
        record = SessionRecord.objects.get(appointment_id=first.pk)
        assert record.escort_name == "Jo Driver" and record.escort_present_at_discharge
        assert record.dose_mg == 35 and record.weight_kg == 70 and str(record.dose_mg_per_kg) == "0.500"
        assert record.lot_number == "KET-2027-031" and record.route == "iv"
        assert (record.dissociation_score, record.sedation_score) == (14, 4)
        assert record.dose_recorded_by == clinicians[0].user
        phases = list(VitalSigns.objects.filter(appointment_id=first.pk).values_list("phase", flat=True))
        assert sorted(phases) == sorted(["pre_dose", "at_40_min", "pre_discharge"])
