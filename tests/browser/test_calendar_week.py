"""Front desk's calendar beyond booking, in a real browser: a no-show marked from the day view's arrivals, the day by
clinician (a free cell books that clinician, by keyboard), and the week as a grid of chairs by day, each session a
block placed and sized by its time and wide enough to read at 1280 and at 390 px, that shows another desk's booking
without a reload. Every state passes axe-core; at 1024 and 390 px the page does not scroll sideways (the grid scrolls
inside its region).

The clock is Mon, Mar 1, 2027, 09:30 in New York (and ticks): today's 09:00 session has started."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.browser.test_front_desk_journey import DESKTOP, see
from tests.support import PASSWORD, assert_accessible, assert_times_inside, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = datetime(2027, 3, 1, 14, 30, tzinfo=UTC)  # Mon, Mar 1, 2027, 9:30 AM EST
TODAY = date(2027, 3, 1)


def test_no_show_from_the_day_and_a_live_week_grid(new_page, live_server, front_desk):
    import time_machine

    from scheduling import services
    from scheduling.models import Appointment
    from tests.factories import build_clinic, local, make_patient, treatment_type

    with time_machine.travel(START, tick=True):
        iv = treatment_type("iv-ketamine")
        location, chairs, _room, clinicians = build_clinic(chairs=3, clinicians=2)
        earlier = datetime(2027, 2, 20, tzinfo=UTC)
        missing = make_patient(first="Nora", last="Noshow", location=location)
        late = services.book_appointment(
            patient=missing, treatment_type=iv, location=location, start=local(TODAY, 9), resource=chairs[0],
            clinician=clinicians[0], booked_by=front_desk, now=earlier,
        )  # fmt: skip
        services.book_appointment(
            patient=make_patient(first="Kai", last="Coming", location=location), treatment_type=iv,
            location=location, start=local(TODAY, 11), resource=chairs[1], clinician=clinicians[1],
            booked_by=front_desk, now=earlier,
        )  # fmt: skip
        services.book_appointment(
            patient=make_patient(first="Wes", last="Wednesday", location=location), treatment_type=iv,
            location=location, start=local(date(2027, 3, 3), 10), resource=chairs[1], clinician=clinicians[1],
            booked_by=front_desk, now=earlier,
        )  # fmt: skip
        services.book_appointment(
            patient=make_patient(first="Cora", last="Consult", location=location),
            treatment_type=treatment_type("consultation"), location=location, start=local(date(2027, 3, 3), 14),
            resource=_room, clinician=clinicians[0], booked_by=front_desk, now=earlier,
        )  # fmt: skip
        cal = make_patient(first="Cal", last="Clinview", location=location)

        desk = new_page(viewport=DESKTOP)
        polls: list[int] = []
        desk.on("response", lambda r: polls.append(r.status) if "/week/live/" in r.url else None)
        sign_in(desk, front_desk.email, PASSWORD)
        desk.get_by_role("heading", name="Mon, Mar 1, 2027").wait_for()

        # From the day view: Nora has not come; the desk marks the no-show in one click.
        arrivals = desk.locator(".day-actions")
        arrivals.get_by_role("heading", name="Arrivals today").wait_for()
        assert_accessible(desk)
        arrivals.get_by_role("button", name="No-show Nora Noshow").click()
        see(desk, "Marked as a no-show")
        late.refresh_from_db()
        assert late.status == Appointment.Status.NO_SHOW
        desk.get_by_role("heading", name="Cancelled and no-shows on this day").wait_for()

        # The day by clinician: Kai's dosing window in their clinician's column.
        desk.get_by_role("link", name="By clinician").click()
        desk.get_by_role("columnheader", name=str(clinicians[1])).wait_for()
        desk.locator("#day-live .day-grid").get_by_text("11:15 AM–12:00 PM").wait_for()
        assert_accessible(desk)

        # A free cell of a clinician's column books that clinician (Enter on the focused cell, as on the chair view);
        # the first free chair is left to the booking checks.
        cell = desk.get_by_role("link", name=f"Book {clinicians[0]} at 2:00 PM")
        cell.focus()
        desk.keyboard.press("Enter")
        panel = desk.locator("#book-panel")
        panel.get_by_role("heading", name=f"Book with {clinicians[0]}").wait_for()
        assert panel.get_by_label("Clinician").input_value() == str(clinicians[0].pk)
        panel.get_by_label("Treatment").select_option(str(iv.pk))
        panel.get_by_label("Patient: name, email or phone").press_sequentially("clinview", delay=40)
        panel.get_by_label("Clinview, Cal").check()
        see(desk, "Clear to book")
        assert_accessible(desk)
        panel.get_by_role("button", name="Book", exact=True).click()
        see(desk, "Booked IV ketamine infusion for Cal Clinview")
        booked = Appointment.objects.get(patient=cal)
        assert (booked.clinician, booked.start_at) == (clinicians[0], local(TODAY, 14))
        assert booked.resource in chairs
        desk.keyboard.press("Escape")
        desk.locator("#day-live .day-grid a.appt", has_text="Cal Clinview").wait_for()

        # The week: a grid of chairs by day, live.
        desk.goto(f"/front-desk/week/?location={location.pk}&start=2027-03-01")
        grid = desk.locator("#week-live .week-grid")
        grid.get_by_text("Wes Wednesday").wait_for()
        assert_accessible(desk)
        # Each block is placed and sized by its time on the day's strip (08:00-18:00 in 15-minute columns): Wes's
        # two-hour infusion from 10:00 spans twice the columns of Cora's one-hour consultation at 2:00 PM, which
        # starts at a later column; drawn so, too.
        wes = grid.locator("a.tblock", has_text="Wes Wednesday")
        cora = grid.locator("a.tblock", has_text="Cora Consult")
        wes_at, cora_at = (
            (int(block.get_attribute("data-column")), int(block.get_attribute("data-span")))
            for block in (wes, cora)
        )
        assert wes_at == (9, 8) and cora_at == (25, 4), (wes_at, cora_at)
        assert "tc-s9" in wes.get_attribute("class") and "tc-w8" in wes.get_attribute("class")
        wes_box, cora_box = wes.bounding_box(), cora.bounding_box()
        assert abs(wes_box["width"] - 2 * cora_box["width"]) < 4, (wes_box, cora_box)
        assert cora_box["x"] > wes_box["x"] + wes_box["width"]
        assert "Dosing 10:15 AM–11:00 AM" in (wes.get_attribute("title") or "")  # its parts, in words
        # Readable: a two-hour block is wide enough for its times (on at most two lines), drawn wholly inside it.
        assert wes_box["width"] >= 100, wes_box
        assert_times_inside(wes)
        navigations: list[str] = []
        desk.on("framenavigated", lambda f: navigations.append(f.url) if f == desk.main_frame else None)
        services.book_appointment(
            patient=make_patient(first="Tia", last="Thursday", location=location), treatment_type=iv,
            location=location, start=local(date(2027, 3, 4), 11), resource=chairs[2], clinician=clinicians[0],
            booked_by=front_desk, now=START,
        )  # fmt: skip
        grid.get_by_text("Tia Thursday").wait_for(timeout=15_000)
        assert navigations == [], f"the page was reloaded: {navigations}"
        assert 304 in polls or 200 in polls, polls

        desk.set_viewport_size({"width": 1024, "height": 800})
        assert desk.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(desk)

        # On a phone each day stacks its blocks as cards in time order, each a readable width.
        desk.set_viewport_size({"width": 390, "height": 844})
        assert wes.bounding_box()["width"] >= 160, wes.bounding_box()
        assert_times_inside(wes)
        assert desk.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(desk)
