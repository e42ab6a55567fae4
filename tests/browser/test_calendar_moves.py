"""Front desk works the day grid in a real browser: books a session by clicking an empty cell, moves it by dragging
and by keyboard (M, the arrow keys, Enter), sees another desk's booking appear without a reload, sees a move that
clashes shown on the grid (the session in the way and the free cells marked), and books a series from its preview
on the calendar, whose blocks the keyboard reaches one by one in time order, each said as one item and readable at
1280 and at 390 px. Axe-clean at 1280, 1024 and 390 px.

The clock is Mon, Mar 1, 2027, 07:30 in New York (and ticks): today's sessions are still ahead.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from tests.browser.test_front_desk_journey import DESKTOP, see
from tests.support import PASSWORD, assert_accessible, assert_times_inside, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)  # Mon, Mar 1, 2027, 7:30 AM EST
TODAY = date(2027, 3, 1)


def test_front_desk_moves_sessions_on_the_grid_and_books_a_series_from_its_preview(
    new_page, live_server, front_desk
):
    import time_machine
    from playwright.sync_api import expect

    from scheduling import services
    from scheduling.models import Appointment
    from tests.factories import build_clinic, local, make_patient, treatment_type

    with time_machine.travel(START, tick=True):
        iv = treatment_type("iv-ketamine")
        location, chairs, _room, clinicians = build_clinic(chairs=3, clinicians=2)
        robin = make_patient(first="Robin", last="Mover", location=location)
        sam = make_patient(first="Sam", last="Otherdesk", location=location)
        sera = make_patient(first="Sera", last="Series", location=location)

        desk = new_page(viewport=DESKTOP)
        navigations: list[str] = []
        sign_in(desk, front_desk.email, PASSWORD)
        desk.get_by_role("heading", name="Mon, Mar 1, 2027").wait_for()
        desk.on("framenavigated", lambda f: navigations.append(f.url) if f == desk.main_frame else None)
        grid = desk.locator("#day-live .day-grid")

        # Book by clicking a cell: Chair 1 at 9:00.
        desk.get_by_role("link", name=f"Book {chairs[0].name} at 9:00 AM").click()
        panel = desk.locator("#book-panel")
        panel.get_by_label("Treatment").select_option(str(iv.pk))
        panel.get_by_label("Patient: name, email or phone").press_sequentially("mover", delay=40)
        panel.get_by_label("Mover, Robin").check()
        see(desk, "Clear to book")
        panel.get_by_role("button", name="Book", exact=True).click()
        see(desk, "Booked IV ketamine infusion for Robin Mover")
        session = Appointment.objects.get(patient=robin)
        desk.keyboard.press("Escape")
        robin_block = grid.locator("a.appt", has_text="Robin Mover")
        # The booking asks the grid for an immediate refresh; its block appears only once the new grid is in, so no
        # swap is still on its way to detach the cells used below.
        robin_block.wait_for()

        # Drag it to Chair 2 at 11:00. With today's arrivals listed above the grid, that cell starts below the fold:
        # scrolled to first, as a person would, since Playwright scrolling it into view between pressing and moving
        # the mouse starts the drag from whatever the page brought under the pointer instead.
        chair_2_at_11 = desk.get_by_role("link", name=f"Book {chairs[1].name} at 11:00 AM")
        chair_2_at_11.scroll_into_view_if_needed()
        robin_block.drag_to(chair_2_at_11)
        see(desk, "Moved Robin Mover")
        session.refresh_from_db()
        assert (session.resource, session.start_at) == (chairs[1], local(TODAY, 11))
        assert session.clinician == clinicians[0]  # kept: free then
        robin_block.filter(has_text="11:00 AM–1:00 PM").wait_for()  # the grid as it is now

        # By keyboard: focus it, M, then a cell with the arrow keys (the free cells of its row first), Enter.
        robin_block.focus()
        desk.keyboard.press("m")
        see(desk, "choose an empty cell with the arrow keys")
        assert desk.evaluate("document.activeElement.textContent") == f"Book {chairs[0].name} at 11:00 AM"
        desk.keyboard.press("ArrowRight")
        for _ in range(4):
            desk.keyboard.press("ArrowDown")
        assert desk.evaluate("document.activeElement.textContent") == f"Book {chairs[2].name} at 12:00 PM"
        assert_accessible(desk)
        desk.keyboard.press("Enter")
        see(desk, "to Mon, Mar 1, 2027, 12:00 PM EST")
        session.refresh_from_db()
        assert (session.resource, session.start_at) == (chairs[2], local(TODAY, 12))
        assert desk.locator("#book-panel").is_hidden()  # a move, not a new booking
        robin_block.filter(has_text="12:00 PM–2:00 PM").wait_for()
        # Focus follows the session to its new place: the keyboard carries on from it.
        desk.wait_for_function(
            "document.activeElement.matches('a.appt') && document.activeElement.textContent.includes('12:00 PM')"
        )

        # Another desk books Sam in Chair 2 at 2:00 PM: it appears without a reload.
        other = services.book_appointment(
            patient=sam, treatment_type=iv, location=location, start=local(TODAY, 14), resource=chairs[1],
            clinician=clinicians[1], booked_by=front_desk, now=START,
        )  # fmt: skip
        sam_block = grid.locator("a.appt", has_text="Sam Otherdesk")
        sam_block.wait_for(timeout=15_000)

        # A move that clashes: Robin's two hours from 1:00 PM in Chair 2 run into Sam's. Nothing moves; the grid
        # marks Sam's session as in the way and the free cells instead.
        robin_block.drag_to(desk.get_by_role("link", name=f"Book {chairs[1].name} at 1:00 PM"))
        see(desk, "Not moved, that time is taken")
        desk.locator(f"#day-live a.appt.move-clash[href$='/{other.pk}/']").wait_for()
        assert desk.locator("#day-live a.slot-free.move-free").count() >= 1
        session.refresh_from_db()
        assert (session.resource, session.start_at) == (chairs[2], local(TODAY, 12))
        assert_accessible(desk)
        desk.set_viewport_size({"width": 1024, "height": 800})
        assert desk.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(desk)
        assert navigations == [], f"the page was reloaded: {navigations}"

        # A series, previewed on the calendar before it is booked, then booked all at once. Another patient has
        # Chair 1 on the first Wednesday afternoon: the preview shows it taken, beside the proposed morning session.
        services.book_appointment(
            patient=make_patient(first="Otto", last="Other", location=location), treatment_type=iv,
            location=location, start=local(date(2027, 3, 3), 13), resource=chairs[0], clinician=clinicians[1],
            booked_by=front_desk, now=START,
        )  # fmt: skip
        desk.goto(f"/front-desk/patients/{sera.pk}/series/")
        desk.get_by_label("Treatment").select_option(str(iv.pk))
        desk.get_by_role("button", name="Propose the sessions").click()
        desk.get_by_role("heading", name="On the calendar").wait_for()
        ghosts = desk.locator("[data-ghost]")
        assert ghosts.count() == 6
        # Each ghost is sized by its proposed time as the week grid sizes sessions: all two-hour infusions at 9:00,
        # each wide enough to read (its times on at most two lines) and wholly inside its block.
        assert all("tc-s5 tc-w8" in (ghosts.nth(n).get_attribute("class") or "") for n in range(6))
        widths = [ghosts.nth(n).bounding_box()["width"] for n in range(6)]
        assert max(widths) - min(widths) < 2 and min(widths) >= 100, widths
        assert_times_inside(ghosts.first)
        assert not Appointment.objects.filter(patient=sera).exists()
        assert desk.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(desk)

        # By keyboard, from the preview's scrolling region: every block in time order, each one item that says what
        # it is (a proposed session's day, times, chair and clinician; the taken time, without the other patient),
        # with a visible focus ring.
        clinician = f"({'|'.join(re.escape(str(c)) for c in clinicians)})"
        proposed = [
            ("Wed, Mar 3, 2027", "EST"), ("Fri, Mar 5, 2027", "EST"), ("Mon, Mar 8, 2027", "EST"),
            ("Wed, Mar 10, 2027", "EST"), ("Fri, Mar 12, 2027", "EST"), ("Mon, Mar 15, 2027", "EDT"),
        ]  # fmt: skip
        expected = [
            re.compile(
                rf"Proposed session {n}: {re.escape(day)}, 9:00 AM–11:00 AM {zone}, Chair 1 with {clinician}"
            )
            for n, (day, zone) in enumerate(proposed, start=1)
        ]
        expected.insert(1, re.compile(re.escape("Chair 1: taken, Wed, Mar 3, 2027, 1:00 PM–3:00 PM EST")))
        desk.get_by_role("region", name="The proposed series by week").focus()
        for name in expected:
            desk.keyboard.press("Tab")
            focused = desk.locator(":focus")
            expect(focused).to_have_role("group")
            expect(focused).to_have_accessible_name(name)
            assert focused.evaluate("e => parseFloat(getComputedStyle(e).outlineWidth) >= 2"), name
        assert "Otto" not in desk.locator("section[aria-labelledby=series-calendar-heading]").inner_text()
        desk.keyboard.press("Tab")  # past the last block: out of the preview
        assert desk.evaluate("!document.activeElement.closest('.series-calendar')")
        assert_accessible(desk)

        # On a phone the days stack their blocks as cards, each a readable width.
        desk.set_viewport_size({"width": 390, "height": 844})
        widths = [ghosts.nth(n).bounding_box()["width"] for n in range(6)]
        assert min(widths) >= 160, widths
        assert_times_inside(ghosts.first)
        assert desk.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        assert_accessible(desk)
        desk.set_viewport_size(DESKTOP)
        desk.get_by_role("button", name="Book all 6 sessions").click()
        see(desk, "Booked 6 sessions")
        assert Appointment.objects.filter(patient=sera, series__isnull=False).count() == 6
