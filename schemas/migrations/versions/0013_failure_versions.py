"""The console's list shows one row per quarantined source record (its latest version, with how many versions it
has) instead of one per payload; a task failure's attempts are found by its run, not by the hour before it.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"


# The failures (0010) with `versions`: a quarantined record is its latest version (by last seen, then id) and
# counts its other versions; every other kind has one. Each branch still walks its time index. (0019 takes it with
# its deliveries' source and MaHoSo read from the dossier.)
FAILURE_VIEW = """CREATE VIEW onestop.failure AS
            SELECT 'quarantine'::text AS kind, 'q' || q.id AS key, q.source, 'normalize'::text AS stage,
                   q.error_class, q.errors -> 0 ->> 'reason' AS message, q.record_id AS ref, q.last_seen_at AS at,
                   q.state = 'open' AS open, q.state, q.resolved_at, q.resolved_by, q.comment, q.versions
              FROM onestop.quarantine q WHERE q.state <> 'superseded' AND q.latest
            UNION ALL
            SELECT 'delivery', 'd' || uid || '@' || version, source, 'deliver',
                   COALESCE(error_code, 'PortalError'), error, ma_ho_so, failed_at,
                   state IN ('failed', 'dead') AND resolved_at IS NULL,
                   CASE WHEN resolved_at IS NOT NULL THEN 'resolved' ELSE state END, resolved_at, resolved_by, comment,
                   1
              FROM onestop.outbox WHERE failed_at IS NOT NULL
            UNION ALL
            SELECT 'conflict', 'c' || uid, source, 'merge', 'DuplicateMaHoSo',
                   'MaHoSo ' || ma_ho_so || ' is already held by ' || holder_uid, ma_ho_so, detected_at,
                   state = 'open', state, resolved_at, resolved_by, comment, 1
              FROM onestop.conflict
            UNION ALL
            SELECT 'task', 't' || id, source, 'task', error_class, message, dag_id || '.' || task_id, at,
                   state = 'open', state, resolved_at, resolved_by, comment, 1
              FROM onestop.task_failure
            UNION ALL
            SELECT 'refused', 'r' || id, endpoint, 'extract', error_class, message, 'page ' || page, at,
                   state = 'open', state, resolved_at, resolved_by, comment, 1
              FROM onestop.attempt WHERE excerpt IS NOT NULL;"""


def upgrade() -> None:
    op.execute(
        f"""
        -- Each quarantined row knows whether it is its record's latest version (by last seen, then id, among those
        -- not superseded) and how many such versions the record has: kept by a trigger, so that the list filters
        -- on a column and pages through its time index as before (a correlated probe per row turned the planner
        -- to sorting every failure older than the cursor).
        ALTER TABLE onestop.quarantine ADD COLUMN latest boolean NOT NULL DEFAULT true,
            ADD COLUMN versions integer NOT NULL DEFAULT 1;
        UPDATE onestop.quarantine q SET latest = m.newest, versions = m.n FROM (
            SELECT id, state <> 'superseded' AND row_number() OVER (PARTITION BY source, record_id
                       ORDER BY (state <> 'superseded') DESC, last_seen_at DESC, id DESC) = 1 AS newest,
                   count(*) FILTER (WHERE state <> 'superseded') OVER (PARTITION BY source, record_id) AS n
              FROM onestop.quarantine) m
         WHERE q.id = m.id AND (q.latest, q.versions) IS DISTINCT FROM (m.newest, m.n::integer);
        CREATE FUNCTION onestop.quarantine_versions() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            src text := CASE WHEN TG_OP = 'DELETE' THEN OLD.source ELSE NEW.source END;
            rec text := CASE WHEN TG_OP = 'DELETE' THEN OLD.record_id ELSE NEW.record_id END;
        BEGIN
            IF pg_trigger_depth() > 1 THEN
                RETURN NULL;
            END IF;
            -- (source, record_id) is the head of the table's unique index: one probe.
            UPDATE onestop.quarantine q SET latest = m.newest, versions = m.n FROM (
                SELECT id, state <> 'superseded' AND row_number() OVER (
                           ORDER BY (state <> 'superseded') DESC, last_seen_at DESC, id DESC) = 1 AS newest,
                       (count(*) FILTER (WHERE state <> 'superseded') OVER ())::integer AS n
                  FROM onestop.quarantine WHERE source = src AND record_id = rec) m
             WHERE q.id = m.id AND (q.latest, q.versions) IS DISTINCT FROM (m.newest, m.n);
            RETURN NULL;
        END $$;
        CREATE TRIGGER quarantine_versions AFTER INSERT OR DELETE OR UPDATE OF last_seen_at, state
            ON onestop.quarantine FOR EACH ROW EXECUTE FUNCTION onestop.quarantine_versions();

        -- A task failure's attempts: its Airflow run -> the sync runs it made -> their attempts.
        CREATE INDEX sync_run_airflow_run ON onestop.sync_run (airflow_run_id) WHERE airflow_run_id IS NOT NULL;
        CREATE INDEX attempt_run ON onestop.attempt (run_id) WHERE run_id IS NOT NULL;

        ALTER VIEW onestop.failure RENAME TO failure_0010;
        {FAILURE_VIEW}
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW onestop.failure;
        ALTER VIEW onestop.failure_0010 RENAME TO failure;
        DROP INDEX onestop.attempt_run;
        DROP INDEX onestop.sync_run_airflow_run;
        DROP TRIGGER quarantine_versions ON onestop.quarantine;
        DROP FUNCTION onestop.quarantine_versions();
        ALTER TABLE onestop.quarantine DROP COLUMN latest, DROP COLUMN versions;
        """
    )
