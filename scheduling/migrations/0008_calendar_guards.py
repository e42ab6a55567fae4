"""Time off and closures against bookings, enforced by the database in both directions.

The booking rules already refuse a session in a clinician's time off or on a closed day, but they read the calendar
before they write: time off saved at the same moment as a booking was missed, and time off or a closure saved over
sessions already booked left those sessions in place. Now:

- a clinician's hold (an active ``clinician`` allocation) is refused if it overlaps that clinician's time off, and a
  chair or room hold if any of the location's local days it spans is a closure;
- time off is refused if it overlaps an active hold of that clinician, and a closure if any chair or room of the
  location is held during that local day.

Both sides take a transaction-scoped advisory lock on the clinician (or the location) before they look: holds share
it, a calendar change takes it alone. A calendar change therefore waits for bookings in flight to end and then sees
their holds; a booking that meets a calendar change in flight waits for it and then sees the new row (each
statement in a PL/pgSQL function reads a fresh snapshot in READ COMMITTED). The lock keys are the booking queue's
(``scheduling.services.hold_queue_keys``) with their own kinds in the top byte: 4 a clinician, 5 a location.

The refusals are SQLSTATE 23514 (check_violation) with a constraint name that ``scheduling.services`` and the
calendar forms turn into a sentence.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION scheduling_hold_calendar_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    place bigint;
    zone text;
BEGIN
    IF NEW.clinician_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared((4::bigint << 56) | NEW.clinician_id);
        IF EXISTS (
            SELECT 1 FROM scheduling_cliniciantimeoff
            WHERE clinician_id = NEW.clinician_id AND starts_at < upper(NEW.span) AND ends_at > lower(NEW.span)
        ) THEN
            RAISE EXCEPTION 'clinician % is on time off during %', NEW.clinician_id, NEW.span
                USING ERRCODE = 'check_violation', CONSTRAINT = 'allocation_clinician_not_on_time_off';
        END IF;
    ELSIF NEW.resource_id IS NOT NULL THEN
        SELECT l.id, l.time_zone INTO place, zone
        FROM scheduling_resource r JOIN scheduling_location l ON l.id = r.location_id
        WHERE r.id = NEW.resource_id;
        PERFORM pg_advisory_xact_lock_shared((5::bigint << 56) | place);
        IF EXISTS (
            SELECT 1 FROM scheduling_closure
            WHERE location_id = place
              AND date BETWEEN (lower(NEW.span) AT TIME ZONE zone)::date
                           AND ((upper(NEW.span) - interval '1 microsecond') AT TIME ZONE zone)::date
        ) THEN
            RAISE EXCEPTION 'location % is closed during %', place, NEW.span
                USING ERRCODE = 'check_violation', CONSTRAINT = 'allocation_location_not_closed';
        END IF;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER scheduling_hold_calendar_check
    BEFORE INSERT OR UPDATE OF active, span, clinician_id, resource_id ON scheduling_allocation
    FOR EACH ROW WHEN (NEW.active AND NEW.kind <> 'patient')
    EXECUTE FUNCTION scheduling_hold_calendar_check();

CREATE OR REPLACE FUNCTION scheduling_time_off_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ends_at <= NEW.starts_at THEN
        RETURN NEW;  -- no range to compare: the check constraint time_off_ends_after_starts refuses the row
    END IF;
    PERFORM pg_advisory_xact_lock((4::bigint << 56) | NEW.clinician_id);
    IF EXISTS (
        SELECT 1 FROM scheduling_allocation
        WHERE active AND clinician_id = NEW.clinician_id
          AND span && tstzrange(NEW.starts_at, NEW.ends_at, '[)')
    ) THEN
        RAISE EXCEPTION 'clinician % has sessions booked between % and %', NEW.clinician_id, NEW.starts_at,
            NEW.ends_at
            USING ERRCODE = 'check_violation', CONSTRAINT = 'time_off_clear_of_bookings';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER scheduling_time_off_check
    BEFORE INSERT OR UPDATE OF clinician_id, starts_at, ends_at ON scheduling_cliniciantimeoff
    FOR EACH ROW EXECUTE FUNCTION scheduling_time_off_check();

CREATE OR REPLACE FUNCTION scheduling_closure_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    zone text;
BEGIN
    PERFORM pg_advisory_xact_lock((5::bigint << 56) | NEW.location_id);
    SELECT time_zone INTO zone FROM scheduling_location WHERE id = NEW.location_id;
    IF EXISTS (
        SELECT 1 FROM scheduling_allocation a JOIN scheduling_resource r ON r.id = a.resource_id
        WHERE a.active AND r.location_id = NEW.location_id
          AND a.span && tstzrange(NEW.date::timestamp AT TIME ZONE zone,
                                  (NEW.date + 1)::timestamp AT TIME ZONE zone, '[)')
    ) THEN
        RAISE EXCEPTION 'location % has sessions booked on %', NEW.location_id, NEW.date
            USING ERRCODE = 'check_violation', CONSTRAINT = 'closure_clear_of_bookings';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER scheduling_closure_check
    BEFORE INSERT OR UPDATE OF location_id, date ON scheduling_closure
    FOR EACH ROW EXECUTE FUNCTION scheduling_closure_check();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS scheduling_closure_check ON scheduling_closure;
DROP FUNCTION IF EXISTS scheduling_closure_check();
DROP TRIGGER IF EXISTS scheduling_time_off_check ON scheduling_cliniciantimeoff;
DROP FUNCTION IF EXISTS scheduling_time_off_check();
DROP TRIGGER IF EXISTS scheduling_hold_calendar_check ON scheduling_allocation;
DROP FUNCTION IF EXISTS scheduling_hold_calendar_check();
"""


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0007_session_length_cap")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
