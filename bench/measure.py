"""The in-process parts of the benchmark, run by bench/run.py against a seeded bench database.

python -m bench.measure prepare      -> sessions and intake fixtures for the page load test (JSON)
python -m bench.measure booking      -> 50 clients booking the same slots: ORM service vs raw SQL (JSON)
python -m bench.measure availability -> a month of availability at the 12-chair location (JSON)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time as clock
from datetime import UTC, date, datetime, time, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import OperationalError, connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_otp import DEVICE_ID_SESSION_KEY  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from bench.seed import PASSWORD, TZ_NAME, plan  # noqa: E402
from clinic.models import User  # noqa: E402
from clinic.security import SESSION_SEEN, SESSION_STARTED  # noqa: E402
from clinic.sessions import SessionStore  # noqa: E402
from intake.models import Intake, Patient  # noqa: E402
from scheduling.models import Allocation, Appointment, Clinician, Location, Resource, TreatmentType  # noqa: E402

lock = threading.Lock()
BOOKING_CLIENTS = 50
BOOKING_SLOTS = 30
PAGE_CLIENTS = 20


def _session_for(user: User, *, staff: bool) -> str:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = next(
        b for b in settings.AUTHENTICATION_BACKENDS if b.endswith("ModelBackend")
    )
    store["_auth_user_hash"] = user.get_session_auth_hash()
    if staff:
        store[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
        store[SESSION_STARTED] = store[SESSION_SEEN] = clock.time()
    else:
        store["mfa_not_needed"] = True
    store.create()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def prepare() -> dict:
    """A front-desk and a clinician session, and PAGE_CLIENTS patients each with an intake in progress."""
    from django.contrib.auth.models import Group

    desk = User.objects.get(email="desk@bench.invalid")
    location = Location.objects.earliest("pk")
    clinician = Clinician.objects.filter(locations=location).earliest("pk")
    patient_group = Group.objects.get(name="Patient")
    intakes = []
    patients = list(Patient.objects.filter(location=location).order_by("pk")[: PAGE_CLIENTS + 1])
    for patient in patients[1:]:
        user = patient.user
        if user is None:
            user = User.objects.create_user(
                email=patient.email, password=PASSWORD, full_name=patient.full_name
            )
            user.groups.add(patient_group)
            patient.user = user
            patient.save(update_fields=["user"])
        intake, _ = Intake.objects.get_or_create(patient=patient, status=Intake.Status.IN_PROGRESS)
        intakes.append({"intake": intake.pk, "cookie": _session_for(user, staff=False)})
    today = timezone.now().astimezone(location.tz).date()
    first, last = month_measured(location)
    return {
        "tomorrow": first.isoformat(),
        "month_end": last.isoformat(),
        "desk_cookie": _session_for(desk, staff=True),
        "clinician_cookie": _session_for(clinician.user, staff=True),
        "location": location.pk,
        "today": today.isoformat(),
        "trend_patient": patients[0].pk,
        "intakes": intakes,
    }


# --- Booking ---------------------------------------------------------------------------------------------------


def _slots(scale: int, first_offset: int) -> list[datetime]:
    """BOOKING_SLOTS starts after the seeded days, three a day (08:00, 11:00, 14:00 local): no two overlap."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo(TZ_NAME)
    last = datetime.fromisoformat(str(plan(scale)["last_day"])).date()
    out = []
    for j in range(BOOKING_SLOTS):
        day = last + timedelta(days=first_offset + j // 3)
        out.append(datetime.combine(day, time(8, 0), tz).astimezone(UTC) + timedelta(minutes=180 * (j % 3)))
    return out


def _run_clients(work) -> float:
    barrier = threading.Barrier(BOOKING_CLIENTS)
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(BOOKING_CLIENTS)]
    t0 = clock.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return clock.perf_counter() - t0


def _check(appointment_ids: list[int], starts: list[datetime], resource_id: int) -> dict:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT start_at, count(*) FROM scheduling_appointment WHERE resource_id = %s AND start_at = ANY(%s) "
            "AND status <> 'cancelled' GROUP BY start_at",
            [resource_id, starts],
        )
        per_slot = dict(cur.fetchall())
        cur.execute(
            "SELECT count(*) FROM scheduling_allocation a JOIN scheduling_allocation b ON a.id < b.id "
            "AND a.active AND b.active AND a.span && b.span AND (a.resource_id = b.resource_id "
            "OR a.clinician_id = b.clinician_id OR a.patient_id = b.patient_id) "
            "WHERE a.appointment_id = ANY(%s)",
            [appointment_ids],
        )
        overlaps = cur.fetchone()[0]
    winners = [per_slot.get(s, 0) for s in starts]
    return {
        "slots": len(starts),
        "slots_with_one_winner": sum(1 for w in winners if w == 1),
        "double_bookings": sum(max(0, w - 1) for w in winners),
        "overlapping_allocations": overlaps,
        "correct": all(w == 1 for w in winners) and overlaps == 0,
    }


BUSY_SLOTS = 10  # free starts on the busy calendar each losing-path run contends for, one a day


def _busy_slots(scale: int, first_day_back: int) -> list[datetime]:
    """BUSY_SLOTS starts on seeded (busy) days, one a day: the day's one free start (chair 1 at 17:00, see
    bench/seed.py), on days from ``first_day_back`` days before the last seeded day, after the month availability
    is measured on."""
    import zoneinfo

    from bench.seed import CLOSES

    tz = zoneinfo.ZoneInfo(TZ_NAME)
    last = datetime.fromisoformat(str(plan(scale)["last_day"])).date()
    iv = TreatmentType.objects.get(code="iv-ketamine")
    at = (datetime.combine(last, CLOSES) - timedelta(minutes=iv.chair_minutes)).time()
    return [
        datetime.combine(last - timedelta(days=first_day_back - j), at, tz).astimezone(UTC)
        for j in range(BUSY_SLOTS)
    ]


class _Setup:
    """Who books: the first location's first chairs and clinicians, a desk user, one cleared patient a client."""

    def __init__(self) -> None:
        self.location = Location.objects.earliest("pk")
        self.iv = TreatmentType.objects.get(code="iv-ketamine")
        self.chairs = list(Resource.objects.filter(location=self.location).order_by("name")[:2])
        self.clinicians = list(Clinician.objects.filter(locations=self.location).order_by("pk")[:2])
        self.desk = User.objects.get(email="desk@bench.invalid")
        # Cleared patients (every tenth waits for review), one per client.
        self.patients = list(
            Patient.objects.filter(eligibility_decisions__isnull=False).order_by("pk")[: BOOKING_CLIENTS * 2]
        )[:BOOKING_CLIENTS]
        self.chair_ids = list(
            Resource.objects.filter(location=self.location, kind="chair", is_active=True).values_list(
                "pk", flat=True
            )
        )
        self.clinician_ids = list(
            Clinician.objects.filter(locations=self.location).values_list("pk", flat=True)
        )


def _service_run(setup: _Setup, starts: list[datetime], *, chair, clinician, with_alternatives: bool) -> dict:
    """Every client tries every start on the same chair with the same clinician, in the same order, through
    scheduling.services.book_appointment."""
    from scheduling import services

    won: list[list[int]] = [[] for _ in range(BOOKING_CLIENTS)]
    attempts = [0] * BOOKING_CLIENTS
    offered = [0] * BOOKING_CLIENTS
    deadlocks = [0]

    def client(i: int) -> None:
        for start in starts:
            attempts[i] += 1
            try:
                appt = services.book_appointment(
                    patient=setup.patients[i],
                    treatment_type=setup.iv,
                    location=setup.location,
                    start=start,
                    booked_by=setup.desk,
                    resource=chair,
                    clinician=clinician,
                    with_alternatives=with_alternatives,
                )
                won[i].append(appt.pk)
            except services.SchedulingError as exc:
                if getattr(exc, "alternatives", None):
                    offered[i] += 1
            except OperationalError as exc:
                # Two inserts that conflict on an exclusion constraint can wait for each other: PostgreSQL
                # aborts one with a deadlock. The service does not turn it into a conflict (a 500 at the desk).
                if getattr(exc.__cause__, "pgcode", None) != "40P01":
                    raise
                with lock:
                    deadlocks[0] += 1

    elapsed = _run_clients(client)
    ids = [pk for w in won for pk in w]
    return {
        "attempts": sum(attempts),
        "seconds": round(elapsed, 2),
        "attempts_per_s": round(sum(attempts) / elapsed, 1),
        "bookings": len(ids),
        "losers_offered_alternatives": sum(offered),
        "deadlock_errors": deadlocks[0],
        **_check(ids, starts, chair.pk),
    }


# The day's holds of the location's chairs and clinicians, by the same start indexes the selectors use.
_RAW_DAY_HOLDS = (
    "SELECT resource_id, NULL, round(date_part('epoch', lower(span)) * 1000000)::bigint, "
    "round(date_part('epoch', upper(span)) * 1000000)::bigint FROM scheduling_allocation "
    "WHERE active AND resource_id IS NOT NULL AND resource_id = ANY(%(chairs)s) "
    "AND lower(span) >= %(earliest)s AND lower(span) < %(hi)s AND upper(span) > %(lo)s "
    "UNION ALL "
    "SELECT NULL, clinician_id, round(date_part('epoch', lower(span)) * 1000000)::bigint, "
    "round(date_part('epoch', upper(span)) * 1000000)::bigint FROM scheduling_allocation "
    "WHERE active AND clinician_id IS NOT NULL AND clinician_id = ANY(%(clinicians)s) "
    "AND lower(span) >= %(earliest)s AND lower(span) < %(hi)s AND upper(span) > %(lo)s"
)


def _raw_free_starts(cur, setup: _Setup, start: datetime) -> int:
    """The least a loser's alternatives need: the day's holds of the location's chairs and clinicians in one read,
    and the starts (every 15 minutes of the seed's opening hours) with a chair and a clinician free."""
    from bisect import bisect_right

    from bench.seed import CLOSES, OPENS

    tz = setup.location.tz
    day = start.astimezone(tz).date()
    opens = datetime.combine(day, OPENS, tz)
    closes = datetime.combine(day, CLOSES, tz)
    cur.execute(
        _RAW_DAY_HOLDS,
        {
            "chairs": setup.chair_ids,
            "clinicians": setup.clinician_ids,
            "earliest": opens - timedelta(days=1),
            "lo": opens,
            "hi": closes,
        },
    )
    busy: dict[tuple[str, int], list[tuple[int, int]]] = {}
    for resource_id, clinician_id, lo, hi in cur.fetchall():
        key = ("r", resource_id) if resource_id else ("c", clinician_id)
        busy.setdefault(key, []).append((lo, hi))
    index = {key: ([lo for lo, _ in sorted(v)], [hi for _, hi in sorted(v)]) for key, v in busy.items()}

    def free(key, lo: int, hi: int) -> bool:
        if key not in index:
            return True
        starts, ends = index[key]
        i = bisect_right(ends, lo)
        return i == len(ends) or starts[i] >= hi

    minute = 60_000_000
    first = int(opens.timestamp()) * 1_000_000
    last = int(closes.timestamp()) * 1_000_000 - setup.iv.chair_minutes * minute
    found = 0
    for at in range(first, last + 1, 15 * minute):
        end = at + setup.iv.chair_minutes * minute
        dose = at + setup.iv.clinician_offset_minutes * minute
        dose_end = dose + setup.iv.clinician_minutes * minute
        if any(free(("r", r), at, end) for r in setup.chair_ids) and any(
            free(("c", c), dose, dose_end) for c in setup.clinician_ids
        ):
            found += 1
    return found


def _raw_run(setup: _Setup, starts: list[datetime], *, chair, clinician, read_free_starts: bool) -> dict:
    """Raw psycopg: the same rows (appointment + chair, patient and clinician allocations), one transaction each.

    Its allocation insert waits on a clashing booking in flight as the service's does (services.HOLD_ATTEMPTS):
    first at most services.HOLD_LOCK_TIMEOUT, then once more, queued behind the other second tries for the same
    chair, clinician or patient, as long as it takes. Without that, losers that wait on each other deadlock and sit
    out PostgreSQL's one-second deadlock_timeout, which made this baseline anywhere from 35 to 1,800 bookings a
    second from one run to the next. With ``read_free_starts`` each loss then reads the day's free starts
    (``_raw_free_starts``), as a losing booking at the desk is shown alternatives."""
    from scheduling import services

    iv = setup.iv
    won: list[list[int]] = [[] for _ in range(BOOKING_CLIENTS)]
    attempts = [0] * BOOKING_CLIENTS
    offered = [0] * BOOKING_CLIENTS
    counts = {"deadlocks": 0, "retries": 0}
    now = timezone.now()

    def client(i: int) -> None:
        conn = connections["default"]
        conn.ensure_connection()
        pg = conn.connection
        with pg.cursor() as cur:
            cur.execute("SET lock_timeout = %s", [services.HOLD_LOCK_TIMEOUT])  # once, for this connection
        pg.autocommit = False
        patient = setup.patients[i]
        with pg.cursor() as cur:
            queue_keys = services.hold_queue_keys(
                resource_id=chair.pk, clinician_id=clinician.pk, patient_id=patient.pk
            )
            for start in starts:
                attempts[i] += 1
                end = start + timedelta(minutes=iv.chair_minutes)
                dose = start + timedelta(minutes=iv.clinician_offset_minutes)
                local_day = start.astimezone(setup.location.tz).date()
                for attempt in range(1, services.HOLD_ATTEMPTS + 1):
                    try:
                        cur.execute(
                            "INSERT INTO scheduling_appointment (patient_id, location_id, treatment_type_id, "
                            "resource_id, clinician_id, start_at, end_at, status, series_note, cancellation_reason, "
                            "late_cancellation, notes, created_by_id, created_at, updated_at) VALUES "
                            "(%s,%s,%s,%s,%s,%s,%s,'booked','','',false,'',%s,%s,%s) RETURNING id",
                            [patient.pk, setup.location.pk, iv.pk, chair.pk, clinician.pk, start, end,
                             setup.desk.pk, now, now],
                        )  # fmt: skip
                        aid = cur.fetchone()[0]
                        if attempt > 1:  # the second try queues, then waits for the clash to end
                            cur.execute("SET LOCAL lock_timeout = 0")
                            cur.execute(services.HOLD_QUEUE_SQL, [queue_keys])
                        # The day hold goes in with the allocations, in one statement, as the service writes it.
                        cur.execute(
                            "WITH day_hold AS (INSERT INTO scheduling_dayhold (appointment_id, patient_id, days, "
                            "active) VALUES (%s,%s,daterange(%s::date, %s::date + %s, '[)'),true)) "
                            "INSERT INTO scheduling_allocation (appointment_id, kind, resource_id, clinician_id, "
                            "patient_id, span, active) VALUES "
                            "(%s,'resource',%s,NULL,NULL,tstzrange(%s,%s,'[)'),true),"
                            "(%s,'patient',NULL,NULL,%s,tstzrange(%s,%s,'[)'),true),"
                            "(%s,'clinician',NULL,%s,NULL,tstzrange(%s,%s,'[)'),true)",
                            [aid, patient.pk, local_day, local_day, iv.min_days_apart,
                             aid, chair.pk, start, end, aid, patient.pk, start, end,
                             aid, clinician.pk, dose, dose + timedelta(minutes=iv.clinician_minutes)],
                        )  # fmt: skip
                        pg.commit()
                        won[i].append(aid)
                        break
                    except Exception as exc:  # noqa: BLE001 - an exclusion violation is the expected loss
                        pg.rollback()
                        code = getattr(exc, "pgcode", None)
                        if code == "40P01":
                            with lock:
                                counts["deadlocks"] += 1
                        if code in ("40P01", "55P03") and attempt < services.HOLD_ATTEMPTS:
                            with lock:
                                counts["retries"] += 1
                            continue
                        if code not in ("23P01", "40P01", "55P03"):
                            raise
                        if read_free_starts:
                            if _raw_free_starts(cur, setup, start):
                                offered[i] += 1
                            pg.rollback()
                        break
        pg.autocommit = True
        with pg.cursor() as cur:
            cur.execute("RESET lock_timeout")

    elapsed = _run_clients(client)
    ids = [pk for w in won for pk in w]
    return {
        "attempts": sum(attempts),
        "seconds": round(elapsed, 2),
        "attempts_per_s": round(sum(attempts) / elapsed, 1),
        "bookings": len(ids),
        "losers_offered_alternatives": sum(offered),
        "deadlock_errors": counts["deadlocks"],
        "lock_wait_retries": counts["retries"],
        **_check(ids, starts, chair.pk),
    }


def booking(scale: int) -> dict:
    """The booking race two ways, each against its raw-SQL baseline:

    1. the winner's path: 30 starts after the seeded days, losers told only that the time is taken (the service
       with ``with_alternatives=False``; raw SQL that stops at the loss);
    2. the default path on the busy calendar: BUSY_SLOTS free starts of seeded days, every loser shown the nearest
       alternatives (the service as the desk calls it; raw SQL that reads the day's free starts after each loss).
    """
    setup = _Setup()
    # A rerun on the same database starts from free slots again: the seeded sessions are ids 1 to the plan's count,
    # later ones are earlier runs' bookings.
    Appointment.objects.filter(pk__gt=plan(scale)["appointments"]).delete()
    result: dict = {"clients": BOOKING_CLIENTS}
    first, second = setup.chairs
    result["service"] = _service_run(
        setup, _slots(scale, 10), chair=first, clinician=setup.clinicians[0], with_alternatives=False
    )
    result["raw_sql"] = _raw_run(
        setup, _slots(scale, 40), chair=second, clinician=setup.clinicians[1], read_free_starts=False
    )
    result["ratio"] = round(result["service"]["attempts_per_s"] / result["raw_sql"]["attempts_per_s"], 3)
    # The busy days' free start is on the first chair with the first clinician free (bench/seed.py).
    result["service_alternatives"] = _service_run(
        setup, _busy_slots(scale, 26), chair=first, clinician=setup.clinicians[0], with_alternatives=True
    )
    result["raw_sql_free_starts"] = _raw_run(
        setup, _busy_slots(scale, 16), chair=first, clinician=setup.clinicians[0], read_free_starts=True
    )
    result["ratio_alternatives"] = round(
        result["service_alternatives"]["attempts_per_s"] / result["raw_sql_free_starts"]["attempts_per_s"], 3
    )
    return result


# --- Availability ---------------------------------------------------------------------------------------------


def month_measured(location: Location) -> tuple[date, date]:
    """The 30 local days from tomorrow: the month availability (and the endpoint's month) is measured on."""
    first = timezone.now().astimezone(location.tz).date() + timedelta(days=1)
    return first, first + timedelta(days=29)


def busy_share(location: Location, first: date, last: date) -> dict:
    """How much of the location's open chair-hours on local days ``first``..``last`` its sessions hold: the chairs'
    active holds clipped to each day's opening hours, over the chairs times those hours."""
    from scheduling.models import OpeningHours

    tz = location.tz
    windows: dict[int, list[tuple[time, time]]] = {}
    for hours in OpeningHours.objects.filter(location=location):
        windows.setdefault(hours.weekday, []).append((hours.opens, hours.closes))
    chairs = list(
        Resource.objects.filter(location=location, kind="chair", is_active=True).values_list("pk", flat=True)
    )
    spans = []
    day = first
    while day <= last:
        for opens, closes in windows.get(day.weekday(), []):
            spans.append((datetime.combine(day, opens, tz), datetime.combine(day, closes, tz)))
        day += timedelta(days=1)
    open_seconds = sum((hi - lo).total_seconds() for lo, hi in spans) * len(chairs)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(extract(epoch FROM upper(a.span * w.span) - lower(a.span * w.span))), 0) "
            "FROM scheduling_allocation a "
            "JOIN unnest(%s::tstzrange[]) AS w(span) ON a.span && w.span "
            "WHERE a.active AND a.resource_id = ANY(%s)",
            [[f'["{lo.isoformat()}","{hi.isoformat()}")' for lo, hi in spans], chairs],
        )
        booked_seconds = float(cur.fetchone()[0])
    return {
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "booked_chair_hours": round(booked_seconds / 3600),
        "open_chair_hours": round(open_seconds / 3600),
        "busy_share": round(booked_seconds / open_seconds, 4) if open_seconds else 0.0,
    }


def availability(repeats: int = 21) -> dict:
    from scheduling.selectors import available_slots

    location = Location.objects.earliest("pk")
    chairs = Resource.objects.filter(location=location, kind="chair", is_active=True).count()
    iv = TreatmentType.objects.get(code="iv-ketamine")
    now = timezone.now()
    first, last = month_measured(location)
    available_slots(location=location, treatment_type=iv, date_from=first, date_to=last, now=now)  # warm
    times, queries, slots = [], 0, 0
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as ctx:
            t0 = clock.perf_counter()
            found = available_slots(
                location=location, treatment_type=iv, date_from=first, date_to=last, now=now
            )
            times.append(clock.perf_counter() - t0)
        queries, slots = len(ctx.captured_queries), len(found)
    return {
        "chairs": chairs,
        "days": 30,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "min_ms": round(min(times) * 1000, 1),
        "queries": queries,
        "free_slots": slots,
        "repeats": repeats,
        "times_ms": [round(t * 1000, 2) for t in times],
        **busy_share(location, first, last),
    }


if __name__ == "__main__":
    what = sys.argv[1]
    scale = int(os.environ.get("SCALE", "1"))
    out = {"prepare": prepare, "booking": lambda: booking(scale), "availability": availability}[what]()
    print(json.dumps(out, default=str))
    _ = Allocation  # imported for readers: the table the overlap check reads
