"""COPY into the app's real tables: the column list (every NOT NULL column accounted for) and COPY's text format."""

from __future__ import annotations

import io


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
