"""The audit trail: database triggers record every change to patient data, and staff views are logged.

Why triggers: a queryset update(), a bulk_create or raw SQL never calls Model.save(), so only the database sees
every change. Who made the change reaches the trigger through settings local to the transaction,
`clinic.actor_id`, `clinic.actor_ip` and `clinic.context`, sent in the same round trip as each write of a request
(AuditContextMiddleware) or of a task: read-only requests cost nothing, a write costs no extra round trip, and
nothing outlives its transaction, so a pooled connection never carries one request's actor into the next.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.checks import Warning
from django.db import connection, connections
from django.http import HttpRequest
from django.utils import timezone

# Table -> the column holding the patient's id ("id" for the patient table itself; "" for a table that names no
# patient but decides who may see them). A table that does not exist yet is skipped, so an app's table joins the
# trail when its migration creates it.
AUDITED_TABLES: dict[str, str] = {
    "intake_patient": "id",
    "intake_invitation": "patient_id",
    "intake_intake": "patient_id",
    "intake_consentrecord": "patient_id",
    # The consent documents' versions: who drafted, changed and published which text, before and after.
    "intake_consentversion": "",
    "intake_smsconsentevent": "patient_id",
    "intake_intakesubmission": "patient_id",
    "intake_instrumentresponse": "patient_id",
    "intake_urgentalert": "patient_id",
    "intake_eligibilitydecision": "patient_id",
    "intake_clinicianrating": "patient_id",
    "scheduling_appointment": "patient_id",
    "scheduling_treatmentseries": "patient_id",
    "scheduling_remsenrollment": "patient_id",
    "scheduling_waitlistentry": "patient_id",
    "scheduling_breakglassaccess": "patient_id",
    # Who holds which role: a role given or taken is recorded whoever made it, the admin's form or a shell.
    "clinic_user_groups": "",
    # Clinic policy changed in the app (clinic/policies.py): who changed what, before and after.
    "clinic_clinicpolicy": "",
    # Who may see which location's patients (scheduling.access): clinicians' locations, front desk's assignments.
    "scheduling_clinician_locations": "",
    "scheduling_frontdeskassignment": "",
    # The clinic's set-up (scheduling/setup): places, hours, chairs, clinicians and protocols, before and after.
    "scheduling_location": "",
    "scheduling_openinghours": "",
    "scheduling_closure": "",
    "scheduling_resource": "",
    "scheduling_resource_treatment_types": "",
    "scheduling_clinician": "",
    "scheduling_workinghours": "",
    "scheduling_cliniciantimeoff": "",
    "scheduling_treatmenttype": "",
    "scheduling_coursetemplate": "",
    # Two patient records flagged as one person (intake.duplicates): who flagged them, and any clearing.
    "intake_possibleduplicate": "patient_id",
    # Rows about a session name the patient through their appointment.
    "scheduling_sessionrecord": "appointment:appointment_id",
    "scheduling_vitalsigns": "appointment:appointment_id",
    "scheduling_remsmonitoringform": "appointment:appointment_id",
}
# The trail itself: rows are added, never changed or deleted (a trigger refuses it, and the app's database role
# holds no UPDATE or DELETE on them: clinic/db_roles.py).
APPEND_ONLY_TABLES = ("clinic_auditevent", "clinic_recordview", "clinic_accountevent")
# Tables with a patient column that are deliberately not audited, and why.
NOT_AUDITED = {
    "intake_reviewqueueentry": "derived: kept by triggers from submissions, decisions and alerts (all audited)",
    "scheduling_allocation": "mirrors its appointment's times (audited there); written three times per booking",
    "scheduling_dayhold": "mirrors its appointment's local day (audited there); written with its allocations",
}

# SECURITY DEFINER: the function runs as its owner (the role that migrates), so the app's role writes audit rows
# without holding INSERT on the audit table. A definer function must fix its search_path, and with pg_temp last:
# otherwise PostgreSQL looks in the caller's temporary schema first, and a temporary table named clinic_auditevent
# would swallow the rows (tests/clinic/test_db_roles.py). {schema} is the schema the tables are in.
AUDIT_FUNCTION = r"""
CREATE OR REPLACE FUNCTION clinic_audit_row() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    patient_column text := TG_ARGV[0];
    patient bigint;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD); END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' THEN
        -- Keep only what changed, on both sides: a saved intake step must not copy every other answer again.
        SELECT jsonb_object_agg(n.key, n.value) INTO new_row
            FROM jsonb_each(to_jsonb(NEW)) n WHERE NOT (old_row @> jsonb_build_object(n.key, n.value));
        IF new_row IS NULL THEN RETURN NULL; END IF;  -- nothing changed
        SELECT jsonb_object_agg(o.key, o.value) INTO old_row
            FROM jsonb_each(to_jsonb(OLD)) o WHERE new_row ? o.key;
    END IF;
    IF patient_column LIKE 'appointment:%' THEN
        SELECT a.patient_id INTO patient FROM scheduling_appointment a WHERE a.id = coalesce(
            to_jsonb(NEW) ->> substr(patient_column, 13), to_jsonb(OLD) ->> substr(patient_column, 13))::bigint;
    ELSE
        patient := coalesce(to_jsonb(NEW) ->> patient_column, to_jsonb(OLD) ->> patient_column)::bigint;
    END IF;
    INSERT INTO clinic_auditevent
        (occurred_at, table_name, row_pk, action, patient_id, actor_id, actor_ip, context, old_data, new_data)
    VALUES (
        clock_timestamp(), TG_TABLE_NAME,
        coalesce(to_jsonb(NEW) ->> 'id', to_jsonb(OLD) ->> 'id'), TG_OP,
        patient,
        nullif(current_setting('clinic.actor_id', true), '')::bigint,
        nullif(current_setting('clinic.actor_ip', true), '')::inet,
        coalesce(nullif(current_setting('clinic.context', true), ''), 'database: ' || session_user),
        old_row, new_row
    );
    RETURN NULL;
END;
$$;
-- Fired as a trigger only; nobody calls it (and a trigger fires whatever EXECUTE says).
REVOKE ALL ON FUNCTION clinic_audit_row() FROM PUBLIC;

CREATE OR REPLACE FUNCTION clinic_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are an append-only record and cannot be changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
"""


def install_audit_triggers(using: str = "default") -> list[str]:
    """(Re)attach the audit trigger to every audited table that exists. Idempotent; run after every migrate."""
    installed = []
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        cursor.execute(AUDIT_FUNCTION.replace("{schema}", cursor.fetchone()[0]))
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION clinic_forbid_change()"
            )
        existing = set(connections[using].introspection.table_names(cursor))
        for table, patient_column in AUDITED_TABLES.items():
            if table in existing:
                cursor.execute(
                    f"CREATE OR REPLACE TRIGGER {table}_audit AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION clinic_audit_row('{patient_column}')"
                )
                installed.append(table)
    return installed


def audit_triggers_after_migrate(using: str = "default", **kwargs) -> None:
    install_audit_triggers(using)


# --- Who is acting --------------------------------------------------------------------------------------------

WRITES = ("INSERT", "UPDATE", "DELETE", "WITH")


def client_ip(request: HttpRequest) -> str | None:
    """The address a request came from, as far as it can be known.

    REMOTE_ADDR is the peer that opened the connection: the client itself, or the nearest proxy. Each proxy in front
    appends the address it received the request from to X-Forwarded-For, so with TRUSTED_PROXY_COUNT proxies the
    client is the entry the outermost one wrote: the Nth from the end. Entries further left were written by the
    client and prove nothing, so they are never read; with no proxy (0, the default) the header is ignored
    altogether, since anyone reaching the app directly can write it. A chain shorter than the count (the request
    did not pass every proxy) or an entry that is not an address falls back to REMOTE_ADDR: one shared address for
    such requests errs towards counting them together, never towards a name the client chose."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(entries) >= proxies:
            try:
                return str(ipaddress.ip_address(entries[-proxies].strip()))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def check_trusted_proxies(app_configs, **kwargs) -> list:
    """Behind a TLS proxy with no proxy trusted, every client has the proxy's address: one clinic's failed sign-ins
    would pause everyone's."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and not settings.TRUSTED_PROXY_COUNT:
        return [
            Warning(
                "SECURE_PROXY_SSL_HEADER is set but TRUSTED_PROXY_COUNT is 0: every request will seem to come "
                "from the proxy, so rate limits and sign-in lockouts would be shared by all clients.",
                hint="Set TRUSTED_PROXY_COUNT to the number of proxies in front of the app (1 for the nginx "
                "example in deploy/).",
                id="clinic.W001",
            )
        ]
    return []


TAG_SQL = (
    "SELECT set_config('clinic.actor_id', %s, true), set_config('clinic.actor_ip', %s, true), "
    "set_config('clinic.context', %s, true); "
)


def _tag_writes(actor_id: int | None, actor_ip: str | None, context: Callable[[], str], wrote: list[bool]):
    """A cursor wrapper that names the actor in front of each write, in the same statement string.

    PostgreSQL runs a multi-statement query string as one transaction, so the settings (local to the transaction)
    are seen by the write's trigger and vanish with the transaction; inside an atomic block they last until it ends,
    and every write sets them again, so a rolled-back savepoint cannot lose them. The cursor reports the write's
    own result (the last statement's), so RETURNING and row counts are unchanged."""

    def wrapper(execute, sql, params, many, ctx):
        if sql.lstrip()[:6].upper().startswith(WRITES):
            tag = (
                ctx["cursor"]
                .cursor.mogrify(TAG_SQL, [str(actor_id or ""), actor_ip or "", context()[:120]])
                .decode()
            )
            # With parameters, psycopg2 interpolates the whole string: a literal % in the tag must be doubled.
            sql = (tag.replace("%", "%%") if params is not None else tag) + sql
            wrote[0] = True
        return execute(sql, params, many, ctx)

    return wrapper


@contextlib.contextmanager
def acting_as(
    *, actor_id: int | None, actor_ip: str | None, context: str | Callable[[], str]
) -> Iterator[None]:
    """Every write in the block is attributed to this actor in the audit trail."""
    describe = context if callable(context) else (lambda: context)
    wrote = [False]
    try:
        with connection.execute_wrapper(_tag_writes(actor_id, actor_ip, describe, wrote)):
            yield
    finally:
        if wrote[0] and connection.in_atomic_block and connection.connection is not None:
            # The block ended inside a transaction that goes on: later writes in it are not this actor's.
            with contextlib.suppress(Exception), connection.connection.cursor() as raw:
                raw.execute(TAG_SQL, ["", "", ""])


class AuditContextMiddleware:
    """Attribute the request's writes to the signed-in user (after AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        actor_id = user.pk if user is not None and user.is_authenticated else None

        def context() -> str:
            # The route's name, not the path: paths carry ids, and this column must never carry PHI.
            match = request.resolver_match
            return f"web {request.method} {match.view_name if match else ''}".strip()

        with acting_as(actor_id=actor_id, actor_ip=client_ip(request), context=context):
            return self.get_response(request)


def record_patient_view(request: HttpRequest, *, patient_id: int, what: str) -> None:
    """Log that a staff member opened a patient's record."""
    # A RecordView row, written out: every page of a patient's record makes one, and the ORM's insert cost more
    # than the rest of a small page's reads.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO clinic_recordview (occurred_at, user_id, patient_id, what, path, ip_address)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [timezone.now(), request.user.pk, patient_id, what[:120], request.path[:300], client_ip(request)],
        )
