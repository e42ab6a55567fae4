"""A Spravato session in a real browser, from check-in to the REMS Patient Monitoring Form: front desk checks the
patient in and fills the checklist; the clinician records the pre-dose vitals, plans 56 mg, starts dosing, records
the first device; the server's clock moves on (the live server runs in this process, so time-machine moves its
clock too) in 10-minute steps while both browsers keep their staff sessions alive; discharge is refused before the
label's 120 minutes and allowed at 120; the clinician completes the REMS form, marks it sent and downloads its PDF.
Every page passes axe-core.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support import PASSWORD, assert_accessible, pdf_text, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"width": 1280, "height": 900}
START = datetime(2027, 3, 3, 13, 30, tzinfo=UTC)  # Wed, Mar 3, 2027, 8:30 AM EST; the session is at 09:00


def see(page, text: str) -> None:
    """Wait until ``text`` shows; on failure, say what the page showed instead."""
    try:
        page.get_by_text(text).first.wait_for(timeout=10_000)
    except Exception as exc:  # noqa: BLE001 (re-raised with the page's words)
        shown = page.locator("main").inner_text() if page.locator("main").count() else page.content()
        raise AssertionError(f"{text!r} not shown on {page.url}:\n{shown[:3000]}") from exc


def test_a_spravato_session_from_check_in_to_the_rems_pdf(new_page, live_server, front_desk):
    import time_machine

    from scheduling import services
    from scheduling.models import RemsEnrollment, RemsMonitoringForm, SessionRecord, VitalSigns
    from tests.factories import build_clinic, make_patient, rescreen, treatment_type

    with time_machine.travel(START, tick=True) as traveller:
        spravato = treatment_type("spravato-56")
        location, chairs, _room, clinicians = build_clinic(chairs=1)
        location.address = "1 Harbor Way\nBoston, MA 02118"
        location.phone = "+16175550100"
        location.save(update_fields=["address", "phone"])
        doctor = clinicians[0].user
        patient = make_patient(first="Remy", last="Spray", location=location)
        patient.date_of_birth = date(1979, 4, 2)
        patient.save(update_fields=["date_of_birth"])
        RemsEnrollment.objects.create(
            patient=patient, enrolled_on=date(2027, 2, 1), rems_patient_id="RP-9001"
        )
        appointment = services.book_appointment(
            patient=patient, treatment_type=spravato, location=location,
            start=datetime(2027, 3, 3, 14, 0, tzinfo=UTC), resource=chairs[0], clinician=clinicians[0],
            booked_by=front_desk, now=START,
        )  # fmt: skip
        rescreen(patient, now=START)  # low risk, from home this morning
        session_url = f"/front-desk/appointments/{appointment.pk}/session/"
        heading = "Session day: Spravato 56 mg"

        # --- Front desk checks the patient in -----------------------------------------------------------------
        desk = new_page(viewport=DESKTOP)
        sign_in(desk, front_desk.email, PASSWORD)
        desk.goto(session_url)
        desk.get_by_role("heading", name=heading).wait_for()
        assert_accessible(desk)
        see(desk, "monitoring at least 120 minutes after administration")
        desk.get_by_role("button", name="Check in").click()
        see(desk, "Marked checked in")
        desk.get_by_label("Escort or driver's name").fill("Jo Driver")
        desk.get_by_label("Escort or driver's phone").fill("+1 617 555 0123")
        desk.get_by_label("Escort or driver confirmed").check()
        desk.get_by_label("Fasting confirmed").check()
        desk.get_by_role("button", name="Save checklist").click()
        see(desk, "Checklist saved.")
        see(desk, "A clinician records the planned dose (checked before dosing).")
        assert_accessible(desk)

        # --- The clinician: vitals, the planned dose, dosing ------------------------------------------------
        doc = new_page(viewport=DESKTOP)
        sign_in(doc, doctor.email, PASSWORD)
        doc.goto(session_url)
        doc.get_by_role("heading", name=heading).wait_for()

        def vitals(phase_label: str, bp: tuple[int, int]) -> None:
            assert doc.get_by_label("When").locator("option:checked").inner_text() == phase_label
            doc.get_by_label("Systolic BP (mmHg)").fill(str(bp[0]))
            doc.get_by_label("Diastolic BP (mmHg)").fill(str(bp[1]))
            doc.get_by_label("Heart rate (beats per minute)").fill("74")
            doc.get_by_label("SpO2 (%)").fill("98")
            doc.get_by_role("button", name="Save vitals").click()
            see(doc, f"Vitals saved: BP {bp[0]}/{bp[1]}")

        def wait_minutes(minutes: int) -> None:
            """The server's clock moves on 10 minutes at a time; both browsers open the session page after each
            step, as the team would, so neither staff session reaches its idle limit."""
            for _ in range(minutes // 10):
                traveller.shift(timedelta(minutes=10))
                for page in (desk, doc):
                    page.goto(session_url)
                    page.get_by_role("heading", name=heading).wait_for()

        vitals("Before dosing", (132, 84))
        assert doc.get_by_label("56 mg (2 devices)").is_checked()  # the booked dose is offered
        doc.get_by_role("button", name="Record the planned dose").click()
        see(doc, "Planned dose recorded: 56 mg.")
        assert_accessible(doc)
        doc.get_by_role("button", name="Start the session (dosing)").click()
        see(doc, "Marked in session")
        assert doc.get_by_label("Dose given (mg)").input_value() == "56.0"
        doc.get_by_label("Lot number").fill("SPR-0303")
        doc.get_by_role("button", name="Record the dose").click()
        see(doc, "Dose recorded: 56 mg, as planned.")
        doc.get_by_label("Dissociation (CADSS total, 0-92)").fill("8")
        doc.get_by_label("Sedation (MOAA/S, 0-5, 5 = awake)").fill("4")
        doc.get_by_role("button", name="Save scores").click()
        see(doc, "Scores saved.")
        assert_accessible(doc)

        # --- Forty minutes on: the reading at the blood-pressure peak, then recovery ------------------------
        wait_minutes(40)
        vitals("About 40 minutes after dosing", (146, 90))
        doc.get_by_role("button", name="Dosing finished: start recovery").click()
        see(doc, "Marked recovering")
        wait_minutes(70)  # 110 minutes after the first device
        vitals("Before discharge", (124, 80))
        assert_accessible(doc)

        # --- Discharge: refused before 120 minutes, allowed at 120 --------------------------------------------
        desk.goto(session_url)
        see(desk, "Monitoring must last at least 120 minutes after administration; 110 minutes so far.")
        see(desk, "Only a clinician can discharge before the minimum time")
        desk.get_by_label("The escort or driver is here to take the patient home").check()
        desk.get_by_role("button", name="Discharge").click()
        see(desk, "The patient cannot be discharged yet.")
        assert_accessible(desk)
        wait_minutes(10)
        desk.get_by_label("The escort or driver is here to take the patient home").check()
        desk.get_by_role("button", name="Discharge").click()
        see(desk, "Discharged.")
        assert_accessible(desk)

        # --- The summary and the REMS Patient Monitoring Form ------------------------------------------------
        doc.goto(f"/front-desk/appointments/{appointment.pk}/session/summary/")
        see(doc, "minutes from administration to discharge")
        assert_accessible(doc)
        doc.goto(f"/front-desk/appointments/{appointment.pk}/rems-form/")
        doc.get_by_role(
            "heading", name="SPRAVATO® REMS Patient Monitoring Form (outpatient use only)"
        ).wait_for()
        assert_accessible(doc)
        assert doc.get_by_label("Dose administered (mg)").input_value() == "56"
        assert doc.get_by_label("Lot number").input_value() == "SPR-0303"

        def answer(question: str, choice: str) -> None:
            doc.get_by_role("group", name=question, exact=True).get_by_label(choice, exact=True).check()

        doc.get_by_label("Sex", exact=True).select_option("female")
        for question in ("Benzodiazepines", "Non-benzodiazepine sedative hypnotics", "Psychostimulants",
                         "Monoamine oxidase inhibitors (MAOIs)", "Opioids"):  # fmt: skip
            answer(question, "No")
        doc.get_by_label("Ready to leave (minutes from start of administration)").fill("90")
        answer("Did the patient experience sedation?", "Yes")
        answer("Did the patient experience dissociation?", "Yes")
        answer("Did the patient experience respiratory depression?", "No")
        answer("Did the patient experience any adverse event?", "No")
        doc.get_by_role("button", name="Save the form").click()
        doc.wait_for_load_state()
        # The follow-up questions are asked once their question is answered yes.
        answer("If yes: had the sedation resolved before the patient left?", "Yes")
        answer("If yes: had the dissociation resolved before the patient left?", "Yes")
        doc.get_by_role("button", name="Save the form").click()
        doc.wait_for_load_state()
        assert "required answer" not in doc.locator("main").inner_text(), doc.locator("main").inner_text()[
            :3000
        ]
        assert_accessible(doc)
        doc.get_by_role("button", name="Mark sent to the REMS").click()
        doc.wait_for_load_state()
        assert_accessible(doc)
        doc.goto(f"/front-desk/appointments/{appointment.pk}/rems-form/")
        see(doc, "Marked sent")
        assert_accessible(doc)
        with doc.expect_download() as download:
            doc.get_by_role("link", name="Download the PDF").click()
        text = pdf_text(open(download.value.path(), "rb").read())  # noqa: PTH123, SIM115

    # --- What the database and the PDF hold ----------------------------------------------------------------
    record = SessionRecord.objects.get(appointment=appointment)
    assert (record.plan_dose_mg, record.dose_mg, record.lot_number) == (56, 56, "SPR-0303")
    assert record.discharge_override_at is None
    phases = sorted(VitalSigns.objects.filter(appointment=appointment).values_list("phase", flat=True))
    assert phases == sorted(["pre_dose", "at_40_min", "pre_discharge"])
    form = RemsMonitoringForm.objects.get(appointment=appointment)
    assert form.submitted_by == doctor and form.submitted_at is not None
    total = int((form.monitoring_completed_at - form.first_administration_at).total_seconds() // 60)
    assert total >= 120
    for expected in ("Remy", "Spray", "04/02/1979", "RP-9001", "03/03/2027", "SPR-0303", "132/84", "146/90",
                     "124/80", "1 Harbor Way", "Boston", "02118", str(total)):  # fmt: skip
        assert expected in text, expected
