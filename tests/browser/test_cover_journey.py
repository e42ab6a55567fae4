"""A clinician calls in sick: front desk opens Clinician cover in a real browser, lists the day, hands the sessions
that a colleague can take to that colleague and is sent to reschedule the one nobody can. Every page passes
axe-core."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from tests.browser.test_front_desk_journey import DESKTOP, see
from tests.support import PASSWORD, assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

START = datetime(2027, 3, 1, 12, 30, tzinfo=UTC)  # Mon, Mar 1, 2027, 7:30 AM EST


def test_front_desk_hands_a_sick_clinicians_day_to_colleagues(new_page, live_server, front_desk):
    import time_machine

    from scheduling import services
    from scheduling.models import Appointment
    from tests.factories import A_WEDNESDAY, build_clinic, local, make_patient, treatment_type

    with time_machine.travel(START, tick=True):
        iv = treatment_type("iv-ketamine")
        location, chairs, _room, clinicians = build_clinic(chairs=3, clinicians=2)
        absent, colleague = clinicians

        def book(first, last, hour, chair, clinician):
            return services.book_appointment(
                patient=make_patient(first=first, last=last, location=location), treatment_type=iv,
                location=location, start=local(A_WEDNESDAY, hour), resource=chairs[chair], clinician=clinician,
                booked_by=front_desk, now=START,
            )  # fmt: skip

        coverable = book("Nia", "Brook", 9, 0, absent)
        stuck = book("Theo", "Marsh", 13, 0, absent)
        book("Una", "Vale", 13, 1, colleague)  # the colleague is dosing someone else at 13:00

        desk = new_page(viewport=DESKTOP)
        sign_in(desk, front_desk.email, PASSWORD)
        desk.get_by_role("navigation", name="Front desk").get_by_role("link", name="Clinician cover").click()
        desk.get_by_role("heading", name="Clinician cover").wait_for()
        assert_accessible(desk)
        desk.get_by_label("Clinician away").select_option(label=str(absent))
        desk.get_by_label("From").fill("2027-03-03")
        desk.get_by_label("To (included)").fill("2027-03-03")
        desk.get_by_role("button", name="Show their sessions").click()
        see(desk, "Nia Brook")
        see(desk, "Nobody is free then")
        assert_accessible(desk)
        if os.environ.get("COVER_SCREENSHOT"):
            desk.screenshot(path=os.environ["COVER_SCREENSHOT"], full_page=True)

        desk.get_by_role("button", name="Hand over the ticked sessions").click()
        see(desk, "Handed over 1 session")
        assert_accessible(desk)
        assert Appointment.objects.get(pk=coverable.pk).clinician_id == colleague.pk
        assert Appointment.objects.get(pk=stuck.pk).clinician_id == absent.pk

        desk.get_by_role("row", name="Theo Marsh").get_by_role("link", name="Reschedule").click()
        desk.get_by_role("heading", name="Reschedule session").wait_for()
        assert f"/appointments/{stuck.pk}/reschedule/" in desk.url
