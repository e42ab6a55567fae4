"""Sessions laid on a day's time strip (scheduling.timeline, the week grid's blocks): a block starts at the column of
its start and is as wide as the time it holds, in 15-minute steps, with its parts placed inside it; the placement
classes it uses all exist in the generated style sheet."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from scheduling import services, timeline
from scheduling.selectors.week import week_grid
from tests.factories import A_WEDNESDAY, local, make_patient

NEW_YORK = ZoneInfo("America/New_York")
DAY = date(2027, 3, 3)
ORIGIN = datetime(2027, 3, 3, 8, 0, tzinfo=NEW_YORK)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def test_a_block_starts_at_its_column_and_is_as_wide_as_its_time():
    one_hour = timeline.place(at(9), at(10), origin=ORIGIN, steps=40)
    two_hours = timeline.place(at(13), at(15), origin=ORIGIN, steps=40)
    assert one_hour == timeline.Placement(column=5, span=4)  # 08:00 is column 1; 09:00 is four steps on
    assert two_hours == timeline.Placement(column=21, span=8)
    assert two_hours.span == 2 * one_hour.span


def test_a_block_covers_every_step_it_touches_and_is_clipped_to_the_strip():
    assert timeline.place(at(9, 10), at(9, 50), origin=ORIGIN, steps=40) == timeline.Placement(5, 4)
    assert timeline.place(at(7), at(9), origin=ORIGIN, steps=40) == timeline.Placement(
        1, 4
    )  # began before 08:00
    assert timeline.place(at(17), at(19), origin=ORIGIN, steps=40) == timeline.Placement(
        37, 4
    )  # runs past 18:00
    assert timeline.place(at(6), at(7), origin=ORIGIN, steps=40) is None
    assert timeline.place(at(18), at(19), origin=ORIGIN, steps=40) is None


def test_the_parts_of_a_session_sit_inside_its_block():
    placement = timeline.place(
        at(9),
        at(11, 15),
        origin=ORIGIN,
        steps=40,
        phases=[
            ("prep", at(9), at(9, 15)),
            ("dosing", at(9, 15), at(10)),
            ("monitoring", at(10), at(11)),
            ("cleaning", at(11), at(11, 15)),
        ],
    )
    assert placement is not None
    assert (placement.column, placement.span) == (5, 9)
    assert [(p.kind, p.column, p.span) for p in placement.phases] == [
        ("prep", 1, 1),
        ("dosing", 2, 3),
        ("monitoring", 5, 4),
        ("cleaning", 9, 1),
    ]


def test_a_part_shorter_than_a_step_is_still_drawn_one_step_wide():
    placement = timeline.place(
        at(9), at(10), origin=ORIGIN, steps=40, phases=[("discharge", at(9, 53), at(9, 58))]
    )
    assert placement is not None
    assert [(p.kind, p.column, p.span) for p in placement.phases] == [("discharge", 4, 1)]


def test_the_strip_covers_the_hours_given_in_whole_hours_within_the_day():
    assert timeline.strip_for([(8 * 60, 18 * 60)]) == timeline.Strip(480, 40)
    assert timeline.strip_for(
        [(8 * 60, 18 * 60), (7 * 60 + 50, 12 * 60), (9 * 60, 19 * 60 + 5)]
    ) == timeline.Strip(420, 52)
    assert timeline.strip_for([]) == timeline.Strip(480, 40)  # no hours at all: a working day
    assert timeline.strip_for([(-30, 25 * 60)]) == timeline.Strip(0, timeline.MAX_STEPS)


def test_a_dst_day_keeps_its_wall_clock_columns():
    spring = date(2027, 3, 14)  # clocks go forward at 02:00 in New York
    strip = timeline.Strip(480, 40)
    placement = timeline.place(
        at(9, day=spring), at(11, day=spring), origin=strip.origin(spring, NEW_YORK), steps=40
    )
    assert placement == timeline.Placement(5, 8)


def test_the_style_sheet_holds_every_placement_class():
    """The strip, start and span classes a block can be given, and the table's step count that sizes its days, are
    all in the static file, as the generator writes them: a missing class would silently draw a block at the wrong
    place or too narrow to read."""
    sheet = Path(settings.BASE_DIR, "scheduling/static/scheduling/calendar-grid.css").read_text()
    assert sheet == timeline.placement_css()
    for n in (1, 40, timeline.MAX_STEPS):
        assert f".tg-n{n} {{ grid-template-columns: repeat({n}, minmax(0, 1fr)); }}" in sheet
        assert f".tc-s{n} {{ grid-column-start: {n}; }}" in sheet
        assert f".tc-w{n} {{ grid-column-end: span {n}; }}" in sheet
        assert f".tw-n{n} {{ --tsteps: {n}; }}" in sheet
    assert (
        ".tstrip.tg-n40 { background-size: calc(100% * 4 / 40) 100%; }" in sheet
    )  # an hour line every 4 steps


@pytest.mark.django_db
def test_week_blocks_are_placed_by_their_holds(clinic, book, client, front_desk):
    """An IV infusion (two hours, dosing from 15 minutes in for 45) and an hour's consultation on the same day: each
    block is placed from its start and sized by its holds; the page carries the classes and says the parts."""
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        book(make_patient(first="Ivy", last="Infusion"), local(A_WEDNESDAY, 9), chair=0)
        services.book_appointment(
            patient=make_patient(first="Cora", last="Consult"),
            treatment_type=clinic.consultation,
            location=clinic.location,
            start=local(A_WEDNESDAY, 14),
            resource=clinic.room,
            clinician=clinic.clinicians[1],
            booked_by=front_desk,
            now=datetime(2027, 3, 1, 12, 0, tzinfo=UTC),
        )
        grid = week_grid(clinic.location, A_WEDNESDAY - timedelta(days=2))
        assert grid.strip == timeline.Strip(480, 40)  # the clinic opens 08:00-18:00 every day
        blocks = {
            block.entry.patient_name: block
            for row in grid.rows
            for cell in row.cells
            if cell.day == A_WEDNESDAY
            for block in cell.blocks
        }
        infusion, consult = blocks["Ivy Infusion"], blocks["Cora Consult"]
        assert (infusion.placement.column, infusion.placement.span) == (5, 8)
        assert (consult.placement.column, consult.placement.span) == (25, 4)
        assert [(p.kind, p.column, p.span) for p in infusion.placement.phases] == [
            ("prep", 1, 1),
            ("dosing", 2, 3),
            ("monitoring", 5, 4),
        ]

        client.force_login(front_desk)
        html = client.get(
            reverse("scheduling:week") + f"?location={clinic.location.pk}&start={A_WEDNESDAY.isoformat()}"
        ).content.decode()
    assert 'class="tstrip tg-n40"' in html
    assert "week-grid tw-n40" in html  # the days as wide as their 40 steps need
    assert "week-block tblock tc-s5 tc-w8" in html
    assert "week-block tblock tc-s25 tc-w4" in html
    assert "Dosing 9:15 AM–10:00 AM" in html
    assert "calendar-grid" in html  # the placement classes' style sheet is linked
