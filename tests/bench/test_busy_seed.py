"""The seeded calendar is a busy one, and still a possible one: what the availability figures are measured on."""

from __future__ import annotations

import zoneinfo
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from bench.seed import CLOSES, OPENS, TZ_NAME, busy_share, chairs_at, clinicians_at, plan, sessions

CHAIR_MINUTES = 120
DOSE = (timedelta(minutes=15), timedelta(minutes=60))  # iv-ketamine's clinician window


def _layout(scale: int):
    p = plan(scale)
    chair_ids = [[1000 * li + c for c in range(chairs_at(li))] for li in range(p["locations"])]
    clinician_ids = [[1000 * li + k for k in range(clinicians_at(li))] for li in range(p["locations"])]
    now = datetime.now(UTC)
    p = dict(p, appointments=sum(len(c) for c in chair_ids) * 5 * 40)  # forty days are enough to judge
    seeded = list(
        sessions(
            p,
            now=now,
            chair_minutes=CHAIR_MINUTES,
            location_ids=list(range(p["locations"])),
            chair_ids=chair_ids,
            clinician_ids=clinician_ids,
        )
    )
    return seeded, chair_ids


def _overlaps(spans_by_owner) -> list:
    clashes = []
    for owner, spans in spans_by_owner.items():
        spans.sort()
        clashes += [(owner, a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    return clashes


def test_the_seeded_calendar_books_over_80_percent_of_chair_hours():
    assert busy_share(CHAIR_MINUTES) >= 0.80
    seeded, chair_ids = _layout(1)
    tz = zoneinfo.ZoneInfo(TZ_NAME)
    days = {s.start.astimezone(tz).date() for s in seeded}
    booked = sum((s.end - s.start).total_seconds() for s in seeded if s.location_id == 0) / 3600
    open_hours = (CLOSES.hour - OPENS.hour) * len(chair_ids[0]) * len(days)
    assert booked / open_hours >= 0.80
    assert len(chair_ids[0]) == 12


def test_no_chair_clinician_or_patient_is_held_twice_and_every_session_is_inside_opening_hours():
    seeded, _ = _layout(10)
    tz = zoneinfo.ZoneInfo(TZ_NAME)
    chairs, clinicians, patients = defaultdict(list), defaultdict(list), defaultdict(list)
    for s in seeded:
        chairs[s.resource_id].append((s.start, s.end))
        clinicians[s.clinician_id].append((s.start + DOSE[0], s.start + DOSE[1]))
        patients[s.patient_id].append((s.start, s.end))
        local_start, local_end = s.start.astimezone(tz), s.end.astimezone(tz)
        assert local_start.date() == local_end.date()
        assert local_start.time() >= OPENS and local_end.time() <= CLOSES
    assert _overlaps(chairs) == []
    assert _overlaps(clinicians) == []
    assert _overlaps(patients) == []


def test_a_busy_day_leaves_one_free_start_at_the_first_location():
    """Only chair 0 has a gap a 120-minute session fits in: the last two hours of the day."""
    seeded, chair_ids = _layout(1)
    tz = zoneinfo.ZoneInfo(TZ_NAME)
    day = seeded[0].start.astimezone(tz).date()
    opens = datetime.combine(day, OPENS, tz)
    closes = datetime.combine(day, CLOSES, tz)
    roomy = []
    for chair in chair_ids[0]:
        spans = sorted((s.start, s.end) for s in seeded if s.resource_id == chair and s.start < closes)
        edges = [opens, *(x for span in spans for x in span), closes]
        gaps = [
            (a, b) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= timedelta(minutes=120)
        ]
        roomy += [(chair, a.astimezone(tz).time()) for a, _ in gaps]
    assert [(chair, t.isoformat()) for chair, t in roomy] == [(chair_ids[0][0], "17:00:00")]


def test_the_load_workers_slices_together_are_the_whole_calendar():
    """The seed's workers each copy a slice of the appointments; together they are every session, once."""
    from bench.seed import _slice

    p = plan(1)
    p = dict(p, appointments=12 * 5 * 7 + 3)  # a week and a few sessions, not a whole number per worker
    layout = {
        "now": datetime.now(UTC),
        "chair_minutes": CHAIR_MINUTES,
        "location_ids": [0],
        "chair_ids": [list(range(12))],
        "clinician_ids": [list(range(6))],
    }
    whole = list(sessions(p, **layout))
    for workers in (1, 3, 4):
        parts = [
            s
            for w in range(workers)
            for s in sessions(p, **layout, first=_slice(p["appointments"], w, workers)[0],
                              last=_slice(p["appointments"], w, workers)[1])
        ]  # fmt: skip
        assert parts == whole
    assert [s.appointment_id for s in whole] == list(range(1, p["appointments"] + 1))
