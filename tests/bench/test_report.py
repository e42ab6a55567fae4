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
        "booking": {
            "service": figures,
            "raw_sql": figures,
            "ratio": 1.0,
            "service_alternatives": figures,
            "raw_sql_free_starts": figures,
            "ratio_alternatives": 0.5,
        },  # fmt: skip
        "availability": {
            "days": 30,
            "chairs": 12,
            "median_ms": 10,
            "queries": 2,
            "free_slots": 1,
            "repeats": 21,
            "first_day": "2026-01-02",
            "last_day": "2026-01-31",
            "booked_chair_hours": 3600,
            "open_chair_hours": 4320,
            "busy_share": 0.8333,
        },  # fmt: skip
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


def _row(text: str, name: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith(f"| {name} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_p95_target_applies_only_where_the_trivial_view_is_fast_enough():
    result = _result({"200": 4000})
    day = result["pages"]["front-desk day view"]
    day.update(baseline_rps=400.0, rps=200.0, p95_ms=140)
    row = _row(run.report([result], None), "front-desk day view")
    assert row[-2:] == ["n/a (trivial 400 req/s)", "PASS"]
    day.update(baseline_rps=600.0, rps=290.0, p95_ms=100)
    assert _row(run.report([result], None), "front-desk day view")[-2:] == ["MISS", "MISS"]  # 100 ms, 48 %


def test_the_availability_json_rows_have_their_own_targets():
    result = _result({"200": 4000})
    page = result["pages"].pop("front-desk day view")
    result["pages"][run.JSON_DAY] = dict(page, rps=250.0, p95_ms=200)  # 42 % of 600
    result["pages"][run.JSON_MONTH] = dict(page, rps=60.0, p95_ms=299)
    text = run.report([result], None)
    assert _row(text, run.JSON_DAY)[-2:] == ["-", "PASS"]
    assert _row(text, run.JSON_MONTH)[-2:] == ["PASS", "-"]
    result["pages"][run.JSON_MONTH]["p95_ms"] = 300
    assert _row(run.report([result], None), run.JSON_MONTH)[-2:] == ["MISS", "-"]


def test_the_report_says_how_busy_the_measured_month_was_and_judges_both_booking_paths():
    text = run.report([_result({"200": 4000})], None)
    assert "was 83.3% booked: 3,600 of 4,320 open chair-hours (target >= 80%: PASS)" in text
    assert "Winner's path / raw: 100.0% (target >= 50%): PASS" in text
    assert "Default path with alternatives / raw with free starts: 50.0% (target >= 40%): PASS" in text
    assert "Zero double bookings in every run: PASS" in text
