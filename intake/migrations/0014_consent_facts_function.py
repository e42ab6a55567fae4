"""Where a patient stands with the consent documents, as a database function with named columns.

``intake_consent_facts(for_patient)`` returns one row: every published consent version (``consent_versions``) and
the patient's latest record of each document (``consent_latest``), as JSON arrays. It is intake's one query for
the consent gate (``intake.consent.selectors``), and scheduling's booking read calls it by name in the same
statement as its other gates (``scheduling.selectors.booking_facts``), as it does ``intake_eligibility_facts``.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION intake_consent_facts(for_patient bigint)
RETURNS TABLE (consent_versions jsonb, consent_latest jsonb)
LANGUAGE sql STABLE AS $$
SELECT
    coalesce((SELECT jsonb_agg(jsonb_build_object(
                  'id', v.id, 'kind', v.kind, 'number', v.number, 'version', v.version, 'title', v.title,
                  'change', v.change, 'published_at', v.published_at) ORDER BY v.kind, v.number DESC)
                FROM intake_consentversion v WHERE v.published_at IS NOT NULL), '[]'::jsonb),
    coalesce((SELECT jsonb_agg(jsonb_build_object(
                  'id', r.id, 'kind', r.kind, 'action', r.action, 'version', r.version,
                  'typed_name', r.typed_name, 'agreed_at', r.agreed_at))
                FROM (SELECT DISTINCT ON (kind) * FROM intake_consentrecord
                       WHERE patient_id = for_patient ORDER BY kind, agreed_at DESC, id DESC) AS r), '[]'::jsonb)
$$;
"""

DROP = "DROP FUNCTION intake_consent_facts(bigint);"


class Migration(migrations.Migration):
    dependencies = [("intake", "0013_seed_consent_documents")]

    operations = [migrations.RunSQL(CREATE, DROP)]
