"""A dossier's current version is stored once, in its row; `onestop.dossier_version_past` keeps the versions it
went through before, each written by the merge that replaced it. `onestop.dossier_version` becomes the view of
both (every version, as before, for the trace, health and SQL readers): the first load no longer writes a second
row per dossier (~226 bytes each of 3,470 on the 1M bench).

A row deleted by hand leaves its version there too (a trigger). A deletion the source announced records its run
in `deleted_run_id` (NULL for the live: no bytes) instead of overwriting `last_run_id`, which stays the run of the
current version. `dossier_loaded` (a B-tree on loaded_at, whose values
a load shares: deduplicated, a few bytes a row) answers "versions loaded since" for the current versions as the
BRIN index does for the past ones.

The outbox's due rows are found by `next_try_at` alone: a load queues its versions with one `now()`, which a
deduplicated B-tree keeps as one key and a list of row pointers (~6 bytes a row, where (next_try_at, uid) took
~75); rows due at the same time go in the order they were queued.

The fetch log (`onestop.staging`, which record ids each run fetched) keeps the id alone: its content type was
never read again, and its `fetched_at` was the extract transaction's `now()`, one value per run (the trace reads
the run's start instead): ~30 bytes a record.

MaHoSo lookups: the live dossiers are found through the unique index that guards them (`dossier_ma_ho_so_live`);
the hash index keeps only the others (deleted, or in conflict), and the trace asks both: ~37 bytes a dossier.

Revision ID: 0018
Revises: 0017
"""

from alembic import op

revision = "0018"
down_revision = "0017"

COLUMNS = "uid, version, content_hash, status, source_updated_at, run_id, loaded_at"


def upgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE onestop.dossier ADD COLUMN deleted_run_id bigint;
        -- A deleted dossier's last_run_id was its deletion's run: moved, and the version's run put back.
        UPDATE onestop.dossier d SET deleted_run_id = d.last_run_id, last_run_id = v.run_id
          FROM onestop.dossier_version v WHERE d.deleted AND v.uid = d.uid AND v.version = d.version;
        ALTER TABLE onestop.dossier_version RENAME TO dossier_version_past;
        ALTER INDEX onestop.dossier_version_pkey RENAME TO dossier_version_past_pkey;
        ALTER INDEX onestop.dossier_version_loaded RENAME TO dossier_version_past_loaded;
        DELETE FROM onestop.dossier_version_past p USING onestop.dossier d
         WHERE d.uid = p.uid AND d.version = p.version;
        CREATE INDEX dossier_loaded ON onestop.dossier (loaded_at);
        CREATE VIEW onestop.dossier_version AS
            SELECT uid, version, content_hash, status, source_updated_at, last_run_id AS run_id, loaded_at
              FROM onestop.dossier
            UNION ALL
            SELECT {COLUMNS} FROM onestop.dossier_version_past;
        COMMENT ON VIEW onestop.dossier_version IS
            'Every version of every dossier: the current one in its row, the earlier ones in dossier_version_past';
        -- A row deleted by hand (behind the pipeline's back) leaves its version among the past ones: reconcile
        -- still knows what the portal holds, and the reload continues after it.
        CREATE FUNCTION onestop.dossier_version_keep() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO onestop.dossier_version_past ({COLUMNS})
                VALUES (OLD.uid, OLD.version, OLD.content_hash, OLD.status, OLD.source_updated_at, OLD.last_run_id,
                        OLD.loaded_at)
                ON CONFLICT DO NOTHING;
            RETURN OLD;
        END $$;
        CREATE TRIGGER dossier_version_keep BEFORE DELETE ON onestop.dossier
            FOR EACH ROW EXECUTE FUNCTION onestop.dossier_version_keep();

        DROP INDEX onestop.outbox_todo;
        CREATE INDEX outbox_todo ON onestop.outbox (next_try_at) WHERE state IN ('pending', 'sent', 'failed');

        ALTER TABLE onestop.staging DROP COLUMN content_type, DROP COLUMN fetched_at;
        DROP INDEX onestop.dossier_ma_ho_so;
        CREATE INDEX dossier_ma_ho_so ON onestop.dossier USING hash (ma_ho_so) WHERE deleted OR conflict_with IS NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP INDEX onestop.dossier_ma_ho_so;
        CREATE INDEX dossier_ma_ho_so ON onestop.dossier USING hash (ma_ho_so);
        ALTER TABLE onestop.staging ADD COLUMN content_type text NOT NULL DEFAULT 'application/json',
            ADD COLUMN fetched_at timestamptz NOT NULL DEFAULT now();
        ALTER TABLE onestop.staging ALTER COLUMN content_type DROP DEFAULT;
        DROP INDEX onestop.outbox_todo;
        CREATE INDEX outbox_todo ON onestop.outbox (next_try_at, uid) WHERE state IN ('pending', 'sent', 'failed');

        DROP TRIGGER dossier_version_keep ON onestop.dossier;
        DROP FUNCTION onestop.dossier_version_keep();
        DROP VIEW onestop.dossier_version;
        DROP INDEX onestop.dossier_loaded;
        ALTER TABLE onestop.dossier_version_past RENAME TO dossier_version;
        ALTER INDEX onestop.dossier_version_past_pkey RENAME TO dossier_version_pkey;
        ALTER INDEX onestop.dossier_version_past_loaded RENAME TO dossier_version_loaded;
        INSERT INTO onestop.dossier_version ({COLUMNS})
            SELECT uid, version, content_hash, status, source_updated_at, last_run_id, loaded_at
              FROM onestop.dossier ON CONFLICT DO NOTHING;
        UPDATE onestop.dossier SET last_run_id = deleted_run_id WHERE deleted AND deleted_run_id IS NOT NULL;
        ALTER TABLE onestop.dossier DROP COLUMN deleted_run_id;
        """
    )
