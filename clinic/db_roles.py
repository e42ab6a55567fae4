"""Two database roles: an owner that migrates, and the app's role, which owns nothing.

A role that owns a table can TRUNCATE it, disable or drop its triggers and rewrite it, so an app connected as the
tables' owner could erase or forge the audit trail with one injected statement. The app therefore connects as a
role that holds only what it needs: rows of the app's tables, reading the audit trail, appending record views.
The audit trigger's function runs as its owner (SECURITY DEFINER, clinic/audit.py), which is how a change made by
the app still writes its audit row.

``grant_app_role`` (``manage.py setup_db_roles``) creates that role if missing and converges its grants, so it is
run again after every migrate; ``connected_as_owner`` gives ``migrate`` and that command the owner's connection
(MIGRATION_DATABASE_URL).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, ProgrammingError, connections, transaction

# Tables the app may not change as it likes, and what it may do with each; every other table gets APP_PRIVILEGES.
RESTRICTED_TABLES: dict[str, tuple[str, ...]] = {
    # Written only by the audit trigger's function, which runs as the owner; clinic admins read it in the admin.
    "clinic_auditevent": ("SELECT",),
    # record_patient_view() appends a row for each record a staff member opens; nothing may edit one.
    "clinic_recordview": ("SELECT", "INSERT"),
    # clinic.accounts appends a row for each change of role, superuser status or two-step sign-in.
    "clinic_accountevent": ("SELECT", "INSERT"),
    # runserver and the checks read which migrations ran; only migrate, as the owner, records one.
    "django_migrations": ("SELECT",),
}
APP_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
# Lower case only, so the name needs no quoting and means the same in SQL, in URLs and on the command line.
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
# What the role may never be: any of these would let the app around every grant below.
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


class RoleSetupError(Exception):
    """The app's role cannot be set up safely; the message says why and what to do."""


@contextlib.contextmanager
def connected_as_owner(alias: str = DEFAULT_DB_ALIAS, owner: dict | None = None) -> Iterator[None]:
    """Django's connection in this thread, for the block, is the tables' owner's (MIGRATION_DATABASE_URL's user on
    DATABASE_URL's database); without an owner configured, the connection is left as it is."""
    owner = settings.DATABASE_OWNER if owner is None else owner
    if not owner or alias != DEFAULT_DB_ALIAS:
        yield
        return
    app = connections[alias]
    # A second wrapper rather than changed settings: other threads (a live server, say) keep the app's role.
    as_owner = type(app)({**app.settings_dict, **owner}, alias)
    connections[alias] = as_owner
    try:
        yield
    finally:
        as_owner.close()
        connections[alias] = app


def grant_app_role(*, role: str, password: str | None = None, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create the app's role if missing and give it exactly the app's privileges on this database (run as the
    owner, after migrate). Idempotent: privileges it should not hold are taken back. Returns what was done."""
    if not ROLE_NAME.fullmatch(role):
        raise RoleSetupError(
            f"{role!r} is not a role name this command takes: lower-case letters, digits and _."
        )
    done: list[str] = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(relowner), quote_ident(pg_get_userbyid(relowner)),"
            " quote_ident(current_database()), quote_ident(current_schema()), current_user,"
            " pg_has_role(current_user, relowner, 'USAGE')"
            " FROM pg_class WHERE oid = to_regclass('clinic_auditevent')"
        )
        found = cursor.fetchone()
        if found is None:
            raise RoleSetupError("the audit table does not exist here: run `manage.py migrate` first.")
        owner, owner_sql, database, schema, me, acts_as_owner = found
        if role == owner:
            raise RoleSetupError(
                f"{role} owns the tables; the app's role must be another one (README, Production)."
            )
        if not acts_as_owner:
            raise RoleSetupError(
                f"connected as {me}, who cannot act for the tables' owner {owner}: "
                "set MIGRATION_DATABASE_URL (or DATABASE_URL) to the owner's user."
            )

        done.append(_ensure_role(cursor, role=role, password=password, using=using))
        cursor.execute(
            "SELECT pg_has_role(%s, %s, 'MEMBER'), EXISTS (SELECT 1 FROM pg_database"
            " WHERE datname = current_database() AND datdba = %s::regrole),"
            " (SELECT count(*) FROM pg_shdepend WHERE deptype = 'o' AND refobjid = %s::regrole"
            "  AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            [role, owner, role, role],
        )
        member_of_owner, owns_database, owned = cursor.fetchone()
        if member_of_owner or owns_database or owned:
            raise RoleSetupError(
                f"{role} is a member of {owner}, owns this database or owns {owned} object(s) in it, so it could "
                f"alter the tables and their triggers: as a superuser, REASSIGN OWNED BY {role} TO {owner} (and "
                f"ALTER DATABASE ... OWNER TO {owner}, REVOKE {owner} FROM {role}), then run this again."
            )

        statements = [
            f"GRANT CONNECT ON DATABASE {database} TO {role}",
            f"GRANT USAGE ON SCHEMA {schema} TO {role}",
            f"REVOKE CREATE ON SCHEMA {schema} FROM {role}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
            f"GRANT {', '.join(APP_PRIVILEGES)} ON ALL TABLES IN SCHEMA {schema} TO {role}",
            # Identity columns need no grant on their sequence; these serve any serial column and nextval() reads.
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            # Tables a later migration creates get the app's privileges at once; rerunning this after migrate
            # still matters for a new restricted table.
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_sql} IN SCHEMA {schema}"
            f" GRANT {', '.join(APP_PRIVILEGES)} ON TABLES TO {role}",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner_sql} IN SCHEMA {schema}"
            f" GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ]
        for statement in statements:
            cursor.execute(statement)
        present = {}
        for table, privileges in RESTRICTED_TABLES.items():
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id') FROM pg_class WHERE oid = to_regclass(%s)",
                           [table, table])  # fmt: skip
            row = cursor.fetchone()
            if row is None:
                continue
            present[table] = privileges
            cursor.execute(f"REVOKE ALL ON {table} FROM {role}")
            cursor.execute(f"GRANT {', '.join(privileges)} ON {table} TO {role}")
            if row[0]:
                # nextval() on an audit table's own sequence would leave gaps that look like deleted rows.
                cursor.execute(f"REVOKE ALL ON SEQUENCE {row[0]} FROM {role}")
        restricted = "; ".join(f"{table}: {', '.join(allowed)} only" for table, allowed in present.items())
        done.append(
            f"granted {role} {', '.join(APP_PRIVILEGES)} on the tables of schema {schema} (and on those later "
            f"migrations create); {restricted}"
        )
        _check(cursor, role=role, schema=schema, restricted=present)
    return done


def _ensure_role(cursor, *, role: str, password: str | None, using: str) -> str:
    cursor.execute(
        "SELECT rolcanlogin AND NOT (rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls)"
        " FROM pg_roles WHERE rolname = %s",
        [role],
    )
    row = cursor.fetchone()
    if row is None:
        try:
            # A savepoint: another process (a parallel test run) may create the same role at the same moment.
            with transaction.atomic(using=using):
                cursor.execute(f"CREATE ROLE {role} {ROLE_ATTRIBUTES}")
        except (IntegrityError, ProgrammingError):
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise
        else:
            if password:
                cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])
            return f"created role {role}"
        row = (True,)  # made just now by the other process, with the same attributes
    if not row[0]:
        cursor.execute(f"ALTER ROLE {role} {ROLE_ATTRIBUTES}")
    if password:
        cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])
    return f"role {role} exists" + ("" if row[0] else f"; now {ROLE_ATTRIBUTES}")


def _check(cursor, *, role: str, schema: str, restricted: dict[str, tuple[str, ...]]) -> None:
    """What the role must not be able to do, asked of PostgreSQL itself: a grant to PUBLIC, or to a role it belongs
    to, would survive the REVOKEs above."""
    problems = []
    for table, allowed in restricted.items():
        for privilege in TABLE_PRIVILEGES:
            if privilege in allowed:
                continue
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
            if cursor.fetchone()[0]:
                problems.append(f"{privilege} on {table}")
    cursor.execute("SELECT has_schema_privilege(%s, %s, 'CREATE')", [role, schema])
    if cursor.fetchone()[0]:
        problems.append(f"CREATE on schema {schema} (REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC)")
    if problems:
        raise RoleSetupError(
            f"{role} still holds {', '.join(problems)}, through PUBLIC or another role; revoke it there."
        )
