"""A series proposal shown on the calendar before it is booked: each proposed session a ghost block on its day
(a week a row), the patient's sessions already booked beside them; nothing is written until Book all, which books
every session or none."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.urls import reverse

from scheduling.models import Appointment
from tests.factories import local, make_patient

pytestmark = pytest.mark.django_db

MONDAY_MORNING = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
FORM = {
    "template": "iv_ketamine_induction",
    "start_date": "2027-03-08",
    "weekdays": ["0", "2", "4"],
    "local_time": "09:00",
}


@pytest.fixture(autouse=True)
def _fixed_clock():
    with time_machine.travel(MONDAY_MORNING, tick=False):
        yield


def ghosts(html: str) -> list[str]:
    return re.findall(r"<div class=\"appt appt-ghost[^\"]*\" data-ghost[^>]*>(.*?)</div>", html, re.S)


def test_every_proposed_session_is_a_ghost_on_its_day_and_book_all_books_them(
    client, front_desk, clinic, book
):
    client.force_login(front_desk)
    patient = make_patient(first="Sera", last="Ghost", location=clinic.location)
    # Already booked on the first week's Sunday: shown beside the ghosts, not as one of them.
    book(patient, local(date(2027, 3, 14), 13), chair=2)
    form = {**FORM, "treatment_type": clinic.iv.pk, "location": clinic.location.pk}
    page = client.post(reverse("scheduling:book_series", args=[patient.pk]), form)
    assert page.status_code == 200
    html = page.content.decode()
    shown = ghosts(html)
    assert len(shown) == 6, shown
    assert all("Proposed session" in ghost and "9:00 AM" in ghost for ghost in shown)
    assert "Week of" in html and "Mon, Mar 8, 2027" in html and "Mon, Mar 15, 2027" in html
    assert len(re.findall(r">\s*<strong>Already booked</strong>", html)) == 1
    # Said as one item, with its day (the Sunday the clocks go forward: EDT) and its times.
    assert (
        'aria-label="Already booked: Sun, Mar 14, 2027, 1:00 PM–3:00 PM EDT, IV ketamine infusion, Booked"'
        in html
    )
    assert Appointment.objects.filter(patient=patient).count() == 1  # proposing writes nothing

    token = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
    booked = client.post(reverse("scheduling:book_series", args=[patient.pk]), {"proposal": token})
    assert booked.status_code == 302
    assert Appointment.objects.filter(patient=patient, series__isnull=False).count() == 6


def test_a_taken_time_shows_its_ghost_moved_with_the_reason(client, front_desk, clinic, book):
    client.force_login(front_desk)
    patient = make_patient(first="Sera", last="Ghost", location=clinic.location)
    for clinician in range(3):  # every clinician busy at 9:00 on Wednesday
        book(make_patient(), local(date(2027, 3, 10), 9), chair=clinician, clinician=clinician)
    form = {**FORM, "treatment_type": clinic.iv.pk, "location": clinic.location.pk}
    html = client.post(reverse("scheduling:book_series", args=[patient.pk]), form).content.decode()
    moved = [ghost for ghost in ghosts(html) if "Moved from the time asked" in ghost]
    assert len(moved) == 1, ghosts(html)
    assert "appt-ghost-moved" in html
    # Its accessible name carries the conflict too: the time asked and why it moved.
    label = re.search(r'aria-label="(Proposed session 2: [^"]*)"', html).group(1)
    assert "Moved from the time asked (Wed, Mar 10, 2027, 9:00 AM EST): the requested time is taken" in label


def test_ghosts_are_sized_by_their_time_beside_the_chairs_other_sessions(client, front_desk, clinic, book):
    """Each ghost sits on its day's time strip as the week grid draws sessions: from its start's column, as wide as
    the two hours an IV infusion holds; another patient's session in the proposed chair that day is drawn beside it
    (taken), without the other patient's name."""
    client.force_login(front_desk)
    patient = make_patient(first="Sera", last="Ghost", location=clinic.location)
    book(make_patient(first="Otto", last="Other"), local(date(2027, 3, 8), 13), chair=0)
    form = {**FORM, "treatment_type": clinic.iv.pk, "location": clinic.location.pk}
    page = client.post(reverse("scheduling:book_series", args=[patient.pk]), form)
    calendar = page.context["calendar"]
    assert (calendar.strip.start_time().hour, calendar.strip.steps) == (8, 40)  # open 08:00-18:00
    first_day = calendar.weeks[0].days[0]
    assert first_day.day == date(2027, 3, 8)
    ghost = next(block for block in first_day.blocks if block.kind == "proposed")
    assert ghost.session.option.resource_id == clinic.chairs[0].pk
    assert (ghost.placement.column, ghost.placement.span) == (5, 8)  # 9:00 to 11:00
    taken = [block for block in first_day.blocks if block.kind == "taken"]
    assert [(block.placement.column, block.placement.span) for block in taken] == [(21, 8)]  # 1:00 to 3:00 PM
    html = page.content.decode()
    assert html.count("appt-ghost tblock tc-s5 tc-w8") == 6  # every ghost at 9:00, two hours wide
    assert "Chair 1: taken" in html
    assert "Otto" not in html


def test_each_block_is_one_item_for_the_keyboard_in_time_order(client, front_desk, clinic, book):
    """Every block of the preview takes the keyboard's focus, in the order of its start (here the chair's earlier
    session before the proposed one), and is said as one item: the proposed session's day, times, chair and
    clinician; the taken time with its chair, never the other patient's name."""
    client.force_login(front_desk)
    patient = make_patient(first="Sera", last="Ghost", location=clinic.location)
    book(make_patient(first="Otto", last="Other"), local(date(2027, 3, 8), 8), chair=0)
    form = {**FORM, "local_time": "11:00", "treatment_type": clinic.iv.pk, "location": clinic.location.pk}
    page = client.post(reverse("scheduling:book_series", args=[patient.pk]), form)
    first_day = page.context["calendar"].weeks[0].days[0]
    assert [block.kind for block in first_day.blocks] == ["taken", "proposed"]
    html = page.content.decode()
    names = re.findall(r'<div class="appt [^"]*"[^>]* tabindex="0" role="group" aria-label="([^"]*)"', html)
    clinician = first_day.blocks[1].session.option.clinician_name
    assert names[:2] == [
        "Chair 1: taken, Mon, Mar 8, 2027, 8:00 AM–10:00 AM EST",
        f"Proposed session 1: Mon, Mar 8, 2027, 11:00 AM–1:00 PM EST, Chair 1 with {clinician}",
    ], names
    assert len(names) == 7  # the six proposed sessions and the taken time: each a named group, not a link
    assert "Otto" not in html


def test_a_session_with_no_free_time_says_so_in_its_name(clinic):
    from scheduling.selectors.series_proposals import ProposedSeriesSession, SeriesBlock
    from scheduling.templatetags.calendar_blocks import series_block_label
    from scheduling.timeline import Placement

    session = ProposedSeriesSession(
        index=4, note="", requested_start=local(date(2027, 3, 10), 9), option=None, replaced=False,
        reason="the requested time is taken, and no free time keeps the series order",
    )  # fmt: skip
    label = series_block_label(SeriesBlock("proposed", Placement(5, 8), session=session), clinic.location)
    assert label == (
        "Proposed session 4, asked for Wed, Mar 10, 2027, 9:00 AM EST. No free time: the requested time is taken, "
        "and no free time keeps the series order"
    )
