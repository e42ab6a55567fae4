"""The bench seeds its calendar as real bookings hold it, and checks that before it measures.

The seed's rows for a session are compared with the rows ``scheduling.services`` writes for the same session; its
COPY column list is checked against the real table. No superuser is needed: nothing here runs the seed's COPY.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bench.pgcopy import SeedError, copy_columns, deferred_rules, table_columns
from bench.seed import (
    ALLOCATION_COLUMNS,
    APPOINTMENT_COLUMNS,
    DAY_HOLD_COLUMNS,
    LOADED_TABLES,
    Session,
    allocation_rows,
    day_hold_rows,
    holds_per_session,
    span_text,
)
from bench.seed_check import check_seed
from tests.factories import A_WEDNESDAY, NOW, build_clinic, local, make_patient, treatment_type

LIVE = ["booked", "confirmed", "checked_in", "in_session", "recovering", "discharged"]


@pytest.fixture
def booked(db, front_desk):
    """book(hour): an IV session booked through the real service at that local hour on A_WEDNESDAY."""
    from scheduling import services

    location, chairs, _room, clinicians = build_clinic(chairs=3, clinicians=3)

    def book(hour: int, *, chair: int = 0):
        return services.book_appointment(
            patient=make_patient(location=location),
            treatment_type=treatment_type("iv-ketamine"),
            location=location,
            start=local(A_WEDNESDAY, hour),
            resource=chairs[chair],
            clinician=clinicians[chair],
            booked_by=front_desk,
            now=NOW,
        )

    return book


def _written(appointment) -> list[dict]:
    """The holds the services wrote for the appointment, as the seed's rows name them (without the id)."""
    from scheduling.models import Allocation

    return [
        {
            "appointment_id": a.appointment_id,
            "kind": a.kind,
            "resource_id": a.resource_id,
            "clinician_id": a.clinician_id,
            "patient_id": a.patient_id,
            "span": span_text(a.span.lower, a.span.upper),  # type: ignore[arg-type]  # booked spans are bounded
            "active": a.active,
        }
        for a in Allocation.objects.filter(appointment=appointment).order_by("id")
    ]


def _seeded(appointment, status: str) -> list[dict]:
    session = Session(
        appointment.pk,
        appointment.patient_id,
        appointment.location_id,
        appointment.resource_id,
        appointment.clinician_id,
        appointment.start_at,
        appointment.end_at,
        status,
    )
    rows = [
        dict(zip(ALLOCATION_COLUMNS, row, strict=True))
        for row in allocation_rows([session], appointment.treatment_type)
    ]
    for row in rows:
        del row["id"]
    return rows


@pytest.mark.parametrize("status", LIVE)
def test_a_live_seeded_session_holds_what_a_real_booking_holds(booked, status):
    appointment = booked(9)
    seeded = _seeded(appointment, status)
    assert [row["active"] for row in seeded] == [True, True, True]
    assert seeded == _written(appointment)


def test_a_cancelled_or_no_show_session_holds_nothing_as_the_services_leave_it(booked, front_desk):
    from scheduling import services

    cancelled = services.cancel_appointment(
        appointment=booked(9), reason="Patient unwell", cancelled_by=front_desk, now=NOW
    )
    no_show = booked(9, chair=1)
    services.mark_no_show(
        appointment=no_show, marked_by=front_desk, now=no_show.start_at + timedelta(minutes=20)
    )
    for appointment, status in ((cancelled, "cancelled"), (no_show, "no_show")):
        seeded = _seeded(appointment, status)
        assert [row["active"] for row in seeded] == [False, False, False]
        assert seeded == _written(appointment)


def test_the_allocation_copy_names_active_and_every_column_without_a_default(db):
    from django.db import connection

    from scheduling.services import HOLDS_INSERT_SQL

    with connection.cursor() as cursor:
        columns = table_columns(cursor, "scheduling_allocation")
    required = {name for name, _type, nullable, has_default in columns if not nullable and not has_default}
    assert "active" in required  # no database default: a COPY that leaves it out fails, or writes a guess
    assert "active" in ALLOCATION_COLUMNS
    assert required <= set(ALLOCATION_COLUMNS)
    names, filled = copy_columns("scheduling_allocation", columns, ALLOCATION_COLUMNS)
    assert (names, filled) == (ALLOCATION_COLUMNS, [])  # the seed says every value itself
    service_columns = re.search(r"\(([^)]*)\)", HOLDS_INSERT_SQL).group(1).split(", ")
    assert set(service_columns) <= set(ALLOCATION_COLUMNS)


@pytest.mark.parametrize("status", ["booked", "discharged", "cancelled", "no_show"])
def test_a_seeded_session_holds_its_dosing_day_as_a_real_booking_does(booked, front_desk, status):
    from scheduling import services
    from scheduling.models import DayHold

    appointment = booked(9)
    if status == "cancelled":
        services.cancel_appointment(
            appointment=appointment, reason="Patient unwell", cancelled_by=front_desk, now=NOW
        )
    elif status == "no_show":
        services.mark_no_show(
            appointment=appointment, marked_by=front_desk, now=appointment.start_at + timedelta(minutes=20)
        )
    session = Session(
        appointment.pk, appointment.patient_id, appointment.location_id, appointment.resource_id,
        appointment.clinician_id, appointment.start_at, appointment.end_at, status,
    )  # fmt: skip
    seeded = [
        {key: value for key, value in zip(DAY_HOLD_COLUMNS, row, strict=True) if key != "id"}
        for row in day_hold_rows([session], appointment.treatment_type)
    ]
    written = [
        {
            "appointment_id": hold.appointment_id,
            "patient_id": hold.patient_id,
            "days": f"[{hold.days.lower.isoformat()},{hold.days.upper.isoformat()})",
            "active": hold.active,
        }
        for hold in DayHold.objects.filter(appointment=appointment)
    ]
    assert seeded == written
    assert seeded[0]["active"] is (status not in ("cancelled", "no_show"))


def test_the_day_hold_copy_names_every_column_without_a_default(db):
    from django.db import connection

    with connection.cursor() as cursor:
        columns = table_columns(cursor, "scheduling_dayhold")
    required = {name for name, _type, nullable, has_default in columns if not nullable and not has_default}
    assert required <= set(DAY_HOLD_COLUMNS)
    assert copy_columns("scheduling_dayhold", columns, DAY_HOLD_COLUMNS) == (DAY_HOLD_COLUMNS, [])


def test_the_appointment_copy_names_every_flag_and_number(db):
    from django.db import connection

    with connection.cursor() as cursor:
        names, filled = copy_columns(
            "scheduling_appointment", table_columns(cursor, "scheduling_appointment"), APPOINTMENT_COLUMNS
        )
    assert names[: len(APPOINTMENT_COLUMNS)] == APPOINTMENT_COLUMNS
    assert set(filled) == {""}  # only blank text columns (notes, reasons) are left to the filler


def test_a_required_flag_the_seed_does_not_name_is_refused_not_guessed():
    columns = [
        ("id", "bigint", False, False),
        ("note", "text", False, False),
        ("active", "boolean", False, False),
        ("kind", "character varying", False, True),
        ("ended_at", "timestamp with time zone", True, False),
    ]
    assert copy_columns("t", columns, ["id", "active"]) == (["id", "active", "note"], [""])
    with pytest.raises(SeedError, match=r"active \(boolean\)"):
        copy_columns("t", columns, ["id"])


def test_the_seed_check_passes_a_calendar_held_as_booked(booked):
    from scheduling.models import Allocation

    first = booked(9)
    last = booked(9, chair=1)
    booked(12)  # after the seeded ones: a booking the benchmark made, not the seed's to check
    per_session = holds_per_session(treatment_type("iv-ketamine"))
    result = check_seed(
        last_seeded=last.pk, intended_sessions=2, intended_active_holds=2 * per_session, now=NOW
    )
    assert result.problems == []
    assert result.refused == {
        "resource": "allocation_resource_not_double_booked",
        "patient": "allocation_patient_not_double_booked",
        "clinician": "allocation_clinician_not_double_booked",
    }
    assert result.probed_session == first.pk  # the first seeded session from NOW on
    assert Allocation.objects.count() == 3 * per_session  # the probing bookings were rolled back


def test_the_seed_check_stops_on_inactive_holds(booked):
    from scheduling.models import Allocation

    seeded = booked(9)
    Allocation.objects.update(active=False)
    result = check_seed(last_seeded=seeded.pk, intended_sessions=1, intended_active_holds=3, now=NOW)
    assert not result.ok
    text = "\n".join(result.problems)
    assert "0 active holds; the seed meant 3" in text
    assert "3 holds of live sessions are inactive" in text
    for kind in ("resource", "patient", "clinician"):
        assert f"A booking of the {kind} over session" in text
    assert Allocation.objects.filter(active=True).count() == 0  # the accepted probes left nothing behind
    assert Allocation.objects.count() == 3


def test_the_exclusion_constraints_stay_in_place_during_the_load(db):
    """The load drops the B-tree indexes, unique and foreign keys (rebuilt after it) but never an exclusion
    constraint or a GiST index: those check every seeded hold as it is copied."""
    from django.db import connection

    with connection.cursor() as cursor:
        dropped = {rule.name for rule in deferred_rules(cursor, LOADED_TABLES)}
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'x' AND conrelid = ANY(%s::regclass[])",
            [LOADED_TABLES],
        )
        exclusions = {name for (name,) in cursor.fetchall()}
        cursor.execute(
            "SELECT x.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
            "JOIN pg_am am ON am.oid = x.relam WHERE am.amname = 'gist' AND i.indrelid = ANY(%s::regclass[])",
            [LOADED_TABLES],
        )
        gist = {name for (name,) in cursor.fetchall()}
    assert {
        "allocation_resource_not_double_booked",
        "allocation_patient_not_double_booked",
        "allocation_clinician_not_double_booked",
    } <= exclusions
    assert not dropped & (exclusions | gist)
    assert "allocation_resource_start" in dropped
    assert any(name.startswith("scheduling_allocation_appointment_id") for name in dropped)


def test_a_seeded_sessions_hold_ids_follow_from_its_appointment(booked):
    """Each load worker numbers the holds of its slice of sessions; the ids never collide between slices."""
    appointment = booked(9)
    session = Session(
        41, appointment.patient_id, appointment.location_id, appointment.resource_id,
        appointment.clinician_id, appointment.start_at, appointment.end_at, "booked",
    )  # fmt: skip
    assert [row[0] for row in allocation_rows([session], appointment.treatment_type)] == [121, 122, 123]
    assert [row[0] for row in day_hold_rows([session], appointment.treatment_type)] == [41]
