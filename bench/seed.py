"""Seed a clinic network at a scale factor, fast: COPY into the real tables, with times that never overlap.

SCALE=10 is the full set: 10 locations, 100 chairs (+2 at the first location, which has 12 and a sixth clinician for
the availability figure), 51 clinicians with working hours, 100,000 patients each with a submitted intake (PHQ-9 and
GAD-7 responses) and, for 9 in 10, an eligibility decision, and 500,000 IV appointments with their 1,500,000
allocations. SCALE=1 is a tenth (1 location). Each location has the same depth of history (the last 60 days in the
future), so growth measures table size, not a busier day.

Schedule: a busy clinic (``busy_share``: 83 % of chair-hours booked every day). Locations open 07:00-19:00 local;
each chair runs five 120-minute sessions back to back from its first start, so it is busy ten of the twelve hours.
A location's chairs come in two halves: clinician k doses chair k and chair k + half, whose sessions start an hour
later, so the dosing windows ([start+15, start+60)) alternate and never overlap. Chair 0 starts at 07:00 and has
the day's one free start (17:00); the other first-half chairs start 15, 30 or 45 minutes later, leaving two short
gaps no session fits in. Appointment a goes to patient a % patients: one patient's sessions are months apart.

Each session's holds (allocation rows) are written as ``scheduling.services`` books them: the same spans
(``session_holds``), active unless the session is cancelled or a no-show. The exclusion constraints are not
triggers, so they check every seeded hold; ``bench/seed_check.py`` proves the result before anything is measured.

The audit triggers (clinic/audit.py) fire on inserts into audited tables; they are switched off for the bulk COPY
with ``SET session_replication_role = replica`` (PostgreSQL superuser needed). That also skips FK checks during the
COPY (the ids are generated consistently here) and the calendar guards' triggers (scheduling migration 0008), which
have nothing to refuse: the seed writes no time off and no closures.

    DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=... REDIS_URL=... .venv/bin/python -m bench.seed 1
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time as clock
import zoneinfo
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NamedTuple

from bench.pgcopy import copy_rows, drop_rules, rebuild_rules, reset_sequence

CHAIRS_PER_LOCATION = 10
EXTRA_CHAIRS_FIRST_LOCATION = 2
SESSIONS_PER_CHAIR = 5
OPENS = time(7, 0)
CLOSES = time(19, 0)
PATIENTS_PER_SCALE = 10_000
APPOINTMENTS_PER_SCALE = 50_000
FUTURE_DAYS = 60
TZ_NAME = "America/New_York"
PASSWORD = "bench-password-2026"  # noqa: S105 (bench accounts on a throwaway database)


def plan(scale: int) -> dict:
    locations = max(1, scale)
    patients = PATIENTS_PER_SCALE * scale
    appointments = APPOINTMENTS_PER_SCALE * scale
    per_day = sum(chairs_at(li) for li in range(locations)) * SESSIONS_PER_CHAIR
    days = -(-appointments // per_day)
    today = datetime.now(zoneinfo.ZoneInfo(TZ_NAME)).date()
    first_day = today - timedelta(days=days - FUTURE_DAYS)
    return {
        "scale": scale,
        "locations": locations,
        "patients": patients,
        "appointments": appointments,
        "days": days,
        "first_day": first_day,
        "last_day": first_day + timedelta(days=days - 1),
    }


def chairs_at(location_index: int) -> int:
    return CHAIRS_PER_LOCATION + (EXTRA_CHAIRS_FIRST_LOCATION if location_index == 0 else 0)


def clinicians_at(location_index: int) -> int:
    """One clinician for each pair of chairs (chair k and k + half)."""
    return chairs_at(location_index) // 2


def first_start_minutes(chair: int, chairs: int) -> int:
    """Minutes after opening of the chair's first session (the module docstring's layout)."""
    half = chairs // 2
    k = chair % half
    stagger = 0 if k == 0 else 15 * (1 + (k - 1) % 3)
    return stagger + (60 if chair >= half else 0)


def busy_share(chair_minutes: int) -> float:
    """The share of a location's chair-hours a seeded day books."""
    open_minutes = (CLOSES.hour - OPENS.hour) * 60 + CLOSES.minute - OPENS.minute
    return SESSIONS_PER_CHAIR * chair_minutes / open_minutes


APPOINTMENT_COLUMNS = [
    "id",
    "patient_id",
    "location_id",
    "treatment_type_id",
    "resource_id",
    "clinician_id",
    "start_at",
    "end_at",
    "status",
    "late_cancellation",
    "created_at",
    "updated_at",
    "discharged_at",
]
# Every column the booking service writes (scheduling.services.HOLDS_INSERT_SQL), ``active`` included: it has no
# database default, and a hold left inactive protects nothing and is invisible to availability and the day view.
ALLOCATION_COLUMNS = [
    "id",
    "appointment_id",
    "kind",
    "resource_id",
    "clinician_id",
    "patient_id",
    "span",
    "active",
]
# A dosing session's day hold (scheduling.services.holds.DAY_HOLD_SQL), active as its allocations are.
DAY_HOLD_COLUMNS = ["id", "appointment_id", "patient_id", "days", "active"]
# scheduling.services releases an appointment's holds when it is cancelled or marked a no-show, and only then: a
# discharged session keeps its chair, clinician and patient held for the time it took.
RELEASED_STATUSES = frozenset({"cancelled", "no_show"})
# The tables the COPY fills, in load order.
LOADED_TABLES = [
    "intake_patient",
    "intake_intake",
    "intake_intakesubmission",
    "intake_instrumentresponse",
    "intake_eligibilitydecision",
    "scheduling_appointment",
    "scheduling_allocation",
    "scheduling_dayhold",
]


class Session(NamedTuple):
    """One seeded appointment: who, where and when, and its status."""

    appointment_id: int
    patient_id: int
    location_id: int
    resource_id: int
    clinician_id: int
    start: datetime
    end: datetime
    status: str


def sessions(
    p: dict,
    *,
    now: datetime,
    chair_minutes: int,
    location_ids: list[int],
    chair_ids: list[list[int]],
    clinician_ids: list[list[int]],
    first: int = 0,
    last: int | None = None,
) -> Iterator[Session]:
    """The plan's appointments in the layout of the module docstring: past sessions discharged, the rest booked.
    ``first`` and ``last`` pick a slice (appointment ids first + 1 to last), the same rows a full run gives them."""
    tz = zoneinfo.ZoneInfo(TZ_NAME)
    length = timedelta(minutes=chair_minutes)
    # One day's sessions in appointment order: location, chair, then the chair's sessions in time order.
    day_layout = [
        (li, chair, first_start_minutes(chair, len(chair_ids[li])) + session * chair_minutes)
        for li in range(len(location_ids))
        for chair in range(len(chair_ids[li]))
        for session in range(SESSIONS_PER_CHAIR)
    ]
    opens = {}
    for d in range(p["days"]):
        day = p["first_day"] + timedelta(days=d)
        opens[d] = datetime.combine(day, OPENS, tz).astimezone(UTC)
    for a in range(first, p["appointments"] if last is None else last):
        d, r = divmod(a, len(day_layout))
        li, chair, minutes = day_layout[r]
        start = opens[d] + timedelta(minutes=minutes)
        end = start + length
        half = len(chair_ids[li]) // 2
        yield Session(
            a + 1,
            (a % p["patients"]) + 1,
            location_ids[li],
            chair_ids[li][chair],
            clinician_ids[li][chair % half],
            start,
            end,
            "discharged" if end < now else "booked",
        )


def appointment_rows(
    seeded: Iterable[Session], *, treatment_type_id: int, created: datetime
) -> Iterator[tuple]:
    """The sessions as scheduling_appointment rows, in APPOINTMENT_COLUMNS order."""
    for s in seeded:
        yield (
            s.appointment_id,
            s.patient_id,
            s.location_id,
            treatment_type_id,
            s.resource_id,
            s.clinician_id,
            s.start,
            s.end,
            s.status,
            False,
            created,
            created,
            s.end if s.status == "discharged" else None,
        )


def span_text(lo: datetime, hi: datetime) -> str:
    """A half-open tstzrange in COPY's text format, as the booking service's ``DateTimeTZRange(lo, hi, "[)")``."""
    return f'["{lo.isoformat()}","{hi.isoformat()}")'


def allocation_rows(seeded: Iterable[Session], treatment_type) -> Iterator[tuple]:
    """Each session's holds as the booking service writes them, in ALLOCATION_COLUMNS order: the chair and the
    patient for the whole session, the clinician for each of their windows (``session_holds``); active unless the
    session's status is one the services release its holds for."""
    from scheduling.services import session_holds

    for s in seeded:
        holds = session_holds(treatment_type, s.start, s.end)
        active = s.status not in RELEASED_STATUSES
        whole = span_text(holds.start, holds.end)
        rows = [
            ("resource", s.resource_id, None, None, whole),
            ("patient", None, None, s.patient_id, whole),
            *(
                ("clinician", None, s.clinician_id, None, span_text(lo, hi))
                for lo, hi in holds.clinician_spans
            ),
        ]
        # Every session of a treatment type has as many holds, so the ids follow from the appointment's: a slice
        # of the sessions (``seed``'s workers) numbers its holds as the whole run does.
        first_id = (s.appointment_id - 1) * len(rows)
        for i, (kind, resource_id, clinician_id, patient_id, span) in enumerate(rows, start=1):
            yield (first_id + i, s.appointment_id, kind, resource_id, clinician_id, patient_id, span, active)


def day_hold_rows(seeded: Iterable[Session], treatment_type) -> Iterator[tuple]:
    """Each session's dosing days as the booking service writes them (``dosing_days``), in DAY_HOLD_COLUMNS order.
    A patient's sessions are months apart (module docstring), so none clash."""
    from scheduling.services.holds import dosing_days

    tz = zoneinfo.ZoneInfo(TZ_NAME)
    for s in seeded:
        days = dosing_days(treatment_type, s.start, tz)
        if days is not None:
            text = f"[{days.lower.isoformat()},{days.upper.isoformat()})"
            yield (s.appointment_id, s.appointment_id, s.patient_id, text, s.status not in RELEASED_STATUSES)


def holds_per_session(treatment_type) -> int:
    """How many holds one session of this treatment type has: chair, patient, and each clinician window."""
    from scheduling.services import session_holds

    return 2 + len(session_holds(treatment_type, datetime(2000, 1, 1, tzinfo=UTC)).clinician_spans)


def _score_dicts():
    from django.core.serializers.json import DjangoJSONEncoder

    from intake.scoring import score_gad7, score_phq9

    out = []
    for level in range(4):
        phq = [level] * 8 + [0]
        gad = [level] * 7
        out.append(
            (
                json.dumps(score_phq9(phq).as_dict(), cls=DjangoJSONEncoder),
                score_phq9(phq).total,
                str(score_phq9(phq).band),
                json.dumps(score_gad7(gad).as_dict(), cls=DjangoJSONEncoder),
                score_gad7(gad).total,
                str(score_gad7(gad).band),
                phq,
                gad,
            )
        )
    return out


def seeded(scale: int) -> bool:
    from intake.models import Patient

    return Patient.objects.filter(email=f"p{PATIENTS_PER_SCALE * scale}@bench.invalid").exists()


def seed(scale: int, *, log=print) -> dict:
    """Seed the current database (empty, migrated). Returns the plan with timings and the ids run.py needs."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, connections, transaction
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinic.models import User
    from scheduling.models import (
        Clinician,
        Location,
        OpeningHours,
        Resource,
        TreatmentType,
        WorkingHours,
    )

    p = plan(scale)
    started = clock.monotonic()
    groups = {g.name: g for g in Group.objects.all()}
    iv = TreatmentType.objects.get(code="iv-ketamine")

    with transaction.atomic():
        # Small tables through the ORM (the audit triggers stay on for them: a handful of rows).
        locations, chairs, clinicians = [], [], []
        for li in range(p["locations"]):
            loc = Location.objects.create(name=f"Bench clinic {li + 1:02d}", time_zone=TZ_NAME)
            locations.append(loc)
            # No cleaning time: the layout runs sessions back to back, and its holds (``allocation_rows``) are
            # what a booking writes for a chair without one.
            chairs.append(
                [
                    Resource.objects.create(
                        location=loc, kind="chair", name=f"Chair {c + 1:02d}", cleaning_minutes=0
                    )
                    for c in range(chairs_at(li))
                ]
            )
            OpeningHours.objects.bulk_create(
                OpeningHours(location=loc, weekday=wd, opens=OPENS, closes=CLOSES) for wd in range(7)
            )
            loc_clinicians = []
            for ci in range(clinicians_at(li)):
                user = User.objects.create_user(
                    email=f"clinician{li + 1:02d}.{ci + 1}@bench.invalid",
                    password=None,
                    full_name=f"Clinician {li + 1}-{ci + 1}",
                )
                user.groups.add(groups["Clinician"])
                clinician = Clinician.objects.create(user=user, credentials="MD")
                clinician.locations.add(loc)
                WorkingHours.objects.bulk_create(
                    WorkingHours(
                        clinician=clinician, location=loc, weekday=wd, starts=time(7, 0), ends=time(20, 0)
                    )
                    for wd in range(7)
                )
                TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
                loc_clinicians.append(clinician)
            clinicians.append(loc_clinicians)
        desk = User.objects.create_user(email="desk@bench.invalid", password=None, full_name="Front Desk")
        desk.groups.add(groups["Front desk"])
        TOTPDevice.objects.create(user=desk, name="bench", confirmed=True)
        decider_id = clinicians[0][0].user_id
        # One hash for every account: hashing each (Argon2) took longer than the rest of these tables at SCALE=100.
        User.objects.filter(email__endswith="@bench.invalid").update(password=make_password(PASSWORD))
    log(f"  small tables: {clock.monotonic() - started:.1f}s")

    now = datetime.now(UTC)
    job: dict[str, Any] = {
        "plan": p,
        "now": now,
        "base": now - timedelta(days=5 * 365),
        "decider_id": decider_id,
        "treatment_type_id": iv.id,
        "layout": {
            "now": now,
            "chair_minutes": iv.chair_minutes,
            "location_ids": [loc.id for loc in locations],
            "chair_ids": [[r.id for r in chairs[li]] for li in range(len(locations))],
            "clinician_ids": [[c.id for c in clinicians[li]] for li in range(len(locations))],
        },
    }
    workers = int(os.environ.get("BENCH_SEED_WORKERS", "4"))
    with connection.cursor() as cur:
        rules = drop_rules(cur, LOADED_TABLES)
    t0 = clock.monotonic()
    log(f"  B-tree indexes, unique and foreign keys dropped for the load; {workers} workers copying")
    # Each worker COPYs a slice of every table on its own connection (the GiST indexes and exclusion constraints,
    # in place, check each hold across the slices); forked after the parent's connection is closed.
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for line in pool.imap_unordered(_load_slice, [(job, w, workers) for w in range(workers)]):
            log(line)
    t1 = clock.monotonic()
    log(f"  loaded in {t1 - t0:.1f}s; B-tree indexes, unique and foreign keys, built after the load:")
    with transaction.atomic(), connection.cursor() as cur:
        # The builds after the load sort in memory, not in many passes on disk.
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        rebuild_rules(cur, LOADED_TABLES, rules, log=log)
        for table in LOADED_TABLES:
            reset_sequence(cur, table)
    log(f"  indexes and constraints: {clock.monotonic() - t1:.1f}s")
    # The COPY ran with triggers off, so the review queue (kept by triggers) is built from the rows now.
    from review.selectors import rebuild_review_queue

    log(f"  review queue: {rebuild_review_queue():,} intakes waiting")
    # VACUUM too, as autovacuum would by the time a real calendar is read: it marks the pages all-visible, so the
    # availability read's index-only scans need not visit the table.
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    p["seed_seconds"] = round(clock.monotonic() - started, 1)
    p["location_ids"] = job["layout"]["location_ids"]
    p["first_day"] = p["first_day"].isoformat()
    p["last_day"] = p["last_day"].isoformat()
    log(f"  seeded SCALE={scale} in {p['seed_seconds']}s")
    return p


def _slice(total: int, worker: int, workers: int) -> tuple[int, int]:
    """Worker ``worker``'s share of ``total`` rows, as [first, last) indexes: contiguous, so each COPYs in order."""
    return total * worker // workers, total * (worker + 1) // workers


def _load_slice(args: tuple[dict, int, int]) -> str:
    """One worker's part of the load, on its own connection and in its own transaction: its slice of the patients
    (intake, submission, responses, decision) and of the appointments (allocations, day holds)."""
    job, worker, workers = args
    from django.db import connection, transaction

    from scheduling.models import TreatmentType

    started = clock.monotonic()
    p, base = job["plan"], job["base"]
    iv = TreatmentType.objects.get(pk=job["treatment_type_id"])
    loc_ids = job["layout"]["location_ids"]
    scores = _score_dicts()
    lo, hi = _slice(p["patients"], worker, workers)
    patients = range(lo + 1, hi + 1)
    first, last = _slice(p["appointments"], worker, workers)

    def when(n):
        return base + timedelta(minutes=n % (4 * 365 * 24 * 60))

    def patient_rows():
        for n in patients:
            yield (
                n,
                loc_ids[n % len(loc_ids)],
                f"Pat{n}",
                f"Bench{n % 997:03d}",
                f"p{n}@bench.invalid",
                "email",
                base,
                date(1960 + n % 40, 1 + n % 12, 1 + n % 28),
            )

    def submission_rows():
        for n in patients:
            s = scores[n % 4]
            yield (
                n,
                "intake",
                n,
                n,
                when(n),
                json.dumps({"phq9": {"items": s[6]}, "gad7": {"items": s[7]}}),
                '{"phq9": "1", "gad7": "1"}',
                '{"phq9": ' + s[0] + ', "gad7": ' + s[3] + "}",
                "[]",
                "low",
                0,
                False,
                False,
            )

    def response_rows():
        for n in patients:
            s = scores[n % 4]
            for i, (code, score, total, band, items) in enumerate(
                (("phq9", s[0], s[1], s[2], s[6]), ("gad7", s[3], s[4], s[5], s[7]))
            ):
                yield (
                    2 * n - 1 + i,
                    n,
                    n,
                    code,
                    "1",
                    json.dumps({"items": items}),
                    score,
                    total,
                    band,
                    when(n),
                )

    def session_slice():
        return sessions(p, **job["layout"], first=first, last=last)

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")
        # One commit at the end of a long load: waiting for its WAL flush is nothing, but no reason to either.
        cur.execute("SET LOCAL synchronous_commit = off")
        copy_rows(cur, "intake_patient", patient_rows(), PATIENT_COLUMNS)
        copy_rows(
            cur,
            "intake_intake",
            ((n, n, "submitted", "{}", when(n), when(n), when(n)) for n in patients),
            ["id", "patient_id", "status", "answers", "started_at", "updated_at", "submitted_at"],
        )
        copy_rows(cur, "intake_intakesubmission", submission_rows(), SUBMISSION_COLUMNS)
        copy_rows(cur, "intake_instrumentresponse", response_rows(), RESPONSE_COLUMNS)
        # 9 in 10 patients are cleared for both treatments; every tenth waits in the clinicians' queue.
        copy_rows(
            cur,
            "intake_eligibilitydecision",
            (
                (n, n, n, "eligible", "both", "", job["decider_id"], when(n) + timedelta(days=1))
                for n in patients
                if n % 10
            ),
            [
                "id",
                "patient_id",
                "submission_id",
                "outcome",
                "modality",
                "reason",
                "decided_by_id",
                "decided_at",
            ],
        )
        t1 = clock.monotonic()
        created = job["now"] - timedelta(days=30)
        copy_rows(
            cur,
            "scheduling_appointment",
            appointment_rows(session_slice(), treatment_type_id=iv.id, created=created),
            APPOINTMENT_COLUMNS,
        )
        t2 = clock.monotonic()
        copy_rows(cur, "scheduling_allocation", allocation_rows(session_slice(), iv), ALLOCATION_COLUMNS)
        copy_rows(cur, "scheduling_dayhold", day_hold_rows(session_slice(), iv), DAY_HOLD_COLUMNS)
        t3 = clock.monotonic()
    connection.close()
    return (
        f"    worker {worker + 1}/{workers}: patients {lo + 1:,}-{hi:,} and their intakes {t1 - started:.1f}s, "
        f"appointments {first + 1:,}-{last:,} {t2 - t1:.1f}s, their allocations and day holds {t3 - t2:.1f}s"
    )


# fmt: off
PATIENT_COLUMNS = ["id", "location_id", "legal_first_name", "legal_last_name", "email", "reminder_channel",
    "created_at", "date_of_birth"]
SUBMISSION_COLUMNS = ["id", "kind", "patient_id", "intake_id", "submitted_at", "answers", "instrument_versions",
    "scores", "findings", "cssrs_risk", "phq9_item9", "has_hard_stop", "is_urgent"]
RESPONSE_COLUMNS = ["id", "submission_id", "patient_id", "instrument", "version", "answers", "score", "total",
    "band", "answered_at"]
# fmt: on


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    django.setup()
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("SCALE", "1"))
    if seeded(scale):
        print(f"SCALE={scale} already seeded")
        return
    print(json.dumps(seed(scale), default=str, indent=1))


if __name__ == "__main__":
    main()
