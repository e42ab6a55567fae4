"""The booking gate's read: everything the booking rules check about the location, the clinician and the patient,
in one round trip. Booking is the hot path (fifty desks racing for the same slots), and the ORM's compile of these
subqueries cost ten times their execution, so it is written as SQL and prepared.

Intake's part (the patient's eligibility and consent facts) is intake's database functions
``intake_eligibility_facts`` and ``intake_consent_facts``, called by name in the same statement and read by its column names (``intake.eligibility.facts_from_columns``): scheduling
holds no copy of intake's query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.db import connection
from django.db.backends.postgresql.psycopg_any import DateRange

from clinic.db import execute_prepared
from intake import eligibility as intake_eligibility
from scheduling import availability

BOOKING_FACTS_SQL = """
SELECT
    (SELECT reason FROM scheduling_closure WHERE location_id = %(location)s AND date = %(day)s) AS closure_reason,
    ARRAY(SELECT ARRAY[opens, closes] FROM scheduling_openinghours
           WHERE location_id = %(location)s AND weekday = %(weekday)s ORDER BY opens, id) AS opening_hours,
    EXISTS(SELECT 1 FROM scheduling_clinician_locations kl
            JOIN scheduling_clinician k ON k.id = kl.clinician_id
            JOIN clinic_user u ON u.id = k.user_id AND u.is_active
            WHERE kl.clinician_id = %(clinician)s AND kl.location_id = %(location)s) AS clinician_works_here,
    ARRAY(SELECT ARRAY[starts, ends] FROM scheduling_workinghours
           WHERE clinician_id = %(clinician)s AND location_id = %(location)s AND weekday = %(weekday)s
           ORDER BY starts, id) AS clinician_hours,
    ARRAY(SELECT ARRAY[starts_at, ends_at] FROM scheduling_cliniciantimeoff
           WHERE clinician_id = %(clinician)s AND starts_at < %(until)s AND ends_at > %(since)s
           ORDER BY starts_at, id) AS clinician_time_off,
    (SELECT enrolled_on FROM scheduling_remsenrollment WHERE patient_id = %(patient)s) AS rems_enrolled_on,
    -- A chair or room limited to some treatments takes only those; one with none listed takes all of its kind.
    (%(resource)s::bigint IS NULL
     OR NOT EXISTS (SELECT 1 FROM scheduling_resource_treatment_types WHERE resource_id = %(resource)s::bigint)
     OR EXISTS (SELECT 1 FROM scheduling_resource_treatment_types
                WHERE resource_id = %(resource)s::bigint AND treatmenttype_id = %(treatment)s::bigint))
        AS resource_takes_treatment,
    (SELECT appointment_id FROM scheduling_dayhold
      WHERE patient_id = %(patient)s AND active AND days && %(dosing_days)s::daterange
        AND appointment_id IS DISTINCT FROM %(ignore)s::bigint
      ORDER BY lower(days), appointment_id LIMIT 1) AS dosing_clash_id,
    eligibility.*,
    consent.*
FROM intake_eligibility_facts(%(patient)s, %(now)s) AS eligibility, intake_consent_facts(%(patient)s) AS consent
"""


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
    # A live dosing session of the patient's too close to this one (its day holds meet ``dosing_days``).
    dosing_clash_id: int | None = None
    # The chair or room asked about is set up for the treatment (Resource.treatment_types).
    resource_takes_treatment: bool = True
    # ``intake_consent_facts``'s columns, read by ``intake.consent.selectors.refusal``.
    consent: dict[str, Any] = field(default_factory=dict)


def booking_facts(
    *,
    location_id: int,
    clinician_id: int,
    patient_id: int,
    day: date,
    since: datetime,
    until: datetime,
    now: datetime,
    dosing_days: DateRange | None = None,
    ignore_appointment_id: int | None = None,
    resource_id: int | None = None,
    treatment_type_id: int | None = None,
) -> BookingFacts:
    """One query: the location's closure and hours on ``day``, the clinician's link to the location, their hours
    that weekday and time off overlapping ``[since, until)``, the patient's REMS enrollment date, their
    eligibility facts as of ``now``, and (a dosing session's ``dosing_days``) the first of the patient's other
    dosing sessions too close to it, leaving out ``ignore_appointment_id`` (the session being moved)."""
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
                "dosing_days": dosing_days,
                "ignore": ignore_appointment_id,
                "resource": resource_id,
                "treatment": treatment_type_id,
            },
            # Every part is a key lookup, so the generic plan is the custom one: without it a connection's first
            # five runs were each planned again, at three times the run's cost (0.8 against 0.3 ms on the bench
            # calendar); a booking race on fresh connections is mostly those.
            generic=True,
        )
        row = dict(zip([column.name for column in cursor.description], cursor.fetchone(), strict=True))
    return BookingFacts(
        closure_reason=row["closure_reason"],
        opening_hours=[(opens, closes) for opens, closes in row["opening_hours"]],
        clinician_works_here=row["clinician_works_here"],
        clinician_hours=[(starts, ends) for starts, ends in row["clinician_hours"]],
        clinician_time_off=[availability.Span(starts, ends) for starts, ends in row["clinician_time_off"]],
        rems_enrolled_on=row["rems_enrolled_on"],
        eligibility=intake_eligibility.facts_from_columns(row),
        dosing_clash_id=row["dosing_clash_id"],
        resource_takes_treatment=row["resource_takes_treatment"],
        consent={"consent_versions": row["consent_versions"], "consent_latest": row["consent_latest"]},
    )
