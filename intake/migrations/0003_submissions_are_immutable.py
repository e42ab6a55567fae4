"""Submitted answers, their scores and consent signatures are a record: the database refuses to change them."""

from django.db import migrations

FORBID = """
CREATE OR REPLACE FUNCTION intake_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are a permanent record and cannot be changed or deleted', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
"""
TABLES = ("intake_intakesubmission", "intake_instrumentresponse", "intake_consentrecord")


class Migration(migrations.Migration):
    dependencies = [("intake", "0002_intake_submissions_consent_alerts")]

    operations = [
        migrations.RunSQL(FORBID, "DROP FUNCTION IF EXISTS intake_forbid_change();"),
        *[
            migrations.RunSQL(
                f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION intake_forbid_change();",
                f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};",
            )
            for table in TABLES
        ],
    ]
