"""The review queue's size per location, kept by triggers: the clinician navigation's badge reads a few rows instead
of counting every waiting intake on every page.

Three statement-level triggers on ``intake_reviewqueueentry`` (one per event, each with its transition table) add the
statement's net change per location to ``intake_reviewqueuecount``: entries inserted count +1, deleted -1, and an
update counts only where the location changed (-1 at the old one, +1 at the new). Whatever writes the entries (the
queue's own triggers, a cascade from a deleted patient or submission, a rebuild) keeps the counts, in the same
transaction. Locations are upserted in key order, so two statements that touch the same locations lock their rows
in one order.

``intake_recount_review_queue()`` recomputes the counts from the entries; ``rebuild_review_queue()`` calls it after
the rebuild, in the same transaction.
"""

from django.db import migrations, models

FUNCTIONS = """
CREATE OR REPLACE FUNCTION intake_review_count_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO intake_reviewqueuecount AS c (location_key, waiting)
        SELECT COALESCE(location_id, 0), count(*) FROM added GROUP BY 1 ORDER BY 1
        ON CONFLICT (location_key) DO UPDATE SET waiting = c.waiting + EXCLUDED.waiting;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO intake_reviewqueuecount AS c (location_key, waiting)
        SELECT COALESCE(location_id, 0), -count(*) FROM removed GROUP BY 1 ORDER BY 1
        ON CONFLICT (location_key) DO UPDATE SET waiting = c.waiting + EXCLUDED.waiting;
    ELSE
        INSERT INTO intake_reviewqueuecount AS c (location_key, waiting)
        SELECT location_key, sum(change) FROM (
            SELECT COALESCE(before.location_id, 0) AS location_key, -1 AS change
            FROM removed before JOIN added after USING (submission_id)
            WHERE before.location_id IS DISTINCT FROM after.location_id
            UNION ALL
            SELECT COALESCE(after.location_id, 0), 1
            FROM removed before JOIN added after USING (submission_id)
            WHERE before.location_id IS DISTINCT FROM after.location_id
        ) moves
        GROUP BY location_key HAVING sum(change) <> 0 ORDER BY location_key
        ON CONFLICT (location_key) DO UPDATE SET waiting = c.waiting + EXCLUDED.waiting;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER intake_review_count_inserted AFTER INSERT ON intake_reviewqueueentry
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION intake_review_count_apply();
CREATE TRIGGER intake_review_count_deleted AFTER DELETE ON intake_reviewqueueentry
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION intake_review_count_apply();
CREATE TRIGGER intake_review_count_updated AFTER UPDATE ON intake_reviewqueueentry
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION intake_review_count_apply();

-- The counts recomputed from the entries, whatever they held before (a bulk load may have run with the triggers
-- off); rebuild_review_queue() calls it after intake_rebuild_review_queue(), in the same transaction. The lock is the
-- rebuild's: count writers write an entry first, so they wait for it too.
CREATE OR REPLACE FUNCTION intake_recount_review_queue() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    LOCK TABLE intake_reviewqueueentry IN EXCLUSIVE MODE;
    DELETE FROM intake_reviewqueuecount;
    INSERT INTO intake_reviewqueuecount (location_key, waiting)
    SELECT COALESCE(location_id, 0), count(*) FROM intake_reviewqueueentry GROUP BY 1;
    SELECT COALESCE(sum(waiting), 0) INTO total FROM intake_reviewqueuecount;
    RETURN total;
END;
$$;

SELECT intake_recount_review_queue();
"""

FUNCTIONS_REVERSE = """
DROP TRIGGER IF EXISTS intake_review_count_inserted ON intake_reviewqueueentry;
DROP TRIGGER IF EXISTS intake_review_count_deleted ON intake_reviewqueueentry;
DROP TRIGGER IF EXISTS intake_review_count_updated ON intake_reviewqueueentry;
DROP FUNCTION IF EXISTS intake_review_count_apply();
DROP FUNCTION IF EXISTS intake_recount_review_queue();
"""


class Migration(migrations.Migration):
    dependencies = [("intake", "0005_review_queue")]

    operations = [
        migrations.CreateModel(
            name="ReviewQueueCount",
            fields=[
                ("location_key", models.BigIntegerField(primary_key=True, serialize=False)),
                ("waiting", models.IntegerField()),
            ],
        ),
        migrations.RunSQL(FUNCTIONS, FUNCTIONS_REVERSE),
    ]
