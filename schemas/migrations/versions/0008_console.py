"""The administrators' console: one list of failures (quarantine, failed deliveries, conflicts, task failures)
paged by key, each resolvable with who, when and why, and every re-drive or resolution recorded.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute(
        """
        -- A failed delivery: when it failed (last), and an administrator's resolution (retries stop).
        ALTER TABLE onestop.outbox ADD COLUMN failed_at timestamptz, ADD COLUMN resolved_at timestamptz,
            ADD COLUMN resolved_by text, ADD COLUMN comment text;
        UPDATE onestop.outbox SET failed_at = COALESCE(sent_at, created_at) WHERE state IN ('failed', 'dead');
        CREATE INDEX outbox_failed ON onestop.outbox (failed_at DESC) WHERE failed_at IS NOT NULL;

        -- A task failure is open until resolved (by hand, or by a later successful run re-driven from the list).
        ALTER TABLE onestop.task_failure
            ADD COLUMN state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'redriven', 'resolved')),
            ADD COLUMN resolved_at timestamptz, ADD COLUMN resolved_by text, ADD COLUMN comment text;
        CREATE INDEX task_failure_at ON onestop.task_failure (at DESC);
        CREATE INDEX quarantine_seen ON onestop.quarantine (last_seen_at DESC);
        CREATE INDEX conflict_detected ON onestop.conflict (detected_at DESC);

        -- Every failure an administrator sees, one row each, newest first: the console pages through it by
        -- (at, key). Each branch has an index on its time, so a page is a merge of four index scans.
        CREATE VIEW onestop.failure AS
            SELECT 'quarantine'::text AS kind, 'q' || id AS key, source, 'normalize'::text AS stage,
                   error_class, errors -> 0 ->> 'reason' AS message, record_id AS ref, last_seen_at AS at,
                   state = 'open' AS open, state, resolved_at, resolved_by, comment
              FROM onestop.quarantine WHERE state <> 'superseded'
            UNION ALL
            SELECT 'delivery', 'd' || uid || '@' || version, source, 'deliver',
                   COALESCE(error_code, 'PortalError'), error, ma_ho_so, failed_at,
                   state IN ('failed', 'dead') AND resolved_at IS NULL,
                   CASE WHEN resolved_at IS NOT NULL THEN 'resolved' ELSE state END, resolved_at, resolved_by, comment
              FROM onestop.outbox WHERE failed_at IS NOT NULL
            UNION ALL
            SELECT 'conflict', 'c' || uid, source, 'merge', 'DuplicateMaHoSo',
                   'MaHoSo ' || ma_ho_so || ' is already held by ' || holder_uid, ma_ho_so, detected_at,
                   state = 'open', state, resolved_at, resolved_by, comment
              FROM onestop.conflict
            UNION ALL
            SELECT 'task', 't' || id, source, 'task', error_class, message, dag_id || '.' || task_id, at,
                   state = 'open', state, resolved_at, resolved_by, comment
              FROM onestop.task_failure;

        -- What administrators did from the console: re-drives (with the Airflow run they triggered) and
        -- resolutions, who and when.
        CREATE TABLE onestop.admin_action (
            id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at           timestamptz NOT NULL DEFAULT now(),
            actor        text NOT NULL,
            action       text NOT NULL CHECK (action IN ('redrive', 'resolve')),
            keys         text[] NOT NULL DEFAULT '{}',   -- failure keys (q…, d…, c…, t…) when chosen one by one
            filters      jsonb NOT NULL DEFAULT '{}',    -- or the filters that chose them (a whole error class)
            comment      text,
            dag_run_id   text,                           -- the onestop_redrive run it triggered
            state        text NOT NULL DEFAULT 'done' CHECK (state IN ('requested', 'triggered', 'done', 'failed')),
            result       jsonb,
            finished_at  timestamptz
        );
        CREATE INDEX admin_action_at ON onestop.admin_action (at DESC);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP TABLE onestop.admin_action;
        DROP VIEW onestop.failure;
        DROP INDEX onestop.conflict_detected;
        DROP INDEX onestop.quarantine_seen;
        DROP INDEX onestop.task_failure_at;
        ALTER TABLE onestop.task_failure DROP COLUMN state, DROP COLUMN resolved_at, DROP COLUMN resolved_by,
            DROP COLUMN comment;
        DROP INDEX onestop.outbox_failed;
        ALTER TABLE onestop.outbox DROP COLUMN failed_at, DROP COLUMN resolved_at, DROP COLUMN resolved_by,
            DROP COLUMN comment;
        """
    )
