"""The app's database role owns nothing: it cannot empty, rewrite or forge the audit trail, nor switch off a trigger,
and a change it makes is still recorded, with the actor the request set (clinic/db_roles.py, clinic/audit.py)."""

import subprocess
import sys
import uuid

import psycopg2
import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from clinic.models import AuditEvent
from intake.models import Patient
from tests.support import (
    APP_ROLE,
    BASE_DIR,
    OWNER,
    connected_as_owner,
    database_url,
    owner_settings,
    worker_env,
)

INSUFFICIENT_PRIVILEGE = "42501"


def _refused(statement: str, params=None) -> DatabaseError:
    """Run the statement as the app does, expecting PostgreSQL to refuse it for want of a privilege."""
    with pytest.raises(DatabaseError) as caught, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
    cause = caught.value.__cause__
    assert isinstance(cause, psycopg2.Error) and cause.pgcode == INSUFFICIENT_PRIVILEGE, caught.value
    return caught.value


def _one(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def test_the_app_connects_as_a_role_that_owns_nothing_and_cannot_become_the_owner(db):
    user, superuser, owned = _one(
        "SELECT current_user, rolsuper, (SELECT count(*) FROM pg_class WHERE relowner = pg_roles.oid)"
        " FROM pg_roles WHERE rolname = current_user"
    )
    assert (user, superuser, owned) == (APP_ROLE, False, 0)
    owner = _one("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'clinic_auditevent'::regclass")[
        0
    ]
    assert owner == OWNER["USER"]
    _refused(f"SET ROLE {owner}")


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE clinic_auditevent",
        "DELETE FROM clinic_auditevent",
        "UPDATE clinic_auditevent SET actor_id = NULL",
        "TRUNCATE clinic_recordview",
        "DELETE FROM clinic_recordview",
        "UPDATE clinic_recordview SET user_id = user_id",
    ],
)
def test_the_app_cannot_empty_or_rewrite_the_trail(patient, statement):
    _refused(statement)
    assert AuditEvent.objects.filter(patient_id=patient.patient.pk).exists()


def test_the_app_cannot_write_an_audit_row_of_its_own(patient, clinician):
    _refused(
        "INSERT INTO clinic_auditevent (occurred_at, table_name, row_pk, action, patient_id, actor_id, context)"
        " VALUES (now(), 'intake_patient', %s, 'UPDATE', %s, %s, 'web POST forged')",
        [patient.patient.pk, patient.patient.pk, clinician.pk],
    )
    # Nor take its ids: a gap in them would look like a deleted row.
    _refused("SELECT nextval(pg_get_serial_sequence('clinic_auditevent', 'id'))")


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE intake_patient DISABLE TRIGGER intake_patient_audit",
        "ALTER TABLE intake_patient DISABLE TRIGGER ALL",
        "DROP TRIGGER intake_patient_audit ON intake_patient",
        "ALTER TABLE clinic_auditevent DISABLE TRIGGER clinic_auditevent_append_only",
        "DROP TRIGGER clinic_recordview_append_only ON clinic_recordview",
        "ALTER TABLE intake_intakesubmission DISABLE TRIGGER USER",
        "DROP FUNCTION clinic_audit_row() CASCADE",
        "CREATE OR REPLACE FUNCTION clinic_audit_row() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'",
        "ALTER TABLE clinic_auditevent RENAME TO clinic_auditevent_old",
        "SET session_replication_role = replica",
        "CREATE TABLE clinic_auditevent_copy (id bigint)",
    ],
)
def test_the_app_cannot_switch_off_or_replace_a_trigger(db, statement):
    _refused(statement)


def test_a_change_by_the_app_is_recorded_by_the_owners_function_with_the_requests_actor(client, front_desk):
    assert _one("SELECT has_table_privilege('clinic_auditevent', 'INSERT')") == (False,)
    definer, function_owner, config = _one(
        "SELECT prosecdef, pg_get_userbyid(proowner), proconfig FROM pg_proc WHERE proname = 'clinic_audit_row'"
    )
    assert definer and function_owner == OWNER["USER"]
    assert config == [f"search_path=pg_catalog, {_one('SELECT current_schema()')[0]}, pg_temp"]

    client.force_login(front_desk)
    response = client.post(
        reverse("scheduling:invite_patient"),
        {"legal_first_name": "Rio", "legal_last_name": "Role", "email": "rio@example.org"},
        REMOTE_ADDR="10.4.5.6",
    )
    assert response.status_code == 302
    created = Patient.objects.get(email="rio@example.org")
    (event,) = AuditEvent.objects.filter(patient_id=created.pk, table_name="intake_patient")
    assert (event.action, event.actor_id, event.actor_ip) == ("INSERT", front_desk.pk, "10.4.5.6")
    assert event.context == "web POST scheduling:invite_patient"


def test_a_change_made_outside_a_request_names_the_app_role(patient):
    Patient.objects.filter(pk=patient.patient.pk).update(city="Salem")
    (event,) = AuditEvent.objects.filter(patient_id=patient.patient.pk, action="UPDATE")
    assert event.actor_id is None and event.context == f"database: {APP_ROLE}"


def test_a_temporary_table_cannot_swallow_the_audit_rows(patient):
    """PostgreSQL searches a session's temporary schema first unless a search_path names it; the audit function's
    names it last, so a temporary clinic_auditevent made by the app catches nothing."""
    schema = _one("SELECT quote_ident(current_schema())")[0]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE clinic_auditevent (LIKE {schema}.clinic_auditevent)")
        Patient.objects.filter(pk=patient.patient.pk).update(city="Lynn")
        cursor.execute("SELECT count(*) FROM pg_temp.clinic_auditevent")
        assert cursor.fetchone() == (0,)
        cursor.execute(
            f"SELECT new_data ->> 'city' FROM {schema}.clinic_auditevent WHERE patient_id = %s AND action = 'UPDATE'",
            [patient.patient.pk],
        )
        assert cursor.fetchall() == [("Lynn",)]


# --- manage.py setup_db_roles ------------------------------------------------------------------------------------


def _privileges(role: str, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p FROM unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) p"
            " WHERE has_table_privilege(%s, %s, p)",
            [role, table],
        )
        return {row[0] for row in cursor.fetchall()}


def test_setup_db_roles_creates_the_role_and_converges_its_grants(transactional_db):
    role = f"clinic_test_new_{uuid.uuid4().hex[:8]}"
    with connected_as_owner():
        try:
            call_command("setup_db_roles", role, verbosity=0)
            assert _one(
                "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles"
                " WHERE rolname = %s",
                [role],
            ) == (True, False, False, False, False)
            assert _privileges(role, "clinic_auditevent") == {"SELECT"}
            assert _privileges(role, "clinic_recordview") == {"SELECT", "INSERT"}
            assert _privileges(role, "django_migrations") == {"SELECT"}
            assert _privileges(role, "intake_patient") == {"SELECT", "INSERT", "UPDATE", "DELETE"}

            # Run again after someone widened the role: it is put back, and a table a later migration makes (by the
            # owner) gets the app's privileges without a rerun.
            with connection.cursor() as cursor:
                cursor.execute(f"GRANT ALL ON clinic_auditevent, clinic_recordview TO {role}")
                cursor.execute(f"ALTER ROLE {role} CREATEDB")
            call_command("setup_db_roles", role, verbosity=0)
            assert _privileges(role, "clinic_auditevent") == {"SELECT"}
            assert _privileges(role, "clinic_recordview") == {"SELECT", "INSERT"}
            assert _one("SELECT rolcreatedb FROM pg_roles WHERE rolname = %s", [role]) == (False,)
            with connection.cursor() as cursor:
                cursor.execute("CREATE TABLE clinic_later_table (id bigint GENERATED BY DEFAULT AS IDENTITY)")
                later = _privileges(role, "clinic_later_table")
                cursor.execute("DROP TABLE clinic_later_table")
            assert later == {"SELECT", "INSERT", "UPDATE", "DELETE"}
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP OWNED BY {role}")
                cursor.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.mark.parametrize(
    ("role", "message"),
    [
        (None, "owns the tables"),
        ("Robert'); DROP TABLE", "not a role name"),
    ],
)
def test_setup_db_roles_refuses_a_role_that_could_alter_the_tables(transactional_db, role, message):
    with connected_as_owner(), pytest.raises(CommandError, match=message):
        call_command("setup_db_roles", role or OWNER["USER"], verbosity=0)


def test_setup_db_roles_must_be_run_by_the_owner(transactional_db, settings):
    settings.DATABASE_OWNER = {}  # so the command stays on the app's connection
    with pytest.raises(CommandError, match="cannot act for the tables' owner"):
        call_command("setup_db_roles", APP_ROLE, verbosity=0)


# --- MIGRATION_DATABASE_URL ----------------------------------------------------------------------------------------


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=worker_env(**env), cwd=BASE_DIR,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_migrate_runs_as_the_owner_named_by_migration_database_url(transactional_db):
    # The app's role may not replace the audit function that every migrate re-creates.
    as_app = _manage("migrate", "--noinput")
    assert as_app.returncode != 0 and "permission denied" in as_app.stderr

    owner_url = database_url(owner_settings())
    as_owner = _manage("migrate", "--noinput", MIGRATION_DATABASE_URL=owner_url)
    assert as_owner.returncode == 0, as_owner.stderr

    elsewhere = _manage(
        "check", MIGRATION_DATABASE_URL=database_url({**owner_settings(), "NAME": "postgres"})
    )
    assert elsewhere.returncode == 1
    assert "MIGRATION_DATABASE_URL must name the same database as DATABASE_URL" in elsewhere.stderr
