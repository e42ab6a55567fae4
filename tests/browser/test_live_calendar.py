"""Front desk's live calendar in a real browser: book a session by clicking an empty cell of the day view (a patient
found as the desk types, the gates' verdict before Book), then see another desk's booking appear without a reload.
The patient's name never leaves the browser in an address. Every state passes axe-core, at 1280 and 1024 px, and
the top navigation stays on one line at 1366 px.

The clock is Mon, Mar 1, 2027, 07:30 in New York (and ticks): today's 09:00 is still ahead.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest

from tests.browser.test_front_desk_journey import DESKTOP, see
from tests.support import PASSWORD, assert_accessible, assert_navigation_on_one_line, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)  # Mon, Mar 1, 2027, 7:30 AM EST
TODAY = date(2027, 3, 1)


def test_front_desk_books_from_a_cell_and_sees_another_desks_booking_live(new_page, live_server, front_desk):
    import time_machine

    from scheduling import services
    from scheduling.models import Appointment
    from tests.factories import build_clinic, local, make_patient, treatment_type

    with time_machine.travel(START, tick=True):
        iv = treatment_type("iv-ketamine")
        location, chairs, _room, clinicians = build_clinic(chairs=3, clinicians=2)
        patient = make_patient(first="Robin", last="Journeyman", location=location)
        # Robin is a returning patient: an infusion a month ago, so the panel chooses IV ketamine for them.
        services.book_appointment(
            patient=patient, treatment_type=iv, location=location, start=local(date(2027, 2, 1), 9),
            resource=chairs[0], clinician=clinicians[0], booked_by=front_desk, now=datetime(2027, 1, 25, tzinfo=UTC),
        )  # fmt: skip
        other = make_patient(first="Sam", last="Otherdesk", location=location)

        desk = new_page(viewport=DESKTOP)
        addresses: list[str] = []
        desk.on("request", lambda request: addresses.append(request.url))
        navigations: list[str] = []
        polls: list[int] = []
        desk.on(
            "response",
            lambda response: polls.append(response.status) if "/day/live/" in response.url else None,
        )
        sign_in(desk, front_desk.email, PASSWORD)
        desk.get_by_role("heading", name="Mon, Mar 1, 2027").wait_for()
        desk.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == desk.main_frame else None,
        )

        # Click 1: the empty cell, Chair 2 at 09:00.
        desk.get_by_role("link", name=f"Book {chairs[1].name} at 9:00 AM").click()
        panel = desk.locator("#book-panel")
        panel.get_by_role("heading", name=f"Book {chairs[1].name}").wait_for()
        assert_accessible(desk)
        # The search completes as the desk types (no button pressed).
        panel.get_by_label("Patient: name, email or phone").press_sequentially("journ", delay=40)
        panel.get_by_label("Journeyman, Robin").check()  # click 2
        see(desk, "Clear to book")
        assert panel.get_by_label("Treatment").input_value() == str(iv.pk)  # their usual treatment, chosen
        if os.environ.get("LIVE_CALENDAR_SCREENSHOT"):
            desk.screenshot(path=os.environ["LIVE_CALENDAR_SCREENSHOT"])
        assert_accessible(desk)
        panel.get_by_role("button", name="Book", exact=True).click()  # click 3
        see(desk, "Booked IV ketamine infusion for Robin Journeyman")
        booked = Appointment.objects.get(patient=patient, start_at__gte=START)
        assert booked.resource == chairs[1]
        assert booked.start_at == local(TODAY, 9)
        desk.locator("#day-live .day-grid").get_by_text("Robin Journeyman").first.wait_for()

        # Another desk books through the service; it appears here without a reload.
        services.book_appointment(
            patient=other, treatment_type=iv, location=location, start=local(TODAY, 13), resource=chairs[2],
            clinician=clinicians[1], booked_by=front_desk, now=START,
        )  # fmt: skip
        desk.locator("#day-live .day-grid").get_by_text("Sam Otherdesk").first.wait_for(timeout=15_000)
        assert navigations == [], f"the page was reloaded: {navigations}"
        assert 200 in polls, polls  # the poll brought the changed grid
        desk.get_by_role("link", name="Close the booking panel").click()
        assert desk.locator("#book-panel").is_hidden()

        # Two desks, one cell: this desk has the verdict, the other books first; Book answers with the clash.
        # (Another patient: Robin has had today's one infusion.)
        later = make_patient(first="Pat", last="Laterbook", location=location)
        desk.get_by_role("link", name=f"Book {chairs[0].name} at 3:00 PM").click()
        panel.get_by_label("Treatment").select_option(str(iv.pk))  # a new patient has no usual treatment
        panel.get_by_label("Patient: name, email or phone").press_sequentially("laterb", delay=40)
        panel.get_by_label("Laterbook, Pat").check()
        see(desk, "Clear to book")
        third = make_patient(first="Tess", last="Quicker", location=location)
        services.book_appointment(
            patient=third, treatment_type=iv, location=location, start=local(TODAY, 15), resource=chairs[0],
            booked_by=front_desk, now=START,
        )  # fmt: skip
        panel.get_by_role("button", name="Book", exact=True).click()
        see(desk, f"{chairs[0].name} is not free for IV ketamine infusion")
        assert Appointment.objects.filter(patient=later, start_at=local(TODAY, 15)).count() == 0
        assert_accessible(desk)
        desk.keyboard.press("Escape")

        # The patient's name never went into an address (the search is posted).
        assert not [url for url in addresses if "journ" in url.lower()], addresses

        # 1024 px: the grid and the open panel still work; the page does not scroll sideways.
        desk.set_viewport_size({"width": 1024, "height": 800})
        desk.get_by_role("link", name=f"Book {chairs[0].name} at 10:00 AM").click()
        desk.locator("#book-panel").get_by_role("heading", name=f"Book {chairs[0].name}").wait_for()
        assert desk.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(desk)
        desk.keyboard.press("Escape")
        assert desk.locator("#book-panel").is_hidden()

        # 1366 px: the top navigation is one line.
        desk.set_viewport_size({"width": 1366, "height": 800})
        assert_navigation_on_one_line(desk)
        # The account's links open from the person's name.
        assert not desk.get_by_role("button", name="Sign out", exact=True).is_visible()
        desk.locator(".account-menu > summary").click()
        desk.get_by_role("button", name="Sign out", exact=True).wait_for()
        assert_accessible(desk)


@pytest.mark.parametrize("persona", ["clinician", "clinic_admin"])
def test_every_staff_navigation_is_one_line_at_1366(new_page, live_server, request, persona):
    import time_machine

    from tests.factories import build_clinic

    with time_machine.travel(START, tick=True):
        build_clinic(chairs=1, clinicians=1)
        person = request.getfixturevalue(persona)
        page = new_page(viewport={"width": 1366, "height": 800})
        sign_in(page, person.email, PASSWORD)
        page.goto("/front-desk/")  # clinic admins land in the admin, which has a header of its own
        page.locator("#main-nav").wait_for()
        assert_navigation_on_one_line(page)


def test_the_grid_is_keyboard_operable(new_page, live_server, front_desk):
    import time_machine

    from tests.factories import build_clinic, make_patient

    with time_machine.travel(START, tick=True):
        location, chairs, _room, _clinicians = build_clinic(chairs=2, clinicians=1)
        make_patient(first="Kim", last="Keys", location=location)
        desk = new_page(viewport=DESKTOP)
        sign_in(desk, front_desk.email, PASSWORD)
        desk.get_by_role("heading", name="Mon, Mar 1, 2027").wait_for()
        # One tab stop for the free cells: the first one; the arrow keys move between them.
        first = desk.locator("a[data-slot][tabindex='0']")
        assert first.count() == 1
        first.focus()
        desk.keyboard.press("ArrowRight")
        desk.keyboard.press("ArrowDown")
        focused = desk.evaluate("document.activeElement.textContent")
        assert focused == f"Book {chairs[1].name} at 8:15 AM", focused
        desk.keyboard.press("Enter")
        search = desk.get_by_label("Patient: name, email or phone")
        search.wait_for()
        assert desk.evaluate("document.activeElement.id") == "book-q"
        desk.keyboard.press("Escape")
        assert desk.evaluate("document.activeElement.textContent") == f"Book {chairs[1].name} at 8:15 AM"
