"""Profile one request of each measured page in-process: time, query count, the slowest queries and cProfile.

DJANGO_SETTINGS_MODULE=bench.settings DATABASE_URL=.../clinic_bench_s1 ... python -m bench.profile_pages
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import measure  # noqa: E402


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
    args = dict(treatment_type=iv, location=location, start=start, booked_by=desk, resource=chair,
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
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(
            r"/work/main/(clinic|intake|scheduling)", 20
        )
        print("\n".join(out.getvalue().splitlines()[-24:]))


def main() -> None:
    if sys.argv[1:] == ["booking"]:
        booking()
        return
    fx = measure.prepare()
    pages = {
        "day": (fx["desk_cookie"], f"/front-desk/day/?location={fx['location']}&date={fx['today']}"),
        "queue": (fx["clinician_cookie"], "/review/"),
        "trends": (fx["clinician_cookie"], f"/review/patients/{fx['trend_patient']}/trends/"),
        "intake_get": (fx["intakes"][0]["cookie"], f"/patient/intake/{fx['intakes'][0]['intake']}/phq9/"),
    }
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
        sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        print(
            f"\n=== {name} {path}: {resp.status_code}, {ms:.0f} ms, {len(ctx.captured_queries)} queries "
            f"({sql_ms:.0f} ms in SQL, {ms - sql_ms:.0f} ms in Python: views, forms, templates)"
        )
        for q in sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:5]:
            print(f"  {q['time']}s  {q['sql'][:300]}")
        prof = cProfile.Profile()
        prof.enable()
        client.get(path)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(
            r"/work/main/(clinic|intake|scheduling)", 25
        )
        print("\n".join(out.getvalue().splitlines()[-32:]))


if __name__ == "__main__":
    main()
