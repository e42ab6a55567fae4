"""The benchmark's report judges a page by its answers as well as its speed: a fast 500 is not a pass."""

from bench import run


def _result(page_statuses: dict, expected: str = "200") -> dict:
    page = {"requests": sum(page_statuses.values()), "rps": 300.0, "p50_ms": 50, "p95_ms": 60,
            "statuses": page_statuses, "expected_status": expected, "baseline_rps": 600.0}  # fmt: skip
    trivial = {"requests": 9000, "rps": 600.0, "p50_ms": 20, "p95_ms": 30, "statuses": {"200": 9000},
               "expected_status": "200"}  # fmt: skip
    seed = {"locations": 1, "patients": 10, "appointments": 50, "first_day": "2026-01-01",
            "last_day": "2026-12-31", "seed_seconds": 1}  # fmt: skip
    figures = {"attempts": 10, "seconds": 1, "attempts_per_s": 10, "bookings": 1, "correct": True,
               "double_bookings": 0, "overlapping_allocations": 0, "deadlock_errors": 0}  # fmt: skip
    return {
        "scale": 1,
        "seed": seed,
        "measured_at": "2026-11-27T00:00:00+00:00",
        "pages": {"trivial view (baseline)": trivial, "front-desk day view": page},
        "booking": {"service": figures, "raw_sql": figures, "ratio": 1.0},
        "availability": {"days": 30, "chairs": 12, "median_ms": 10, "queries": 2, "free_slots": 1},
    }


def _day_row(text: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith("| front-desk day view |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_a_fast_page_with_its_expected_answers_passes():
    row = _day_row(run.report([_result({"200": 4000})], None))
    assert row[-2:] == ["PASS", "PASS"]


def test_a_fast_page_that_errors_misses_both_targets():
    row = _day_row(run.report([_result({"500": 4000})], None))
    assert row[-2:] == ["MISS", "MISS"]


def test_a_few_errors_among_good_answers_still_miss():
    row = _day_row(run.report([_result({"200": 3990, "500": 10})], None))
    assert row[-2:] == ["MISS", "MISS"]


def test_a_page_that_answered_nothing_misses():
    row = _day_row(run.report([_result({})], None))
    assert row[-2:] == ["MISS", "MISS"]


def test_the_intake_submit_is_judged_by_its_redirect():
    assert run.EXPECTED_STATUS["intake step submit (POST)"] == "302"
    row = _day_row(run.report([_result({"302": 4000}, expected="302")], None))
    assert row[-2:] == ["PASS", "PASS"]
