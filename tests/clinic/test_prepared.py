"""clinic.db.execute_prepared: the hottest reads are planned once per connection, and a failure or a reconnect never
leaves a statement half-known."""

from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from clinic.db import execute_prepared

SQL = "SELECT %s::int + n FROM generate_series(1, %s::int) AS n ORDER BY n"


def run(first: int, upto) -> list[int]:
    with connection.cursor() as cursor:
        execute_prepared(cursor, "test_series", SQL, [first, upto], generic=True)
        return [row[0] for row in cursor.fetchall()]


def prepared_here() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements WHERE name LIKE 'clinic_test_series_%%'")
        return [row[0] for row in cursor.fetchall()]


def test_prepared_once_per_connection_then_only_executed(transactional_db):
    connection.close()  # a fresh connection: nothing prepared on it yet
    with CaptureQueriesContext(connection) as first:
        assert run(10, 3) == [11, 12, 13]
    with CaptureQueriesContext(connection) as later:
        assert run(0, 2) == [1, 2]
        assert run(5, 1) == [6]
    assert len(first.captured_queries) == 1 and first.captured_queries[0]["sql"].startswith(
        "PREPARE clinic_test_"
    )
    name = prepared_here()[0]
    assert len(later.captured_queries) == 2
    assert all(f"EXECUTE {name}(" in q["sql"] and "PREPARE" not in q["sql"] for q in later.captured_queries)
    with (
        connection.cursor() as cursor
    ):  # the generic-plan setting was local to each statement's own transaction
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "auto"
    connection.close()  # a new connection prepares it again
    assert run(1, 1) == [2] and len(prepared_here()) == 1


def test_a_failed_first_run_does_not_break_the_next(transactional_db):
    connection.close()
    with pytest.raises(DataError), transaction.atomic():
        run(1, "not a number")  # PREPARE is kept, EXECUTE fails, the transaction rolls back
    assert len(prepared_here()) == 1
    assert run(1, 2) == [2, 3]  # known to be prepared now: executed, not prepared twice


def test_a_statement_is_checked_before_it_runs():
    with pytest.raises(ValueError, match="2 parameters expected"):
        execute_prepared(None, "test_series", SQL, [1])
    with pytest.raises(ValueError, match="no literal %"):
        execute_prepared(None, "test_literal", "SELECT '100%%'", [])
    with pytest.raises(ValueError, match="the parameters low, high are expected"):
        execute_prepared(None, "test_named", "SELECT %(low)s::int, %(high)s::int", {"low": 1})


def test_named_parameters_are_numbered_once_each(transactional_db):
    sql = "SELECT n FROM generate_series(%(low)s::int, %(high)s::int) AS n WHERE n <> %(low)s ORDER BY n"
    for _ in range(2):  # prepared, then executed
        with connection.cursor() as cursor:
            execute_prepared(cursor, "test_named", sql, {"high": 4, "low": 1, "unused": "ignored"})
            assert [row[0] for row in cursor.fetchall()] == [2, 3, 4]
