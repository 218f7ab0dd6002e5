"""The console's list shows one row per quarantined source record (its latest version, with how many versions it
has) instead of one per payload; a task failure's attempts are found by its run, not by the hour before it.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute(
        """
        -- A record's versions, newest first: the list's "is there a newer one" and "how many" are one index probe.
        CREATE INDEX quarantine_record_versions ON onestop.quarantine (source, record_id, last_seen_at DESC, id DESC)
            WHERE state <> 'superseded';
        -- A task failure's attempts: its Airflow run -> the sync runs it made -> their attempts.
        CREATE INDEX sync_run_airflow_run ON onestop.sync_run (airflow_run_id) WHERE airflow_run_id IS NOT NULL;
        CREATE INDEX attempt_run ON onestop.attempt (run_id) WHERE run_id IS NOT NULL;

        -- The failures (0010) with `versions`: a quarantined record is its latest version (by last seen, then id)
        -- and counts its other versions; every other kind has one. Each branch still walks its time index.
        ALTER VIEW onestop.failure RENAME TO failure_0010;
        CREATE VIEW onestop.failure AS
            SELECT 'quarantine'::text AS kind, 'q' || q.id AS key, q.source, 'normalize'::text AS stage,
                   q.error_class, q.errors -> 0 ->> 'reason' AS message, q.record_id AS ref, q.last_seen_at AS at,
                   q.state = 'open' AS open, q.state, q.resolved_at, q.resolved_by, q.comment,
                   (SELECT count(*) FROM onestop.quarantine v WHERE v.source = q.source
                       AND v.record_id = q.record_id AND v.state <> 'superseded')::integer AS versions
              FROM onestop.quarantine q
             -- The latest version, as a probe per row (a NOT EXISTS would be planned as a hash anti-join: a
             -- scan of the whole table for every page).
             WHERE q.state <> 'superseded' AND q.id = (
                   SELECT n.id FROM onestop.quarantine n WHERE n.source = q.source AND n.record_id = q.record_id
                      AND n.state <> 'superseded' ORDER BY n.last_seen_at DESC, n.id DESC LIMIT 1)
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
              FROM onestop.attempt WHERE excerpt IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP VIEW onestop.failure;
        ALTER VIEW onestop.failure_0010 RENAME TO failure;
        DROP INDEX onestop.attempt_run;
        DROP INDEX onestop.sync_run_airflow_run;
        DROP INDEX onestop.quarantine_record_versions;
        """
    )
