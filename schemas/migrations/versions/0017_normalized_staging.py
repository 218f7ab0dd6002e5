"""Staging holds each record normalized, in UNLOGGED tables of the run's own (`onestop.staged_<run>_good`, `_bad`,
`_deleted`: connectors.store.staging) that the load merges with SQL alone and drops with its commit; the raw
payloads table goes. A run staged before this revision and not loaded yet cannot be loaded by the new load: it
is marked failed, and its window (its source's watermark never moved past it) is fetched by the next run.

Revision ID: 0017
Revises: 0016
"""

from alembic import op

revision = "0017"
down_revision = "0016"

STAGED_TABLES = r"^staged_[0-9]+_(good|bad|deleted)$"


def upgrade() -> None:
    op.execute(
        """
        UPDATE onestop.sync_run r
           SET state = 'failed', finished_at = COALESCE(finished_at, now()),
               error = 'staged before the upgrade to normalized staging: the next run fetches its window again'
         WHERE state NOT IN ('loaded', 'failed')
           AND EXISTS (SELECT FROM onestop.staging_payload p WHERE p.run_id = r.run_id);
        DROP TABLE onestop.staging_payload;
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        CREATE TABLE onestop.staging_payload (
            run_id   bigint NOT NULL,
            seq      integer NOT NULL,
            payload  text NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
        DO $$
        DECLARE t record;
        BEGIN
            FOR t IN SELECT relname, split_part(relname, '_', 2)::bigint AS run_id FROM pg_class c
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = 'onestop' AND c.relname ~ '{STAGED_TABLES}' LOOP
                UPDATE onestop.sync_run SET state = 'failed', finished_at = COALESCE(finished_at, now()),
                       error = 'staged as normalized rows: the next run fetches its window again'
                 WHERE run_id = t.run_id AND state NOT IN ('loaded', 'failed');
                EXECUTE format('DROP TABLE onestop.%I', t.relname);
            END LOOP;
        END $$;
        """
    )
