"""The facts booking's eligibility gate reads, as a database function with named columns.

``intake_eligibility_facts(for_patient, as_of)`` returns one row: the oldest open urgent alert, the latest submitted
intake and the decision in force, each as of ``as_of``. It is intake's one query for the gate
(``intake.eligibility.eligibility_facts``), and scheduling's booking read calls it by name in the same statement as
its own gates (``scheduling.selectors.booking_facts``), so a booking still reads every gate in one round trip
without holding a copy of intake's SQL. A set-returning ``LANGUAGE sql STABLE`` function made of one SELECT, so the
planner inlines it into the calling statement.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION intake_eligibility_facts(for_patient bigint, as_of timestamptz)
RETURNS TABLE (
    open_alert_at timestamptz,
    latest_id bigint,
    latest_submitted_at timestamptz,
    latest_findings text,
    decision_submission_id bigint,
    decision_outcome text,
    decision_modality text,
    decision_decided_at timestamptz
)
LANGUAGE sql STABLE AS $$
SELECT
    (SELECT alert.created_at FROM intake_urgentalert alert
      WHERE alert.patient_id = for_patient AND alert.acknowledged_at IS NULL AND alert.created_at <= as_of
      ORDER BY alert.created_at LIMIT 1),
    latest.id, latest.submitted_at, latest.findings::text,
    decision.submission_id, decision.outcome::text, decision.modality::text, decision.decided_at
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT id, submitted_at, findings FROM intake_intakesubmission
     WHERE patient_id = for_patient AND kind = 'intake' AND submitted_at <= as_of
     ORDER BY submitted_at DESC, id DESC LIMIT 1
) AS latest ON true
LEFT JOIN LATERAL (
    SELECT submission_id, outcome, modality, decided_at FROM intake_eligibilitydecision
     WHERE patient_id = for_patient AND decided_at <= as_of
     ORDER BY decided_at DESC, id DESC LIMIT 1
) AS decision ON true
$$;
"""

DROP = "DROP FUNCTION intake_eligibility_facts(bigint, timestamptz);"


class Migration(migrations.Migration):
    dependencies = [("intake", "0006_review_queue_count")]

    operations = [migrations.RunSQL(CREATE, DROP)]
