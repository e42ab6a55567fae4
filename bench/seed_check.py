"""Before anything is measured, prove the seeded calendar is the one the seed meant.

Two checks, neither needing a superuser:

- the holds: as many active holds as the seed's plan has live sessions times the holds of one session, every live
  session holding its chair, its patient and its clinician actively, and no released (cancelled, no-show) session
  holding anything. Inactive holds leave an empty calendar that availability, the day view and booking would be
  measured against.
- the guarantee: a booking over the first live seeded session from now on is refused by the exclusion constraints,
  one hold at a time (chair, patient, each clinician window, spans from ``session_holds``), each written as the
  booking service writes it (``HOLDS_INSERT_SQL``), inside a transaction that is rolled back, so the check leaves
  nothing behind.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=... .venv/bin/python -m bench.seed_check 1

Prints what it found, then one JSON line; exits 1 with the problems on stderr if the seed is wrong.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from datetime import datetime

from bench.seed import RELEASED_STATUSES, holds_per_session, plan

EXCLUSION_VIOLATION = "23P01"
HOLD_KINDS = ("resource", "patient", "clinician")

HOLD_COUNTS_SQL = """
SELECT
    count(*) FILTER (WHERE al.active),
    count(*) FILTER (WHERE NOT al.active AND ap.status <> ALL(%(released)s)),
    count(*) FILTER (WHERE al.active AND ap.status = ANY(%(released)s))
FROM scheduling_allocation al JOIN scheduling_appointment ap ON ap.id = al.appointment_id
WHERE ap.id <= %(last)s
"""
SESSION_COUNTS_SQL = """
SELECT count(*), count(*) FILTER (WHERE status <> ALL(%(released)s)) FROM scheduling_appointment
WHERE id <= %(last)s
"""
# Live sessions that do not hold all three kinds of thing actively.
UNHELD_SESSIONS_SQL = """
SELECT count(*) FROM scheduling_appointment ap
WHERE ap.id <= %(last)s AND ap.status <> ALL(%(released)s)
  AND (SELECT count(DISTINCT al.kind) FROM scheduling_allocation al
       WHERE al.appointment_id = ap.id AND al.active) < %(kinds)s
"""
# The first live session from now on.
FIRST_LIVE_SESSION_SQL = """
SELECT id, treatment_type_id, resource_id, clinician_id, patient_id, start_at, end_at
FROM scheduling_appointment
WHERE id <= %(last)s AND status <> ALL(%(released)s) AND start_at >= %(now)s
ORDER BY start_at, id LIMIT 1
"""


@dataclass
class SeedCheck:
    sessions: int = 0
    live_sessions: int = 0
    active_holds: int = 0
    intended_active_holds: int = 0
    refused: dict[str, str] = field(default_factory=dict)  # kind -> the constraint that refused it
    probed_session: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_holds(
    cursor, *, last_seeded: int, intended_sessions: int, intended_active_holds: int, result: SeedCheck
) -> None:
    params = {"released": sorted(RELEASED_STATUSES), "last": last_seeded, "kinds": len(HOLD_KINDS)}
    cursor.execute(SESSION_COUNTS_SQL, params)
    result.sessions, result.live_sessions = cursor.fetchone()
    cursor.execute(HOLD_COUNTS_SQL, params)
    result.active_holds, inactive_live, active_released = cursor.fetchone()
    result.intended_active_holds = intended_active_holds
    cursor.execute(UNHELD_SESSIONS_SQL, params)
    (unheld,) = cursor.fetchone()
    if result.sessions != intended_sessions:
        result.problems.append(
            f"{result.sessions:,} sessions seeded; the seed's plan has {intended_sessions:,}."
        )
    if result.active_holds != intended_active_holds:
        result.problems.append(
            f"{result.active_holds:,} active holds; the seed meant {intended_active_holds:,} "
            f"(its live sessions times the holds of one session)."
        )
    if inactive_live:
        result.problems.append(
            f"{inactive_live:,} holds of live sessions are inactive: those sessions protect nothing and "
            "availability, the day view and booking see an empty calendar."
        )
    if unheld:
        result.problems.append(
            f"{unheld:,} live sessions do not actively hold their chair, patient and clinician."
        )
    if active_released:
        result.problems.append(
            f"{active_released:,} holds of cancelled or no-show sessions are still active."
        )


def check_refusal(cursor, *, last_seeded: int, now: datetime, result: SeedCheck) -> None:
    """Book the first live session's chair, patient and clinician windows again, each overlapping the session's
    by half its length; the exclusion constraints must refuse every one. Everything is rolled back."""
    from django.db import IntegrityError, transaction
    from django.db.backends.postgresql.psycopg_any import DateTimeTZRange

    from scheduling.models import TreatmentType
    from scheduling.services import HOLD_ROW_SQL, HOLDS_INSERT_SQL, session_holds

    cursor.execute(
        FIRST_LIVE_SESSION_SQL, {"released": sorted(RELEASED_STATUSES), "last": last_seeded, "now": now}
    )
    found = cursor.fetchone()
    if found is None:
        result.problems.append(
            "No live seeded session from now on: there is nothing a booking could clash with."
        )
        return
    appointment_id, treatment_type_id, resource_id, clinician_id, patient_id, start, end = found
    result.probed_session = appointment_id
    holds = session_holds(TreatmentType.objects.get(pk=treatment_type_id), start, end)
    wanted = [
        ("resource", resource_id, None, None, (holds.start, holds.end)),
        ("patient", None, None, patient_id, (holds.start, holds.end)),
        *(("clinician", None, clinician_id, None, window) for window in holds.clinician_spans),
    ]
    with transaction.atomic():
        for kind, resource, clinician, patient, (lo, hi) in wanted:
            shift = (hi - lo) / 2
            over = DateTimeTZRange(lo + shift, hi + shift, "[)")
            try:
                with transaction.atomic():
                    cursor.execute(
                        HOLDS_INSERT_SQL + HOLD_ROW_SQL,
                        [appointment_id, kind, resource, clinician, patient, over],
                    )
            except IntegrityError as exc:
                cause = exc.__cause__
                if getattr(cause, "pgcode", None) == EXCLUSION_VIOLATION:
                    result.refused[kind] = cause.diag.constraint_name  # type: ignore[union-attr]  # psycopg2's error
                else:
                    result.problems.append(
                        f"A {kind} hold over session {appointment_id} failed with something other than an "
                        f"exclusion constraint: {exc}"
                    )
            else:
                result.problems.append(
                    f"A booking of the {kind} over session {appointment_id} ({lo:%Y-%m-%d %H:%M} UTC) was "
                    "accepted: the seeded session does not hold it."
                )
        transaction.set_rollback(True)


def check_seed(
    *, last_seeded: int, intended_sessions: int, intended_active_holds: int, now: datetime
) -> SeedCheck:
    """Check the seeded appointments (ids up to ``last_seeded``; later ones are the benchmark's own bookings, left
    in a reused database by an earlier run) and their holds against what the seed meant."""
    from django.db import connection

    result = SeedCheck()
    with connection.cursor() as cursor:
        check_holds(
            cursor,
            last_seeded=last_seeded,
            intended_sessions=intended_sessions,
            intended_active_holds=intended_active_holds,
            result=result,
        )
        check_refusal(cursor, last_seeded=last_seeded, now=now, result=result)
    return result


def check_scale(scale: int) -> SeedCheck:
    """Check the current database against what ``bench.seed`` writes at ``scale``: appointments 1 to the plan's
    count, every one live (discharged before now, booked after), so each holds its chair, patient and clinician
    windows."""
    from django.utils import timezone

    from scheduling.models import TreatmentType

    p = plan(scale)
    per_session = holds_per_session(TreatmentType.objects.get(code="iv-ketamine"))
    return check_seed(
        last_seeded=p["appointments"],
        intended_sessions=p["appointments"],
        intended_active_holds=p["appointments"] * per_session,
        now=timezone.now(),
    )


def summary(result: SeedCheck) -> list[str]:
    lines = [
        f"{result.active_holds:,} active holds for {result.live_sessions:,} live of {result.sessions:,} sessions "
        f"(the seed meant {result.intended_active_holds:,})"
    ]
    if result.refused:
        refused = ", ".join(f"{kind} by {name}" for kind, name in result.refused.items())
        lines.append(f"a booking over session {result.probed_session} was refused: {refused}")
    return lines


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("SCALE", "1"))
    result = check_scale(scale)
    for line in summary(result):
        print(line)
    if not result.ok:
        print(
            f"SCALE={scale}: the seeded data is wrong, so nothing would be measured against it:",
            file=sys.stderr,
        )
        for problem in result.problems:
            print(f"  - {problem}", file=sys.stderr)
        sys.exit(1)
    print(
        json.dumps(
            {
                "sessions": result.sessions,
                "live_sessions": result.live_sessions,
                "active_holds": result.active_holds,
                "intended_active_holds": result.intended_active_holds,
                "probed_session": result.probed_session,
                "refused_by": result.refused,
            }
        )
    )


if __name__ == "__main__":
    main()
