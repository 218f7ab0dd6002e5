"""Each fact stored once: a status history row keeps what only it knows (when, which status, whether the move
was unusual, the run that recorded it); the step's texts (raw status, actor, position, department, content)
are in the dossier's canonical record (`record -> 'history'`), which the trace and the portal read.

The table is rebuilt with its fixed-width columns first (no alignment padding between a text key and a
timestamp); `recorded_at` goes: the run (`run_id` → sync_run.finished_at) says when a row was recorded.

A staged record's payload moves to `onestop.staging_payload`, released in the transaction that loads its run
(normalized by then: the good into the dossier, the bad with their payload into the quarantine, which re-drive
and `mapping try` read). `onestop.staging` keeps which record ids each run fetched and when (the trace's
fetches), until `retention.raw_payloads`; the payloads of a run that failed or never loaded stay until then too.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE onestop.status_history_compact (
            at       timestamptz NOT NULL,
            run_id   bigint,
            status   smallint NOT NULL,
            unusual  boolean NOT NULL DEFAULT false,
            uid      text NOT NULL
        );
        INSERT INTO onestop.status_history_compact (at, run_id, status, unusual, uid)
            SELECT at, run_id, status, unusual, uid FROM onestop.status_history;
        DROP TABLE onestop.status_history;
        ALTER TABLE onestop.status_history_compact RENAME TO status_history;
        ALTER TABLE onestop.status_history ADD CONSTRAINT status_history_pkey PRIMARY KEY (uid, at, status);

        -- Written and emptied run by run: vacuumed as soon as a load released 10,000 rows, so that the space
        -- goes to the next runs instead of growing the file.
        CREATE TABLE onestop.staging_payload (
            run_id   bigint NOT NULL,
            seq      integer NOT NULL,
            payload  text NOT NULL,
            PRIMARY KEY (run_id, seq)
        ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
        -- The payloads of loaded runs are needed no more (see above).
        INSERT INTO onestop.staging_payload (run_id, seq, payload)
            SELECT s.run_id, s.seq, s.payload FROM onestop.staging s JOIN onestop.sync_run r USING (run_id)
             WHERE r.state <> 'loaded';
        ALTER TABLE onestop.staging DROP COLUMN payload;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE onestop.staging ADD COLUMN payload text NOT NULL DEFAULT '';
        UPDATE onestop.staging s SET payload = p.payload FROM onestop.staging_payload p
         WHERE p.run_id = s.run_id AND p.seq = s.seq;
        ALTER TABLE onestop.staging ALTER COLUMN payload DROP DEFAULT;
        DROP TABLE onestop.staging_payload;

        ALTER TABLE onestop.status_history RENAME TO status_history_compact;
        CREATE TABLE onestop.status_history (
            uid          text NOT NULL,
            at           timestamptz NOT NULL,
            status       smallint NOT NULL,
            status_raw   text,
            actor        text,
            position     text,
            department   text,
            content      text,
            unusual      boolean NOT NULL DEFAULT false,
            run_id       bigint,
            recorded_at  timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (uid, at, status)
        );
        -- The texts come back from the records that carry them.
        INSERT INTO onestop.status_history (uid, at, status, status_raw, actor, position, department, content,
                                            unusual, run_id)
            SELECT DISTINCT ON (h.uid, h.at, h.status) h.uid, h.at, h.status, e ->> 'status_raw', e ->> 'actor',
                   e ->> 'position', e ->> 'department', e ->> 'content', h.unusual, h.run_id
              FROM onestop.status_history_compact h
              LEFT JOIN onestop.dossier d ON d.uid = h.uid
              LEFT JOIN LATERAL jsonb_array_elements(d.record -> 'history') e
                ON (e ->> 'at')::timestamptz = h.at AND (e ->> 'status')::smallint = h.status
             ORDER BY h.uid, h.at, h.status;
        DROP TABLE onestop.status_history_compact;
        """
    )
