"""Locations: the ones a person may pick on the schedule pages, the one a patient books at, and whether the database
knows a location's time zone."""

from __future__ import annotations

from django.db import connection

from clinic.db import execute_prepared
from scheduling import access
from scheduling.models import Location

# The picker on every schedule page lists the active locations the person may see (scheduling.access). Read as SQL
# (the day view is the busiest page, and the ORM spent longer compiling this than PostgreSQL took to answer); the
# instances carry what the pages use, the rest of a location's fields are deferred as with ``.only()``.
ACTIVE_LOCATIONS_SQL = "SELECT id, name, time_zone FROM scheduling_location WHERE is_active ORDER BY name, id"
THEIR_ACTIVE_LOCATIONS_SQL = (
    "SELECT id, name, time_zone FROM scheduling_location"  # noqa: S608 - constant SQL; the user id is a parameter
    f" WHERE is_active AND id IN ({access.STAFF_LOCATIONS_SQL}) ORDER BY name, id"
)


def picker_locations(user) -> list[Location]:
    """The active locations ``user`` may see, by name (one prepared query)."""
    with connection.cursor() as cursor:
        if access.sees_every_location(user):
            execute_prepared(cursor, "active_locations", ACTIVE_LOCATIONS_SQL)
        else:
            execute_prepared(cursor, "their_active_locations", THEIR_ACTIVE_LOCATIONS_SQL, [user.pk])
        rows = cursor.fetchall()
    return [Location.from_db(connection.alias, ["id", "name", "time_zone"], row) for row in rows]


def first_active_location() -> Location | None:
    """Where a patient with no location of their own books online: the clinic's first active location."""
    return Location.objects.filter(is_active=True).order_by("pk").first()


def database_knows_time_zone(name: str) -> bool:
    """Whether PostgreSQL's zone data knows ``name``: the calendar guards (migration 0008) work out local days in
    the database, so a location's zone must be known there as well as to Python."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)", [name])
        return cursor.fetchone()[0]


def phone_to_call(sender: str) -> str:
    """The clinic number for someone who texted from ``sender``: their location's, else the first active location's
    (empty when no location lists one)."""
    theirs = (
        Location.objects.filter(patients__phone=sender)
        .exclude(phone="")
        .values_list("phone", flat=True)
        .first()
    )
    if theirs:
        return theirs
    return (
        Location.objects.filter(is_active=True)
        .exclude(phone="")
        .order_by("pk")
        .values_list("phone", flat=True)
        .first()
        or ""
    )
