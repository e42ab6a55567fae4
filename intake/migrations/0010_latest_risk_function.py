"""``intake_latest_risk(patients)``: each patient's current suicide risk, the newest of their C-SSRS screens (intake
or re-screen) and urgent alerts, an open alert outranking any screen (it stands until a clinician acknowledges it);
at the same moment an alert outranks the screen that raised it (a PHQ-9 item 9 alert beside a C-SSRS "none" is
still urgent). A function, so that intake's selector (``intake.selectors.latest_risks``) and pages that read
everything in one statement (the day view) share one definition and its named columns."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION intake_latest_risk(patients bigint[])
RETURNS TABLE (patient_id bigint, level text, source text, at timestamptz, alert_open boolean, reasons jsonb)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT ON (event.patient_id) event.patient_id, event.level, event.source, event.at, event.alert_open,
           event.reasons
      FROM (
        SELECT s.patient_id, s.cssrs_risk::text AS level, s.kind::text AS source, s.submitted_at AS at,
               false AS alert_open, NULL::jsonb AS reasons, 0 AS rank
          FROM intake_intakesubmission s
         WHERE s.patient_id = ANY(patients) AND s.cssrs_risk <> ''
        UNION ALL
        SELECT a.patient_id, 'high', 'alert', a.created_at, a.acknowledged_at IS NULL, a.reasons, 1
          FROM intake_urgentalert a
         WHERE a.patient_id = ANY(patients)
      ) event
     ORDER BY event.patient_id, event.alert_open DESC, event.at DESC, event.rank DESC
$$;
"""

DROP = "DROP FUNCTION IF EXISTS intake_latest_risk(bigint[]);"


class Migration(migrations.Migration):
    dependencies = [("intake", "0009_urgent_alert_from_intake_step")]

    operations = [migrations.RunSQL(CREATE, DROP)]
