"""The benchmark, one command: `make bench` (= .venv/bin/python -m bench.run).

For each scale factor (default 1 and 10): create the database clinic_bench_s<SCALE> (dropped first), migrate, seed
(bench/seed.py), check the seeded data (bench/seed_check.py; the run stops if it is wrong), start gunicorn (3 sync
workers) with the same environment, then measure:

- pages under load: p50, p95 and requests/s at 20 clients for 15 s each (bench/loadgen.py, its own process),
  beside a trivial view on the same server (bench/urls.py), in three turns each right after a turn of the trivial
  view, the share taken against those turns (a shared machine's speed drifts within minutes);
- the staff availability endpoint (JSON) for a day and for a month, the same way;
- booking, two ways (bench/measure.py), each beside its raw-SQL baseline and with the correctness check: 50
  clients racing for the same 30 slots on the winner's path (losers not shown alternatives), and for the busy
  days' free starts on the desk's default path (every loser shown the nearest alternatives);
- availability: a month at the 12-chair location on the busy calendar, median time and query count, and how busy
  that month was (booked share of open chair-hours); once every scale is measured, availability again at each in
  alternating turns, judged on all the runs together;
- the reminder drain (bench/reminder_drain.py, written separately), when present.

Then the growth table (SCALE 1 vs 10) and PASS/MISS against the issue's targets. Writes bench/results/<ts>.md/json.

Environment: DATABASE_URL (a server and a superuser: the database name in it is replaced), REDIS_URL (db 7 by
default), BENCH_SCALES ("1,10"), BENCH_DURATION (15), BENCH_SKIP_DRAIN=1 to skip the reminder drain,
BENCH_REUSE=1 to keep an already seeded
clinic_bench_s<SCALE> from an earlier run (migrated again, not reseeded), BENCH_DRAIN_COUNT (10000) and BENCH_DRAIN_TIMEOUT (900 s) for it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE = Path(__file__).resolve().parent.parent
PY = str(BASE / ".venv" / "bin" / "python")
GUNICORN = str(BASE / ".venv" / "bin" / "gunicorn")
RESULTS = BASE / "bench" / "results"

PAGE_P95_MS = 100
PAGE_P95_WHEN_TRIVIAL_RPS = 500  # the p95 target holds where the trivial view serves this much or more
PAGE_RPS_SHARE = 0.50
JSON_DAY_SHARE = 0.40
JSON_MONTH_P95_MS = 300
BOOKING_SHARE = 0.50
BOOKING_ALTERNATIVES_SHARE = 0.40
AVAIL_MS = 20
AVAIL_QUERIES = 3
AVAIL_GROWTH_MAX = 1.3
AVAIL_TURNS = 3  # more turns of availability at every scale, alternating, after all are measured
BUSY_SHARE = 0.80
DRAIN_SHARE = 0.50
GROWTH_MAX = 2.0
GROWTH_MAX_LARGE = 1.5  # SCALE=100 against SCALE=1
JSON_DAY = "availability JSON, a day"
JSON_MONTH = "availability JSON, a month"
ROUNDS = 3  # turns of each page, each after a turn of the trivial view
# What a working page answers; any other status (a 500, a redirect to sign-in) fails the page whatever its speed.
EXPECTED_STATUS = {"intake step submit (POST)": "302"}


def log(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def bench_redis_url() -> str:
    """BENCH_REDIS_URL, else REDIS_URL's server with database 7 (never 0-6), else the local server's db 7."""
    if os.environ.get("BENCH_REDIS_URL"):
        return os.environ["BENCH_REDIS_URL"]
    given = os.environ.get("REDIS_URL", "")
    if given.startswith("redis://"):
        return urlunsplit(urlsplit(given)._replace(path="/7"))
    return "redis://127.0.0.1:6379/7"


def db_name(scale: int | str) -> str:
    """The benchmark's database for a scale: BENCH_DB_PREFIX (default clinic_bench_s) and the scale, so runs on
    one server with different prefixes never drop each other's databases."""
    return f"{os.environ.get('BENCH_DB_PREFIX', 'clinic_bench_s')}{scale}"


def env_for(scale: int) -> dict:
    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    parts = urlsplit(server)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=urlunsplit(parts._replace(path=f"/{db_name(scale)}")),
        REDIS_URL=bench_redis_url(),
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY=os.environ.get(
            "SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
        ),
        DEBUG="0",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        STAFF_SESSION_IDLE_MINUTES="120",
        PUBLIC_RATE_LIMIT="1000000",
        LOG_LEVEL="WARNING",
        SCALE=str(scale),
        PYTHONPATH=str(BASE),
    )
    return env


def sh(args: list[str], env: dict, timeout: float = 1800) -> str:
    done = subprocess.run(args, env=env, cwd=BASE, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def create_database(scale: int | str, env: dict) -> None:
    name = db_name(scale)
    admin = urlunsplit(urlsplit(env["DATABASE_URL"])._replace(path="/postgres"))
    script = (
        "import psycopg2,sys; c=psycopg2.connect(sys.argv[1]); c.autocommit=True; k=c.cursor(); "
        f"k.execute('DROP DATABASE IF EXISTS {name} WITH (FORCE)'); k.execute('CREATE DATABASE {name}')"
    )
    sh([PY, "-c", script, admin], env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env: dict) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [GUNICORN, "clinic.wsgi:application", "--workers", "3", "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "60"],
        env=env, cwd=BASE,
    )  # fmt: skip
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/trivial", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("gunicorn did not answer")


def load(env: dict, port: int, clients: list[dict], duration: float) -> dict:
    spec = {"host": "127.0.0.1", "port": port, "duration": duration, "clients": clients, "latencies": True}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(spec, fh)
    try:
        return last_json(sh([PY, "-m", "bench.loadgen", fh.name], env, timeout=duration + 180))
    finally:
        os.unlink(fh.name)


def pages(env: dict, duration: int) -> dict:
    fx = last_json(sh([PY, "-m", "bench.measure", "prepare"], env))
    # The pages link the hashed static files: without the manifest (a fresh clone) every page would answer 500.
    sh([PY, "manage.py", "collectstatic", "--noinput", "-v0"], env)
    proc, port = start_gunicorn(env)
    try:
        n = len(fx["intakes"])
        desk, clin = fx["desk_cookie"], fx["clinician_cookie"]
        scenarios = {
            "trivial view (baseline)": [{"method": "GET", "path": "/bench/trivial", "cookie": clin}] * n,
            "intake step submit (POST)": [
                {
                    "method": "POST",
                    "path": f"/patient/intake/{i['intake']}/phq9/",
                    "form_from": f"/patient/intake/{i['intake']}/phq9/",
                    "cookie": i["cookie"],
                }
                for i in fx["intakes"]
            ],
            "front-desk day view": [
                {
                    "method": "GET",
                    "path": f"/front-desk/day/?location={fx['location']}&date={fx['today']}",
                    "cookie": desk,
                }
            ]
            * n,  # fmt: skip
            "clinician review queue": [{"method": "GET", "path": "/review/", "cookie": clin}] * n,
            "patient trend page": [
                {"method": "GET", "path": f"/review/patients/{fx['trend_patient']}/trends/", "cookie": clin}
            ]
            * n,
            # The staff availability endpoint over the busy calendar: tomorrow, and the month availability is
            # measured on.
            JSON_DAY: [
                {"method": "GET", "path": json_path(fx, fx["tomorrow"], fx["tomorrow"]), "cookie": desk}
            ]
            * n,
            JSON_MONTH: [
                {"method": "GET", "path": json_path(fx, fx["tomorrow"], fx["month_end"]), "cookie": desk}
            ]
            * n,
        }
        # Each page is measured in ROUNDS turns, each right after a turn of the trivial view, and its share is
        # against those adjacent turns: on a shared machine the speed drifts by a third within minutes (seen: the
        # trivial view at 228 and 308 req/s in one run), and a baseline measured minutes earlier would judge the
        # machine, not the page. The trivial row is every trivial turn together.
        trivial_name = "trivial view (baseline)"
        trivial_turns: list[dict] = []
        out: dict[str, dict] = {trivial_name: {}}
        for name, clients in scenarios.items():
            if name == trivial_name:
                continue
            log(f"  load: {name} ({ROUNDS} turns, each after a turn of the trivial view)")
            before, turns = [], []
            for _ in range(ROUNDS):
                before.append(load(env, port, scenarios[trivial_name], duration / ROUNDS))
                turns.append(load(env, port, clients, duration / ROUNDS))
            trivial_turns += before
            out[name] = merged(turns)
            out[name]["expected_status"] = EXPECTED_STATUS.get(name, "200")
            out[name]["baseline_rps"] = merged(before)["rps"]
            log(f"    {out[name]}")
        out[trivial_name] = merged(trivial_turns)
        out[trivial_name]["expected_status"] = "200"
        log(f"    trivial, all turns: {out[trivial_name]}")
        return out
    finally:
        proc.terminate()
        proc.wait(30)


def json_path(fx: dict, first: str, last: str) -> str:
    return f"/front-desk/availability.json?location={fx['location']}&treatment=iv-ketamine&from={first}&to={last}"


def merged(turns: list[dict]) -> dict:
    """Several load runs of one scenario as one: requests over seconds, latency percentiles over all requests."""
    every = sorted(x for turn in turns for x in turn.get("latencies_ms", []))
    seconds = sum(turn.get("seconds", 0) for turn in turns)
    statuses: dict[str, int] = {}
    for turn in turns:
        for key, count in turn.get("statuses", {}).items():
            statuses[key] = statuses.get(key, 0) + count
    if not every:
        return {"requests": 0, "rps": 0, "p50_ms": 0, "p95_ms": 0, "statuses": statuses, "turns": len(turns)}
    return {
        "requests": len(every),
        "seconds": round(seconds, 2),
        "rps": round(len(every) / seconds, 1),
        "p50_ms": every[len(every) // 2],
        "p95_ms": every[min(len(every) - 1, int(len(every) * 0.95))],
        "mean_ms": round(sum(every) / len(every), 1),
        "statuses": statuses,
        "turns": len(turns),
        "failures": [f for turn in turns for f in turn.get("failures", [])][:3],
    }


def drain(env: dict) -> dict | None:
    script = BASE / "bench" / "reminder_drain.py"
    if not script.exists() or os.environ.get("BENCH_SKIP_DRAIN") == "1":
        return None
    # A database of its own, so the only due reminders are the benchmark's (a seeded one has some due now).
    denv = dict(env, DJANGO_SETTINGS_MODULE="clinic.settings")
    denv["DATABASE_URL"] = urlunsplit(urlsplit(env["DATABASE_URL"])._replace(path=f"/{db_name('drain')}"))
    create_database("drain", denv)
    sh([PY, "manage.py", "migrate", "-v0"], denv)
    try:
        count = os.environ.get("BENCH_DRAIN_COUNT", "10000")
        out = sh(
            [PY, str(script), "--count", count],
            denv,
            timeout=int(os.environ.get("BENCH_DRAIN_TIMEOUT", "900")),
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"error": str(exc)[-500:]}
    figures: dict = {"output": out.strip().splitlines()[-5:]}
    for line in out.splitlines():
        if line.startswith("ratio outbox / plain loop:"):
            figures["ratio"] = float(line.split(":")[1])
    return figures


def run_scale(scale: int, duration: int) -> dict:
    env = env_for(scale)
    log(f"SCALE={scale}: database {db_name(scale)}")
    saved = RESULTS / f".seed_{db_name(scale)}.json"
    reuse = os.environ.get("BENCH_REUSE") == "1" and saved.exists()
    if not reuse:
        create_database(scale, env)
    t0 = time.monotonic()
    sh([PY, "manage.py", "migrate", "-v0"], env)
    log(f"  migrated in {time.monotonic() - t0:.1f}s")
    if reuse:
        seed = json.loads(saved.read_text())
        log(f"  reusing the seeded database (BENCH_REUSE=1; seeded in {seed['seed_seconds']}s)")
    else:
        seed = json.loads(_seed(env))
        RESULTS.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps(seed))
        log(f"  seeded in {seed['seed_seconds']}s")
    result = {
        "scale": scale,
        "seed": seed,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_before": [round(x, 1) for x in os.getloadavg()],
    }
    result["seed_check"] = check_seed(scale, env)
    log("  availability")
    result["availability"] = last_json(sh([PY, "-m", "bench.measure", "availability"], env))
    log(f"    {result['availability']}")
    log("  booking (50 clients)")
    result["booking"] = last_json(sh([PY, "-m", "bench.measure", "booking"], env))
    log(f"    {result['booking']}")
    result["pages"] = pages(env, duration)
    result["load_after"] = [round(x, 1) for x in os.getloadavg()]
    return result


def check_seed(scale: int, env: dict) -> dict:
    """bench/seed_check.py against the seeded (or reused) database; stops the run if the data is wrong, since
    figures measured on a calendar whose sessions hold nothing would describe an empty clinic."""
    log("  seed check")
    done = subprocess.run(
        [PY, "-m", "bench.seed_check", str(scale)],
        env=env,
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode:
        sys.exit(f"{done.stdout}{done.stderr}Not measuring: reseed {db_name(scale)} (without BENCH_REUSE).")
    for line in done.stdout.strip().splitlines()[:-1]:
        log(f"    {line}")
    return last_json(done.stdout)


def _seed(env: dict) -> str:
    # SCALE=100 loads 23 M rows into indexed tables: hours on a slow shared machine, not minutes.
    out = sh([PY, "-m", "bench.seed", env["SCALE"]], env, timeout=3600 * max(1, int(env["SCALE"]) // 20))
    body = out[out.index("{") :]
    return json.dumps(json.loads(body))


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def answered(f: dict) -> bool:
    """Every request of the page got its expected status (and there were requests): fast errors prove nothing."""
    return f.get("requests", 0) > 0 and set(f.get("statuses", {})) == {f.get("expected_status", "200")}


def page_verdicts(name: str, f: dict, share: float, trivial_rps: float) -> tuple[str, str]:
    """The p95 and share verdicts of one row of the page table (see the report's note above the table)."""
    if name.startswith("trivial"):
        return "-", "-"
    ok = answered(f)
    if name == JSON_MONTH:
        return verdict(ok and f["p95_ms"] < JSON_MONTH_P95_MS), "-"
    if name == JSON_DAY:
        return "-", verdict(ok and share >= JSON_DAY_SHARE)
    if trivial_rps >= PAGE_P95_WHEN_TRIVIAL_RPS:
        p95 = verdict(ok and f["p95_ms"] < PAGE_P95_MS)
    else:
        p95 = f"n/a (trivial {trivial_rps:.0f} req/s)"
    return p95, verdict(ok and share >= PAGE_RPS_SHARE)


def report(results: list[dict], drained: dict | None) -> str:
    lines = [f"# Benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", ""]
    lines.append(
        f"Machine: {os.cpu_count()} CPUs. gunicorn 3 sync workers; 20 page clients; 50 booking clients."
    )
    for r in results:
        s = r["scale"]
        seed = r["seed"]
        lines += [
            "",
            f"## SCALE={s} (measured {r['measured_at']})",
            "",
            f"Seed: {seed['locations']} locations, {seed['patients']:,} patients, {seed['appointments']:,} "
            f"appointments ({seed['first_day']} to {seed['last_day']}) in {seed['seed_seconds']} s.",
            "",
            f"Machine load (1, 5, 15-minute load average) before this scale's measures: {r.get('load_before')}, "
            f"after: {r.get('load_after')} (the benchmark itself adds about 3).",
            "",
            f"Each page ran in {ROUNDS} turns, each right after a turn of the trivial view; its share is against those "
            "turns (trivial req/s beside it). The trivial row is all its turns together. A page that answered any "
            "status but its expected one (200; 302 for the intake submit) misses its targets, however fast. Pages: "
            f"share >= {PAGE_RPS_SHARE:.0%}, p95 < {PAGE_P95_MS} ms where the trivial view beside it serves "
            f">= {PAGE_P95_WHEN_TRIVIAL_RPS} req/s (n/a below that: p95 follows the machine's speed). The "
            f"availability JSON: a day's share >= {JSON_DAY_SHARE:.0%}, a month's p95 < {JSON_MONTH_P95_MS} ms.",
            "",
            "| Page (20 clients) | p50 ms | p95 ms | req/s | trivial req/s beside it | share of trivial | statuses "
            "| p95 target | share target |",
            "|---|---:|---:|---:|---:|---:|---|---|---|",
        ]
        for name, f in r["pages"].items():
            base = f.get("baseline_rps") or r["pages"]["trivial view (baseline)"]["rps"]
            share = f["rps"] / base if base else 0
            f["share"] = round(share, 3)
            p95_cell, share_cell = page_verdicts(name, f, share, base)
            lines.append(
                f"| {name} | {f['p50_ms']} | {f['p95_ms']} | {f['rps']} | {f.get('baseline_rps', '-')} | {share:.0%} "
                f"| {f['statuses']} | {p95_cell} | {share_cell} |"
            )
        b = r["booking"]
        lines += [
            "",
            "| Booking (50 clients) | attempts | s | attempts/s | bookings | losers shown alternatives | correct "
            "| double | overlaps | deadlock errors |",
            "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        runs = (
            ("service", "winner's path: book_appointment, no alternatives (30 slots)"),
            ("raw_sql", "raw psycopg2 (its baseline)"),
            ("service_alternatives", "default path: book_appointment with alternatives (busy days)"),
            ("raw_sql_free_starts", "raw psycopg2 + the day's free starts per loser (its baseline)"),
        )
        for key, label in runs:
            if key not in b:
                continue
            x = b[key]
            lines.append(
                f"| {label} | {x['attempts']} | {x['seconds']} | {x['attempts_per_s']} | {x['bookings']} | "
                f"{x.get('losers_offered_alternatives', '-')} | {x['correct']} | {x['double_bookings']} | "
                f"{x['overlapping_allocations']} | {x['deadlock_errors']} |"
            )
        all_correct = all(b[key]["correct"] for key, _ in runs if key in b)
        lines.append(
            f"\nWinner's path / raw: {b['ratio']:.1%} (target >= {BOOKING_SHARE:.0%}): "
            f"{verdict(b['ratio'] >= BOOKING_SHARE)}"
        )
        if "ratio_alternatives" in b:
            ratio = b["ratio_alternatives"]
            lines.append(
                f"Default path with alternatives / raw with free starts: {ratio:.1%} (target >= "
                f"{BOOKING_ALTERNATIVES_SHARE:.0%}): {verdict(ratio >= BOOKING_ALTERNATIVES_SHARE)}"
            )
        lines.append(f"Zero double bookings in every run: {verdict(all_correct)}")
        a = r["availability"]
        lines.append(
            f"\nAvailability, {a['days']} days, {a['chairs']} chairs: median {a['median_ms']} ms over "
            f"{a.get('repeats', '?')} runs, in turns alternating between the scales (target < {AVAIL_MS}: {verdict(a['median_ms'] < AVAIL_MS)}), "
            f"{a['queries']} queries (target <= {AVAIL_QUERIES}: {verdict(a['queries'] <= AVAIL_QUERIES)}), "
            f"{a['free_slots']} free starts."
        )
        if "busy_share" in a:
            lines.append(
                f"The measured month ({a['first_day']} to {a['last_day']}, {a['chairs']} chairs) was "
                f"{a['busy_share']:.1%} booked: {a['booked_chair_hours']:,} of {a['open_chair_hours']:,} open "
                f"chair-hours (target >= {BUSY_SHARE:.0%}: {verdict(a['busy_share'] >= BUSY_SHARE)})."
            )
    if drained:
        lines += [
            "",
            "## Reminder drain (bench/reminder_drain.py)",
            "",
            "```",
            *drained.get("output", []),
            "```",
        ]
        if "ratio" in drained:
            lines.append(
                f"Ratio {drained['ratio']:.2f} (target >= 0.50): {verdict(drained['ratio'] >= DRAIN_SHARE)}"
            )
        elif "error" in drained:
            lines.append(f"Failed: {drained['error']}")
    lo = results[0]
    for hi in results[1:]:
        limit = growth_limit(lo["scale"], hi["scale"])
        avail_limit = AVAIL_GROWTH_MAX if hi["scale"] <= 10 * lo["scale"] else limit
        lines += [
            "",
            f"## Growth: SCALE={lo['scale']} vs SCALE={hi['scale']} (worse-by factor; target <= {limit:g})",
            "",
            f"| Figure | SCALE={lo['scale']} | SCALE={hi['scale']} | worse by | verdict |",
            "|---|---:|---:|---:|---|",
        ]

        def row(label, a, b, higher_is_better=False, limit=limit, table_limit=limit, out=lines):
            worse = (a / b if b else float("inf")) if higher_is_better else (b / a if a else float("inf"))
            note = "" if limit == table_limit else f" (target <= {limit})"
            out.append(f"| {label}{note} | {a} | {b} | {worse:.2f}x | {verdict(worse <= limit)} |")

        for name in lo["pages"]:
            row(f"{name} p95 ms", lo["pages"][name]["p95_ms"], hi["pages"][name]["p95_ms"])
            row(f"{name} req/s", lo["pages"][name]["rps"], hi["pages"][name]["rps"], True)
            if not name.startswith("trivial"):
                # Normalised by the trivial view of the same run: robust to a busier machine in one of the runs.
                row(
                    f"{name} share of trivial req/s",
                    lo["pages"][name]["share"],
                    hi["pages"][name]["share"],
                    True,
                )
        for key, label in (
            ("service", "booking, winner's path attempts/s"),
            ("service_alternatives", "booking, default path attempts/s"),
        ):
            if key in lo["booking"] and key in hi["booking"]:
                row(label, lo["booking"][key]["attempts_per_s"], hi["booking"][key]["attempts_per_s"], True)
        for key, label in (
            ("ratio", "booking, winner's path / raw"),
            ("ratio_alternatives", "booking, default path / raw"),
        ):
            if key in lo["booking"] and key in hi["booking"]:
                row(label, lo["booking"][key], hi["booking"][key], True)
        row(
            "availability median ms",
            lo["availability"]["median_ms"],
            hi["availability"]["median_ms"],
            limit=avail_limit,
        )
        row("availability queries", lo["availability"]["queries"], hi["availability"]["queries"])
    return "\n".join(lines) + "\n"


def growth_limit(lo: int, hi: int) -> float:
    """How much worse a figure may be at scale ``hi`` than at ``lo``: 2x up to ten times the data, 1.5x beyond
    (the issue's SCALE=100 target, from SCALE=1)."""
    return GROWTH_MAX if hi <= 10 * lo else GROWTH_MAX_LARGE


def availability_turns(results: list[dict], turns: int = AVAIL_TURNS) -> None:
    """Availability measured again at every scale in alternating turns, once all are seeded, and judged on every
    turn's runs together: measured minutes apart, on a shared machine, the two medians compared the load of two
    moments (seen: the same code at 7.7 and 18.7 ms, minimum 6.0 and 6.9 ms)."""
    pooled: dict[int, list[float]] = {r["scale"]: list(r["availability"]["times_ms"]) for r in results}
    for _ in range(turns):
        for r in results:
            again = last_json(sh([PY, "-m", "bench.measure", "availability"], env_for(r["scale"])))
            pooled[r["scale"]] += again["times_ms"]
    for r in results:
        times = sorted(pooled[r["scale"]])
        a = r["availability"]
        a["repeats"] = len(times)
        a["median_ms"] = round(times[len(times) // 2], 1)
        a["min_ms"] = round(times[0], 1)
        log(f"  availability SCALE={r['scale']}, {len(times)} runs over {turns + 1} alternating turns: "
            f"median {a['median_ms']} ms, min {a['min_ms']} ms")  # fmt: skip


def main() -> None:
    scales = [int(s) for s in os.environ.get("BENCH_SCALES", "1,10").split(",") if s.strip()]
    duration = int(os.environ.get("BENCH_DURATION", "15"))
    results = [run_scale(s, duration) for s in scales]
    log("availability, every scale in alternating turns")
    availability_turns(results)
    log("reminder drain")
    drained = drain(env_for(scales[0]))
    text = report(results, drained)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.md").write_text(text)
    (RESULTS / f"{stamp}.json").write_text(
        json.dumps({"results": results, "reminder_drain": drained}, indent=1, default=str)
    )
    print(text)
    log(f"wrote bench/results/{stamp}.md and .json")


if __name__ == "__main__":
    main()
