"""Profile one request of each measured page in-process: time, query count, the slowest queries and cProfile.

DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=.../clinic_bench_s1 ... python -m bench.profile_pages [page ...]

Pages: day, queue, trends, intake_get, and the other clinician pages (patient, decide, alerts, queue_filtered),
which carry the same navigation badge. PROFILE_ALL_QUERIES=1 lists every query (not only the five slowest);
PROFILE_REPEAT=n adds the median time of n more requests; PROFILE_ALL_CODE=1 shows cProfile for all code (Django and templates too), not only the project's;
PROFILE_SORT=tottime sorts it by own time.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import measure  # noqa: E402

# The project's own code in cProfile's listing (this checkout's, wherever it is).
PROJECT_CODE = (
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + r"/(clinic|intake|scheduling|review)/"
)


def booking() -> None:
    """One client: queries and profile of a winning booking and of a losing attempt (slot already taken)."""
    from datetime import timedelta

    from clinic.models import User
    from intake.models import Patient
    from scheduling import services
    from scheduling.models import Appointment, Clinician, Location, Resource, TreatmentType

    location = Location.objects.order_by("pk").first()
    iv = TreatmentType.objects.get(code="iv-ketamine")
    chair = Resource.objects.filter(location=location).order_by("name")[2]
    clinician = Clinician.objects.filter(locations=location).order_by("pk")[2]
    desk = User.objects.get(email="desk@bench.invalid")
    patients = list(Patient.objects.filter(eligibility_decisions__isnull=False).order_by("-pk")[:2])
    start = measure._slots(int(os.environ.get("SCALE", "1")), 70)[0]
    Appointment.objects.filter(start_at__gte=start - timedelta(days=1)).delete()
    args: dict[str, Any] = dict(treatment_type=iv, location=location, start=start, booked_by=desk, resource=chair,
                                clinician=clinician, with_alternatives=False)  # fmt: skip
    for label, patient in (("win", patients[0]), ("lose", patients[1])):
        prof = cProfile.Profile()
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            prof.enable()
            try:
                services.book_appointment(patient=patient, **args)
            except services.SchedulingError as exc:
                print("refused:", exc)
            prof.disable()
            ms = (time.perf_counter() - t0) * 1000
        print(f"\n=== booking {label}: {ms:.1f} ms, {len(ctx.captured_queries)} queries")
        for q in ctx.captured_queries:
            print(f"  {q['time']}s  {q['sql'][:160]}")
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(PROJECT_CODE, 20)
        print("\n".join(out.getvalue().splitlines()[-24:]))


def main() -> None:
    if sys.argv[1:] == ["booking"]:
        booking()
        return
    fx = measure.prepare()
    pages = {
        "trivial": (fx["clinician_cookie"], "/bench/trivial"),  # the middleware alone, for comparison
        "day": (fx["desk_cookie"], f"/front-desk/day/?location={fx['location']}&date={fx['today']}"),
        "queue": (fx["clinician_cookie"], "/review/"),
        "trends": (fx["clinician_cookie"], f"/review/patients/{fx['trend_patient']}/trends/"),
        "intake_get": (fx["intakes"][0]["cookie"], f"/patient/intake/{fx['intakes'][0]['intake']}/phq9/"),
        "patient": (fx["clinician_cookie"], f"/review/patients/{fx['trend_patient']}/"),
        "decide": (fx["clinician_cookie"], f"/review/patients/{fx['trend_patient']}/decision/"),
        "alerts": (fx["clinician_cookie"], "/review/alerts/"),
        "queue_filtered": (fx["clinician_cookie"], "/review/?reason=ptsd&finding=aneurysm"),
    }
    repeat = int(os.environ.get("PROFILE_REPEAT", "0"))
    all_queries = os.environ.get("PROFILE_ALL_QUERIES") == "1"
    code_filter = "" if os.environ.get("PROFILE_ALL_CODE") == "1" else PROJECT_CODE
    sort_key = os.environ.get("PROFILE_SORT", "cumulative")
    only = sys.argv[1:] or list(pages)
    for name in only:
        cookie, path = pages[name]
        client = Client(HTTP_HOST="127.0.0.1")
        key, value = cookie.split("=", 1)
        client.cookies[key] = value
        client.get(path)  # warm
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            resp = client.get(path)
            ms = (time.perf_counter() - t0) * 1000
        queries = list(ctx.captured_queries)  # read now: each request of the test client clears the log
        sql_ms = sum(float(q["time"]) for q in queries) * 1000
        timings = []
        for _ in range(repeat):  # the median of several requests: the machine is shared, one timing is noise
            t0 = time.perf_counter()
            client.get(path)
            timings.append((time.perf_counter() - t0) * 1000)
        median = f", median of {repeat}: {statistics.median(timings):.1f} ms" if repeat else ""
        print(
            f"\n=== {name} {path}: {resp.status_code}, {ms:.0f} ms, {len(queries)} queries "
            f"({sql_ms:.0f} ms in SQL, {ms - sql_ms:.0f} ms in Python: views, forms, templates){median}"
        )
        shown = queries if all_queries else sorted(queries, key=lambda q: -float(q["time"]))[:5]
        for q in shown:
            print(f"  {q['time']}s  {q['sql'][:300]}")
        prof = cProfile.Profile()
        prof.enable()
        client.get(path)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(sort_key).print_stats(code_filter, 25)
        print("\n".join(out.getvalue().splitlines()[-32:]))


if __name__ == "__main__":
    main()
