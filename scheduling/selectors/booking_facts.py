"""The booking gate's read: everything the booking rules check about the location, the clinician and the patient,
in one round trip."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db import connection

from clinic.db import execute_prepared
from intake import eligibility as intake_eligibility
from scheduling import availability

# Everything the booking rules read about the location, the clinician and the patient (REMS enrolment, and
# intake's eligibility facts, whose query intake owns), in one round trip. Written as SQL: booking is the hot path
# (fifty desks racing for the same slots), and the ORM's compile of these subqueries cost ten times their execution.
BOOKING_FACTS_SQL = f"""
SELECT
    (SELECT reason FROM scheduling_closure WHERE location_id = %(location)s AND date = %(day)s),
    ARRAY(SELECT ARRAY[opens, closes] FROM scheduling_openinghours
           WHERE location_id = %(location)s AND weekday = %(weekday)s ORDER BY opens, id),
    EXISTS(SELECT 1 FROM scheduling_clinician_locations
            WHERE clinician_id = %(clinician)s AND location_id = %(location)s),
    ARRAY(SELECT ARRAY[starts, ends] FROM scheduling_workinghours
           WHERE clinician_id = %(clinician)s AND location_id = %(location)s AND weekday = %(weekday)s
           ORDER BY starts, id),
    ARRAY(SELECT ARRAY[starts_at, ends_at] FROM scheduling_cliniciantimeoff
           WHERE clinician_id = %(clinician)s AND starts_at < %(until)s AND ends_at > %(since)s
           ORDER BY starts_at, id),
    (SELECT enrolled_on FROM scheduling_remsenrollment WHERE patient_id = %(patient)s),
    eligibility.*
FROM ({intake_eligibility.FACTS_SQL}) AS eligibility
"""  # noqa: S608 - composed of constant SQL only; every value is a query parameter


@dataclass(frozen=True)
class BookingFacts:
    """What the booking gates check, for one location's local day, one clinician and one patient."""

    closure_reason: str | None  # None: open that day; "" closed with no reason given
    opening_hours: list[tuple[time, time]]
    clinician_works_here: bool
    clinician_hours: list[tuple[time, time]]
    clinician_time_off: list[availability.Span]
    rems_enrolled_on: date | None
    eligibility: intake_eligibility.EligibilityFacts


def booking_facts(
    *,
    location_id: int,
    clinician_id: int,
    patient_id: int,
    day: date,
    since: datetime,
    until: datetime,
    now: datetime,
) -> BookingFacts:
    """One query: the location's closure and hours on ``day``, the clinician's link to the location, their hours
    that weekday and time off overlapping ``[since, until)``, the patient's REMS enrolment date and their
    eligibility facts as of ``now``."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "booking_facts",
            BOOKING_FACTS_SQL,
            {
                "location": location_id,
                "clinician": clinician_id,
                "patient": patient_id,
                "day": day,
                "weekday": day.weekday(),
                "since": since,
                "until": until,
                "now": now,
            },
        )
        closure, opening, works_here, shifts, time_off, enrolled_on, *facts = cursor.fetchone()
    return BookingFacts(
        closure_reason=closure,
        opening_hours=[(opens, closes) for opens, closes in opening],
        clinician_works_here=works_here,
        clinician_hours=[(starts, ends) for starts, ends in shifts],
        clinician_time_off=[availability.Span(starts, ends) for starts, ends in time_off],
        rems_enrolled_on=enrolled_on,
        eligibility=intake_eligibility.facts_from_row(facts),
    )
