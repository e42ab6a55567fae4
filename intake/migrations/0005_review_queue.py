"""The review queue as a table: one row per intake awaiting a decision, kept by triggers, filled from existing data.

Which intakes wait (``intake.review_selectors.review_queue``): each patient's latest intake (no intake of theirs
submitted later) that no decision names. The triggers keep ``intake_reviewqueueentry`` equal to that, in the
transaction of every write that changes it, however the write is made:

- an intake inserted: the patient's entries for older intakes go; the new one is entered unless a later intake
  exists (an out-of-order insert) or a decision names it already;
- a decision inserted: the entry of the intake it names goes (decisions and submissions are never updated or
  deleted: migrations 0003 and 0004);
- an urgent alert inserted, acknowledged, moved or deleted: ``open_alert_at`` of the patient's entries is
  recomputed (the oldest open alert);
- a patient's location changed: their entries' ``location_id`` follows.

The triggers that read other rows first lock the patient row (FOR NO KEY UPDATE, which foreign-key checks do not
wait for), so two concurrent writes for one patient, say a re-screen raising an alert while a colleague acknowledges
another, are applied one after the other and the second sees the first.

``intake_rebuild_review_queue()`` recomputes the whole table from the source tables. It backfills here, and repairs
after a bulk load with the triggers off (``session_replication_role = replica``, as bench/seed.py does): call
``intake.review_selectors.rebuild_review_queue()``.
"""

import django.db.models.deletion
from django.db import migrations, models

FUNCTIONS = """
-- The code and treatment of each finding: what the queue's finding and modality filters match with @>.
CREATE OR REPLACE FUNCTION intake_review_finding_keys(findings jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT COALESCE(
        (SELECT jsonb_agg(jsonb_build_object('code', f -> 'code', 'modality', f -> 'modality'))
         FROM jsonb_array_elements(CASE WHEN jsonb_typeof(findings) = 'array' THEN findings ELSE '[]' END) AS f),
        '[]'::jsonb)
$$;

CREATE OR REPLACE FUNCTION intake_review_oldest_open_alert(patient bigint) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT min(created_at) FROM intake_urgentalert WHERE patient_id = patient AND acknowledged_at IS NULL
$$;

CREATE OR REPLACE FUNCTION intake_review_queue_on_submission() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM intake_patient WHERE id = NEW.patient_id FOR NO KEY UPDATE;
    DELETE FROM intake_reviewqueueentry WHERE patient_id = NEW.patient_id AND submitted_at < NEW.submitted_at;
    IF NOT EXISTS (
        SELECT 1 FROM intake_intakesubmission later
        WHERE later.patient_id = NEW.patient_id AND later.kind = 'intake' AND later.submitted_at > NEW.submitted_at
    ) AND NOT EXISTS (SELECT 1 FROM intake_eligibilitydecision WHERE submission_id = NEW.id) THEN
        INSERT INTO intake_reviewqueueentry
            (submission_id, patient_id, location_id, submitted_at, has_hard_stop, reasons, finding_keys,
             open_alert_at)
        SELECT NEW.id, NEW.patient_id, patient.location_id, NEW.submitted_at, NEW.has_hard_stop,
               NEW.answers -> 'reasons' -> 'reasons', intake_review_finding_keys(NEW.findings),
               intake_review_oldest_open_alert(NEW.patient_id)
        FROM intake_patient patient WHERE patient.id = NEW.patient_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION intake_review_queue_on_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM intake_reviewqueueentry WHERE submission_id = NEW.submission_id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION intake_review_queue_on_alert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    affected bigint[];
    patient_key bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        affected := ARRAY[NEW.patient_id];
    ELSIF TG_OP = 'DELETE' THEN
        affected := ARRAY[OLD.patient_id];
    ELSIF OLD.patient_id = NEW.patient_id THEN
        affected := ARRAY[NEW.patient_id];
    ELSE  -- an alert moved to another patient: both change, locked in id order
        affected := ARRAY[LEAST(OLD.patient_id, NEW.patient_id), GREATEST(OLD.patient_id, NEW.patient_id)];
    END IF;
    FOREACH patient_key IN ARRAY affected LOOP
        PERFORM 1 FROM intake_patient WHERE id = patient_key FOR NO KEY UPDATE;
        UPDATE intake_reviewqueueentry SET open_alert_at = intake_review_oldest_open_alert(patient_key)
        WHERE patient_id = patient_key
          AND open_alert_at IS DISTINCT FROM intake_review_oldest_open_alert(patient_key);
    END LOOP;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION intake_review_queue_on_patient() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE intake_reviewqueueentry SET location_id = NEW.location_id WHERE patient_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION intake_rebuild_review_queue() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    entered bigint;
BEGIN
    -- Every trigger above writes this table, so this lock waits for the writes in flight to commit, then holds new
    -- ones at their first statement here until the rebuild commits; they go on with a fresh snapshot and apply
    -- their change on top. Readers are not held, and no lock is taken on the source tables (no deadlock with a
    -- writer that holds one of their rows).
    LOCK TABLE intake_reviewqueueentry IN EXCLUSIVE MODE;
    DELETE FROM intake_reviewqueueentry;
    INSERT INTO intake_reviewqueueentry
        (submission_id, patient_id, location_id, submitted_at, has_hard_stop, reasons, finding_keys, open_alert_at)
    SELECT submission.id, submission.patient_id, patient.location_id, submission.submitted_at,
           submission.has_hard_stop, submission.answers -> 'reasons' -> 'reasons',
           intake_review_finding_keys(submission.findings), alert.oldest
    FROM intake_intakesubmission submission
    JOIN intake_patient patient ON patient.id = submission.patient_id
    LEFT JOIN (
        SELECT patient_id, min(created_at) AS oldest FROM intake_urgentalert
        WHERE acknowledged_at IS NULL GROUP BY patient_id
    ) alert ON alert.patient_id = submission.patient_id
    WHERE submission.kind = 'intake'
      AND NOT EXISTS (
          SELECT 1 FROM intake_intakesubmission later
          WHERE later.patient_id = submission.patient_id AND later.kind = 'intake'
            AND later.submitted_at > submission.submitted_at
      )
      AND NOT EXISTS (SELECT 1 FROM intake_eligibilitydecision WHERE submission_id = submission.id);
    GET DIAGNOSTICS entered = ROW_COUNT;
    ANALYZE intake_reviewqueueentry;
    RETURN entered;
END;
$$;

CREATE TRIGGER intake_review_queue_submission AFTER INSERT ON intake_intakesubmission
    FOR EACH ROW WHEN (NEW.kind = 'intake') EXECUTE FUNCTION intake_review_queue_on_submission();
CREATE TRIGGER intake_review_queue_decision AFTER INSERT ON intake_eligibilitydecision
    FOR EACH ROW WHEN (NEW.submission_id IS NOT NULL) EXECUTE FUNCTION intake_review_queue_on_decision();
CREATE TRIGGER intake_review_queue_alert_inserted AFTER INSERT ON intake_urgentalert
    FOR EACH ROW WHEN (NEW.acknowledged_at IS NULL) EXECUTE FUNCTION intake_review_queue_on_alert();
CREATE TRIGGER intake_review_queue_alert_changed AFTER UPDATE OF acknowledged_at, created_at, patient_id
    ON intake_urgentalert FOR EACH ROW
    WHEN (OLD.acknowledged_at IS DISTINCT FROM NEW.acknowledged_at OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR OLD.patient_id IS DISTINCT FROM NEW.patient_id)
    EXECUTE FUNCTION intake_review_queue_on_alert();
CREATE TRIGGER intake_review_queue_alert_deleted AFTER DELETE ON intake_urgentalert
    FOR EACH ROW WHEN (OLD.acknowledged_at IS NULL) EXECUTE FUNCTION intake_review_queue_on_alert();
CREATE TRIGGER intake_review_queue_patient_moved AFTER UPDATE OF location_id ON intake_patient
    FOR EACH ROW WHEN (OLD.location_id IS DISTINCT FROM NEW.location_id)
    EXECUTE FUNCTION intake_review_queue_on_patient();

SELECT intake_rebuild_review_queue();
"""

FUNCTIONS_REVERSE = """
DROP TRIGGER IF EXISTS intake_review_queue_submission ON intake_intakesubmission;
DROP TRIGGER IF EXISTS intake_review_queue_decision ON intake_eligibilitydecision;
DROP TRIGGER IF EXISTS intake_review_queue_alert_inserted ON intake_urgentalert;
DROP TRIGGER IF EXISTS intake_review_queue_alert_changed ON intake_urgentalert;
DROP TRIGGER IF EXISTS intake_review_queue_alert_deleted ON intake_urgentalert;
DROP TRIGGER IF EXISTS intake_review_queue_patient_moved ON intake_patient;
DROP FUNCTION IF EXISTS intake_rebuild_review_queue();
DROP FUNCTION IF EXISTS intake_review_queue_on_patient();
DROP FUNCTION IF EXISTS intake_review_queue_on_alert();
DROP FUNCTION IF EXISTS intake_review_queue_on_decision();
DROP FUNCTION IF EXISTS intake_review_queue_on_submission();
DROP FUNCTION IF EXISTS intake_review_oldest_open_alert(bigint);
DROP FUNCTION IF EXISTS intake_review_finding_keys(jsonb);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("intake", "0004_review_decisions_ratings"),
        ("scheduling", "0001_initial"),  # only scheduling.Location is needed
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewQueueEntry",
            fields=[
                (
                    "submission",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="queue_entry",
                        serialize=False,
                        to="intake.intakesubmission",
                    ),
                ),
                ("submitted_at", models.DateTimeField()),
                ("has_hard_stop", models.BooleanField()),
                ("reasons", models.JSONField(blank=True, null=True)),
                ("finding_keys", models.JSONField(default=list)),
                ("open_alert_at", models.DateTimeField(blank=True, null=True)),
                (
                    "location",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="scheduling.location",
                    ),
                ),
                (
                    "patient",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="intake.patient"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        models.OrderBy(models.F("open_alert_at"), nulls_last=True),
                        models.OrderBy(models.F("has_hard_stop"), descending=True),
                        models.OrderBy(models.F("submitted_at")),
                        models.OrderBy(models.F("submission_id")),
                        name="review_queue_order_idx",
                    )
                ],
            },
        ),
        migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE),
    ]
