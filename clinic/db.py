"""Server-side prepared statements for the hottest reads: planned once per database connection, not per request.

PostgreSQL plans every statement it is sent. For the clinician pages' few written-out queries (a UNION of three
reads, a page of the queue joined to three tables) planning took longer than running them, on every request.
``execute_prepared`` sends ``PREPARE`` the first time a connection runs a statement (in the same round trip as its
first ``EXECUTE``), then only ``EXECUTE``; with ``generic=True`` each run uses the statement's generic plan (see
``_GENERIC``). A statement lasts as long as its connection (Django keeps connections for ``CONN_MAX_AGE``),
whatever happens to transactions on it.

Not for use behind a pooler in transaction mode (PgBouncer before 1.21), where the next statement may reach another
server connection: this app connects to PostgreSQL directly.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Any

from django.db import connection

# generic=True: the run uses the statement's generic plan, made once. By default PostgreSQL plans a prepared statement
# again on every run while it estimates the generic plan dearer than a custom one, which it did for the day view's
# statement: a millisecond of planning each time to arrive at the same plan. Only for statements whose best plan does
# not depend on the values (key and range lookups); not for a LIMIT/OFFSET given as a parameter, whose generic plan
# sorts the whole table (bench/README.md has the queue page's figure). SET LOCAL in the same query string lasts for
# that string's implicit transaction (or to the end of the caller's transaction inside an atomic block), then the
# connection is back to its default.
_GENERIC = "SET LOCAL plan_cache_mode = force_generic_plan; "


@lru_cache(maxsize=256)
def _statement(label: str, sql: str) -> tuple[str, str, tuple[str, ...] | int]:
    """The statement's name (the label and a digest of its text, so two shapes never share one), its PREPARE text
    with numbered parameters, and what it takes: the names of its ``%(name)s`` parameters in $-number order, or the
    count of its ``%s`` ones."""
    if "%%" in sql:
        raise ValueError("execute_prepared takes no literal %.")
    names: list[str] = []
    if "%(" in sql:

        def number(match: re.Match) -> str:
            if match.group(1) not in names:
                names.append(match.group(1))
            return f"${names.index(match.group(1)) + 1}"

        numbered = re.sub(r"%\((\w+)\)s", number, sql)
        if "%s" in numbered:
            raise ValueError("execute_prepared takes %s or %(name)s placeholders, not both.")
        takes: tuple[str, ...] | int = tuple(names)
    else:
        count = sql.count("%s")
        numbers = iter(range(1, count + 1))
        numbered = re.sub(r"%s", lambda _: f"${next(numbers)}", sql)
        takes = count
    name = f"clinic_{label}_{hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:10]}"
    return name, f"PREPARE {name} AS {numbered}", takes


def execute_prepared(
    cursor, label: str, sql: str, params: list | tuple | dict = (), *, generic: bool = False
) -> None:
    """Run ``sql`` (a read, with ``%s`` or ``%(name)s`` placeholders) on ``cursor`` as a prepared statement of its
    connection; read the rows from the cursor as usual. ``label`` names it in logs and pg_stat_statements."""
    name, prepare, takes = _statement(label, sql)
    if isinstance(takes, tuple):
        if not isinstance(params, dict) or not set(takes) <= set(params):
            raise ValueError(f"{label}: the parameters {', '.join(takes)} are expected.")
        params = [params[key] for key in takes]
        count = len(takes)
    else:
        count = takes
        if len(params) != count:
            raise ValueError(f"{label}: {count} parameters expected, {len(params)} given.")
    raw = connection.connection  # the psycopg2 connection the cursor is on (Django reconnects with a new one)
    # Per connection: (the psycopg2 connection, names prepared on it, names whose PREPARE may or may not be there).
    state: tuple[Any, set[str], set[str]] | None = getattr(connection, "_clinic_prepared", None)
    if state is None or state[0] is not raw:
        state = connection._clinic_prepared = (raw, set(), set())  # type: ignore[attr-defined]
    _, prepared, uncertain = state
    run = f"EXECUTE {name}({', '.join(['%s'] * count)})" if count else f"EXECUTE {name}"
    if generic:
        run = _GENERIC + run
    if name in uncertain:  # an earlier first run failed: was its PREPARE kept? (PREPARE is not transactional)
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = %s)", [name])
        if cursor.fetchone()[0]:
            prepared.add(name)
        uncertain.discard(name)
    if name in prepared:
        cursor.execute(run, params)
        return
    try:
        cursor.execute(f"{prepare}; {run}", params)  # one round trip; the cursor holds EXECUTE's rows
    except Exception:
        uncertain.add(name)
        raise
    prepared.add(name)
