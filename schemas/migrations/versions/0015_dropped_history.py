"""Each status event stored once: a dossier's canonical record holds its history as the source tells it today
(`record -> 'history'`); `onestop.status_history` now keeps only what the record no longer holds — the events a
source dropped when it rewrote a dossier's history, each with the entry as the record had it (`event`) and the run
whose load dropped it. Together they are the append-only history: nothing a source ever told is lost, and the
~4 rows per dossier that repeated the record's own events (600 bytes per dossier, a quarter of the load's
writes) are gone. `onestop.dossier_history` is that union, one row per event, for SQL readers.

Revision ID: 0015
Revises: 0014
"""

from alembic import op

revision = "0015"
down_revision = "0014"

# The record's events, flagged unusual as the merge flags a move (`status_move:<from>-><to>` in the flags).
RECORD_EVENTS = """
    SELECT d.uid, (e ->> 'at')::timestamptz AS at, (e ->> 'status')::smallint AS status,
           COALESCE(('status_move:' || lag(e ->> 'status') OVER (PARTITION BY d.uid ORDER BY n) || '->'
                     || (e ->> 'status')) = ANY (d.flags), false) AS unusual,
           NULL::bigint AS dropped_by_run, e AS event
      FROM onestop.dossier d CROSS JOIN LATERAL jsonb_array_elements(d.record -> 'history') WITH ORDINALITY h(e, n)
"""


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE onestop.status_history ADD COLUMN event jsonb;
        -- What the records still hold goes; what a source dropped earlier stays (its texts were not kept).
        DELETE FROM onestop.status_history s USING onestop.dossier d
         WHERE d.uid = s.uid AND EXISTS (SELECT FROM jsonb_array_elements(d.record -> 'history') e
                                          WHERE (e ->> 'at')::timestamptz = s.at
                                            AND (e ->> 'status')::smallint = s.status);
        CREATE VIEW onestop.dossier_history AS
            {RECORD_EVENTS}
            UNION ALL
            SELECT uid, at, status, unusual, run_id, event FROM onestop.status_history;
        COMMENT ON TABLE onestop.status_history IS
            'Status events a source dropped from a dossier''s history (the record holds the others); see dossier_history';
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP VIEW onestop.dossier_history;
        COMMENT ON TABLE onestop.status_history IS NULL;
        INSERT INTO onestop.status_history (at, run_id, status, unusual, uid)
            SELECT at, NULL, status, unusual, uid FROM ({RECORD_EVENTS}) r
            ON CONFLICT DO NOTHING;
        ALTER TABLE onestop.status_history DROP COLUMN event;
        """
    )
