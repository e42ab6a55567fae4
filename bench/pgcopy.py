"""COPY into the app's real tables: the column list (every NOT NULL column accounted for) and COPY's text format."""

from __future__ import annotations

import io
import time
from typing import NamedTuple


class SeedError(Exception):
    """A table cannot be written as asked: a NOT NULL column whose value would be a guess."""


def table_columns(cursor, table: str) -> list[tuple[str, str, bool, bool]]:
    """(name, type, nullable, has a database default) for each column of ``table``, from information_schema."""
    cursor.execute(
        "SELECT column_name, data_type, is_nullable = 'YES', column_default IS NOT NULL "
        "FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = %s "
        "ORDER BY ordinal_position",
        [table],
    )
    return cursor.fetchall()


# The value a NOT NULL column the seed does not name may get: what Django writes for a blank text field, an empty
# array. Never a flag, a number or a JSON value: false or 0 or {} can mean something (a hold written inactive
# protects nothing), so such a column must be named by the seed.
_EMPTY = {
    "character varying": "",
    "text": "",
    "ARRAY": "{}",
}


def _esc(value) -> str:
    if value is None:
        return r"\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    text = value if isinstance(value, str) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_columns(
    table: str, columns: list[tuple[str, str, bool, bool]], given: list[str]
) -> tuple[list[str], list]:
    """The COPY's column list for ``table`` (``columns`` as ``table_columns`` gives them) and the values of the
    columns it adds: ``given`` first, then every other NOT NULL column without a database default, which gets
    its empty value, so the seed keeps working when a text column is added. Raises SeedError for such a column
    whose type has no empty value."""
    missing = [
        (name, dtype)
        for name, dtype, nullable, has_default in columns
        if name not in given and not nullable and not has_default
    ]
    unnamed = [f"{name} ({dtype})" for name, dtype in missing if dtype not in _EMPTY]
    if unnamed:
        raise SeedError(
            f"{table}: the seed does not say what {', '.join(unnamed)} holds (NOT NULL, no database default)"
        )
    return given + [name for name, _ in missing], [_EMPTY[dtype] for _, dtype in missing]


def copy_rows(cursor, table: str, rows, given: list[str]) -> int:
    """COPY ``rows`` (tuples in the order of ``given``) into ``table``, with the columns ``copy_columns`` adds."""
    names, filled = copy_columns(table, table_columns(cursor, table), given)
    tail = "".join("\t" + _esc(v) for v in filled)
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    buf = io.StringIO()
    count = 0
    for row in rows:
        buf.write("\t".join(_esc(v) for v in row) + tail + "\n")
        count += 1
        if buf.tell() > 16_000_000:
            buf.seek(0)
            cursor.copy_expert(statement, buf)
            buf = io.StringIO()
    buf.seek(0)
    cursor.copy_expert(statement, buf)
    return count


def reset_sequence(cursor, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"
    )


class _Deferred(NamedTuple):
    table: str
    name: str
    statement: str  # what builds it again


def deferred_rules(cursor, tables: list[str]) -> list[_Deferred]:
    """The indexes and constraints of ``tables`` a bulk load is faster without: every B-tree index but the primary
    key's, and the unique and foreign key constraints, each with the statement that builds it again as the
    migrations left it. Check constraints stay (a row's check costs next to nothing), and so do the GiST indexes
    and the exclusion constraints behind them: PostgreSQL 15 builds a range GiST index by inserting every row, one
    at a time, in heap order, so a build after the load costs what the COPY's own inserts cost, and then some
    (bench/README.md has the figures both ways); the exclusion constraints check each hold as it is copied."""
    cursor.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f') ORDER BY c.conrelid::regclass::text, c.oid",
        [tables],
    )
    out = [
        _Deferred(table, name, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, definition in cursor.fetchall()
    ]
    # Indexes not behind a constraint (a constraint's index comes back with it).
    cursor.execute(
        "SELECT i.indrelid::regclass::text, x.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am am ON am.oid = x.relam "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND am.amname <> 'gist' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
        "ORDER BY i.indrelid::regclass::text, x.relname",
        [tables],
    )
    out += [_Deferred(table, name, definition) for table, name, definition in cursor.fetchall()]
    return out


def drop_rules(cursor, tables: list[str]) -> list[_Deferred]:
    """Drop ``tables``' B-tree indexes, unique and foreign key constraints (``deferred_rules``) for a bulk load;
    returns them for ``rebuild_rules``. The GiST indexes and exclusion constraints stay and check every row as it
    is copied (an overlapping active hold fails the COPY)."""
    rules = deferred_rules(cursor, tables)
    for rule in rules:
        if rule.statement.startswith("ALTER TABLE"):
            cursor.execute(f'ALTER TABLE {rule.table} DROP CONSTRAINT "{rule.name}"')
    for rule in rules:
        if not rule.statement.startswith("ALTER TABLE"):
            cursor.execute(f'DROP INDEX "{rule.name}"')
    return rules


def rebuild_rules(cursor, tables: list[str], rules: list[_Deferred], *, log=print) -> None:
    """Build ``rules`` (from ``drop_rules``) again after the load: each constraint checks every loaded row as it is
    added, which is one sort instead of one index update per row. Raises if the rules afterwards differ from the
    rules before."""
    for rule in rules:
        started = time.monotonic()
        cursor.execute(rule.statement)
        log(f"    built {rule.name} in {time.monotonic() - started:.1f}s")
    after = deferred_rules(cursor, tables)
    if sorted(after) != sorted(rules):
        raise SeedError(f"the rebuilt indexes and constraints differ: {sorted(set(rules) ^ set(after))}")
